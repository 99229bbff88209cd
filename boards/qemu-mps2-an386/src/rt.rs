//! The runtime glue for the target: interrupt and exception handlers and the panic handler.
//! Only built for the bare-metal target (`target_os = "none"`), so host builds and tests of
//! the rest of the crate keep std's panic machinery.

use core::fmt::Write;
use core::panic::PanicInfo;

use cortex_m_rt::{ExceptionFrame, exception};

use crate::console::Uart;
use crate::lan9118;

/// IRQ 13 goes to the Ethernet driver; SysTick wakes the sleeping main loop; anything else
/// was never enabled, so it is a bug and panics.
///
/// The device has no PAC (no `device` feature of cortex-m-rt), so every interrupt vector
/// points here and the handler dispatches on the active interrupt number.
#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    if irqn == lan9118::IRQ as i16 {
        lan9118::on_interrupt();
    } else {
        panic!("unexpected interrupt or exception {irqn}");
    }
}

/// The sleep timer expired: let the main loop run, or the alarm wake its task.
#[exception]
fn SysTick() {
    lan9118::signal_event();
    crate::alarm::on_systick();
}

/// Reports a hard fault (bad memory access, undefined instruction, or semihosting without
/// `-semihosting-config enable=on`) with the faulting context, then halts.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    let mut uart = Uart::uart0();
    uart.init();
    let _ = writeln!(
        uart,
        "HARD FAULT: pc={:#010x} lr={:#010x} xpsr={:#010x}",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    );
    crate::halt()
}

/// Prints `PANIC at file:line:column: message` on the UART, then halts.
#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    cortex_m::interrupt::disable();
    let mut uart = Uart::uart0();
    uart.init();
    let _ = match info.location() {
        Some(at) => write!(
            uart,
            "PANIC at {}:{}:{}: ",
            at.file(),
            at.line(),
            at.column()
        ),
        None => write!(uart, "PANIC: "),
    };
    let _ = writeln!(uart, "{}", info.message());
    crate::halt()
}
