//! The runtime glue for the target: the SysTick handler that ends a sleep, and a panic
//! handler.

use core::panic::PanicInfo;

use cortex_m_rt::exception;

/// The sleep timer expired. Nothing to do: taking the exception wakes the core from its WFI
/// in [`Board::sleep_until`](crate::Board::sleep_until), which stops the timer.
#[exception]
fn SysTick() {}

/// Halts with interrupts masked: the network stops answering, and a debugger attached with
/// probe-rs finds the core here, with the panicking call in the backtrace.
///
/// The board has no console, so the message is neither formatted nor kept: that keeps
/// `core::fmt` out of the image (the formatting code a panic message refers to is only linked
/// when something reads it). A product would rather reset (`cortex_m::peripheral::SCB::sys_reset`) or arm
/// the independent watchdog; halting is the choice for bring-up on the bench.
#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    cortex_m::interrupt::disable();
    loop {
        cortex_m::asm::wfi();
    }
}
