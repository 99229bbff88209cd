//! Driver for the SMSC LAN9118 Ethernet controller as QEMU's `mps2-an386` machine emulates it,
//! implementing [`embassy_net_driver::Driver`].
//!
//! The controller is programmed through 32-bit registers; the MAC's own registers sit behind an
//! indirect window (`MAC_CSR_CMD`/`MAC_CSR_DATA`) and the PHY's behind the MAC's MII registers.
//! Frames move through FIFOs:
//!
//! * **receive**: each frame leaves one status word in `RX_STATUS_FIFO` (length in bits 29:16,
//!   *including* the 4-byte FCS, which is also in the data FIFO) and its bytes, little-endian
//!   32-bit words, in `RX_DATA_FIFO`. The driver pops the status, reads `ceil(length / 4)`
//!   words into its receive buffer and hands the stack the frame without the FCS;
//! * **transmit**: command word A (first/last segment, buffer length), command word B (tag,
//!   frame length), then the frame's words into `TX_DATA_FIFO`. QEMU sends the frame as soon
//!   as the last word is written.
//!
//! Interrupts: the controller raises NVIC IRQ 13 (a level, active-high push-pull output:
//! `IRQ_CFG = 0x111`). The board's handler calls [`on_interrupt`], which masks the
//! receive-status interrupt, acknowledges `INT_STS` and wakes whoever waits (the core from WFI
//! and the registered [`Waker`]). [`Driver::receive`] unmasks it once the FIFO is empty, so the
//! interrupt cannot storm while frames wait for the stack, and no frame can arrive unnoticed.
//!
//! All register access goes through [`Regs`], the one place with `unsafe` (volatile reads and
//! writes of the device's fixed MMIO window).

use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Waker};

use cortex_m::interrupt::Mutex;
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// Base address of the LAN9118 registers on mps2-an386.
pub const BASE: usize = 0x4020_0000;
/// The controller's NVIC interrupt number.
pub const IRQ: u16 = 13;

/// The Ethernet MTU the driver reports: a 1500-byte IP MTU plus the 14-byte Ethernet header
/// (the embassy-net-driver convention; the FCS is not included).
pub const ETHERNET_MTU: usize = 1514;
/// Size of the driver's receive and transmit buffers: the largest frame plus its FCS, rounded
/// up to whole FIFO words with room to spare.
pub const BUFFER_LEN: usize = 1536;

/// Register offsets (bytes from [`BASE`]).
pub mod reg {
    /// Receive data FIFO port (any offset 0x00..0x20 pops a word).
    pub const RX_DATA_FIFO: usize = 0x00;
    /// Transmit data FIFO port (any offset 0x20..0x40 pushes a word).
    pub const TX_DATA_FIFO: usize = 0x20;
    /// Receive status FIFO port: one word per received frame.
    pub const RX_STATUS_FIFO: usize = 0x40;
    /// Transmit status FIFO port.
    pub const TX_STATUS_FIFO: usize = 0x48;
    /// Chip identification and revision (0x0118_0001 for a LAN9118).
    pub const ID_REV: usize = 0x50;
    /// Interrupt pin configuration.
    pub const IRQ_CFG: usize = 0x54;
    /// Interrupt status (write 1 to clear).
    pub const INT_STS: usize = 0x58;
    /// Interrupt enable.
    pub const INT_EN: usize = 0x5c;
    /// Byte-order test register: reads 0x8765_4321.
    pub const BYTE_TEST: usize = 0x64;
    /// FIFO levels at which interrupts fire.
    pub const FIFO_INT: usize = 0x68;
    /// Receive configuration (data offset and end alignment).
    pub const RX_CFG: usize = 0x6c;
    /// Transmit configuration.
    pub const TX_CFG: usize = 0x70;
    /// Hardware configuration (soft reset, FIFO sizes).
    pub const HW_CFG: usize = 0x74;
    /// Receive FIFO usage: status words (bits 23:16) and data bytes (bits 15:0).
    pub const RX_FIFO_INF: usize = 0x7c;
    /// Transmit FIFO usage: status words (bits 23:16) and free data bytes (bits 15:0).
    pub const TX_FIFO_INF: usize = 0x80;
    /// Power management control; bit 0 reports the chip ready after reset.
    pub const PMT_CTRL: usize = 0x84;
    /// Free-running 25 MHz counter, 32 bits.
    pub const FREE_RUN: usize = 0x9c;
    /// Frames dropped because the receive FIFO was full (QEMU always reads 0).
    pub const RX_DROP: usize = 0xa0;
    /// MAC CSR indirect access: command (busy, read/write, index).
    pub const MAC_CSR_CMD: usize = 0xa4;
    /// MAC CSR indirect access: data.
    pub const MAC_CSR_DATA: usize = 0xa8;
}

/// Bits of the registers above.
pub mod bits {
    /// `IRQ_CFG`: interrupt output enabled, active high, push-pull (QEMU asserts the line only
    /// with exactly this configuration).
    pub const IRQ_CFG_ENABLED: u32 = 0x111;
    /// `INT_STS`/`INT_EN`: the receive status FIFO passed its level (a frame arrived).
    pub const INT_RSFL: u32 = 1 << 3;
    /// `INT_STS`/`INT_EN`: a frame was dropped for lack of room.
    pub const INT_RXDF: u32 = 1 << 6;
    /// `INT_STS`/`INT_EN`: transmitter error.
    pub const INT_TXE: u32 = 1 << 13;
    /// `INT_STS`/`INT_EN`: receiver error (e.g. FIFO underflow).
    pub const INT_RXE: u32 = 1 << 14;
    /// `HW_CFG`: soft reset (self-clearing).
    pub const HW_CFG_SRST: u32 = 1 << 0;
    /// `PMT_CTRL`: device ready.
    pub const PMT_READY: u32 = 1 << 0;
    /// `TX_CFG`: transmitter on.
    pub const TX_CFG_TX_ON: u32 = 1 << 1;
    /// `TX_CFG`: let the transmit status FIFO overrun (we never read it).
    pub const TX_CFG_TXSAO: u32 = 1 << 2;
    /// `MAC_CSR_CMD`: start the access / access in progress.
    pub const MAC_CSR_BUSY: u32 = 1 << 31;
    /// `MAC_CSR_CMD`: the access is a read.
    pub const MAC_CSR_READ: u32 = 1 << 30;
    /// Transmit command A: first segment of a frame.
    pub const TX_CMD_A_FIRST: u32 = 1 << 13;
    /// Transmit command A: last segment of a frame.
    pub const TX_CMD_A_LAST: u32 = 1 << 12;
    /// Receive status: error summary (CRC, runt, too long, collision…).
    pub const RX_STS_ERROR: u32 = 1 << 15;
    /// Receive status: the frame failed the address filter (only seen in receive-all mode).
    pub const RX_STS_FILTER_FAIL: u32 = 1 << 30;
}

/// MAC control and status registers, reached through `MAC_CSR_CMD`/`MAC_CSR_DATA`.
pub mod mac {
    /// MAC control.
    pub const CR: u8 = 1;
    /// Station address, bytes 4 and 5.
    pub const ADDRH: u8 = 2;
    /// Station address, bytes 0 to 3.
    pub const ADDRL: u8 = 3;
    /// MII (PHY) access: PHY address, register index, write flag, busy.
    pub const MII_ACC: u8 = 6;
    /// MII (PHY) data.
    pub const MII_DATA: u8 = 7;

    /// `CR`: receiver enabled.
    pub const CR_RXEN: u32 = 1 << 2;
    /// `CR`: transmitter enabled.
    pub const CR_TXEN: u32 = 1 << 3;
    /// `CR`: pass all multicast frames (the stack filters groups itself).
    pub const CR_MCPAS: u32 = 1 << 19;
    /// `CR`: full duplex.
    pub const CR_FDPX: u32 = 1 << 20;
    /// `MII_ACC`: access in progress.
    pub const MII_BUSY: u32 = 1 << 0;
    /// The internal PHY's address on the MII bus.
    pub const PHY_ADDR: u32 = 1;
    /// PHY basic status register index.
    pub const PHY_BMSR: u32 = 1;
    /// `BMSR`: link up.
    pub const BMSR_LINK: u32 = 1 << 2;
}

/// Interrupts the driver runs on: a frame arrived, plus the error indications (acknowledged
/// and counted).
const INT_ENABLED: u32 = bits::INT_RSFL | bits::INT_RXDF | bits::INT_TXE | bits::INT_RXE;

/// Most polls of a busy bit before giving up (QEMU completes every access at once; real silicon
/// within microseconds).
const BUSY_POLLS: u32 = 100_000;

/// The LAN9118's register window. A copyable handle: the registers are device state, not
/// memory Rust owns, so several handles (the driver, the clock, the interrupt handler) may
/// exist; each access is one volatile 32-bit read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Regs {
    base: usize,
}

impl Regs {
    /// The controller at [`BASE`], where mps2-an386 maps it.
    pub const fn mps2_an386() -> Regs {
        Regs { base: BASE }
    }

    /// Reads the register at `offset`.
    ///
    /// # Panics
    /// When `offset` is outside the controller's 256-byte window or not word aligned (QEMU
    /// aborts the whole machine on an access to a register it does not model).
    #[inline]
    pub fn read(self, offset: usize) -> u32 {
        assert!(
            offset < 0x100 && offset.is_multiple_of(4),
            "LAN9118 register offset"
        );
        let address = (self.base + offset) as *const u32;
        // SAFETY: `base` is the LAN9118's MMIO window on this machine (the only constructor
        // fixes it), the offset was checked to be an aligned word inside the 256-byte window,
        // and a volatile read of a device register has no effect on Rust-visible memory.
        unsafe { address.read_volatile() }
    }

    /// Writes `value` to the register at `offset`.
    ///
    /// # Panics
    /// As [`Regs::read`].
    #[inline]
    pub fn write(self, offset: usize, value: u32) {
        assert!(
            offset < 0x100 && offset.is_multiple_of(4),
            "LAN9118 register offset"
        );
        let address = (self.base + offset) as *mut u32;
        // SAFETY: as in `read`: an aligned word of the controller's MMIO window, which no Rust
        // object occupies; the write changes device state only.
        unsafe { address.write_volatile(value) }
    }

    /// Reads MAC register `index` through the indirect window. `None` if the MAC stays busy.
    pub fn mac_read(self, index: u8) -> Option<u32> {
        self.write(
            reg::MAC_CSR_CMD,
            bits::MAC_CSR_BUSY | bits::MAC_CSR_READ | u32::from(index),
        );
        self.wait_clear(reg::MAC_CSR_CMD, bits::MAC_CSR_BUSY)?;
        Some(self.read(reg::MAC_CSR_DATA))
    }

    /// Writes MAC register `index` through the indirect window. `None` if the MAC stays busy.
    pub fn mac_write(self, index: u8, value: u32) -> Option<()> {
        self.write(reg::MAC_CSR_DATA, value);
        self.write(reg::MAC_CSR_CMD, bits::MAC_CSR_BUSY | u32::from(index));
        self.wait_clear(reg::MAC_CSR_CMD, bits::MAC_CSR_BUSY)
    }

    /// Reads PHY register `index` over the MII. `None` if the MII stays busy.
    pub fn phy_read(self, index: u32) -> Option<u16> {
        let command = (mac::PHY_ADDR << 11) | ((index & 0x1f) << 6) | mac::MII_BUSY;
        self.mac_write(mac::MII_ACC, command)?;
        for _ in 0..BUSY_POLLS {
            if self.mac_read(mac::MII_ACC)? & mac::MII_BUSY == 0 {
                return self.mac_read(mac::MII_DATA).map(|v| v as u16);
            }
        }
        None
    }

    /// The free-running 25 MHz counter.
    pub fn free_run(self) -> u32 {
        self.read(reg::FREE_RUN)
    }

    fn wait_clear(self, offset: usize, mask: u32) -> Option<()> {
        (0..BUSY_POLLS)
            .any(|_| self.read(offset) & mask == 0)
            .then_some(())
    }
}

/// Why the controller could not be brought up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitError {
    /// `BYTE_TEST` did not read 0x8765_4321: no LAN9118 at the address, or wrong byte order.
    NotFound(u32),
    /// The soft reset did not complete.
    ResetTimeout,
    /// The MAC's CSR window stayed busy.
    MacTimeout,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InitError::NotFound(v) => write!(f, "no LAN9118 (BYTE_TEST read {v:#010x})"),
            InitError::ResetTimeout => f.write_str("LAN9118 soft reset did not complete"),
            InitError::MacTimeout => f.write_str("LAN9118 MAC CSR access timed out"),
        }
    }
}

/// What the driver counted: the board-level view that complements the stack's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames handed to the stack.
    pub rx_frames: u32,
    /// Frames the controller flagged with an error, or shorter than an FCS, dropped.
    pub rx_errors: u32,
    /// Frames longer than the receive buffer, dropped.
    pub rx_oversize: u32,
    /// Frames the controller reported dropped (`RXDF` interrupts).
    pub rx_fifo_drops: u32,
    /// Frames written to the transmit FIFO.
    pub tx_frames: u32,
    /// Frames the stack asked to send that exceeded the buffer, not sent.
    pub tx_oversize: u32,
    /// Receive or transmit error interrupts.
    pub error_interrupts: u32,
}

/// Set by [`on_interrupt`]; read and cleared by [`take_event`].
static EVENT: AtomicBool = AtomicBool::new(false);
/// Error interrupts seen by the handler, folded into [`Counters`] by the driver.
static ERROR_FLAGS: Mutex<RefCell<(u32, u32)>> = Mutex::new(RefCell::new((0, 0)));
/// The waker registered by the last `receive` that found nothing.
static WAKER: Mutex<RefCell<Option<Waker>>> = Mutex::new(RefCell::new(None));

/// The interrupt handler's work for IRQ 13: mask the receive interrupt until the driver has
/// drained the FIFO, acknowledge the level interrupt in `INT_STS`, note the event and wake the
/// registered waker. The board's vector table calls it; call it from nowhere else.
pub fn on_interrupt() {
    let regs = Regs::mps2_an386();
    let status = regs.read(reg::INT_STS);
    regs.write(reg::INT_EN, INT_ENABLED & !bits::INT_RSFL);
    regs.write(reg::INT_STS, status);
    let waker = cortex_m::interrupt::free(|cs| {
        let mut flags = ERROR_FLAGS.borrow(cs).borrow_mut();
        if status & bits::INT_RXDF != 0 {
            flags.0 = flags.0.wrapping_add(1);
        }
        if status & (bits::INT_TXE | bits::INT_RXE) != 0 {
            flags.1 = flags.1.wrapping_add(1);
        }
        WAKER.borrow(cs).borrow_mut().take()
    });
    EVENT.store(true, Ordering::Release);
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// True (once) if the controller interrupted since the last call: the main loop's test before
/// it sleeps.
pub fn take_event() -> bool {
    EVENT.swap(false, Ordering::AcqRel)
}

/// Marks an event from another source (e.g. the sleep timer), so the next [`take_event`]
/// reports it.
pub fn signal_event() {
    EVENT.store(true, Ordering::Release);
}

fn register_waker(waker: &Waker) {
    cortex_m::interrupt::free(|cs| {
        let mut slot = WAKER.borrow(cs).borrow_mut();
        match slot.as_ref() {
            Some(old) if old.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    });
}

/// The decoded receive status word of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxStatus {
    /// Bytes in the data FIFO for this frame, FCS included.
    pub length: usize,
    /// The controller flagged the frame (error summary or filter failure).
    pub bad: bool,
}

impl RxStatus {
    /// Decodes a word popped from `RX_STATUS_FIFO`.
    pub const fn decode(word: u32) -> RxStatus {
        RxStatus {
            length: ((word >> 16) & 0x3fff) as usize,
            bad: word & (bits::RX_STS_ERROR | bits::RX_STS_FILTER_FAIL) != 0,
        }
    }

    /// FIFO words the frame occupies (RX_CFG leaves no offset and no end padding).
    pub const fn words(&self) -> usize {
        self.length.div_ceil(4)
    }

    /// The frame's length without the 4-byte FCS.
    pub const fn frame_len(&self) -> usize {
        self.length.saturating_sub(4)
    }
}

/// Transmit command words A and B for a single-segment frame of `len` bytes tagged `tag`.
pub const fn tx_commands(len: usize, tag: u16) -> (u32, u32) {
    let len = (len & 0x7ff) as u32;
    let a = bits::TX_CMD_A_FIRST | bits::TX_CMD_A_LAST | len;
    let b = ((tag as u32) << 16) | len;
    (a, b)
}

/// The LAN9118 driver: owns the controller and a receive and a transmit buffer.
#[derive(Debug)]
pub struct Lan9118 {
    regs: Regs,
    mac: [u8; 6],
    rx: [u8; BUFFER_LEN],
    tx: [u8; BUFFER_LEN],
    tag: u16,
    counters: Counters,
}

impl Lan9118 {
    /// Resets the controller, programs `mac_address`, enables the MAC's receiver and
    /// transmitter and the controller's interrupt output (`IRQ_CFG = 0x111`, receive interrupt
    /// enabled). The NVIC side (unmasking IRQ 13) is the board's job.
    ///
    /// # Errors
    /// When no controller answers or it does not come out of reset.
    pub fn new(regs: Regs, mac_address: [u8; 6]) -> Result<Lan9118, InitError> {
        let test = regs.read(reg::BYTE_TEST);
        if test != 0x8765_4321 {
            return Err(InitError::NotFound(test));
        }
        regs.write(reg::INT_EN, 0);
        regs.write(reg::HW_CFG, bits::HW_CFG_SRST);
        regs.wait_clear(reg::HW_CFG, bits::HW_CFG_SRST)
            .ok_or(InitError::ResetTimeout)?;
        (0..BUSY_POLLS)
            .any(|_| regs.read(reg::PMT_CTRL) & bits::PMT_READY != 0)
            .then_some(())
            .ok_or(InitError::ResetTimeout)?;

        let [a0, a1, a2, a3, a4, a5] = mac_address.map(u32::from);
        let mac_ok = regs
            .mac_write(mac::ADDRL, a0 | (a1 << 8) | (a2 << 16) | (a3 << 24))
            .and_then(|()| regs.mac_write(mac::ADDRH, a4 | (a5 << 8)))
            .and_then(|()| {
                regs.mac_write(
                    mac::CR,
                    mac::CR_TXEN | mac::CR_RXEN | mac::CR_FDPX | mac::CR_MCPAS,
                )
            });
        mac_ok.ok_or(InitError::MacTimeout)?;

        // No data offset or end padding on receive; transmitter on, status FIFO may overrun.
        regs.write(reg::RX_CFG, 0);
        regs.write(reg::TX_CFG, bits::TX_CFG_TX_ON | bits::TX_CFG_TXSAO);
        // Receive status level 0: the interrupt fires as soon as one frame is in.
        regs.write(reg::FIFO_INT, 0x4800_0000);
        regs.write(reg::INT_STS, u32::MAX);
        regs.write(reg::INT_EN, INT_ENABLED);
        regs.write(reg::IRQ_CFG, bits::IRQ_CFG_ENABLED);

        Ok(Lan9118 {
            regs,
            mac: mac_address,
            rx: [0; BUFFER_LEN],
            tx: [0; BUFFER_LEN],
            tag: 0,
            counters: Counters::default(),
        })
    }

    /// The controller's `ID_REV` register (0x0118_0001 in QEMU).
    pub fn id_rev(&self) -> u32 {
        self.regs.read(reg::ID_REV)
    }

    /// What the driver counted so far.
    pub fn counters(&self) -> Counters {
        let (drops, errors) = cortex_m::interrupt::free(|cs| *ERROR_FLAGS.borrow(cs).borrow());
        Counters {
            rx_fifo_drops: drops,
            error_interrupts: errors,
            ..self.counters
        }
    }

    /// Frames waiting in the receive FIFO.
    fn rx_pending(&self) -> u32 {
        (self.regs.read(reg::RX_FIFO_INF) >> 16) & 0xff
    }

    /// Pops frames until one is good and fits; returns its length in `self.rx`.
    fn pop_frame(&mut self) -> Option<usize> {
        while self.rx_pending() > 0 {
            let status = RxStatus::decode(self.regs.read(reg::RX_STATUS_FIFO));
            let words = status.words();
            let fits = words * 4 <= self.rx.len();
            if status.bad || !fits || status.length < 4 {
                for _ in 0..words {
                    self.regs.read(reg::RX_DATA_FIFO);
                }
                if fits {
                    self.counters.rx_errors = self.counters.rx_errors.wrapping_add(1);
                } else {
                    self.counters.rx_oversize = self.counters.rx_oversize.wrapping_add(1);
                }
                continue;
            }
            for chunk in self.rx[..words * 4].chunks_exact_mut(4) {
                chunk.copy_from_slice(&self.regs.read(reg::RX_DATA_FIFO).to_le_bytes());
            }
            self.counters.rx_frames = self.counters.rx_frames.wrapping_add(1);
            return Some(status.frame_len());
        }
        None
    }

    /// Re-enables the receive interrupt after acknowledging a stale one. Any frame arriving
    /// after the acknowledgement sets the status again and interrupts at once.
    fn arm_rx_interrupt(&self) {
        self.regs.write(reg::INT_STS, bits::INT_RSFL);
        self.regs.write(reg::INT_EN, INT_ENABLED);
    }
}

/// A received frame, already copied out of the FIFO.
#[derive(Debug)]
pub struct Lan9118RxToken<'a> {
    frame: &'a mut [u8],
}

impl RxToken for Lan9118RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Permission to send one frame.
#[derive(Debug)]
pub struct Lan9118TxToken<'a> {
    regs: Regs,
    buf: &'a mut [u8; BUFFER_LEN],
    tag: &'a mut u16,
    counters: &'a mut Counters,
}

impl TxToken for Lan9118TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        if len > ETHERNET_MTU {
            // The stack never builds such a frame (it honours the MTU); if it did, the frame is
            // built into the buffer (as much as fits) and counted, but never sent cut short.
            self.counters.tx_oversize = self.counters.tx_oversize.wrapping_add(1);
            let fit = len.min(BUFFER_LEN);
            return f(&mut self.buf[..fit]);
        }
        let result = f(&mut self.buf[..len]);
        *self.tag = self.tag.wrapping_add(1);
        let (a, b) = tx_commands(len, *self.tag);
        self.regs.write(reg::TX_DATA_FIFO, a);
        self.regs.write(reg::TX_DATA_FIFO, b);
        for chunk in self.buf[..len].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.regs.write(reg::TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.counters.tx_frames = self.counters.tx_frames.wrapping_add(1);
        result
    }
}

impl Driver for Lan9118 {
    type RxToken<'a>
        = Lan9118RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Lan9118TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context<'_>) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let len = match self.pop_frame() {
            Some(len) => len,
            None => {
                register_waker(cx.waker());
                self.arm_rx_interrupt();
                // A frame that arrived while the interrupt was masked is taken now.
                self.pop_frame()?
            }
        };
        let rx = Lan9118RxToken {
            frame: &mut self.rx[..len],
        };
        let tx = Lan9118TxToken {
            regs: self.regs,
            buf: &mut self.tx,
            tag: &mut self.tag,
            counters: &mut self.counters,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, cx: &mut Context<'_>) -> Option<Self::TxToken<'_>> {
        let free = (self.regs.read(reg::TX_FIFO_INF) & 0xffff) as usize;
        if free < BUFFER_LEN + 8 {
            // QEMU sends each frame as its last word is written, so this only happens on
            // silicon with a full FIFO: ask to be polled again.
            cx.waker().wake_by_ref();
            return None;
        }
        Some(Lan9118TxToken {
            regs: self.regs,
            buf: &mut self.tx,
            tag: &mut self.tag,
            counters: &mut self.counters,
        })
    }

    fn link_state(&mut self, _cx: &mut Context<'_>) -> LinkState {
        match self.regs.phy_read(mac::PHY_BMSR) {
            Some(bmsr) if u32::from(bmsr) & mac::BMSR_LINK != 0 => LinkState::Up,
            _ => LinkState::Down,
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = ETHERNET_MTU;
        capabilities.max_burst_size = None;
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_status_words_decode_length_and_errors() {
        // A 60-byte frame: QEMU reports 64 bytes (FCS included), 16 FIFO words.
        let status = RxStatus::decode(64 << 16);
        assert_eq!(status.length, 64);
        assert_eq!(status.frame_len(), 60);
        assert_eq!(status.words(), 16);
        assert!(!status.bad);
        // 1514 + 4 = 1518 bytes need 380 words, which fit the buffer.
        let status = RxStatus::decode((1518 << 16) | 0x2000);
        assert_eq!(status.words(), 380);
        assert!(status.words() * 4 <= BUFFER_LEN);
        assert!(!status.bad, "the broadcast flag is not an error");
        assert!(RxStatus::decode((64 << 16) | bits::RX_STS_ERROR).bad);
        assert!(RxStatus::decode((64 << 16) | bits::RX_STS_FILTER_FAIL).bad);
        // 61 bytes + FCS: 17 words.
        assert_eq!(RxStatus::decode(65 << 16).words(), 17);
    }

    #[test]
    fn tx_commands_describe_one_segment() {
        let (a, b) = tx_commands(42, 7);
        assert_eq!(a, (1 << 13) | (1 << 12) | 42);
        assert_eq!(b, (7 << 16) | 42);
        let (a, b) = tx_commands(1514, 0xffff);
        assert_eq!(a & 0x7ff, 1514);
        assert_eq!(b, 0xffff_0000 | 1514);
    }
}
