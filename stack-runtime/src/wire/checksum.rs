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
//! (the one's-complement sum is byte-order independent, RFC 1071 §2(B)). On
//! 32-bit targets the inner loop takes 16 bytes per iteration: a load and an
//! add-with-carry pair per four bytes, no per-word byte reversal, no branch on
//! carries. On 64-bit hosts it adds 64-bit words with end-around carry into
//! four accumulators (an add and an add-with-carry per eight bytes; plain Rust
//! either way, no intrinsics).
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
const fn fold(acc: u64) -> u16 {
    // Four fixed rounds, no loop: 64 → 33 bits, → 32, → 17, → 16. After the second round
    // the value is below 2^32 (a carry out of the high half leaves a low half of at most
    // 2^32 − 2), after the fourth below 2^16 likewise.
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff) + (acc >> 16);
    let acc = (acc & 0xffff) + (acc >> 16);
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

/// Sum of at most 15 trailing bytes, zero-padded on the right to an even length: whole
/// 8-, 4- and 2-byte words (no byte loop), then the odd byte as the high-address half of a
/// 16-bit word. Each piece starts at an even offset, so every word stays in its 16-bit lane.
#[inline]
fn tail(rest: &[u8]) -> u64 {
    debug_assert!(rest.len() < 16);
    let mut acc = 0u64;
    let mut r = rest;
    if let Some((w, more)) = r.split_first_chunk::<8>() {
        acc += halves(u64::from_ne_bytes(*w));
        r = more;
    }
    if let Some((w, more)) = r.split_first_chunk::<4>() {
        acc += u64::from(u32::from_ne_bytes(*w));
        r = more;
    }
    if let Some((w, more)) = r.split_first_chunk::<2>() {
        acc += u64::from(u16::from_ne_bytes(*w));
        r = more;
    }
    if let Some(&b) = r.first() {
        acc += u64::from(u16::from_ne_bytes([b, 0]));
    }
    acc
}

/// Unfolded native-order sum of `data`.
#[inline]
fn sum_ne(data: &[u8]) -> u64 {
    #[cfg(target_pointer_width = "64")]
    if data.len() < 64 {
        // Headers: no block loop to set up.
        sum_narrow(data)
    } else {
        let mut blocks = data.chunks_exact(64);
        let mut acc = sum_blocks_wide(&mut blocks);
        acc += sum_narrow(blocks.remainder());
        acc
    }
    #[cfg(not(target_pointer_width = "64"))]
    sum_narrow(data)
}

/// Sum of 64-byte blocks on 64-bit hosts: eight 64-bit words per block, added with
/// end-around carry (one's-complement addition modulo 2^64 − 1, which keeps every 16-bit lane's
/// sum modulo 2^16 − 1) into four independent accumulators (four carry chains in flight): an add and an add-with-carry per
/// eight bytes, about 0.3 instructions per byte where widening 32-bit words into vector lanes
/// takes about 0.47 (x86-64 baseline SSE2). On a 32-bit MCU the same shape would need four
/// registers per accumulator, so those use [`sum_narrow`] only. The result is below 2^33.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline]
fn sum_blocks_wide(blocks: &mut core::slice::ChunksExact<'_, u8>) -> u64 {
    let mut acc = [0u64; 4];
    for b in blocks {
        add_block_wide(&mut acc, b);
    }
    end_around(acc)
}

/// `a + b` with the carry out added back in (one's-complement addition modulo 2^64 − 1).
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    // No overflow: after a carry out, `s` is at most 2^64 − 2.
    s + u64::from(c)
}

/// The accumulators merged and reduced below 2^33 (congruent modulo 2^16 − 1), so that
/// callers may add a few such sums without overflow.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(always)]
fn end_around(acc: [u64; 4]) -> u64 {
    halves(add_carry(
        add_carry(acc[0], acc[1]),
        add_carry(acc[2], acc[3]),
    ))
}

/// Add the eight native-endian 64-bit words of one 64-byte block into `acc` (word `i` into
/// accumulator `i % 4`: four independent carry chains), with end-around carry.
#[cfg(any(test, target_pointer_width = "64"))]
#[inline(always)]
fn add_block_wide(acc: &mut [u64; 4], b: &[u8]) {
    for row in b.chunks_exact(32) {
        for (a, w) in acc.iter_mut().zip(row.chunks_exact(8)) {
            if let Some(w) = w.first_chunk::<8>() {
                *a = add_carry(*a, u64::from_ne_bytes(*w));
            }
        }
    }
}

/// Unfolded native-order sum of one 16-byte chunk (of `chunks_exact(16)`: shorter ones sum
/// as 0, which never happens): two 64-bit words, each as its two 32-bit halves.
#[inline(always)]
fn sum16(c: &[u8]) -> u64 {
    match (
        c.first_chunk::<8>(),
        c.get(8..).and_then(<[u8]>::first_chunk::<8>),
    ) {
        (Some(a), Some(b)) => halves(u64::from_ne_bytes(*a)) + halves(u64::from_ne_bytes(*b)),
        _ => 0,
    }
}

/// Unfolded native-order sum of `data`, 16 bytes per step (the kernel for 32-bit MCUs, and
/// for the tail of a 64-bit host's blocks).
#[inline]
fn sum_narrow(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    // 16 bytes per iteration as four 32-bit words added into a 64-bit
    // accumulator: on a 32-bit Cortex-M that is four loads and four
    // add/add-with-carry pairs (14 instructions per 16 bytes with the loop).
    // Each step adds less than 2^35, so the accumulator cannot overflow for
    // any slice below 2^33 bytes.
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        acc += sum16(c);
    }
    // 0..=15 bytes left.
    acc + tail(chunks.remainder())
}

/// Folded one's-complement sum of `data` (not complemented).
///
/// Works for any length (odd lengths are padded with a zero byte) and any
/// alignment of the slice.
pub fn data(data: &[u8]) -> u16 {
    to_network(fold(sum_ne(data)))
}

/// Unfolded native-order sum of `data` (an even-offset piece of a message), to add to other
/// such sums before one [`finish`]: for headers built in place, where folding each piece
/// separately would cost more than summing it.
#[inline]
pub(crate) fn sum_native(data: &[u8]) -> u64 {
    sum_ne(data)
}

/// Fold a native-order total into the network-order sum (not complemented), as [`data`]
/// returns it.
#[inline]
pub(crate) fn finish(acc: u64) -> u16 {
    to_network(fold(acc))
}

/// Fold a total of folded network-order sums (each from [`data`] or [`copy_and_checksum`],
/// widened and added) into one: what [`combine`] gives for those sums.
#[inline]
pub(crate) const fn fold_sums(acc: u64) -> u16 {
    fold(acc)
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
    #[cfg(target_pointer_width = "64")]
    {
        // 64-byte blocks, copied and summed in vector registers (see `sum_blocks_wide`).
        let mut lanes = [0u64; 4];
        let mut d64 = dst.chunks_exact_mut(64);
        let mut s64 = src.chunks_exact(64);
        for (d, s) in (&mut d64).zip(&mut s64) {
            d.copy_from_slice(s);
            add_block_wide(&mut lanes, s);
        }
        let acc = end_around(lanes);
        let (d_rest, s_rest) = (d64.into_remainder(), s64.remainder());
        to_network(fold(acc + copy_sum_narrow(d_rest, s_rest)))
    }
    #[cfg(not(target_pointer_width = "64"))]
    to_network(fold(copy_sum_narrow(dst, src)))
}

/// Copy `src` into `dst` (the same length) and return the unfolded native-order sum, 16 bytes
/// per step: one load, one store and one add-with-carry pair per word on a 32-bit MCU.
#[inline]
fn copy_sum_narrow(dst: &mut [u8], src: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut d16 = dst.chunks_exact_mut(16);
    let mut s16 = src.chunks_exact(16);
    for (d, s) in (&mut d16).zip(&mut s16) {
        // Load once into registers, store from registers, sum from registers. Both chunks
        // are 16 bytes: the `if` always holds (and has no panicking path).
        if let (Some(d), Some(s)) = (d.first_chunk_mut::<16>(), s.first_chunk::<16>()) {
            *d = *s;
            acc += sum16(s);
        }
    }
    let (d_rest, s_rest) = (d16.into_remainder(), s16.remainder());
    d_rest.copy_from_slice(s_rest);
    acc + sum_narrow(s_rest)
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
    fn fold_extremes() {
        for v in [
            0,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
            u64::MAX - 1,
            0x8000_0000_8000_0000,
            0xffff_0000_ffff,
        ] {
            let mut r = v;
            while r > 0xffff {
                r = (r & 0xffff) + (r >> 16);
            }
            assert_eq!(u64::from(fold(v)), r, "{v:#x}");
        }
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
        let buf: [u8; 176] =
            core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(0xc3));
        for off in 0..16 {
            for len in 0..=160 {
                let src = &buf[off..off + len];
                assert_eq!(data(src), reference(src), "off {off} len {len}");
                let mut out = [0u8; 176];
                let dst = &mut out[off ^ 3..(off ^ 3) + len];
                assert_eq!(copy_and_checksum(dst, src), reference(src));
                assert_eq!(&*dst, src);
            }
        }
    }

    #[test]
    fn native_totals_match_combined_sums() {
        let buf: [u8; 90] = core::array::from_fn(|i| (i as u8).wrapping_mul(29).wrapping_add(3));
        let (a, b) = buf.split_at(34);
        // A folded network-order sum as a native-order term: `to_network` is a byte swap
        // on little-endian machines, so it is its own inverse.
        let total = sum_native(a) + u64::from(to_network(data(b)));
        assert_eq!(finish(total), combine(&[data(a), data(b)]));
        assert_eq!(finish(total), reference(&buf));
    }

    #[test]
    fn wide_and_narrow_kernels_agree() {
        let buf: [u8; 300] = core::array::from_fn(|i| (i as u8).wrapping_mul(101).wrapping_add(7));
        for len in [0, 63, 64, 65, 128, 200, 256, 299] {
            let src = &buf[..len];
            let mut blocks = src.chunks_exact(64);
            let wide = sum_blocks_wide(&mut blocks) + sum_narrow(blocks.remainder());
            assert_eq!(fold(wide), fold(sum_narrow(src)), "len {len}");
            let mut out = [0u8; 300];
            assert_eq!(
                fold(copy_sum_narrow(&mut out[..len], src)),
                fold(sum_narrow(src))
            );
            assert_eq!(&out[..len], src);
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
