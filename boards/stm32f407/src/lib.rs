//! Board support for an STM32F407VG with an RMII Ethernet PHY, wired like the
//! STM32F4-DISCOVERY on its STM32F4DIS-BB base board (LAN8720A) or any board with the same
//! RMII pins (LAN8742A, DP83848 in RMII mode): see the README for the pin table.
//!
//! * clocks: HSE 8 MHz → PLL → 168 MHz SYSCLK/HCLK, APB1 42 MHz (timers 84 MHz), APB2
//!   84 MHz, 48 MHz PLL Q, set up by [`Board::init`] through embassy-stm32;
//! * Ethernet: embassy-stm32's `eth` MAC/DMA driver, an [`embassy_net_driver::Driver`] 0.2 as
//!   stack-runtime's `Stack::poll` takes it, with its descriptors and buffers in the
//!   firmware's [`PacketQueue`] static (in SRAM, where the DMA reaches);
//! * [`phy`]: the PHY over SMI: found by probing, reset through its control register,
//!   advertising 100BASE-TX full duplex, link read from its status registers;
//! * [`clock`]: the monotonic [`Instant`] the stack needs, from TIM2 at 1 MHz;
//! * sleeping: [`Board::sleep_until`] waits in WFI for the Ethernet interrupt or SysTick;
//! * startup (cortex-m-rt with this crate's `memory.x`: flash at 0x0800_0000, statics in the
//!   128 KiB SRAM, the call stack in the 64 KiB CCM) and a panic handler that halts without
//!   formatting.
//!
//! A firmware's main loop alternates `stack.poll(&mut board.nic, board.now())` with
//! [`Board::sleep_until`], and checks [`Board::link`] now and then. This crate writes no
//! `unsafe` code: embassy-stm32 owns every register access (the interrupt binding's
//! `unsafe` is in the expansion of its `bind_interrupts!`).
#![no_std]

pub mod clock;
pub mod phy;
#[cfg(target_os = "none")]
mod rt;

use core::task::{Context, Waker};

use cortex_m::peripheral::syst::SystClkSource;
use embassy_net_driver::Driver;
use embassy_stm32::eth::{self, Ethernet, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA};
use embassy_stm32::rcc::{
    AHBPrescaler, APBPrescaler, Hse, HseMode, Pll, PllMul, PllPDiv, PllPreDiv, PllQDiv, PllSource,
    Sysclk,
};
use embassy_stm32::time::Hertz;
use stack_runtime::{Duration, Instant};

pub use cortex_m_rt::entry;
pub use embassy_stm32::eth::PacketQueue;
pub use phy::{Link, SmiPhy};

use crate::clock::Clock;

/// The crystal on the STM32F4-DISCOVERY (and most F407 boards): 8 MHz.
pub const HSE_HZ: u32 = 8_000_000;
/// The core clock: 168 MHz, the F407's maximum.
pub const SYSCLK_HZ: u32 = 168_000_000;
/// SysTick's clock: HCLK / 8 = 21 MHz.
const SYST_HZ: u32 = SYSCLK_HZ / 8;
/// SysTick reload limit (24 bits): 0.8 s at 21 MHz.
const SYST_MAX_RELOAD: u64 = 0x00ff_ffff;

/// The longest [`Board::sleep_until`] sleeps: within SysTick's 0.8 s reach, and short enough
/// that a loop which checks [`Board::link`] every second sees cable changes in time.
pub const MAX_SLEEP: Duration = Duration::from_millis(500);

/// The Ethernet driver of this board: embassy-stm32's MAC/DMA driver with the SMI PHY.
pub type Nic = Ethernet<'static, ETH, SmiPhy<Sma<'static, ETH_SMA>>>;

embassy_stm32::bind_interrupts!(
    /// The interrupts this board handles: the Ethernet DMA's, by embassy-stm32's handler
    /// (it acknowledges the DMA status; the frames are read by the next poll).
    struct Irqs {
        ETH => eth::InterruptHandler;
    }
);

/// How the board starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The interface's MAC address (the board has none of its own: give a locally
    /// administered one, or one from the product's EEPROM).
    pub mac_address: [u8; 6],
    /// The PHY's SMI address; `None`: probe 0..=31 and take the first that answers.
    pub phy_address: Option<u8>,
}

/// Why the board could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardError {
    /// [`Board::init`] was called twice (the core peripherals were already taken).
    AlreadyTaken,
}

/// The initialised board: the network driver, the clock and the sleep timer.
pub struct Board {
    /// The Ethernet driver, for `Stack::poll`.
    pub nic: Nic,
    clock: Clock,
    syst: cortex_m::peripheral::SYST,
}

impl core::fmt::Debug for Board {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Board")
            .field("phy", self.nic.phy())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// The clock tree: HSE 8 MHz / 4 = 2 MHz × 168 = 336 MHz VCO; / 2 = 168 MHz SYSCLK and HCLK,
/// / 7 = 48 MHz for USB/SDIO/RNG; APB1 = HCLK / 4 = 42 MHz (its timers, TIM2 among them,
/// run at twice that: 84 MHz), APB2 = HCLK / 2 = 84 MHz. embassy-stm32 sets the flash wait
/// states (5 at 168 MHz and 3.3 V) and the voltage scale.
fn clock_config() -> embassy_stm32::Config {
    let mut config = embassy_stm32::Config::default();
    config.rcc.hse = Some(Hse {
        freq: Hertz(HSE_HZ),
        mode: HseMode::Oscillator,
    });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL168,
        divp: Some(PllPDiv::DIV2),
        divq: Some(PllQDiv::DIV7),
        divr: None,
    });
    config.rcc.sys = Sysclk::PLL1_P;
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config
}

impl Board {
    /// Starts the clocks (168 MHz from the 8 MHz crystal), the 1 MHz clock, the Ethernet MAC
    /// and DMA with `queue` as descriptors and buffers, and the PHY (probed if need be,
    /// reset, auto-negotiation started); enables the Ethernet interrupt and the SysTick sleep
    /// timer. The link comes up some seconds later: see [`Board::link`].
    ///
    /// `queue` must be a static in SRAM (any `static` is: see `memory.x`), never in CCM.
    ///
    /// # Errors
    /// When called twice.
    pub fn init<const TX: usize, const RX: usize>(
        config: Config,
        queue: &'static mut PacketQueue<TX, RX>,
    ) -> Result<Board, BoardError> {
        let core = cortex_m::Peripherals::take().ok_or(BoardError::AlreadyTaken)?;
        let p = embassy_stm32::init(clock_config());
        let clock = Clock::start(p.TIM2);
        // RMII pins of the STM32F4DIS-BB / most F407 boards (see the README):
        // REF_CLK PA1, MDIO PA2, CRS_DV PA7, MDC PC1, RXD0 PC4, RXD1 PC5,
        // TX_EN PB11, TXD0 PB12, TXD1 PB13.
        let sma = Sma::new(p.ETH_SMA, p.PA2, p.PC1);
        let phy = SmiPhy::new(sma, config.phy_address);
        let nic = Ethernet::new_with_phy(
            queue,
            p.ETH,
            Irqs,
            p.PA1,
            p.PA7,
            p.PC4,
            p.PC5,
            p.PB12,
            p.PB13,
            p.PB11,
            config.mac_address,
            phy,
        );
        let mut syst = core.SYST;
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::External);
        syst.enable_interrupt();
        Ok(Board { nic, clock, syst })
    }

    /// The time since the board started.
    pub fn now(&mut self) -> Instant {
        self.clock.now()
    }

    /// Reads the link state from the PHY (three SMI reads, about 120 µs: call it every
    /// second or so). Only [`Link::Up`] passes frames.
    pub fn link(&mut self) -> Link {
        self.nic.phy_mut().read_link()
    }

    /// Whether a received frame waits in the DMA ring (and a transmit descriptor is free to
    /// answer it): what the next poll would take.
    fn frame_waiting(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.nic.receive(&mut cx).is_some()
    }

    /// Sleeps (WFI) until the Ethernet DMA interrupts (a frame received or sent), `deadline`
    /// passes, or [`MAX_SLEEP`] elapses, whichever comes first; returns at once if a frame
    /// is already waiting. `None`: no deadline. Poll the stack after every call.
    pub fn sleep_until(&mut self, deadline: Option<Instant>) {
        let now = self.now();
        let latest = now + MAX_SLEEP;
        let until = deadline.map_or(latest, |d| d.min(latest));
        let micros = until.saturating_duration_since(now).total_micros();
        if micros == 0 {
            return;
        }
        let ticks = (micros * u64::from(SYST_HZ / 1_000_000)).clamp(1, SYST_MAX_RELOAD);
        self.syst.disable_counter();
        self.syst.set_reload(ticks as u32);
        self.syst.clear_current();
        self.syst.enable_counter();
        // With interrupts masked, look for a frame that came since the poll, else wait: WFI
        // still wakes on a pending interrupt, whose handler runs once the mask is lifted, so
        // a frame arriving between the check and the WFI is not slept through.
        cortex_m::interrupt::free(|_| {
            if !self.frame_waiting() {
                cortex_m::asm::wfi();
            }
        });
        self.syst.disable_counter();
    }
}
