//! What stands in for a NIC's registers and a clock, the same in every variant: values the
//! compiler cannot predict, so no receive path is optimised away although nothing is wired to
//! a real device. Nothing in here formats or allocates.

// Not every variant uses every item.
#![allow(dead_code)]

use core::sync::atomic::{AtomicU32, Ordering};

/// The "register" every received byte, frame length and time tick is derived from.
pub static LINK: AtomicU32 = AtomicU32::new(0);

/// Whether a frame is waiting.
pub fn frame_waiting() -> bool {
    LINK.load(Ordering::Relaxed) & 1 == 1
}

/// Fills `frame` with unpredictable bytes and returns an unpredictable length for it.
pub fn receive_into(frame: &mut [u8]) -> usize {
    let seed = LINK.load(Ordering::Relaxed);
    for (i, byte) in frame.iter_mut().enumerate() {
        *byte = seed.wrapping_add(i as u32).wrapping_mul(2_654_435_761) as u8;
    }
    (seed as usize) % (frame.len() + 1)
}

/// Consumes a transmitted frame (a real driver would hand it to the DMA).
pub fn transmit(frame: &[u8]) {
    let mut sum = 0u32;
    for &b in frame {
        sum = sum.wrapping_add(u32::from(b));
    }
    LINK.store(sum, Ordering::Relaxed);
}

/// A millisecond tick (a real board reads SysTick or a timer).
pub fn now_ms() -> u64 {
    u64::from(LINK.load(Ordering::Relaxed) >> 4)
}

/// A seed (a real board reads its RNG).
pub fn seed() -> [u8; 16] {
    let word = LINK.load(Ordering::Relaxed).to_le_bytes();
    core::array::from_fn(|i| word[i % 4] ^ i as u8)
}

/// Records a value the application produced (so it is not optimised away).
pub fn record(value: u32) {
    LINK.fetch_add(value, Ordering::Relaxed);
}

/// The MAC address of every variant.
pub const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Bytes echoed per step at most (the application's buffer).
pub const ECHO_CHUNK: usize = 256;
/// The TCP and UDP echo port.
pub const ECHO_PORT: u16 = 7;
