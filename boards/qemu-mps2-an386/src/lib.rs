//! Board support for QEMU's `mps2-an386` machine: an Arm MPS2 board with the AN386 Cortex-M4F
//! image, whose LAN9118 Ethernet controller lets stack-runtime firmware run, and be tested, on
//! a Linux TAP interface without hardware.
//!
//! * [`lan9118`]: the Ethernet driver, an [`embassy_net_driver::Driver`], interrupt driven;
//! * [`clock`]: the monotonic [`Instant`] the stack needs, from the
//!   controller's free-running 25 MHz counter;
//! * [`console`]: UART0 and a small logger ([`println!`], [`info!`], [`warn!`], [`error!`]);
//! * startup (cortex-m-rt with this crate's `memory.x`: code at 0x0, RAM at 0x2000_0000), the
//!   interrupt and exception handlers and a panic handler that prints the message and location
//!   on the UART;
//! * [`alarm`]: a SysTick alarm waking a task at an instant, for async executors
//!   ([`Board::split`]);
//! * [`exit`]: end QEMU with a status through semihosting.
//!
//! [`Board::init`] brings everything up; a firmware's main loop then alternates
//! `stack.poll(&mut board.nic, clock::now())` with [`Board::sleep_until`]. The `unsafe` code of
//! the firmware lives in this crate only, and only around register access.
#![no_std]

pub mod alarm;
pub mod clock;
pub mod console;
pub mod lan9118;
#[cfg(target_os = "none")]
mod rt;

use cortex_m::interrupt::InterruptNumber;
use cortex_m::peripheral::NVIC;
use cortex_m::peripheral::syst::SystClkSource;
use stack_runtime::{Duration, Instant};

pub use cortex_m_rt::entry;
pub use lan9118::{InitError, Lan9118};

/// The core clock of mps2-an386 (and the rate of SysTick on the processor clock).
pub const CORE_HZ: u32 = 25_000_000;

/// The longest [`Board::sleep_until`] sleeps: the clock must be read at least once per
/// counter wrap (~171 s), and SysTick's 24-bit reload covers at most 0.67 s at 25 MHz.
pub const MAX_SLEEP: Duration = Duration::from_millis(500);

/// SysTick reload limit (24 bits).
const SYST_MAX_RELOAD: u64 = 0x00ff_ffff;

/// The LAN9118's interrupt line, for the NVIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NicInterrupt;

// SAFETY: 13 is the LAN9118's NVIC line on mps2-an386, a valid external interrupt number
// (the machine has 32 lines), which is all `InterruptNumber` requires.
unsafe impl InterruptNumber for NicInterrupt {
    fn number(self) -> u16 {
        lan9118::IRQ
    }
}

/// Why the board could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardError {
    /// [`Board::init`] was called twice (the core peripherals were already taken).
    AlreadyTaken,
    /// The Ethernet controller did not come up.
    Nic(InitError),
}

impl core::fmt::Display for BoardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BoardError::AlreadyTaken => f.write_str("the board was already initialised"),
            BoardError::Nic(error) => error.fmt(f),
        }
    }
}

/// The initialised board: the network driver and the sleep timer.
pub struct Board {
    /// The Ethernet driver, for `Stack::poll`.
    pub nic: Lan9118,
    syst: cortex_m::peripheral::SYST,
}

impl core::fmt::Debug for Board {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Board")
            .field("nic", &self.nic)
            .finish_non_exhaustive()
    }
}

impl Board {
    /// Starts the console, resets and configures the Ethernet controller with `mac_address`,
    /// starts the clock, and enables the controller's interrupt (IRQ 13) and the SysTick sleep
    /// timer.
    ///
    /// # Errors
    /// When called twice, or when the controller does not come up.
    pub fn init(mac_address: [u8; 6]) -> Result<Board, BoardError> {
        console::Uart::uart0().init();
        let peripherals = cortex_m::Peripherals::take().ok_or(BoardError::AlreadyTaken)?;
        let nic =
            Lan9118::new(lan9118::Regs::mps2_an386(), mac_address).map_err(BoardError::Nic)?;
        clock::start();
        let mut syst = peripherals.SYST;
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.enable_interrupt();
        // Until `IRQ_CFG` was set, QEMU drove the line active low, i.e. asserted: the NVIC has
        // latched it as pending. Drop that, and the event it would report, before unmasking.
        NVIC::unpend(NicInterrupt);
        lan9118::take_event();
        // SAFETY: unmasking IRQ 13 lets its handler (`lan9118::on_interrupt`) run. The firmware
        // uses no critical section built on masking this line, and the handler only touches the
        // controller's registers and state shared through `cortex_m::interrupt::Mutex`.
        unsafe { NVIC::unmask(NicInterrupt) };
        Ok(Board { nic, syst })
    }

    /// Splits the board for an async executor: the Ethernet driver, and SysTick as an
    /// [`alarm::Alarm`] (the executor sleeps by itself; the alarm's interrupt wakes it at the
    /// stack's deadlines, the controller's interrupt when frames come).
    pub fn split(self) -> (Lan9118, alarm::Alarm) {
        (self.nic, alarm::Alarm::new(self.syst))
    }

    /// Sleeps (WFI) until the Ethernet controller interrupts, `deadline` passes, or
    /// [`MAX_SLEEP`] elapses, whichever comes first; returns at once if an interrupt came since
    /// the last call. `None`: no deadline. Poll the stack after every call: an interrupt that
    /// came during the sleep is reported by returning, not remembered for the next call.
    pub fn sleep_until(&mut self, deadline: Option<Instant>) {
        let now = clock::now();
        let latest = now + MAX_SLEEP;
        let until = deadline.map_or(latest, |d| d.min(latest));
        let micros = until.saturating_duration_since(now).total_micros();
        if micros == 0 {
            return;
        }
        let ticks = (micros * u64::from(CORE_HZ / 1_000_000)).clamp(1, SYST_MAX_RELOAD);
        self.syst.disable_counter();
        self.syst.set_reload(ticks as u32);
        self.syst.clear_current();
        self.syst.enable_counter();
        // With interrupts masked, check for an event that already came, else wait: WFI still
        // wakes on a pending interrupt, whose handler runs once the mask is lifted. So no
        // interrupt between the check and the WFI is missed.
        cortex_m::interrupt::free(|_| {
            if !lan9118::take_event() {
                cortex_m::asm::wfi();
            }
        });
        // The handler of whatever woke us has run by now and set the event flag. The caller
        // polls next, which sees everything that happened up to here, so the flag is spent.
        self.syst.disable_counter();
        lan9118::take_event();
    }
}

/// Ends QEMU with a success or failure status through semihosting `SYS_EXIT` (QEMU exits with
/// 0 or 1). QEMU must run with `-semihosting-config enable=on,target=native`; without it the
/// request faults, and the hard-fault handler reports it and halts.
pub fn exit(success: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    halt()
}

/// Stops the firmware for good: masks the controller's interrupt and sleeps forever.
pub fn halt() -> ! {
    cortex_m::interrupt::disable();
    NVIC::mask(NicInterrupt);
    loop {
        cortex_m::asm::wfi();
    }
}
