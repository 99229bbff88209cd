//! A stand-in for the 16-byte secret seed when a board has no hardware random number generator.
//!
//! The stack keys TCP initial sequence numbers, SYN cookies, ephemeral ports and DHCP/DNS ids
//! with a secret seed (`Stack::new`, the generated `init`). It must come from a hardware RNG, or
//! a unique id mixed with entropy stored across boots. [`from_identity`] is what a board can do
//! without either: it spreads a unique identity (MAC address, chip UID) and a boot-time counter
//! over 16 bytes. The result differs between devices and, roughly, between boots, but an
//! attacker who knows the identity can guess it: fit for emulators and bring-up, not for a
//! device on an untrusted network.

/// 16 seed bytes from `identity` (a unique id: MAC address, chip UID) and `boot_counter` (a
/// counter or clock read at boot), mixed with SplitMix64. Guessable: see the module
/// documentation.
pub fn from_identity(identity: &[u8], boot_counter: u64) -> [u8; 16] {
    let mut state = boot_counter;
    for &byte in identity {
        state = state.rotate_left(8) ^ u64::from(byte);
    }
    let mut seed = [0u8; 16];
    for chunk in seed.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_and_counters_give_different_seeds() {
        let mac = [0x02, 0, 0, 0, 0, 0x02];
        let a = from_identity(&mac, 1);
        assert_ne!(a, from_identity(&mac, 2));
        assert_ne!(a, from_identity(&[0x02, 0, 0, 0, 0, 0x03], 1));
        assert_eq!(a, from_identity(&mac, 1), "deterministic");
        assert_ne!(a[..8], a[8..], "the two halves differ");
    }
}
