//! Benchmark 4 (footprint): the firmware of `../ours` and `../smoltcp` without a stack: the
//! same driver, frame buffers and loop, with the stack's `poll` replaced by handing each
//! received frame back to the transmitter. Its sizes, subtracted from the others', give the
//! stacks' share (application and driver code is not exactly identical across the three, so
//! the share is within a few hundred bytes).

#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[path = "../../common/opaque.rs"]
mod opaque;
use opaque::ECHO_CHUNK;

#[entry]
fn main() -> ! {
    let mut pending = [0u8; ECHO_CHUNK];
    loop {
        let _tick = opaque::now_ms();
        if opaque::frame_waiting() {
            let mut frame = [0u8; 1514];
            let len = opaque::receive_into(&mut frame);
            let n = len.min(ECHO_CHUNK);
            pending[..n].copy_from_slice(&frame[..n]);
            let mut out = [0u8; 1514];
            out[..n].copy_from_slice(&pending[..n]);
            opaque::transmit(&out[..len]);
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[allow(clippy::empty_loop)]
    loop {}
}
