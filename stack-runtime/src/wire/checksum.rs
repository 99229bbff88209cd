//! The Internet checksum (RFC 1071), a machine word at a time.
//!
//! Every function here returns the **folded one's-complement sum** of its
//! input, *not* its complement. Partial sums from several pieces (a pseudo
//! header, a transport header, a payload) are merged with [`combine`], and the
//! caller complements (`!sum`) exactly once, at the end, before writing the
//! field. On receive, a packet whose checksum field is included in the sum
//! verifies when the folded sum is `0xffff` (equivalently `!sum == 0`).
//!
//! The sum is computed over 32-bit words in the machine's own byte order,
//! accumulated in a 64-bit register, with the carries folded back only once
//! at the end and the result byte-swapped once on little-endian machines
//! (the one's-complement sum is byte-order independent, RFC 1071 §2(B)). The
//! inner loop takes 16 bytes per iteration: a load and an add-with-carry pair
//! per four bytes, no per-word byte reversal, no branch on carries.
//!
//! Byte slices have no alignment requirement; a trailing partial word is
//! zero-padded on the right, which is exactly the RFC's rule for odd lengths.
//! Because of that padding, pieces merged with [`combine`] must each start at
//! an even offset of the checksummed message (true for every header/payload
//! split the stack makes).

use core::net::Ipv4Addr;

use super::IpProtocol;

/// Fold a wide accumulator of 16-bit-aligned sums down to 16 bits with
/// end-around carry.
#[inline]
const fn fold(mut acc: u64) -> u16 {
    // At most four rounds: 64 → 49 → 34 → 19 → 17 → 16 bits.
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Turn a folded sum of native-endian words into the network-order sum.
///
/// The one's-complement sum commutes with byte swapping (RFC 1071 §2(B)):
/// summing the words in the machine's byte order and swapping the 16-bit
/// result once is the same as swapping every word before adding. That saves
/// a byte-reverse per word on little-endian machines (Cortex-M, x86).
#[inline]
const fn to_network(sum: u16) -> u16 {
    if cfg!(target_endian = "little") {
        sum.swap_bytes()
    } else {
        sum
    }
}

/// The two 32-bit halves of a native-endian 64-bit word, added. Each half is
/// a pair of 16-bit words in memory order, so adding halves keeps every
/// 16-bit lane aligned; the sum fits in 33 bits.
#[inline(always)]
const fn halves(v: u64) -> u64 {
    (v & 0xffff_ffff) + (v >> 32)
}

/// Sum of at most 8 trailing bytes, zero-padded on the right to 8 bytes.
#[inline]
fn tail(rest: &[u8]) -> u64 {
    debug_assert!(rest.len() <= 8);
    let mut w = [0u8; 8];
    // `zip` bounds the copy to 8 bytes whatever the caller passes.
    for (d, s) in w.iter_mut().zip(rest) {
        *d = *s;
    }
    halves(u64::from_ne_bytes(w))
}

/// Unfolded native-order sum of `data`.
#[inline]
fn sum_ne(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    // 16 bytes per iteration as four 32-bit words added into a 64-bit
    // accumulator: on a 32-bit Cortex-M that is four loads and four
    // add/add-with-carry pairs (14 instructions per 16 bytes with the loop),
    // and it vectorises on 64-bit hosts. Each step adds less than 2^35, so
    // the accumulator cannot overflow for any slice below 2^33 bytes.
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&c[..8]);
        b.copy_from_slice(&c[8..]);
        acc += halves(u64::from_ne_bytes(a)) + halves(u64::from_ne_bytes(b));
    }
    // 0..=15 bytes left: an optional whole 8-byte word, then 0..=7 bytes.
    let rest = chunks.remainder();
    let (word, rest) = rest.split_at(rest.len() & 8);
    acc + tail(word) + tail(rest)
}

/// Folded one's-complement sum of `data` (not complemented).
///
/// Works for any length (odd lengths are padded with a zero byte) and any
/// alignment of the slice.
pub fn data(data: &[u8]) -> u16 {
    to_network(fold(sum_ne(data)))
}

/// Merge partial sums (each from [`data`], [`pseudo_header_v4`] or
/// [`copy_and_checksum`]) into one folded sum (not complemented).
pub fn combine(sums: &[u16]) -> u16 {
    let acc: u64 = sums.iter().map(|&s| u64::from(s)).sum();
    fold(acc)
}

/// Folded sum of the IPv4 pseudo header that UDP and TCP checksums cover:
/// source and destination address, zero, protocol, and the transport
/// `length` (header plus payload, in bytes).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, length: u16) -> u16 {
    let acc = u64::from(src.to_bits())
        + u64::from(dst.to_bits())
        + u64::from(u8::from(protocol))
        + u64::from(length);
    fold(acc)
}

/// Copy `src` into `dst` and return the folded sum of the copied bytes, in
/// one pass over the data (the hot path of UDP/TCP send and receive: each
/// payload byte is read once).
///
/// Copies `min(dst.len(), src.len())` bytes; callers size `dst` to the
/// payload. The result is not complemented; merge it with the header sums
/// through [`combine`] and complement at the end.
pub fn copy_and_checksum(dst: &mut [u8], src: &[u8]) -> u16 {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut acc: u64 = 0;
    let mut d16 = dst.chunks_exact_mut(16);
    let mut s16 = src.chunks_exact(16);
    for (d, s) in (&mut d16).zip(&mut s16) {
        // Load once into registers, store from registers, sum from registers.
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&s[..8]);
        b.copy_from_slice(&s[8..]);
        d[..8].copy_from_slice(&a);
        d[8..].copy_from_slice(&b);
        acc += halves(u64::from_ne_bytes(a)) + halves(u64::from_ne_bytes(b));
    }
    let (d_rest, s_rest) = (d16.into_remainder(), s16.remainder());
    d_rest.copy_from_slice(s_rest);
    to_network(fold(acc + sum_ne(s_rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward RFC 1071 reference: 16-bit words, byte at a time.
    fn reference(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        let mut i = 0;
        while i < data.len() {
            let hi = u32::from(data[i]) << 8;
            let lo = data.get(i + 1).map_or(0, |&b| u32::from(b));
            acc += hi | lo;
            acc = (acc & 0xffff) + (acc >> 16);
            i += 2;
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // The worked example of RFC 1071 section 3: sum 0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(data(&bytes), 0xddf2);
        assert_eq!(reference(&bytes), 0xddf2);
    }

    #[test]
    fn empty_and_odd() {
        assert_eq!(data(&[]), 0);
        assert_eq!(data(&[0xab]), 0xab00);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn all_ones_folds_to_ffff() {
        let b = [0xffu8; 1501];
        assert_eq!(data(&b), reference(&b));
    }

    #[test]
    fn pseudo_header_matches_bytes() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(192, 0, 2, 2);
        let bytes = [192, 0, 2, 1, 192, 0, 2, 2, 0, 17, 0x01, 0x2c];
        assert_eq!(
            pseudo_header_v4(src, dst, IpProtocol::Udp, 300),
            reference(&bytes)
        );
    }

    #[test]
    fn every_short_length_and_offset() {
        // Deterministically walks every remainder path (0..=15 trailing
        // bytes, with and without whole 16-byte blocks) at every alignment.
        let buf: [u8; 80] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(0xc3));
        for off in 0..16 {
            for len in 0..=64 {
                let src = &buf[off..off + len];
                assert_eq!(data(src), reference(src), "off {off} len {len}");
                let mut out = [0u8; 80];
                let dst = &mut out[off ^ 3..(off ^ 3) + len];
                assert_eq!(copy_and_checksum(dst, src), reference(src));
                assert_eq!(&*dst, src);
            }
        }
    }

    #[test]
    fn copy_shorter_dst() {
        let src = [1u8, 2, 3, 4, 5];
        let mut dst = [0u8; 3];
        assert_eq!(copy_and_checksum(&mut dst, &src), reference(&src[..3]));
        assert_eq!(dst, [1, 2, 3]);
    }

    proptest::proptest! {
        #[test]
        fn matches_reference(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..3100),
                             start in 0usize..64, len in 0usize..3000) {
            let start = start.min(buf.len());
            let end = (start + len).min(buf.len());
            let slice = &buf[start..end];
            proptest::prop_assert_eq!(data(slice), reference(slice));
        }

        #[test]
        fn copy_matches_reference(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..3100),
                                  start in 0usize..64, dst_off in 0usize..8,
                                  len in 0usize..3000) {
            let start = start.min(buf.len());
            let end = (start + len).min(buf.len());
            let slice = &buf[start..end];
            let mut out = [0u8; 3100];
            let dst = &mut out[dst_off..dst_off + slice.len()];
            let sum = copy_and_checksum(dst, slice);
            proptest::prop_assert_eq!(sum, reference(slice));
            proptest::prop_assert_eq!(&*dst, slice);
        }

        #[test]
        fn combine_even_split(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
                              split in 0usize..300) {
            let split = (split * 2).min(buf.len() & !1);
            let (a, b) = buf.split_at(split);
            proptest::prop_assert_eq!(combine(&[data(a), data(b)]), reference(&buf));
        }
    }
}
