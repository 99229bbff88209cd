//! The UART console: CMSDK APB UART0 at 0x4000_4000, which QEMU connects to its first serial
//! port (stdio with `-nographic`), and a small logger on top of it.
//!
//! The board has a text console by design (it runs under QEMU, where the UART is the screen),
//! so `core::fmt` is used here, and only here: [`println!`](crate::println) and the level
//! macros [`info!`](crate::info), [`warn!`](crate::warn) and [`error!`](crate::error) format
//! straight into the UART, with no buffer. Every line is written whole from the calling
//! context; only the panic handler prints from an exception.

use core::fmt::{self, Write};

/// Base address of UART0.
pub const UART0_BASE: usize = 0x4000_4000;

/// Register offsets of the CMSDK UART.
mod reg {
    pub const DATA: usize = 0x00;
    pub const STATE: usize = 0x04;
    pub const CTRL: usize = 0x08;
    pub const BAUDDIV: usize = 0x10;
}

/// `STATE`: the transmit buffer is full.
const STATE_TX_FULL: u32 = 1 << 0;
/// `CTRL`: transmitter enabled.
const CTRL_TX_ENABLE: u32 = 1 << 0;
/// The smallest divider the UART accepts (QEMU ignores the baud rate, but not a divider < 16).
const BAUDDIV_MIN: u32 = 16;

/// The CMSDK UART at `base`: a copyable handle to its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uart {
    base: usize,
}

impl Uart {
    /// UART0 of mps2-an386.
    pub const fn uart0() -> Uart {
        Uart { base: UART0_BASE }
    }

    fn write_reg(self, offset: usize, value: u32) {
        let address = (self.base + offset) as *mut u32;
        // SAFETY: `base` is UART0's MMIO window (the only constructor fixes it), `offset` is
        // one of the word-aligned registers above, and the write changes device state only.
        unsafe { address.write_volatile(value) }
    }

    fn read_reg(self, offset: usize) -> u32 {
        let address = (self.base + offset) as *const u32;
        // SAFETY: as in `write_reg`; reading STATE has no side effect.
        unsafe { address.read_volatile() }
    }

    /// Enables the transmitter. Idempotent, so the panic handler may call it again.
    pub fn init(self) {
        self.write_reg(reg::BAUDDIV, BAUDDIV_MIN);
        self.write_reg(reg::CTRL, CTRL_TX_ENABLE);
    }

    /// Sends one byte, waiting while the transmit buffer is full.
    pub fn write_byte(self, byte: u8) {
        while self.read_reg(reg::STATE) & STATE_TX_FULL != 0 {}
        self.write_reg(reg::DATA, u32::from(byte));
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(|b| self.write_byte(b));
        Ok(())
    }
}

/// The severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something unexpected that the firmware survives.
    Warn,
    /// Normal progress.
    Info,
}

impl Level {
    /// The fixed-width label printed in the line.
    pub const fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
        }
    }
}

/// Prints `args` and a newline on the console (the expansion of [`println!`](crate::println)).
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut uart = Uart::uart0();
    let _ = uart.write_fmt(args);
    uart.write_byte(b'\n');
}

/// Prints one log line: time since boot, level, message (the expansion of the level macros).
pub fn log(level: Level, args: fmt::Arguments<'_>) {
    let micros = crate::clock::now().total_micros();
    print_line(format_args!(
        "[{:>5}.{:06}] {} {}",
        micros / 1_000_000,
        micros % 1_000_000,
        level.label(),
        args
    ));
}

/// Prints a line on the UART console, like `std::println!`.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::console::print_line(::core::format_args!($($arg)*))
    };
}

/// Logs a line at level info: `[   1.234567] INFO  message`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::console::log($crate::console::Level::Info, ::core::format_args!($($arg)*))
    };
}

/// Logs a line at level warn.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::console::log($crate::console::Level::Warn, ::core::format_args!($($arg)*))
    };
}

/// Logs a line at level error.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::console::log($crate::console::Level::Error, ::core::format_args!($($arg)*))
    };
}
