//! Fault injection: a driver wrapper that loses, reorders, duplicates, corrupts and delays
//! frames, reproducibly from a seed (feature `fault-injection`).
//!
//! The machines the end-to-end tests run on have no `netem`, and firmware has no kernel at all,
//! so the faults a stack must survive are injected here, between the stack and any
//! [`Driver`]: a TAP, a chip driver or the in-memory test driver. [`FaultyLink`] is itself a
//! [`Driver`]; hand it to [`Stack::poll`](crate::Stack::poll) in place of the real one.
//!
//! ```text
//!   stack ◀── rx lane: loss, corrupt, delay, reorder, duplicate ◀── inner driver
//!   stack ──▶ tx lane: loss, corrupt, delay, reorder, duplicate ──▶ inner driver
//! ```
//!
//! # The pipeline
//!
//! Every frame entering a lane draws five numbers from the lane's pseudo-random stream (always
//! five, whatever the outcome, so which faults hit frame *k* depends only on the seed, the
//! direction and *k*), then goes through, in this order:
//!
//! 1. **loss**: the frame is discarded (`dropped`);
//! 2. **corruption** (IPv4 frames only): 1 to 3 bits are flipped at random offsets beyond the
//!    14-byte Ethernet header (`corrupted`). The flipped bits have distinct positions within
//!    their 16-bit words (the IPv4 header and every transport header start at even offsets),
//!    so their effects on a one's-complement sum can never cancel: every corruption of a
//!    checksummed byte is detectable by the Internet checksum that covers it. ARP and other
//!    frames are never corrupted: ARP has no checksum, and a poisoned neighbour cache tests
//!    nothing but patience. (A real link's FCS would catch corruption; this models the errors
//!    that slip past it, which checksums exist for.) Bits flipped in Ethernet padding or past
//!    the IPv4 total length change nothing a receiver reads;
//! 3. **delay**: the frame is held until `arrival + delay + jitter`, where `jitter` is uniform
//!    in `0..=config.jitter` (`delayed` counts frames given a non-zero delay). `arrival` is the
//!    time of the last [`FaultyLink::set_now`];
//! 4. **reordering**: the frame is held back (`reordered`) and released right after the next
//!    frame of its direction, or at the latest [`FaultConfig::reorder_hold`] after it was due,
//!    so the last frame of a burst is late, not lost;
//! 5. **duplication**: a second, identical copy is queued right behind it (`duplicated`).
//!
//! Frames leave a lane earliest release time first, ties in arrival order: with no jitter that
//! is arrival order (bar the reordered frames); jitter reorders frames, as on a real path.
//!
//! # Storage and back-pressure
//!
//! Each lane holds up to `N` frames of up to `MTU` bytes in the wrapper's own arrays (no
//! allocation; `2 × N × MTU` bytes in all, so on firmware put the wrapper in a `static`:
//! [`FaultyLink::new`] is a `const fn`). A lane never throws away a queued frame to make room.
//! The receive lane reads from the inner driver only while it has room for a frame and its
//! duplicate, and leaves the rest in the inner driver; the transmit lane refuses
//! [`Driver::transmit`] while it lacks that room, so the stack keeps the packet queued, as with
//! a busy driver. The only frames lost to a full lane
//! (`overflow`) are duplicate copies that found no slot and frames sent through the transmit
//! token paired with a receive (the stack never uses that token). Frames longer than `MTU` are
//! discarded (`oversize`).
//!
//! # Time
//!
//! Drivers have no clock, so the poll loop tells the wrapper the time with
//! [`FaultyLink::set_now`] before each poll, and wakes up for [`FaultyLink::next_release`]
//! as well as for the stack's own deadline. Delayed transmit frames are handed to the inner
//! driver from `set_now`, `receive` and `transmit`.
//!
//! ```
//! use stack_runtime::fault::{FaultConfig, FaultyLink};
//! use stack_runtime::testing::FrameQueueDriver;
//! use stack_runtime::time::Instant;
//!
//! let config = FaultConfig {
//!     loss: FaultConfig::parse_percent("3%")?,
//!     delay: FaultConfig::parse_duration("2ms")?,
//!     seed: 7,
//!     ..FaultConfig::NONE
//! };
//! let inner: FrameQueueDriver = FrameQueueDriver::new([2, 0, 0, 0, 0, 2]);
//! let mut link: FaultyLink<_, 16> = FaultyLink::new(inner, config);
//! // In the poll loop:
//! let now = Instant::from_millis(1);
//! link.set_now(now);
//! // stack.poll(&mut link, now), then sleep until the earlier of the stack's deadline and:
//! assert_eq!(link.next_release(), None); // nothing in flight yet
//! link.stats().for_each(|name, value| {
//!     let _ = (name, value); // e.g. "rx_dropped", 0
//! });
//! # Ok::<(), stack_runtime::fault::ParseError>(())
//! ```
//!
//! A failing seed is a regression test: the same seed and the same sequence of frames give the
//! same faults, on the host and on the target.

use core::fmt;
use core::task::{Context, Waker};

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

use crate::time::{Duration, Instant};

/// One million: [`Probability`] counts in parts per million.
pub const PPM: u32 = 1_000_000;

/// Length of the Ethernet header that corruption never touches.
const ETHERNET_HEADER_LEN: usize = 14;
/// The IPv4 ethertype: the only frames corrupted.
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];

/// Separates the pseudo-random streams of the two directions derived from one seed.
const RX_STREAM: u64 = 0x7278_5f6c_616e_6531;
/// See [`RX_STREAM`].
const TX_STREAM: u64 = 0x7478_5f6c_616e_6532;

/// How likely a fault is, in parts per million (0 = never, [`PPM`] = always), so firmware
/// decides with integer arithmetic only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Probability(u32);

impl Probability {
    /// Never.
    pub const NEVER: Probability = Probability(0);
    /// Always.
    pub const ALWAYS: Probability = Probability(PPM);

    /// `ppm` parts per million, capped at one million.
    pub const fn from_ppm(ppm: u32) -> Probability {
        Probability(if ppm > PPM { PPM } else { ppm })
    }

    /// `percent` percent (whole percents; use [`Probability::parse`] or
    /// [`Probability::from_ppm`] for fractions), capped at 100 %.
    pub const fn from_percent(percent: u32) -> Probability {
        Probability::from_ppm(percent.saturating_mul(PPM / 100))
    }

    /// The probability in parts per million.
    pub const fn ppm(self) -> u32 {
        self.0
    }

    /// True for a probability of zero.
    pub const fn is_never(self) -> bool {
        self.0 == 0
    }

    /// Parses `"3%"`, `"0.5%"` (percent, up to 4 decimals), `"250ppm"` or a fraction such as
    /// `"0.03"` (up to 6 decimals). At most 100 %.
    ///
    /// # Errors
    /// [`ParseError`] says what is wrong with `text`.
    pub fn parse(text: &str) -> Result<Probability, ParseError> {
        let text = text.trim();
        let ppm = if let Some(number) = text.strip_suffix('%') {
            // 1 % = 10,000 ppm: four decimals of a percent are whole ppm.
            parse_decimal(number.trim_end(), 4)?
        } else if let Some(number) = text.strip_suffix("ppm") {
            parse_decimal(number.trim_end(), 0)?
        } else {
            parse_decimal(text, 6)?
        };
        if ppm > u64::from(PPM) {
            return Err(ParseError::OutOfRange);
        }
        Ok(Probability(ppm as u32))
    }

    /// True, with this probability, for a uniformly random `draw`.
    fn hit(self, draw: u64) -> bool {
        // The top 32 bits scaled to 0..1,000,000: exact for NEVER and ALWAYS.
        ((draw >> 32) * u64::from(PPM)) >> 32 < u64::from(self.0)
    }
}

impl fmt::Display for Probability {
    /// Percent with four decimals, e.g. `0.5000%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04}%", self.0 / 10_000, self.0 % 10_000)
    }
}

/// Why a probability or a duration could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Nothing to parse.
    Empty,
    /// Not a decimal number (with its unit).
    Invalid,
    /// More decimals than the unit resolves (1 ppm, 1 µs).
    TooPrecise,
    /// A probability above 100 %, or a number too large to represent.
    OutOfRange,
    /// A duration without a unit (`us`, `ms` or `s`); only `0` may omit it.
    MissingUnit,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Empty => "empty value",
            ParseError::Invalid => "not a number (examples: 3%, 0.5%, 250ppm, 0.03, 2ms)",
            ParseError::TooPrecise => "too many decimals (resolution: 1 ppm, 1 us)",
            ParseError::OutOfRange => "out of range (a probability is at most 100%)",
            ParseError::MissingUnit => "a duration needs a unit: us, ms or s (e.g. 2ms)",
        })
    }
}

impl core::error::Error for ParseError {}

/// Parses a non-negative decimal number and returns it times `10^decimals`.
fn parse_decimal(text: &str, decimals: usize) -> Result<u64, ParseError> {
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(ParseError::Invalid);
    }
    if fraction.len() > decimals && fraction.bytes().skip(decimals).any(|b| b != b'0') {
        return Err(ParseError::TooPrecise);
    }
    let mut value: u64 = 0;
    let fraction = fraction.as_bytes();
    let all = whole
        .bytes()
        .chain((0..decimals).map(|i| fraction.get(i).copied().unwrap_or(b'0')));
    for digit in all {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .ok_or(ParseError::OutOfRange)?;
    }
    Ok(value)
}

/// A small, fast pseudo-random generator (SplitMix64): 64 bits of state, one add and three
/// xor-shift-multiply steps per number. Deterministic on every target, so a seed replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed` (any value, zero included).
    pub const fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0), by multiply-shift.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }
}

/// The faults of one direction (or of both: see [`FaultyLink::new`]).
///
/// Start from [`FaultConfig::NONE`] and set what you need; `parse_percent` and
/// `parse_duration` read command-line values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultConfig {
    /// Share of frames discarded.
    pub loss: Probability,
    /// Share of frames held back and released after the next one.
    pub reorder: Probability,
    /// Share of frames delivered twice.
    pub duplicate: Probability,
    /// Share of IPv4 frames with 1 to 3 bits flipped beyond the Ethernet header.
    pub corrupt: Probability,
    /// Delay added to every frame.
    pub delay: Duration,
    /// Extra delay, uniform in `0..=jitter`, added to every frame (reorders frames when larger
    /// than their spacing).
    pub jitter: Duration,
    /// Longest a reordered frame waits for a successor after it was due
    /// ([`FaultConfig::DEFAULT_REORDER_HOLD`]); zero turns reordering into nothing.
    pub reorder_hold: Duration,
    /// Seed of the pseudo-random streams; the two directions derive distinct streams from it.
    pub seed: u64,
}

impl FaultConfig {
    /// How long a reordered frame waits for a successor by default: 10 ms.
    pub const DEFAULT_REORDER_HOLD: Duration = Duration::from_millis(10);

    /// No fault at all: the wrapper passes every frame unchanged and at once.
    pub const NONE: FaultConfig = FaultConfig {
        loss: Probability::NEVER,
        reorder: Probability::NEVER,
        duplicate: Probability::NEVER,
        corrupt: Probability::NEVER,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        reorder_hold: FaultConfig::DEFAULT_REORDER_HOLD,
        seed: 0,
    };

    /// True when this configuration injects any fault (delay and jitter included).
    pub fn is_active(&self) -> bool {
        !(self.loss.is_never()
            && self.reorder.is_never()
            && self.duplicate.is_never()
            && self.corrupt.is_never()
            && self.delay == Duration::ZERO
            && self.jitter == Duration::ZERO)
    }

    /// Parses a probability for a command line: `"3%"`, `"0.5%"`, `"250ppm"` or `"0.03"`
    /// (see [`Probability::parse`]).
    ///
    /// # Errors
    /// [`ParseError`] says what is wrong with `text`.
    pub fn parse_percent(text: &str) -> Result<Probability, ParseError> {
        Probability::parse(text)
    }

    /// Parses a duration for a command line: a decimal number and a unit, `us`, `ms` or `s`
    /// (`"2ms"`, `"1.5ms"`, `"250us"`, `"0.1s"`), or `"0"`. Resolution 1 µs.
    ///
    /// # Errors
    /// [`ParseError`] says what is wrong with `text`.
    pub fn parse_duration(text: &str) -> Result<Duration, ParseError> {
        let text = text.trim();
        let (number, decimals) = if let Some(n) = text.strip_suffix("us") {
            (n, 0)
        } else if let Some(n) = text.strip_suffix("ms") {
            (n, 3)
        } else if let Some(n) = text.strip_suffix('s') {
            (n, 6)
        } else if text.is_empty() {
            return Err(ParseError::Empty);
        } else if parse_decimal(text, 6) == Ok(0) {
            return Ok(Duration::ZERO);
        } else {
            return Err(ParseError::MissingUnit);
        };
        parse_decimal(number.trim_end(), decimals).map(Duration::from_micros)
    }
}

impl Default for FaultConfig {
    /// [`FaultConfig::NONE`].
    fn default() -> Self {
        FaultConfig::NONE
    }
}

macro_rules! fault_counters {
    ( $( $(#[$meta:meta])* $name:ident, )* ) => {
        /// What one direction of a [`FaultyLink`] did, frame by frame. Counters wrap.
        ///
        /// Once the lane is empty, `frames_in + duplicated = passed + dropped + oversize +
        /// overflow` (while frames are in flight, add the frames queued to the right).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct FaultCounters {
            $( $(#[$meta])* pub $name: u32, )*
        }

        impl FaultCounters {
            /// All zero.
            pub const fn new() -> FaultCounters {
                FaultCounters { $( $name: 0, )* }
            }

            /// Calls `f(name, value)` for every counter, in declaration order.
            pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
                $( f(stringify!($name), u64::from(self.$name)); )*
            }
        }

        impl FaultStats {
            /// Calls `f(name, value)` for every counter, receive direction first: the names are
            /// the [`FaultCounters`] fields prefixed with `rx_` or `tx_` (e.g. `rx_dropped`).
            pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
                $( f(concat!("rx_", stringify!($name)), u64::from(self.rx.$name)); )*
                $( f(concat!("tx_", stringify!($name)), u64::from(self.tx.$name)); )*
            }
        }
    };
}

fault_counters! {
    /// Frames that entered the lane (from the inner driver, or from the stack).
    frames_in,
    /// Frames that left the lane (to the stack, or to the inner driver), copies included.
    passed,
    /// Frames discarded by the loss fault.
    dropped,
    /// Frames with bits flipped.
    corrupted,
    /// Duplicate copies decided (each one is queued, or counted in `overflow`).
    duplicated,
    /// Frames held back to be released after their successor.
    reordered,
    /// Frames given a non-zero delay.
    delayed,
    /// Frames or duplicate copies discarded because the lane was full.
    overflow,
    /// Frames discarded because they are longer than the lane's slots.
    oversize,
    /// Most frames ever queued in the lane at once.
    queue_high_water,
}

/// The counters of both directions of a [`FaultyLink`]: `rx` toward the stack, `tx` toward the
/// inner driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Frames on their way from the inner driver to the stack.
    pub rx: FaultCounters,
    /// Frames on their way from the stack to the inner driver.
    pub tx: FaultCounters,
}

/// What a lane slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    /// Nothing.
    Free,
    /// A frame released once its time has come.
    Queued,
    /// A reordered frame, released after its successor or when its hold expires.
    Held,
}

/// One frame in a lane.
#[derive(Clone, Copy)]
struct Slot<const MTU: usize> {
    data: [u8; MTU],
    len: usize,
    state: SlotState,
    release_at: Instant,
    seq: u64,
}

impl<const MTU: usize> Slot<MTU> {
    const EMPTY: Slot<MTU> = Slot {
        data: [0; MTU],
        len: 0,
        state: SlotState::Free,
        release_at: Instant::ZERO,
        seq: 0,
    };
}

/// One direction: its configuration, random stream, queue and counters.
struct Lane<const N: usize, const MTU: usize> {
    config: FaultConfig,
    rng: SplitMix64,
    slots: [Slot<MTU>; N],
    queued: usize,
    next_seq: u64,
    counters: FaultCounters,
}

impl<const N: usize, const MTU: usize> Lane<N, MTU> {
    const fn new(config: FaultConfig, stream: u64) -> Self {
        Lane {
            config,
            rng: Self::stream(config.seed, stream),
            slots: [Slot::EMPTY; N],
            queued: 0,
            next_seq: 0,
            counters: FaultCounters::new(),
        }
    }

    /// The random stream of one direction: the seed mixed with the direction's key, so a
    /// shared seed gives the two directions unrelated streams.
    const fn stream(seed: u64, key: u64) -> SplitMix64 {
        SplitMix64::new(SplitMix64::new(seed ^ key).next_u64())
    }

    fn reconfigure(&mut self, config: FaultConfig, stream: u64) {
        self.config = config;
        self.rng = Self::stream(config.seed, stream);
    }

    fn free(&self) -> usize {
        N - self.queued
    }

    fn free_slot(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.state == SlotState::Free)
    }

    /// Claims slot `i` for a frame of `len` bytes.
    fn occupy(&mut self, i: usize, len: usize) {
        let slot = &mut self.slots[i];
        slot.len = len;
        slot.state = SlotState::Queued;
        self.queued += 1;
        let queued = self.queued as u32;
        if queued > self.counters.queue_high_water {
            self.counters.queue_high_water = queued;
        }
    }

    fn vacate(&mut self, i: usize) {
        self.slots[i].state = SlotState::Free;
        self.queued -= 1;
    }

    /// The frame just stored in slot `i` arrived at `now`: run it through the pipeline.
    fn admit(&mut self, i: usize, now: Instant) {
        // Always five draws, so frame k's fate depends only on the seed and k.
        let loss = self.rng.next_u64();
        let corrupt = self.rng.next_u64();
        let jitter = self.rng.next_u64();
        let reorder = self.rng.next_u64();
        let duplicate = self.rng.next_u64();
        let config = self.config;
        if config.loss.hit(loss) {
            self.vacate(i);
            bump(&mut self.counters.dropped);
            return;
        }
        let slot = &mut self.slots[i];
        if config.corrupt.hit(corrupt) && corrupt_frame(&mut slot.data[..slot.len], corrupt) {
            bump(&mut self.counters.corrupted);
        }
        let extra =
            config.delay + Duration::from_micros(scaled(jitter, config.jitter.total_micros()));
        slot.release_at = now + extra;
        slot.seq = self.next_seq;
        self.next_seq += 1;
        if extra > Duration::ZERO {
            bump(&mut self.counters.delayed);
        }
        if config.reorder.hit(reorder) {
            slot.state = SlotState::Held;
            bump(&mut self.counters.reordered);
        }
        if config.duplicate.hit(duplicate) {
            bump(&mut self.counters.duplicated);
            match self.free_slot() {
                Some(j) => {
                    let (original, copy) = pair(&mut self.slots, i, j);
                    let len = original.len;
                    copy.data[..len].copy_from_slice(&original.data[..len]);
                    copy.release_at = original.release_at;
                    copy.seq = self.next_seq;
                    self.next_seq += 1;
                    self.occupy(j, len);
                }
                None => bump(&mut self.counters.overflow),
            }
        }
    }

    /// The slot to release at `now`: a due frame, earliest release time first, then earliest
    /// arrival. Reordered frames whose hold expired become ordinary frames first.
    fn due(&mut self, now: Instant) -> Option<usize> {
        if self.queued == 0 {
            return None;
        }
        let hold = self.config.reorder_hold;
        for slot in &mut self.slots {
            if slot.state == SlotState::Held && slot.release_at + hold <= now {
                slot.state = SlotState::Queued;
            }
        }
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.state == SlotState::Queued && s.release_at <= now)
            .min_by_key(|(_, s)| (s.release_at, s.seq))
            .map(|(i, _)| i)
    }

    /// Slot `i` leaves the lane: frames held back before it arrived may follow now.
    fn release(&mut self, i: usize) {
        let seq = self.slots[i].seq;
        self.vacate(i);
        bump(&mut self.counters.passed);
        for slot in &mut self.slots {
            if slot.state == SlotState::Held && slot.seq < seq {
                slot.state = SlotState::Queued;
            }
        }
    }

    /// When the next frame of this lane may leave, if any is queued.
    fn next_release(&self) -> Option<Instant> {
        let hold = self.config.reorder_hold;
        self.slots
            .iter()
            .filter_map(|s| match s.state {
                SlotState::Free => None,
                SlotState::Queued => Some(s.release_at),
                SlotState::Held => Some(s.release_at + hold),
            })
            .min()
    }
}

/// `draw` scaled to `0..=bound` (multiply-shift).
fn scaled(draw: u64, bound: u64) -> u64 {
    ((u128::from(draw) * (u128::from(bound) + 1)) >> 64) as u64
}

/// Increments a counter, wrapping.
fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}

/// Two distinct elements of `slots`, mutably.
fn pair<T>(slots: &mut [T], i: usize, j: usize) -> (&mut T, &mut T) {
    if i < j {
        let (low, high) = slots.split_at_mut(j);
        (&mut low[i], &mut high[0])
    } else {
        let (low, high) = slots.split_at_mut(i);
        (&mut high[0], &mut low[j])
    }
}

/// Flips 1 to 3 bits of an IPv4 frame beyond its Ethernet header, chosen from `seed`, at
/// distinct positions within their 16-bit words. Returns false (and changes nothing) for other
/// frames and for frames with nothing past the header.
fn corrupt_frame(frame: &mut [u8], seed: u64) -> bool {
    if frame.len() <= ETHERNET_HEADER_LEN || frame[12..14] != ETHERTYPE_IPV4 {
        return false;
    }
    let mut rng = SplitMix64::new(seed);
    let span = (frame.len() - ETHERNET_HEADER_LEN) as u64;
    let flips = 1 + rng.below(3);
    // Bit k of `used`: word bit position k already flipped. An even offset holds the high byte
    // of its word (checksummed headers start at even offsets).
    let mut used: u16 = 0;
    for _ in 0..flips {
        let offset = ETHERNET_HEADER_LEN + rng.below(span) as usize;
        let base = if offset.is_multiple_of(2) { 8 } else { 0 };
        let mut bit = rng.below(8) as u32;
        // At most two positions are taken, so one of the 8 bits of this byte is free.
        while used & (1 << (base + bit)) != 0 {
            bit = (bit + 1) % 8;
        }
        used |= 1 << (base + bit);
        frame[offset] ^= 1 << bit;
    }
    true
}

/// A driver wrapper that injects faults into the frames between the stack and the driver `D`;
/// see the [module documentation](self) for the pipeline, the storage and the time.
///
/// `N` frames of up to `MTU` bytes (the Ethernet header included, as in
/// [`Capabilities::max_transmission_unit`]) can be in flight in each direction; `N` is at least
/// 2 (a frame and its duplicate).
pub struct FaultyLink<D, const N: usize = 32, const MTU: usize = 1514> {
    inner: D,
    now: Instant,
    rx: Lane<N, MTU>,
    tx: Lane<N, MTU>,
}

impl<D, const N: usize, const MTU: usize> fmt::Debug for FaultyLink<D, N, MTU> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyLink")
            .field("now", &self.now)
            .field("rx_config", &self.rx.config)
            .field("tx_config", &self.tx.config)
            .field("rx_queued", &self.rx.queued)
            .field("tx_queued", &self.tx.queued)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<D, const N: usize, const MTU: usize> FaultyLink<D, N, MTU> {
    /// Wraps `inner` with the same faults in both directions (each direction with its own
    /// pseudo-random stream derived from `config.seed`).
    pub const fn new(inner: D, config: FaultConfig) -> Self {
        Self::with_directions(inner, config, config)
    }

    /// Wraps `inner` with `rx` faults on frames toward the stack and `tx` faults on frames
    /// toward the driver.
    pub const fn with_directions(inner: D, rx: FaultConfig, tx: FaultConfig) -> Self {
        const {
            assert!(
                N >= 2,
                "a FaultyLink needs room for a frame and its duplicate"
            )
        };
        FaultyLink {
            inner,
            now: Instant::ZERO,
            rx: Lane::new(rx, RX_STREAM),
            tx: Lane::new(tx, TX_STREAM),
        }
    }

    /// Changes the faults of both directions (e.g. after a fault-free start-up). Queued frames
    /// and counters stay; the pseudo-random streams restart from the new seeds.
    pub fn set_config(&mut self, rx: FaultConfig, tx: FaultConfig) {
        self.rx.reconfigure(rx, RX_STREAM);
        self.tx.reconfigure(tx, TX_STREAM);
    }

    /// The faults applied to frames toward the stack.
    pub fn rx_config(&self) -> &FaultConfig {
        &self.rx.config
    }

    /// The faults applied to frames toward the driver.
    pub fn tx_config(&self) -> &FaultConfig {
        &self.tx.config
    }

    /// The time frames entering now are stamped with, and the time releases are decided at.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// When the next queued frame (either direction) is due, if any: the poll loop must be
    /// awake by then, since a frame held here raises no driver event. A time in the past means
    /// a frame is ready (or the inner driver refused it and it waits for another chance).
    pub fn next_release(&self) -> Option<Instant> {
        match (self.rx.next_release(), self.tx.next_release()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Frames in flight toward the stack.
    pub fn rx_queued(&self) -> usize {
        self.rx.queued
    }

    /// Frames in flight toward the driver.
    pub fn tx_queued(&self) -> usize {
        self.tx.queued
    }

    /// The counters of both directions.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            rx: self.rx.counters,
            tx: self.tx.counters,
        }
    }

    /// The wrapped driver.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped driver, mutably (frames taken from it directly bypass the faults).
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Unwraps the inner driver; frames still in flight are lost.
    pub fn into_inner(self) -> D {
        self.inner
    }
}

impl<D: Driver, const N: usize, const MTU: usize> FaultyLink<D, N, MTU> {
    /// Sets the time (call it before every poll, with the time given to the stack) and hands
    /// the transmit frames now due to the inner driver.
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
        self.flush();
    }

    /// Hands the transmit frames due at [`FaultyLink::now`] to the inner driver, as far as it
    /// takes them. Returns how many it took.
    pub fn flush(&mut self) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        flush_tx(&mut self.inner, &mut self.tx, self.now, &mut cx)
    }
}

/// Hands the due frames of `lane` to `inner` until none is due or the driver is busy.
fn flush_tx<D: Driver, const N: usize, const MTU: usize>(
    inner: &mut D,
    lane: &mut Lane<N, MTU>,
    now: Instant,
    cx: &mut Context,
) -> usize {
    let mut sent = 0;
    while let Some(i) = lane.due(now) {
        let Some(token) = inner.transmit(cx) else {
            break;
        };
        let slot = &lane.slots[i];
        token.consume(slot.len, |frame| {
            let n = frame.len().min(slot.len);
            frame[..n].copy_from_slice(&slot.data[..n]);
        });
        lane.release(i);
        sent += 1;
    }
    sent
}

/// Receive token of a [`FaultyLink`]: a frame that went through the receive faults.
pub struct FaultRxToken<'a, const N: usize, const MTU: usize> {
    lane: &'a mut Lane<N, MTU>,
    index: usize,
}

impl<const N: usize, const MTU: usize> RxToken for FaultRxToken<'_, N, MTU> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let slot = &mut self.lane.slots[self.index];
        let result = f(&mut slot.data[..slot.len]);
        self.lane.release(self.index);
        result
    }
}

/// Transmit token of a [`FaultyLink`]: the frame the stack fills goes through the transmit
/// faults, then to the inner driver when it is due.
pub struct FaultTxToken<'a, D, const N: usize, const MTU: usize> {
    inner: &'a mut D,
    lane: &'a mut Lane<N, MTU>,
    now: Instant,
}

impl<D: Driver, const N: usize, const MTU: usize> TxToken for FaultTxToken<'_, D, N, MTU> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let lane = self.lane;
        bump(&mut lane.counters.frames_in);
        let free = if len > MTU { None } else { lane.free_slot() };
        let Some(i) = free else {
            // The frame is built (the caller expects that) and discarded.
            if len > MTU {
                bump(&mut lane.counters.oversize);
            } else {
                bump(&mut lane.counters.overflow);
            }
            let mut scratch = [0u8; MTU];
            return f(&mut scratch[..len.min(MTU)]);
        };
        let data = &mut lane.slots[i].data[..len];
        data.fill(0);
        let result = f(data);
        lane.occupy(i, len);
        lane.admit(i, self.now);
        let mut cx = Context::from_waker(Waker::noop());
        flush_tx(self.inner, lane, self.now, &mut cx);
        result
    }
}

impl<D: Driver, const N: usize, const MTU: usize> Driver for FaultyLink<D, N, MTU> {
    type RxToken<'a>
        = FaultRxToken<'a, N, MTU>
    where
        Self: 'a;
    type TxToken<'a>
        = FaultTxToken<'a, D, N, MTU>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let now = self.now;
        flush_tx(&mut self.inner, &mut self.tx, now, cx);
        // Read while a frame and its duplicate fit; the rest waits in the inner driver.
        while self.rx.free() >= 2 {
            let Some(i) = self.rx.free_slot() else {
                break;
            };
            let Some((token, _)) = self.inner.receive(cx) else {
                break;
            };
            let lane = &mut self.rx;
            bump(&mut lane.counters.frames_in);
            let stored = token.consume(|frame| {
                let fits = frame.len() <= MTU;
                if fits {
                    lane.slots[i].data[..frame.len()].copy_from_slice(frame);
                    lane.slots[i].len = frame.len();
                }
                fits
            });
            if stored {
                let len = lane.slots[i].len;
                lane.occupy(i, len);
                lane.admit(i, now);
            } else {
                bump(&mut lane.counters.oversize);
            }
        }
        let index = self.rx.due(now)?;
        Some((
            FaultRxToken {
                lane: &mut self.rx,
                index,
            },
            FaultTxToken {
                inner: &mut self.inner,
                lane: &mut self.tx,
                now,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        flush_tx(&mut self.inner, &mut self.tx, self.now, cx);
        if self.tx.free() < 2 {
            return None;
        }
        Some(FaultTxToken {
            inner: &mut self.inner,
            lane: &mut self.tx,
            now: self.now,
        })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = self.inner.capabilities();
        let mtu = capabilities.max_transmission_unit;
        if mtu == 0 || mtu > MTU {
            capabilities.max_transmission_unit = MTU;
        }
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FrameQueueDriver;
    use std::vec;
    use std::vec::Vec;

    type Inner = FrameQueueDriver<64, 1514>;
    type Link = FaultyLink<Inner, 16, 1514>;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
    const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x03];
    const T0: Instant = Instant::from_secs(10);

    fn new_link(config: FaultConfig) -> Link {
        FaultyLink::new(FrameQueueDriver::new(MAC), config)
    }

    fn cx() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    /// An IPv4-typed frame of `len` (at least 18) bytes carrying `id` right after the Ethernet
    /// header, then a pattern.
    fn frame(id: u32, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[..6].copy_from_slice(&MAC);
        f[6..12].copy_from_slice(&PEER_MAC);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        f[14..18].copy_from_slice(&id.to_be_bytes());
        for (k, b) in f[18..].iter_mut().enumerate() {
            *b = (id as usize).wrapping_mul(7).wrapping_add(k) as u8;
        }
        f
    }

    fn id(f: &[u8]) -> u32 {
        u32::from_be_bytes([f[14], f[15], f[16], f[17]])
    }

    fn frames(n: u32) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| frame(i, 18 + (i as usize * 37) % 1400))
            .collect()
    }

    /// Everything the link lets through toward the stack at `now`.
    fn receive_all<D: Driver, const N: usize, const MTU: usize>(
        link: &mut FaultyLink<D, N, MTU>,
        now: Instant,
    ) -> Vec<Vec<u8>> {
        link.set_now(now);
        let mut out = Vec::new();
        while let Some((rx, _)) = link.receive(&mut cx()) {
            out.push(rx.consume(|f| f.to_vec()));
        }
        out
    }

    /// Feeds `input` into the receive direction at `now` (in batches the inner driver holds)
    /// and returns what came out by then.
    fn through_rx(link: &mut Link, input: &[Vec<u8>], now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for batch in input.chunks(32) {
            for f in batch {
                assert!(link.inner_mut().inject(f));
            }
            out.extend(receive_all(link, now));
        }
        out
    }

    /// Hands `frame` to the transmit direction; false when the link refused a token.
    fn send<D: Driver, const N: usize, const MTU: usize>(
        link: &mut FaultyLink<D, N, MTU>,
        frame: &[u8],
    ) -> bool {
        match link.transmit(&mut cx()) {
            Some(token) => {
                token.consume(frame.len(), |b| {
                    let n = b.len().min(frame.len());
                    b[..n].copy_from_slice(&frame[..n]);
                });
                true
            }
            None => false,
        }
    }

    fn sent(link: &mut Link) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(f) = link.inner_mut().take_sent() {
            out.push(f.to_vec());
        }
        out
    }

    /// Sends `input` through the transmit direction at `now` and returns what reached the
    /// inner driver by then.
    fn through_tx(link: &mut Link, input: &[Vec<u8>], now: Instant) -> Vec<Vec<u8>> {
        link.set_now(now);
        let mut out = Vec::new();
        for f in input {
            assert!(send(link, f), "the link refused a transmit token");
            out.extend(sent(link));
        }
        out
    }

    /// What is still in flight, released after every delay and hold.
    fn drain(link: &mut Link) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let later = link.now() + Duration::from_secs(1);
        let rx = receive_all(link, later);
        (rx, sent(link))
    }

    fn assert_balanced(c: &FaultCounters, queued: usize) {
        assert_eq!(
            u64::from(c.frames_in) + u64::from(c.duplicated),
            u64::from(c.passed)
                + u64::from(c.dropped)
                + u64::from(c.oversize)
                + u64::from(c.overflow)
                + queued as u64,
            "{c:?}"
        );
    }

    // ---- parsing ----

    #[test]
    fn probabilities_parse_from_percent_ppm_and_fractions() {
        let p = |s| FaultConfig::parse_percent(s);
        assert_eq!(p("3%"), Ok(Probability::from_ppm(30_000)));
        assert_eq!(p("0.5%"), Ok(Probability::from_ppm(5_000)));
        assert_eq!(p(" 100 % "), Ok(Probability::ALWAYS));
        assert_eq!(p("0%"), Ok(Probability::NEVER));
        assert_eq!(p("0.0001%"), Ok(Probability::from_ppm(1)));
        assert_eq!(p(".5%"), Ok(Probability::from_ppm(5_000)));
        assert_eq!(p("250ppm"), Ok(Probability::from_ppm(250)));
        assert_eq!(p("0.03"), Ok(Probability::from_percent(3)));
        assert_eq!(p("1"), Ok(Probability::ALWAYS));
        assert_eq!(p("0.50000%"), Ok(Probability::from_ppm(5_000)));
        assert_eq!(p(""), Err(ParseError::Empty));
        assert_eq!(p("%"), Err(ParseError::Empty));
        assert_eq!(p("abc"), Err(ParseError::Invalid));
        assert_eq!(p("-1%"), Err(ParseError::Invalid));
        assert_eq!(p("1.2.3%"), Err(ParseError::Invalid));
        assert_eq!(p("."), Err(ParseError::Invalid));
        assert_eq!(p("100.1%"), Err(ParseError::OutOfRange));
        assert_eq!(p("2"), Err(ParseError::OutOfRange));
        assert_eq!(p("99999999999999999999999%"), Err(ParseError::OutOfRange));
        assert_eq!(p("0.00001%"), Err(ParseError::TooPrecise));
        assert_eq!(Probability::from_ppm(5_000_000), Probability::ALWAYS);
        assert_eq!(Probability::from_percent(250), Probability::ALWAYS);
        assert_eq!(std::format!("{}", Probability::from_ppm(5_000)), "0.5000%");
    }

    #[test]
    fn durations_parse_with_their_unit() {
        let d = |s| FaultConfig::parse_duration(s);
        assert_eq!(d("2ms"), Ok(Duration::from_millis(2)));
        assert_eq!(d("1.5ms"), Ok(Duration::from_micros(1500)));
        assert_eq!(d("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(d("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(d("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(d("0"), Ok(Duration::ZERO));
        assert_eq!(d("2"), Err(ParseError::MissingUnit));
        assert_eq!(d(""), Err(ParseError::Empty));
        assert_eq!(d("ms"), Err(ParseError::Empty));
        assert_eq!(d("1.5us"), Err(ParseError::TooPrecise));
        assert_eq!(d("xms"), Err(ParseError::Invalid));
        assert!(!FaultConfig::NONE.is_active());
        assert!(
            FaultConfig {
                delay: Duration::from_millis(2),
                ..FaultConfig::NONE
            }
            .is_active()
        );
    }

    // ---- each fault alone ----

    #[test]
    fn without_faults_every_frame_passes_unchanged_and_in_order() {
        for seed in [0, 1, u64::MAX] {
            let mut link = new_link(FaultConfig {
                seed,
                ..FaultConfig::NONE
            });
            let input = frames(200);
            assert_eq!(through_rx(&mut link, &input, T0), input);
            assert_eq!(through_tx(&mut link, &input, T0), input);
            assert_eq!(link.next_release(), None);
            let stats = link.stats();
            for c in [stats.rx, stats.tx] {
                assert_eq!((c.frames_in, c.passed), (200, 200));
                let faults = c.dropped
                    + c.corrupted
                    + c.duplicated
                    + c.reordered
                    + c.delayed
                    + c.overflow
                    + c.oversize;
                assert_eq!(faults, 0, "{c:?}");
            }
        }
    }

    #[test]
    fn loss_at_100_percent_drops_everything_both_ways() {
        let mut link = new_link(FaultConfig {
            loss: Probability::ALWAYS,
            ..FaultConfig::NONE
        });
        let input = frames(100);
        assert!(through_rx(&mut link, &input, T0).is_empty());
        assert!(through_tx(&mut link, &input, T0).is_empty());
        assert_eq!(drain(&mut link), (vec![], vec![]));
        let stats = link.stats();
        assert_eq!((stats.rx.dropped, stats.rx.passed), (100, 0));
        assert_eq!((stats.tx.dropped, stats.tx.passed), (100, 0));
    }

    #[test]
    fn duplication_at_100_percent_delivers_every_frame_twice_in_a_row() {
        let mut link = new_link(FaultConfig {
            duplicate: Probability::ALWAYS,
            seed: 5,
            ..FaultConfig::NONE
        });
        let input = frames(100);
        let twice: Vec<Vec<u8>> = input.iter().flat_map(|f| [f.clone(), f.clone()]).collect();
        assert_eq!(through_rx(&mut link, &input, T0), twice);
        assert_eq!(through_tx(&mut link, &input, T0), twice);
        let stats = link.stats();
        for c in [stats.rx, stats.tx] {
            assert_eq!((c.frames_in, c.duplicated, c.passed), (100, 100, 200));
            assert_eq!(c.overflow, 0);
        }
    }

    #[test]
    fn a_fault_at_0_percent_never_happens_whatever_the_others_do() {
        let all = FaultConfig {
            loss: Probability::from_percent(20),
            reorder: Probability::from_percent(20),
            duplicate: Probability::from_percent(20),
            corrupt: Probability::from_percent(20),
            seed: 21,
            ..FaultConfig::NONE
        };
        type Count = fn(&FaultCounters) -> u32;
        let cases: [(FaultConfig, Count); 4] = [
            (
                FaultConfig {
                    loss: Probability::NEVER,
                    ..all
                },
                |c| c.dropped,
            ),
            (
                FaultConfig {
                    reorder: Probability::NEVER,
                    ..all
                },
                |c| c.reordered,
            ),
            (
                FaultConfig {
                    duplicate: Probability::NEVER,
                    ..all
                },
                |c| c.duplicated,
            ),
            (
                FaultConfig {
                    corrupt: Probability::NEVER,
                    ..all
                },
                |c| c.corrupted,
            ),
        ];
        for (config, count) in cases {
            let mut link = new_link(config);
            let input = frames(500);
            let mut rx = through_rx(&mut link, &input, T0);
            let mut tx = through_tx(&mut link, &input, T0);
            let (r, t) = drain(&mut link);
            rx.extend(r);
            tx.extend(t);
            let stats = link.stats();
            assert_eq!((count(&stats.rx), count(&stats.tx)), (0, 0), "{stats:?}");
            // The other faults did happen.
            let active = |c: &FaultCounters| {
                [c.dropped, c.reordered, c.duplicated, c.corrupted]
                    .iter()
                    .filter(|&&n| n > 0)
                    .count()
            };
            assert_eq!((active(&stats.rx), active(&stats.tx)), (3, 3), "{stats:?}");
            if config.loss.is_never() {
                assert!(rx.len() >= 500 && tx.len() >= 500);
            }
            if config.corrupt.is_never() {
                assert!(rx.iter().chain(&tx).all(|f| input.contains(f)));
            }
        }
    }

    /// The (word bit position) of every bit that differs between `a` and `b`.
    fn flipped(a: &[u8], b: &[u8]) -> Vec<(usize, u32)> {
        let mut out = Vec::new();
        for (offset, (x, y)) in a.iter().zip(b).enumerate() {
            for bit in 0..8 {
                if (x ^ y) & (1 << bit) != 0 {
                    out.push((offset, bit));
                }
            }
        }
        out
    }

    #[test]
    fn corruption_at_100_percent_flips_one_to_three_bits_past_the_header() {
        let mut link = new_link(FaultConfig {
            corrupt: Probability::ALWAYS,
            seed: 9,
            ..FaultConfig::NONE
        });
        let input = frames(300);
        let rx = through_rx(&mut link, &input, T0);
        let tx = through_tx(&mut link, &input, T0);
        let mut counts = [0usize; 4];
        for out in [rx, tx] {
            assert_eq!(out.len(), input.len());
            for (original, corrupted) in input.iter().zip(&out) {
                assert_eq!(original.len(), corrupted.len());
                let flips = flipped(original, corrupted);
                assert!((1..=3).contains(&flips.len()), "{flips:?}");
                counts[flips.len()] += 1;
                let mut positions: Vec<u32> = flips
                    .iter()
                    .map(|&(offset, bit)| {
                        if offset.is_multiple_of(2) {
                            bit + 8
                        } else {
                            bit
                        }
                    })
                    .collect();
                positions.sort_unstable();
                positions.dedup();
                assert_eq!(positions.len(), flips.len(), "word positions repeat");
                assert!(flips.iter().all(|&(offset, _)| offset >= 14));
            }
        }
        assert!(
            counts[1] > 0 && counts[2] > 0 && counts[3] > 0,
            "{counts:?}"
        );
        assert_eq!(link.stats().rx.corrupted, 300);
        assert_eq!(link.stats().tx.corrupted, 300);

        // ARP and other non-IPv4 frames, and bare headers, are never touched.
        let mut arp = frame(1, 60);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let header_only = frame(2, 18)[..14].to_vec();
        let others = vec![arp, header_only, vec![], vec![1, 2, 3]];
        assert_eq!(through_rx(&mut link, &others, T0), others);
        assert_eq!(through_tx(&mut link, &others, T0), others);
        assert_eq!(link.stats().rx.corrupted, 300);
    }

    #[test]
    fn every_corruption_of_a_udp_datagram_fails_a_checksum() {
        use crate::wire::{IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr};
        let (src, dst) = (
            core::net::Ipv4Addr::new(192, 0, 2, 1),
            core::net::Ipv4Addr::new(192, 0, 2, 2),
        );
        let udp = UdpRepr {
            src_port: 4000,
            dst_port: 7,
        };
        let payload: Vec<u8> = (0..101u32).map(|i| (i * 31) as u8).collect();
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Udp,
            payload_len: udp.buffer_len(payload.len()),
            hop_limit: 64,
        };
        let len = 14 + ip.buffer_len() + ip.payload_len;
        let mut original = frame(0, len);
        {
            let mut packet = Ipv4Packet::new_unchecked(&mut original[14..]);
            ip.emit(&mut packet, 0x1234);
            udp.emit(
                &mut UdpPacket::new_unchecked(packet.payload_mut()),
                src,
                dst,
                &payload,
            );
        }
        let valid = |f: &[u8]| -> bool {
            let Ok(packet) = Ipv4Packet::new_checked(&f[14..]) else {
                return false;
            };
            let Ok(repr) = Ipv4Repr::parse(&packet, true) else {
                return false;
            };
            let Ok(datagram) = UdpPacket::new_checked(packet.payload()) else {
                return false;
            };
            UdpRepr::parse(&datagram, repr.src_addr, repr.dst_addr, true).is_ok()
        };
        assert!(valid(&original));
        for seed in 0..20_000u64 {
            let mut f = original.clone();
            assert!(corrupt_frame(&mut f, SplitMix64::new(seed).next_u64()));
            assert_ne!(f, original);
            assert!(!valid(&f), "seed {seed}: corruption not detected");
        }
    }

    #[test]
    fn reordering_holds_a_frame_until_its_successor_left() {
        // At 100 %, every frame waits for the hold to expire: late, in order, never lost.
        let mut link = new_link(FaultConfig {
            reorder: Probability::ALWAYS,
            reorder_hold: Duration::from_millis(5),
            ..FaultConfig::NONE
        });
        let input = frames(3);
        assert!(through_rx(&mut link, &input, T0).is_empty());
        assert_eq!(link.next_release(), Some(T0 + Duration::from_millis(5)));
        assert!(receive_all(&mut link, T0 + Duration::from_micros(4999)).is_empty());
        assert_eq!(receive_all(&mut link, T0 + Duration::from_millis(5)), input);
        assert_eq!(link.stats().rx.reordered, 3);

        // At 30 %, held frames come out after their successor: a permutation with inversions.
        let mut link = new_link(FaultConfig {
            reorder: Probability::from_percent(30),
            seed: 11,
            ..FaultConfig::NONE
        });
        let input = frames(500);
        for out in [
            {
                let mut rx = through_rx(&mut link, &input, T0);
                rx.extend(drain(&mut link).0);
                rx
            },
            {
                let mut tx = through_tx(&mut link, &input, T0);
                tx.extend(drain(&mut link).1);
                tx
            },
        ] {
            let ids: Vec<u32> = out.iter().map(|f| id(f)).collect();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..500).collect::<Vec<u32>>(), "a permutation");
            let inversions = ids.windows(2).filter(|w| w[0] > w[1]).count();
            assert!(inversions > 50, "{inversions} inversions");
            // A held frame moves back, but not far (only consecutive holds pile up).
            for (position, &frame_id) in ids.iter().enumerate() {
                assert!(position as u32 <= frame_id + 8, "{frame_id} at {position}");
            }
        }
        let stats = link.stats();
        assert!(
            stats.rx.reordered > 100 && stats.tx.reordered > 100,
            "{stats:?}"
        );
    }

    #[test]
    fn delayed_frames_are_released_at_arrival_plus_delay() {
        let delay = Duration::from_millis(2);
        let mut link = new_link(FaultConfig {
            delay,
            ..FaultConfig::NONE
        });
        let f = frame(1, 100);
        // Toward the stack.
        assert!(through_rx(&mut link, core::slice::from_ref(&f), T0).is_empty());
        assert_eq!(link.next_release(), Some(T0 + delay));
        assert!(receive_all(&mut link, T0 + delay - Duration::from_micros(1)).is_empty());
        assert_eq!(receive_all(&mut link, T0 + delay), vec![f.clone()]);
        assert_eq!(link.next_release(), None);
        // Toward the driver: handed over by set_now once due.
        let t1 = T0 + Duration::from_secs(1);
        assert!(through_tx(&mut link, core::slice::from_ref(&f), t1).is_empty());
        assert_eq!(link.next_release(), Some(t1 + delay));
        link.set_now(t1 + delay - Duration::from_micros(1));
        assert!(sent(&mut link).is_empty());
        link.set_now(t1 + delay);
        assert_eq!(sent(&mut link), vec![f]);
        let stats = link.stats();
        assert_eq!((stats.rx.delayed, stats.tx.delayed), (1, 1));

        // Jitter spreads releases over delay..=delay + jitter.
        let mut link = new_link(FaultConfig {
            delay,
            jitter: Duration::from_millis(1),
            seed: 3,
            ..FaultConfig::NONE
        });
        let input = frames(12);
        assert!(through_rx(&mut link, &input, T0).is_empty());
        let mut released = Vec::new();
        for us in 0..=3000 {
            let now = T0 + Duration::from_micros(us);
            for f in receive_all(&mut link, now) {
                released.push((us, id(&f)));
            }
        }
        assert_eq!(released.len(), 12);
        assert!(released.iter().all(|&(us, _)| (2000..=3000).contains(&us)));
        assert!(
            released.iter().any(|&(us, _)| us != released[0].0),
            "spread"
        );
    }

    // ---- statistics and reproducibility ----

    #[test]
    fn fault_rates_over_100000_frames_match_the_configuration() {
        let config = FaultConfig {
            loss: FaultConfig::parse_percent("3%").unwrap(),
            reorder: FaultConfig::parse_percent("10%").unwrap(),
            duplicate: FaultConfig::parse_percent("1%").unwrap(),
            corrupt: FaultConfig::parse_percent("0.5%").unwrap(),
            seed: 42,
            ..FaultConfig::NONE
        };
        let mut link = new_link(config);
        const FRAMES: u32 = 100_000;
        let (mut rx_out, mut tx_out) = (0u64, 0u64);
        let mut now = T0;
        let batch: Vec<Vec<u8>> = (0..10).map(|i| frame(i, 64)).collect();
        for _ in 0..FRAMES / 10 {
            rx_out += through_rx(&mut link, &batch, now).len() as u64;
            tx_out += through_tx(&mut link, &batch, now).len() as u64;
            now += Duration::from_millis(1);
        }
        let (rx, tx) = drain(&mut link);
        rx_out += rx.len() as u64;
        tx_out += tx.len() as u64;
        let stats = link.stats();
        for (c, out) in [(stats.rx, rx_out), (stats.tx, tx_out)] {
            assert_eq!(c.frames_in, FRAMES);
            assert_eq!(u64::from(c.passed), out);
            assert_eq!(c.overflow + c.oversize, 0);
            assert_balanced(&c, 0);
            let rate = |n: u32, of: u32| f64::from(n) / f64::from(of);
            let survivors = c.frames_in - c.dropped;
            // Tolerances are about five standard deviations.
            assert!((rate(c.dropped, c.frames_in) - 0.03).abs() < 0.003, "{c:?}");
            assert!((rate(c.reordered, survivors) - 0.10).abs() < 0.005, "{c:?}");
            assert!(
                (rate(c.duplicated, survivors) - 0.01).abs() < 0.0016,
                "{c:?}"
            );
            assert!(
                (rate(c.corrupted, survivors) - 0.005).abs() < 0.0012,
                "{c:?}"
            );
        }
    }

    /// Everything that comes out of both directions of a link with every fault on, for `seed`.
    /// Frames with the time (µs) they came out at, 0 for the final drain.
    type Timed = Vec<(u64, Vec<u8>)>;

    fn scenario(seed: u64) -> (Timed, Timed, FaultStats) {
        let config = FaultConfig {
            loss: Probability::from_percent(5),
            reorder: Probability::from_percent(10),
            duplicate: Probability::from_percent(5),
            corrupt: Probability::from_percent(5),
            delay: Duration::from_micros(700),
            jitter: Duration::from_micros(300),
            seed,
            ..FaultConfig::NONE
        };
        let mut link = new_link(config);
        let (mut rx, mut tx) = (Vec::new(), Vec::new());
        for (i, f) in frames(2000).iter().enumerate() {
            let now = T0 + Duration::from_micros(i as u64 * 100);
            link.inner_mut().inject(f);
            for out in receive_all(&mut link, now) {
                rx.push((now.total_micros(), out));
            }
            assert!(send(&mut link, f));
            for out in sent(&mut link) {
                tx.push((now.total_micros(), out));
            }
        }
        let (r, t) = drain(&mut link);
        rx.extend(r.into_iter().map(|f| (0, f)));
        tx.extend(t.into_iter().map(|f| (0, f)));
        (rx, tx, link.stats())
    }

    #[test]
    fn the_same_seed_replays_exactly_and_other_seeds_differ() {
        let a = scenario(7);
        assert_eq!(a, scenario(7));
        let b = scenario(8);
        assert_ne!(a.0, b.0);
        assert_ne!(a.1, b.1);
        // The two directions draw from different streams of one seed.
        assert_ne!(a.2.rx, a.2.tx);
    }

    // ---- two stacks through a faulty link ----

    mod two_stacks {
        use super::*;
        use crate::wire::{EthernetAddress, Ipv4Cidr};
        use crate::{ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage};
        use crate::{UdpHandle, UdpSlot};
        use core::net::{Ipv4Addr, SocketAddrV4};

        const A_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
        const B_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

        type Wire = FaultyLink<Inner, 32, 1514>;

        /// Storage arrays and a stack over them.
        macro_rules! stack {
            ($name:ident, $ip:expr, $mac:expr) => {
                let mut packets = [0u8; 8 * 1514];
                let mut tx_queue = [PendingSlot::EMPTY; 8];
                let mut arp = [ArpEntry::EMPTY; 4];
                let mut reassembly = [ReassemblySlot::EMPTY; 1];
                let mut reassembly_bytes = [0u8; 4096];
                let mut udp = [UdpSlot::new(8192, 8192)];
                let mut $name = Stack::new(
                    StackConfig {
                        ipv4: Ipv4Cidr::new($ip, 24),
                        ..StackConfig::default()
                    },
                    StackStorage {
                        packets: &mut packets,
                        packet_size: 1514,
                        tx_queue: &mut tx_queue,
                        arp: &mut arp,
                        reassembly: &mut reassembly,
                        reassembly_bytes: &mut reassembly_bytes,
                        udp: &mut udp,
                        tcp: crate::TcpStorage::none(),
                    },
                    EthernetAddress($mac),
                );
            };
        }

        /// Stack A behind the faulty link, stack B on a plain driver, joined by a wire.
        struct Net<'s, 'a> {
            a: &'s mut Stack<'a>,
            b: &'s mut Stack<'a>,
            link: Wire,
            db: Inner,
            now: Instant,
        }

        impl Net<'_, '_> {
            /// One millisecond of both stacks and the wire.
            fn step(&mut self) {
                self.now += Duration::from_millis(1);
                self.link.set_now(self.now);
                self.a.poll(&mut self.link, self.now);
                self.link.inner_mut().forward_to(&mut self.db);
                self.b.poll(&mut self.db, self.now);
                self.db.forward_to(self.link.inner_mut());
            }

            fn steps(&mut self, n: usize) {
                for _ in 0..n {
                    self.step();
                }
            }
        }

        /// Every datagram waiting on `h`.
        fn received(stack: &mut Stack<'_>, h: UdpHandle) -> Vec<Vec<u8>> {
            let mut buf = [0u8; 2048];
            let mut out = Vec::new();
            while let Ok((n, _)) = stack.udp_recv_from(h, &mut buf) {
                out.push(buf[..n].to_vec());
            }
            out
        }

        fn payload(i: u32, len: usize) -> Vec<u8> {
            let mut p: Vec<u8> = (0..len).map(|k| (k as u32 * 3 + i) as u8).collect();
            p[..4].copy_from_slice(&i.to_be_bytes());
            p
        }

        /// Folded, complemented one's-complement sum (RFC 1071), for hand-built packets.
        fn internet_checksum(data: &[u8]) -> u16 {
            let mut sum: u32 = data
                .chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
                .sum();
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            !(sum as u16)
        }

        /// An ICMP echo request from B to A, built by hand.
        fn echo_request(ident: u16) -> Vec<u8> {
            let mut icmp = vec![8, 0, 0, 0];
            icmp.extend_from_slice(&ident.to_be_bytes());
            icmp.extend_from_slice(&1u16.to_be_bytes());
            icmp.extend_from_slice(b"fault-injection ping");
            let c = internet_checksum(&icmp);
            icmp[2..4].copy_from_slice(&c.to_be_bytes());
            let total = (20 + icmp.len()) as u16;
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&total.to_be_bytes());
            ip.extend_from_slice(&[0, 1, 0, 0, 64, 1, 0, 0]);
            ip.extend_from_slice(&B_IP.octets());
            ip.extend_from_slice(&A_IP.octets());
            let c = internet_checksum(&ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
            let mut f = Vec::new();
            f.extend_from_slice(&MAC);
            f.extend_from_slice(&PEER_MAC);
            f.extend_from_slice(&ETHERTYPE_IPV4);
            f.extend_from_slice(&ip);
            f.extend_from_slice(&icmp);
            f
        }

        #[test]
        fn udp_and_ping_work_through_delay_duplication_and_reordering() {
            stack!(a, A_IP, MAC);
            stack!(b, B_IP, PEER_MAC);
            let config = FaultConfig {
                reorder: Probability::from_percent(10),
                duplicate: Probability::from_percent(5),
                delay: Duration::from_millis(2),
                seed: 3,
                ..FaultConfig::NONE
            };
            let mut net = Net {
                a: &mut a,
                b: &mut b,
                link: FaultyLink::new(FrameQueueDriver::new(MAC), config),
                db: FrameQueueDriver::new(PEER_MAC),
                now: T0,
            };
            let echo = net.a.udp_bind(7).unwrap();
            let hb = net.b.udp_bind(0).unwrap();
            let mut echoed = Vec::new();
            for i in 0..200u32 {
                if i < 100 {
                    let p = payload(i, 100 + i as usize);
                    net.b
                        .udp_send_to(hb, &p, SocketAddrV4::new(A_IP, 7))
                        .unwrap();
                }
                net.step();
                let a_port = SocketAddrV4::new(B_IP, net.b.udp_local_port(hb).unwrap());
                for p in received(net.a, echo) {
                    net.a.udp_send_to(echo, &p, a_port).unwrap();
                }
                echoed.extend(received(net.b, hb));
            }
            // Every datagram came back byte-exact, some twice.
            for i in 0..100u32 {
                let p = payload(i, 100 + i as usize);
                assert!(echoed.contains(&p), "datagram {i} never came back");
            }
            assert!(
                echoed
                    .iter()
                    .all(|e| e == &payload(u32::from_be_bytes([e[0], e[1], e[2], e[3]]), e.len()))
            );
            assert!(echoed.len() > 100, "duplicates reached the socket");
            let stats = net.link.stats();
            assert!(stats.rx.duplicated + stats.tx.duplicated > 0, "{stats:?}");
            assert!(stats.rx.reordered + stats.tx.reordered > 0, "{stats:?}");
            assert!(
                stats.rx.delayed >= 100 && stats.tx.delayed >= 100,
                "{stats:?}"
            );
            assert_eq!(net.a.stats().drops_total(), 0);
            assert_eq!(net.b.stats().drops_total(), 0);

            // Ping: a request through the faulty receive path, the reply through the transmit
            // path, both 2 ms late.
            let pings = net.a.stats().pings_answered;
            net.link.inner_mut().inject(&echo_request(0xbeef));
            let mut replies = 0;
            for _ in 0..20 {
                net.now += Duration::from_millis(1);
                net.link.set_now(net.now);
                net.a.poll(&mut net.link, net.now);
                while let Some(f) = net.link.inner_mut().take_sent() {
                    let is_reply = f.len() >= 40 && f[23] == 1 && f[34] == 0;
                    if is_reply && f[38..40] == 0xbeefu16.to_be_bytes() {
                        replies += 1;
                    }
                }
            }
            assert!(replies >= 1, "no echo reply");
            assert!(net.a.stats().pings_answered > pings);
        }

        #[test]
        fn the_stacks_count_what_the_link_breaks() {
            stack!(a, A_IP, MAC);
            stack!(b, B_IP, PEER_MAC);
            let mut net = Net {
                a: &mut a,
                b: &mut b,
                link: FaultyLink::new(FrameQueueDriver::new(MAC), FaultConfig::NONE),
                db: FrameQueueDriver::new(PEER_MAC),
                now: T0,
            };
            let ha = net.a.udp_bind(5000).unwrap();
            let hb = net.b.udp_bind(6000).unwrap();
            let to_b = SocketAddrV4::new(B_IP, 6000);
            let to_a = SocketAddrV4::new(A_IP, 5000);
            // Fault-free start: both neighbour caches filled.
            net.a.udp_send_to(ha, b"hello", to_b).unwrap();
            net.steps(5);
            net.b.udp_send_to(hb, b"hello", to_a).unwrap();
            net.steps(5);
            assert_eq!(received(net.b, hb).len(), 1);
            assert_eq!(received(net.a, ha).len(), 1);

            // Sends `n` datagrams A→B (or B→A) one per millisecond under `rx`/`tx` faults on
            // A's link; returns (datagrams delivered, link counters before, after).
            let phase =
                |net: &mut Net<'_, '_>, rx: FaultConfig, tx: FaultConfig, n: u32, a_to_b: bool| {
                    net.link.set_config(rx, tx);
                    let before = net.link.stats();
                    let mut delivered = 0;
                    for i in 0..n + 20 {
                        if i < n {
                            let p = payload(i, 200);
                            if a_to_b {
                                net.a.udp_send_to(ha, &p, to_b).unwrap();
                            } else {
                                net.b.udp_send_to(hb, &p, to_a).unwrap();
                            }
                        }
                        net.step();
                        let got = if a_to_b {
                            received(net.b, hb)
                        } else {
                            received(net.a, ha)
                        };
                        for p in &got {
                            assert_eq!(
                                p,
                                &payload(u32::from_be_bytes([p[0], p[1], p[2], p[3]]), 200)
                            );
                        }
                        delivered += got.len() as u32;
                    }
                    (delivered, before, net.link.stats())
                };
            let corrupt = FaultConfig {
                corrupt: Probability::ALWAYS,
                seed: 17,
                ..FaultConfig::NONE
            };
            let none = FaultConfig::NONE;

            // Corruption toward B: every datagram fails a checksum at B, and is counted.
            let b_before = net.b.stats().clone();
            let (delivered, before, after) = phase(&mut net, none, corrupt, 20, true);
            let b_after = net.b.stats().clone();
            assert_eq!(delivered, 0);
            assert_eq!(after.tx.corrupted - before.tx.corrupted, 20);
            assert_eq!(
                b_after.drops_total() - b_before.drops_total(),
                20,
                "{b_after:?}"
            );
            let checksums =
                |s: &crate::Stats| u64::from(s.ipv4_bad_checksum) + u64::from(s.udp_bad_checksum);
            assert!(checksums(&b_after) > checksums(&b_before));
            assert_eq!(b_after.udp_rx, b_before.udp_rx);

            // Corruption toward A.
            let a_before = net.a.stats().clone();
            let (delivered, before, after) = phase(&mut net, corrupt, none, 20, false);
            let a_after = net.a.stats().clone();
            assert_eq!(delivered, 0);
            assert_eq!(after.rx.corrupted - before.rx.corrupted, 20);
            assert_eq!(
                a_after.drops_total() - a_before.drops_total(),
                20,
                "{a_after:?}"
            );
            assert!(checksums(&a_after) > checksums(&a_before));

            // Loss toward B: exactly the frames lost are missing.
            let loss = FaultConfig {
                loss: Probability::from_percent(30),
                seed: 4,
                ..FaultConfig::NONE
            };
            let (delivered, before, after) = phase(&mut net, none, loss, 100, true);
            let lost = after.tx.dropped - before.tx.dropped;
            assert!((15..=45).contains(&lost), "{lost} of 100 lost at 30 %");
            assert_eq!(delivered, 100 - lost);

            // Duplication toward B: every datagram delivered twice.
            let twice = FaultConfig {
                duplicate: Probability::ALWAYS,
                ..FaultConfig::NONE
            };
            let udp_rx = net.b.stats().udp_rx;
            let (delivered, before, after) = phase(&mut net, none, twice, 20, true);
            assert_eq!(after.tx.duplicated - before.tx.duplicated, 20);
            assert_eq!(delivered, 40);
            assert_eq!(net.b.stats().udp_rx - udp_rx, 40);

            // Total loss toward A: nothing arrives, all counted by the link.
            let all = FaultConfig {
                loss: Probability::ALWAYS,
                ..FaultConfig::NONE
            };
            let (delivered, before, after) = phase(&mut net, all, none, 10, false);
            assert_eq!(delivered, 0);
            assert_eq!(after.rx.dropped - before.rx.dropped, 10);
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Inject(usize),
            Send(usize),
            Advance(u64),
            Receive,
            Drain,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (0usize..1700).prop_map(Op::Inject),
                (0usize..1700).prop_map(Op::Send),
                (0u64..4000).prop_map(Op::Advance),
                Just(Op::Receive),
                Just(Op::Drain),
            ]
        }

        fn config() -> impl Strategy<Value = FaultConfig> {
            (
                (
                    0u32..1_300_000,
                    0u32..1_300_000,
                    0u32..1_300_000,
                    0u32..1_300_000,
                ),
                (0u64..5000, 0u64..5000, 0u64..20_000, any::<u64>()),
            )
                .prop_map(|((l, r, d, c), (delay, jitter, hold, seed))| FaultConfig {
                    loss: Probability::from_ppm(l),
                    reorder: Probability::from_ppm(r),
                    duplicate: Probability::from_ppm(d),
                    corrupt: Probability::from_ppm(c),
                    delay: Duration::from_micros(delay),
                    jitter: Duration::from_micros(jitter),
                    reorder_hold: Duration::from_micros(hold),
                    seed,
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            /// Whatever the configuration and traffic (oversize frames, a full inner driver, the
            /// smallest lanes), nothing panics and every frame is accounted for.
            #[test]
            fn any_configuration_is_safe_and_accounted(
                rx_config in config(),
                tx_config in config(),
                ops in proptest::collection::vec(op(), 0..150),
            ) {
                let inner: FrameQueueDriver<8, 2048> = FrameQueueDriver::new(MAC);
                let mut link: FaultyLink<_, 2, 1514> =
                    FaultyLink::with_directions(inner, rx_config, tx_config);
                let mut now = T0;
                for (k, op) in ops.into_iter().enumerate() {
                    match op {
                        Op::Inject(len) => {
                            let mut f = vec![0u8; len];
                            if len >= 14 {
                                f[12..14].copy_from_slice(&ETHERTYPE_IPV4);
                            }
                            link.inner_mut().inject(&f);
                        }
                        Op::Send(len) => {
                            send(&mut link, &vec![k as u8; len]);
                        }
                        Op::Advance(us) => {
                            now += Duration::from_micros(us);
                            link.set_now(now);
                        }
                        Op::Receive => {
                            for f in receive_all(&mut link, now) {
                                prop_assert!(f.len() <= 1514);
                            }
                        }
                        Op::Drain => while link.inner_mut().take_sent().is_some() {},
                    }
                    let stats = link.stats();
                    assert_balanced(&stats.rx, link.rx_queued());
                    assert_balanced(&stats.tx, link.tx_queued());
                    if let Some(at) = link.next_release() {
                        let hold = rx_config.reorder_hold.max(tx_config.reorder_hold);
                        let longest = rx_config.delay.max(tx_config.delay)
                            + rx_config.jitter.max(tx_config.jitter)
                            + hold;
                        // Not later than the longest delay after the latest arrival.
                        prop_assert!(at <= now + longest);
                    }
                }
            }
        }
    }
}
