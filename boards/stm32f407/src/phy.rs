//! The Ethernet PHY over SMI (MDIO/MDC): reset, auto-negotiation and link detection, through
//! the IEEE 802.3 clause 22 registers only, so it drives the LAN8742A and LAN8720A of the
//! common boards (and most other 10/100 PHYs) alike.
//!
//! embassy-stm32's MAC driver runs at a fixed 100 Mbit/s full duplex and does not follow the
//! PHY's negotiated mode. This PHY therefore advertises 100BASE-TX full duplex only, and
//! reports the link up only when the partner negotiated exactly that: a link at any other
//! speed or duplex would pass frames badly (late collisions, CRC errors), and being reported
//! down is the honest answer. Every switch port of the last two decades negotiates 100/full.

use core::task::Context;

use embassy_stm32::eth::{Phy, StationManagement};

/// Basic control register.
const BCR: u8 = 0;
/// Basic status register.
const BSR: u8 = 1;
/// PHY identifier 1 (OUI bits 3..18).
const ID1: u8 = 2;
/// Auto-negotiation advertisement register.
const ANAR: u8 = 4;
/// Auto-negotiation link partner ability register.
const ANLPAR: u8 = 5;

/// BCR: software reset, self-clearing.
const BCR_RESET: u16 = 1 << 15;
/// BCR: auto-negotiation enable.
const BCR_AN_ENABLE: u16 = 1 << 12;
/// BCR: restart auto-negotiation, self-clearing.
const BCR_AN_RESTART: u16 = 1 << 9;
/// BSR: auto-negotiation complete.
const BSR_AN_COMPLETE: u16 = 1 << 5;
/// BSR: link up (latches low until read).
const BSR_LINK: u16 = 1 << 2;
/// ANAR/ANLPAR: selector field for IEEE 802.3.
const AN_SELECTOR_8023: u16 = 0x0001;
/// ANAR/ANLPAR: 100BASE-TX full duplex.
const AN_100_FULL: u16 = 1 << 8;

/// SMI addresses to probe when none is given.
const ADDRESSES: u8 = 32;
/// How long a software reset may take: the LAN8742A needs at most 500 ms.
const RESET_TIMEOUT_MS: u32 = 500;
/// Core cycles per millisecond at the board's 168 MHz, for the busy waits during reset.
const CYCLES_PER_MS: u32 = crate::SYSCLK_HZ / 1000;

/// The state of the Ethernet link, as the PHY reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No link (cable out, partner off, or auto-negotiation not finished).
    Down,
    /// 100BASE-TX full duplex: the mode the MAC runs in; frames pass.
    Up,
    /// A link in another mode (the partner does not do 100/full, or does not negotiate):
    /// the MAC cannot run in it, so the board treats it as down.
    Unsupported,
}

/// A clause 22 PHY on the SMI bus `SM` (embassy-stm32's [`Sma`](embassy_stm32::eth::Sma)).
pub struct SmiPhy<SM: StationManagement> {
    sm: SM,
    /// The PHY's SMI address; `None` until probed.
    address: Option<u8>,
    /// The last link state read.
    link: Link,
}

impl<SM: StationManagement> core::fmt::Debug for SmiPhy<SM> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmiPhy")
            .field("address", &self.address)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl<SM: StationManagement> SmiPhy<SM> {
    /// A PHY at SMI `address` (0..=31, set by the PHY's strap pins: see the board's
    /// schematic), or, with `None`, at the first address that answers.
    pub fn new(sm: SM, address: Option<u8>) -> SmiPhy<SM> {
        SmiPhy {
            sm,
            address: address.map(|a| a & 0x1f),
            link: Link::Down,
        }
    }

    /// The PHY's SMI address, once found (after the driver reset it); `None` if no PHY
    /// answered.
    pub fn address(&self) -> Option<u8> {
        self.address
    }

    /// The link state read last by [`SmiPhy::read_link`] (or by the driver's `link_state`).
    pub fn link(&self) -> Link {
        self.link
    }

    /// Reads the link state from the PHY's status registers: up only when auto-negotiation
    /// completed and the partner offered 100BASE-TX full duplex. Three SMI reads of about
    /// 40 µs each at the board's 1.65 MHz MDC: call it every second or so, not every poll.
    pub fn read_link(&mut self) -> Link {
        let Some(address) = self.address else {
            self.link = Link::Down;
            return self.link;
        };
        // The link bit latches low: the first read reports a drop since the last read, the
        // second the state now. Only the state now matters here.
        let _ = self.sm.smi_read(address, BSR);
        let bsr = self.sm.smi_read(address, BSR);
        self.link = if bsr & BSR_LINK == 0 || bsr & BSR_AN_COMPLETE == 0 {
            Link::Down
        } else if self.sm.smi_read(address, ANLPAR) & AN_100_FULL == 0 {
            // Parallel detection of a non-negotiating partner, or a partner without 100/full.
            Link::Unsupported
        } else {
            Link::Up
        };
        self.link
    }

    /// The first SMI address whose identifier register answers (an unconnected bus reads
    /// all ones).
    fn probe(&mut self) -> Option<u8> {
        (0..ADDRESSES).find(|&address| {
            let id = self.sm.smi_read(address, ID1);
            id != 0xffff && id != 0
        })
    }
}

impl<SM: StationManagement> Phy for SmiPhy<SM> {
    /// Finds the PHY if its address was not given, then resets it through BCR and waits (at
    /// most 500 ms) for the reset to finish. A missing PHY is not fatal: the link stays down.
    fn phy_reset(&mut self) {
        if self.address.is_none() {
            self.address = self.probe();
        }
        let Some(address) = self.address else {
            return;
        };
        self.sm.smi_write(address, BCR, BCR_RESET);
        for _ in 0..RESET_TIMEOUT_MS {
            if self.sm.smi_read(address, BCR) & BCR_RESET == 0 {
                return;
            }
            cortex_m::asm::delay(CYCLES_PER_MS);
        }
    }

    /// Advertises 100BASE-TX full duplex only (the MAC's fixed mode) and starts
    /// auto-negotiation.
    fn phy_init(&mut self) {
        let Some(address) = self.address else {
            return;
        };
        self.sm
            .smi_write(address, ANAR, AN_100_FULL | AN_SELECTOR_8023);
        self.sm
            .smi_write(address, BCR, BCR_AN_ENABLE | BCR_AN_RESTART);
    }

    /// Whether the link is up in the MAC's mode; see [`SmiPhy::read_link`].
    fn poll_link(&mut self, _cx: &mut Context) -> bool {
        self.read_link() == Link::Up
    }
}
