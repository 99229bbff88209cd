//! SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012).
//!
//! The keyed hash behind [`super::isn`] and [`super::syn_cookie`]: a PRF with a 128-bit key,
//! fast on short inputs such as a 4-tuple, and small enough to write out here rather than add
//! a dependency (it is tested against the reference vectors of the paper and cross-checked
//! against `core`'s own implementation).

/// A SipHash-2-4 key: 128 bits, as the board provides them from its seed.
pub type SipKey = [u8; 16];

#[derive(Clone, Copy)]
struct State {
    v: [u64; 4],
}

impl State {
    fn new(key: &SipKey) -> State {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&key[..8]);
        k1.copy_from_slice(&key[8..]);
        let (k0, k1) = (u64::from_le_bytes(k0), u64::from_le_bytes(k1));
        State {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.round();
        self.v[0] ^= m;
    }
}

/// SipHash-2-4 of `data` under `key`.
pub fn siphash24(key: &SipKey, data: &[u8]) -> u64 {
    let mut s = State::new(key);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        s.compress(u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    // The length byte: the message length modulo 256 in the top byte.
    last[7] = data.len() as u8;
    s.compress(u64::from_le_bytes(last));
    s.v[2] ^= 0xff;
    for _ in 0..4 {
        s.round();
    }
    s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper_key() -> SipKey {
        core::array::from_fn(|i| i as u8)
    }

    fn paper_message(len: usize) -> [u8; 64] {
        core::array::from_fn(|i| if i < len { i as u8 } else { 0 })
    }

    #[test]
    fn paper_appendix_a_vector() {
        // SipHash paper, Appendix A: key 00..0f, message 00..0e (15 bytes).
        let m = paper_message(15);
        assert_eq!(siphash24(&paper_key(), &m[..15]), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn reference_vector_empty_message() {
        // First entry of the reference implementation's test vectors (key 00..0f, empty input).
        assert_eq!(siphash24(&paper_key(), &[]), 0x726f_db47_dd0e_0e31);
    }

    #[allow(deprecated)]
    fn core_siphash(key: &SipKey, data: &[u8]) -> u64 {
        use core::hash::Hasher;
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&key[..8]);
        k1.copy_from_slice(&key[8..]);
        let mut h =
            core::hash::SipHasher::new_with_keys(u64::from_le_bytes(k0), u64::from_le_bytes(k1));
        h.write(data);
        h.finish()
    }

    #[test]
    fn agrees_with_core_for_every_length_up_to_64() {
        let key = paper_key();
        for len in 0..64 {
            let m = paper_message(len);
            assert_eq!(
                siphash24(&key, &m[..len]),
                core_siphash(&key, &m[..len]),
                "{len}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_core_on_random_input(
            key in proptest::array::uniform16(proptest::num::u8::ANY),
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..100),
        ) {
            proptest::prop_assert_eq!(siphash24(&key, &data), core_siphash(&key, &data));
        }
    }
}
