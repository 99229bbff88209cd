//! The RFC 9293 state machine of one connection, assembled from the building blocks of
//! [`super`]: [`SendQueue`]/[`RecvQueue`] over the packet pool ([`Segments`]), the
//! [`Assembler`] and [`sack::SackReporter`](super::sack::SackReporter) on the receive side,
//! the [`sack::Scoreboard`](super::sack::Scoreboard) with
//! [`Congestion`] and [`RttEstimator`] on the send side, and the [`Timers`].
//!
//! A [`TcpSlot`] is one entry of the caller-provided socket table. The stack drives it with two
//! calls and never lets it touch the driver:
//!
//! * `process(segment)`: the "SEGMENT ARRIVES" rules of RFC 9293 §3.10.7 with the RFC 5961
//!   checks (challenge ACKs for in-window RSTs, SYNs in synchronized states and ACKs outside
//!   the acceptable range, rate limited per stack); it stores data and sets what is owed (an
//!   ACK now, a delayed ACK, a state change) but sends nothing;
//! * `dispatch(now, emit)`: runs the expired timers and hands every segment that is due to
//!   `emit`, the payload as a [`Payload`] view of the send queue (copied once, into the
//!   driver's buffer, with the checksum computed on the way; a retransmission reads the same
//!   bytes again, it never copies them within the stack).
//!
//! What is sent follows, in this order: SYN / SYN-ACK (with MSS, window scale, SACK-permitted
//! and timestamps as configured and, on a SYN-ACK, as offered), loss-recovery retransmissions
//! (NewReno: the segment at SND.UNA; SACK: RFC 6675 `NextSeg`), new data within
//! min(cwnd, peer window) with Nagle (unless `no_delay`) and sender-side silly-window
//! avoidance, the FIN after the last byte, zero-window probes and keepalives from their timers,
//! and finally a pure ACK when one is owed (immediately, for every second full-sized segment, or
//! when the delayed-ACK timer fires) or when the receive window opened enough to be worth
//! announcing (receiver-side silly-window avoidance).

// Without feature `tcp` the interface does not drive sockets: the crate-internal API is unused.
#![cfg_attr(not(feature = "tcp"), allow(dead_code))]

use core::net::{Ipv4Addr, SocketAddrV4};

use super::assembler::Assembler;
use super::congestion::{AckAction, Congestion, CongestionConfig, DupAckAction};
use super::rtt::{RttConfig, RttEstimator};
use super::sack::slot::{RecoveryMarks, SackReporter, Scoreboard};
use super::sack::{NextSeg, max_sack_blocks};
use super::segment_pool::{RecvQueue, SegmentPool, Segments, SendQueue};
use super::timers::{Keepalive, TimerConfig, TimerEvent, Timers};
use super::{SeqRange, seq_ge};
use crate::pool::PacketPool;
use crate::stats::{Stats, bump};
use crate::time::{Duration, Instant};
use crate::wire::checksum;
use crate::wire::tcp::{Control, MAX_WINDOW_SHIFT, Repr, SackRanges, SeqNumber, Timestamp};

/// Pool buffers one socket's send queue can hold: only a sanity bound (a queue is a chain
/// through its buffers, its count a byte), above what a packet pool of at most
/// [`crate::pool::MAX_BUFFERS`] can give TCP; the socket's limit and the cap are what bind.
pub const SEND_QUEUE_BUFFERS: usize = super::segment_pool::MAX_QUEUE_BUFFERS;
/// Pool buffers one socket's receive queue can hold: a sanity bound like
/// [`SEND_QUEUE_BUFFERS`]; the receive window is set by the socket's limit.
pub const RECV_QUEUE_BUFFERS: usize = super::segment_pool::MAX_QUEUE_BUFFERS;
/// Out-of-order ranges one socket remembers (the bounded out-of-order queue).
pub const OUT_OF_ORDER_RANGES: usize = 8;
/// SACKed ranges the sender's scoreboard keeps.
pub const SCOREBOARD_RANGES: usize = 8;
/// Window scaling (RFC 7323 §2) compiled in (feature `tcp-window-scaling`): without it
/// `TcpConfig::window_scaling` is ignored and windows stay below 64 KiB.
const WINDOW_SCALING: bool = cfg!(feature = "tcp-window-scaling");
/// Timestamps (RFC 7323 §3) compiled in (feature `tcp-timestamps`); without it
/// `TcpConfig::timestamps` is ignored and RTT is sampled from one timed segment per flight.
const TIMESTAMPS: bool = cfg!(feature = "tcp-timestamps");
/// SACK (RFC 2018, RFC 6675 loss recovery) compiled in (feature `tcp-sack`); without it
/// `TcpConfig::sack` is ignored and loss recovery is NewReno.
const SACK: bool = cfg!(feature = "tcp-sack");
/// Segments one socket sends per `dispatch` at most, so one busy socket cannot starve the
/// others within a poll.
const MAX_SEGMENTS_PER_DISPATCH: usize = 64;
/// Bounds of the override timeout after which data held back by sender-side silly-window
/// avoidance is sent anyway (RFC 1122 §4.2.3.4: 0.1 to 1 s); within them, one RTO.
const SWS_OVERRIDE_MIN: Duration = Duration::from_millis(100);
const SWS_OVERRIDE_MAX: Duration = Duration::from_secs(1);

/// The connection states of RFC 9293 §3.3.2 (`Listen` belongs to listeners, not to sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpState {
    /// No connection (a free slot, or one closed but still held by the application); zero,
    /// like every other byte of a free slot.
    Closed = 0,
    /// Our SYN is sent, waiting for the peer's SYN.
    SynSent,
    /// The peer's SYN arrived and our SYN-ACK is sent, waiting for its ACK.
    SynReceived,
    /// The connection is open both ways.
    Established,
    /// We closed; our FIN is sent, not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer closed; we may still send.
    CloseWait,
    /// Both closed at once; our FIN not yet acknowledged.
    Closing,
    /// The peer closed first and so did we; waiting for the ACK of our FIN.
    LastAck,
    /// Both closed; waiting 2·MSL for stray segments of this connection.
    TimeWait,
}

impl TcpState {
    /// True in the states where the handshake is complete (RFC 9293 "synchronized").
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            TcpState::Closed | TcpState::SynSent | TcpState::SynReceived
        )
    }
}

/// Why a TCP call failed, or why a connection ended.
///
/// The discriminants start at 1 so that `Option<TcpError>::None` is stored as zero (a free
/// [`TcpSlot`] is all zero bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpError {
    /// The handle does not name a live socket (closed or reused).
    InvalidHandle = 1,
    /// The call cannot proceed now (nothing to read, send buffer full); try after a poll.
    WouldBlock,
    /// Every socket (or listener) slot is taken and no TIME-WAIT slot could be reused.
    NoSlot,
    /// The local port is already in use.
    AddressInUse,
    /// The stack has no address, or no route to the destination.
    Unaddressed,
    /// The operation needs a state the connection is not in (send after close, ...).
    InvalidState,
    /// The peer refused the connection (RST to our SYN).
    Refused,
    /// The peer reset the connection.
    Reset,
    /// Retransmissions or keepalives went unanswered.
    TimedOut,
    /// The interface's address changed or was removed (a DHCP lease expired or was refused):
    /// the connection's local address is no longer ours, so it cannot continue.
    AddressLost,
}

impl core::fmt::Display for TcpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TcpError::InvalidHandle => "invalid TCP handle",
            TcpError::WouldBlock => "operation would block",
            TcpError::NoSlot => "no free TCP slot",
            TcpError::AddressInUse => "TCP port in use",
            TcpError::Unaddressed => "no address or route",
            TcpError::InvalidState => "invalid TCP state for this operation",
            TcpError::Refused => "connection refused",
            TcpError::Reset => "connection reset by peer",
            TcpError::TimedOut => "connection timed out",
            TcpError::AddressLost => "local address removed",
        })
    }
}

impl core::error::Error for TcpError {}

/// The profile's TCP choices, part of [`crate::StackConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Send window scaling (RFC 7323 §2) on our SYNs and accept it on the peer's.
    pub window_scaling: bool,
    /// Send timestamps (RFC 7323 §3) on our SYNs and use them when the peer agrees.
    pub timestamps: bool,
    /// Offer and accept SACK (RFC 2018); SACK-based loss recovery (RFC 6675) when agreed.
    pub sack: bool,
    /// Default of new sockets: send small segments at once instead of waiting for the ACK
    /// of outstanding data (Nagle off).
    pub no_delay: bool,
    /// Longest ACK delay (at most 200 ms; zero acknowledges every segment at once).
    pub delayed_ack: Duration,
    /// Maximum segment lifetime; TIME-WAIT lasts 2·MSL.
    pub msl: Duration,
    /// Keepalive for every connection, `None` when off.
    pub keepalive: Option<Keepalive>,
    /// Longest interval between zero-window probes.
    pub persist_max: Duration,
    /// RTO bounds (RFC 6298).
    pub rtt: RttConfig,
    /// Initial window and byte-counting limit.
    pub congestion: CongestionConfig,
    /// Send-buffer limit of each socket, in pool buffers (at most [`SEND_QUEUE_BUFFERS`]).
    pub send_buffers: u16,
    /// Receive-window limit of each socket, in pool buffers (at most
    /// [`RECV_QUEUE_BUFFERS`]).
    pub recv_buffers: u16,
    /// Pool buffers reserved for each socket (0: shared pool only).
    pub reserved_buffers: u16,
    /// Most packet buffers TCP data may hold at once, across all connections (lwIP's
    /// `MEMP_NUM_TCP_SEG`); never more than the packet pool minus its frame reserve
    /// ([`super::segment_pool::FRAME_RESERVE`]).
    pub segments: u16,
    /// Most TCP payload bytes one packet buffer holds (a profile's MSS). The stack also
    /// caps it at one full-sized segment (`mtu − 40`) and at what a packet buffer holds behind
    /// the Ethernet, IPv4 and TCP headers; `u16::MAX` (the default) leaves just those caps.
    pub segment_size: u16,
    /// Retransmissions of one segment before the connection is aborted.
    pub max_retransmits: u8,
    /// Retransmissions of a SYN or SYN-ACK before giving up.
    pub max_syn_retransmits: u8,
    /// Challenge ACKs (RFC 5961) the whole stack sends per second at most.
    pub challenge_acks_per_second: u32,
    /// Answer SYNs with SYN cookies when a listener's SYN-RECEIVED slots are all taken.
    pub syn_cookies: bool,
    /// SYN-RECEIVED slots per listener (the backlog of half-open connections).
    pub backlog: u8,
}

impl Default for TcpConfig {
    /// Window scaling, timestamps and SACK on, Nagle on, 200 ms delayed ACK, MSL 30 s, no
    /// keepalive, RFC 6298 RTO bounds, 16 buffers each way, TCP data in all the packet pool
    /// but its frame reserve, 12 retransmissions, 5 SYN
    /// retransmissions, 10 challenge ACKs per second, SYN cookies on, backlog 4.
    fn default() -> Self {
        TcpConfig {
            window_scaling: true,
            timestamps: true,
            sack: true,
            no_delay: false,
            delayed_ack: Duration::from_millis(200),
            msl: Duration::from_secs(30),
            keepalive: None,
            persist_max: Duration::from_secs(60),
            rtt: RttConfig {
                min_rto: Duration::from_millis(200),
                ..RttConfig::RFC6298
            },
            congestion: CongestionConfig::default(),
            send_buffers: 16,
            recv_buffers: 16,
            reserved_buffers: 0,
            segments: 256,
            segment_size: u16::MAX,
            max_retransmits: 12,
            max_syn_retransmits: 5,
            challenge_acks_per_second: 10,
            syn_cookies: true,
            backlog: 4,
        }
    }
}

impl TcpConfig {
    pub(crate) fn timer_config(&self) -> TimerConfig {
        TimerConfig {
            delayed_ack: self.delayed_ack,
            persist_max: self.persist_max,
            keepalive: self.keepalive,
            msl: self.msl,
        }
    }
}

/// The per-stack RFC 5961 §7 limit on challenge ACKs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChallengeLimiter {
    window_start: Instant,
    sent: u32,
}

impl ChallengeLimiter {
    pub(crate) const fn new() -> Self {
        ChallengeLimiter {
            window_start: Instant::from_micros(0),
            sent: 0,
        }
    }

    fn allow(&mut self, now: Instant, per_second: u32) -> bool {
        if now.saturating_duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.sent = 0;
        }
        if self.sent < per_second {
            self.sent += 1;
            true
        } else {
            false
        }
    }
}

/// What the stack must do after a socket processed a segment (besides what the socket sends
/// itself at the next dispatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputAction {
    /// Nothing more.
    None,
    /// Answer with a RST built from the segment (RFC 9293 §3.10.7.1 rules), the socket is
    /// unaffected.
    SendReset,
}

/// The context a socket works in during input.
pub(crate) struct Ctx<'c, 'p> {
    pub(crate) pool: Segments<'c, 'p>,
    pub(crate) stats: &'c mut Stats,
    pub(crate) config: &'c TcpConfig,
    pub(crate) challenge: &'c mut ChallengeLimiter,
    pub(crate) now: Instant,
}

/// A segment's payload as a view of the send queue: `len` bytes from `seq`, possibly spread
/// over several pool buffers. Copied once into the driver's buffer by [`Payload::copy_to`].
#[derive(Debug, Clone, Copy)]
pub struct Payload<'p, 'q> {
    queue: &'q SendQueue,
    pool: &'q Segments<'q, 'p>,
    seq: SeqNumber,
    len: usize,
}

impl Payload<'_, '_> {
    /// Bytes of payload.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the segment carries no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copy the payload into `out` (at least [`Payload::len`] bytes) and return its folded
    /// Internet checksum (for [`crate::wire::TcpPacket::fill_checksum_with_payload_sum`]).
    pub fn copy_to(&self, out: &mut [u8]) -> u16 {
        // Usually one buffer holds the whole payload (buffers of one MSS): one pass.
        let mut done = 0;
        let mut acc = 0u64;
        while done < self.len {
            let Some(bytes) = self
                .queue
                .segment(self.pool, self.seq + done, self.len - done)
            else {
                break;
            };
            let Some(dst) = out.get_mut(done..done + bytes.len()) else {
                break;
            };
            let s = checksum::copy_and_checksum(dst, bytes);
            // An odd-length piece shifts the byte lanes of the next one.
            let s = if done % 2 == 1 { s.swap_bytes() } else { s };
            acc += u64::from(s);
            done += bytes.len();
        }
        checksum::fold_sums(acc)
    }
}

/// One socket slot of the caller-provided table (start from [`TcpSlot::EMPTY`]).
#[derive(Debug)]
pub struct TcpSlot {
    pub(crate) state: TcpState,
    /// Bumped each time the slot is freed, so stale handles are refused.
    pub(crate) generation: u16,
    /// The application holds a handle (connect, accept) and has not closed it.
    pub(crate) owned: bool,
    /// The application closed its handle: the slot is freed when the connection ends.
    pub(crate) released: bool,
    /// Index of the listener whose queue holds this (not yet accepted) connection.
    pub(crate) listener: Option<u8>,
    pub(crate) error: Option<TcpError>,
    pub(crate) local: SocketAddrV4,
    pub(crate) remote: SocketAddrV4,
    /// Order of creation, to pick the oldest TIME-WAIT slot.
    pub(crate) serial: u32,
    /// This slot's index in the table and in the quota table (a table of more than 65,535
    /// slots leaves the rest without buffers).
    index: u16,

    iss: SeqNumber,
    /// SND.UNA, our FIN included (the send queue's `una` stops at the last data byte).
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    snd_max: SeqNumber,
    snd_wnd: usize,
    max_snd_wnd: usize,
    snd_wl1: SeqNumber,
    snd_wl2: SeqNumber,
    snd_mss: usize,
    snd_shift: u8,
    rcv_shift: u8,
    rcv_adv: SeqNumber,
    rcv_mss: usize,
    /// The largest window we offer (the receive-buffer limit), in bytes.
    rcv_wnd_max: usize,
    fin_queued: bool,
    peer_fin: Option<SeqNumber>,
    fin_received: bool,
    ts_enabled: bool,
    ts_recent: u32,
    sack_enabled: bool,
    no_delay: bool,
    ack_now: bool,
    /// RFC 3042: segments that may be sent beyond cwnd (one per early duplicate ACK).
    limited_transmit: u8,
    /// SND.UNA when it was last resent on SACK evidence outside recovery.
    rexmit_after_rto: Option<SeqNumber>,
    syn_due: bool,
    fast_rexmit: bool,
    syn_retries: u8,
    retries: u8,
    timed: Option<(SeqNumber, Instant)>,
    latest_ooo: Option<SeqNumber>,

    sendq: SendQueue,
    recvq: RecvQueue,
    asm: Assembler<OUT_OF_ORDER_RANGES>,
    reporter: SackReporter,
    board: Scoreboard<SCOREBOARD_RANGES>,
    marks: RecoveryMarks,
    rtt: RttEstimator,
    cc: Congestion,
    timers: Timers,
}

const UNSPECIFIED: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);

impl TcpSlot {
    /// A free slot: all zero bytes (every default is applied by `open` when the slot is
    /// taken), so a table of them is zero-initialised memory (`.bss`), built neither in flash
    /// nor on the call stack.
    // The send queue's lookup cursor is a `Cell`: a copy of `EMPTY` is a fresh, unshared value,
    // which is all this constant is used for.
    #[allow(clippy::declare_interior_mutable_const)]
    pub const EMPTY: TcpSlot = TcpSlot {
        state: TcpState::Closed,
        generation: 0,
        owned: false,
        released: false,
        listener: None,
        error: None,
        local: UNSPECIFIED,
        remote: UNSPECIFIED,
        serial: 0,
        index: 0,
        iss: SeqNumber(0),
        snd_una: SeqNumber(0),
        snd_nxt: SeqNumber(0),
        snd_max: SeqNumber(0),
        snd_wnd: 0,
        max_snd_wnd: 0,
        snd_wl1: SeqNumber(0),
        snd_wl2: SeqNumber(0),
        snd_mss: 0,
        snd_shift: 0,
        rcv_shift: 0,
        rcv_adv: SeqNumber(0),
        rcv_mss: 0,
        rcv_wnd_max: 0,
        fin_queued: false,
        peer_fin: None,
        fin_received: false,
        ts_enabled: false,
        ts_recent: 0,
        sack_enabled: false,
        no_delay: false,
        ack_now: false,
        limited_transmit: 0,
        rexmit_after_rto: None,
        syn_due: false,
        fast_rexmit: false,
        syn_retries: 0,
        retries: 0,
        timed: None,
        latest_ooo: None,
        sendq: SendQueue::new(0, SeqNumber(0)),
        recvq: RecvQueue::new(0, SeqNumber(0)),
        asm: Assembler::new(SeqNumber(0)),
        reporter: SackReporter::new(),
        board: Scoreboard::new(),
        marks: RecoveryMarks::new(SeqNumber(0)),
        rtt: RttEstimator::ZERO,
        cc: Congestion::ZERO,
        timers: Timers::new(),
    };

    /// A free slot (same as [`TcpSlot::EMPTY`]).
    pub const fn new() -> TcpSlot {
        TcpSlot::EMPTY
    }
}

impl Default for TcpSlot {
    fn default() -> Self {
        TcpSlot::EMPTY
    }
}

impl TcpSlot {
    /// The connection state.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// SACK agreed with the peer (always false without feature `tcp-sack`, so its code
    /// folds away).
    #[inline(always)]
    fn sack(&self) -> bool {
        SACK && self.sack_enabled
    }

    /// Timestamps agreed with the peer (always false without feature `tcp-timestamps`).
    #[inline(always)]
    fn ts(&self) -> bool {
        TIMESTAMPS && self.ts_enabled
    }

    /// True when the slot holds nothing (free for a new connection).
    pub(crate) fn is_free(&self) -> bool {
        self.state == TcpState::Closed && !self.owned && self.listener.is_none()
    }

    pub(crate) fn matches(&self, local: SocketAddrV4, remote: SocketAddrV4) -> bool {
        self.state != TcpState::Closed && self.local == local && self.remote == remote
    }

    /// Forget the connection, freeing its buffers; the slot stays owned if the application
    /// holds it.
    pub(crate) fn reset(&mut self, pool: &mut Segments<'_, '_>) {
        self.sendq.clear(pool);
        self.recvq.clear(pool);
        self.state = TcpState::Closed;
        self.timers.stop_all();
        if !self.owned {
            self.free();
        }
    }

    /// Make the slot free for reuse (buffers already released).
    pub(crate) fn free(&mut self) {
        self.state = TcpState::Closed;
        self.owned = false;
        self.released = false;
        self.listener = None;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Initialise the slot for a new connection (active or passive open).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open(
        &mut self,
        index: usize,
        serial: u32,
        config: &TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: SeqNumber,
        rcv_mss: usize,
        buffer_size: usize,
    ) {
        let generation = self.generation;
        *self = TcpSlot::EMPTY;
        self.generation = generation;
        self.index = u16::try_from(index).unwrap_or(u16::MAX);
        self.serial = serial;
        self.local = local;
        self.remote = remote;
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_max = iss;
        self.rcv_mss = rcv_mss;
        self.snd_mss = 536;
        self.no_delay = config.no_delay;
        self.sendq = SendQueue::new(self.index, iss + 1);
        self.rtt = RttEstimator::new(config.rtt);
        // The congestion state is set up when the handshake completes (`start_congestion`,
        // nothing reads it before), the timers are stopped in `EMPTY`.
        self.marks = RecoveryMarks::new(iss + 1);
        // Our window shift: the smallest that lets the largest window fit 16 bits.
        let max_window = Self::max_window(config, buffer_size);
        self.rcv_wnd_max = max_window;
        let mut shift = 0u8;
        while (max_window >> shift) > 0xffff && shift < MAX_WINDOW_SHIFT {
            shift += 1;
        }
        self.rcv_shift = if WINDOW_SCALING && config.window_scaling {
            shift
        } else {
            0
        };
        self.ts_enabled = TIMESTAMPS && config.timestamps;
        self.sack_enabled = SACK && config.sack;
    }

    /// The largest receive window of a connection: its receive buffers but one.
    pub(crate) fn max_window(config: &TcpConfig, buffer_size: usize) -> usize {
        let bufs = usize::from(config.recv_buffers).min(RECV_QUEUE_BUFFERS);
        bufs.saturating_sub(1).max(1) * buffer_size
    }

    /// Set the receive side up from the peer's SYN.
    fn init_receive(&mut self, irs: SeqNumber) {
        let rcv_nxt = irs + 1;
        self.recvq = RecvQueue::new(self.index, rcv_nxt);
        self.asm = Assembler::new(rcv_nxt);
        // The window of our SYN (or SYN-ACK), never scaled.
        self.rcv_adv = rcv_nxt + self.rcv_wnd_max.min(0xffff);
        self.reporter.clear();
    }

    /// Take the options of the peer's SYN (or SYN-ACK) into account.
    fn negotiate(&mut self, syn: &Repr<'_>, config: &TcpConfig, we_offered: bool) {
        let peer_mss = usize::from(syn.max_seg_size.unwrap_or(536)).max(64);
        match syn.window_scale {
            Some(shift) if WINDOW_SCALING && config.window_scaling && we_offered => {
                self.snd_shift = shift.min(MAX_WINDOW_SHIFT);
            }
            _ => {
                self.snd_shift = 0;
                self.rcv_shift = 0;
            }
        }
        self.sack_enabled = SACK && config.sack && syn.sack_permitted;
        self.ts_enabled = TIMESTAMPS && config.timestamps && syn.timestamp.is_some();
        if let Some(ts) = syn.timestamp {
            self.ts_recent = ts.tsval;
        }
        // RFC 6691: the MSS counts no options; we subtract the timestamps we send.
        let opts = if self.ts() { 12 } else { 0 };
        self.snd_mss = peer_mss
            .min(self.rcv_mss.max(64))
            .saturating_sub(opts)
            .max(32);
        self.snd_wnd = usize::from(syn.window_len);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = syn.seq_number;
        self.snd_wl2 = syn.ack_number.unwrap_or(self.iss);
    }

    fn start_congestion(&mut self, config: &TcpConfig) {
        self.cc = Congestion::new(config.congestion, self.snd_mss, self.iss, self.sack());
        if self.syn_retries > 0 {
            self.cc.on_syn_lost();
        }
        self.rtt.on_handshake_complete(self.syn_retries > 0);
    }

    /// Active open: the SYN goes out at the next dispatch.
    pub(crate) fn connect(&mut self) {
        self.state = TcpState::SynSent;
        self.syn_due = true;
    }

    /// Passive open from a SYN the listener accepted into this slot.
    pub(crate) fn accept_syn(&mut self, syn: &Repr<'_>, config: &TcpConfig, listener: u8) {
        self.listener = Some(listener);
        self.init_receive(syn.seq_number);
        self.negotiate(syn, config, true);
        self.state = TcpState::SynReceived;
        self.syn_due = true;
    }

    /// Passive open from a valid SYN cookie: the connection is established at once with the
    /// MSS the cookie kept (no window scaling, SACK nor timestamps).
    pub(crate) fn accept_cookie(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        ack: &Repr<'_>,
        listener: u8,
        mss: u16,
    ) {
        self.listener = Some(listener);
        self.init_receive(ack.seq_number - 1);
        self.snd_shift = 0;
        self.rcv_shift = 0;
        self.sack_enabled = false;
        self.ts_enabled = false;
        self.snd_mss = usize::from(mss).min(self.rcv_mss).max(32);
        // Our SYN-ACK (the cookie) was sent and is acknowledged by `ack`: the handshake
        // completes as from SYN-RECEIVED (the window is not scaled: no window scaling).
        self.snd_max = self.iss + 1;
        self.establish(ctx, ack, ack.ack_number.unwrap_or(self.iss + 1));
    }

    // ------------------------------------------------------------------ application side

    pub(crate) fn rcv_nxt(&self) -> SeqNumber {
        self.asm.next() + usize::from(self.fin_received)
    }

    /// The window we can offer now, in bytes.
    fn window_now(&self, pool: &Segments<'_, '_>) -> usize {
        let limit = pool
            .quota(usize::from(self.index))
            .map_or(0, |q| usize::from(q.recv_limit).min(RECV_QUEUE_BUFFERS));
        let max = limit.saturating_sub(1) * pool.buffer_size();
        let unread = self.asm.next() - self.recvq.read_seq();
        max.saturating_sub(unread)
    }

    /// Bytes the application can read now.
    pub(crate) fn recv_available(&self) -> usize {
        self.recvq.readable()
    }

    /// True when at least one byte can be read now (`recv_available() > 0`, cheaper).
    pub(crate) fn can_recv(&self) -> bool {
        self.recvq.has_readable()
    }

    /// True when the peer closed and everything it sent has been read.
    pub(crate) fn at_eof(&self) -> bool {
        self.fin_received && !self.recvq.has_readable()
    }

    pub(crate) fn may_send(&self) -> bool {
        matches!(self.state, TcpState::Established | TcpState::CloseWait) && !self.fin_queued
    }

    pub(crate) fn may_recv(&self) -> bool {
        matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        ) || self.recvq.has_readable()
    }

    /// Bytes the send queue can take now (limit and pool permitting).
    pub(crate) fn send_room(&self, pool: &SegmentPool<'_>, packets: &PacketPool<'_>) -> usize {
        let Some(q) = pool.quota(usize::from(self.index)) else {
            return 0;
        };
        let limit = usize::from(q.send_limit).min(SEND_QUEUE_BUFFERS);
        let free_bufs = limit
            .saturating_sub(self.sendq.buffers())
            .min(pool.free_count(packets));
        free_bufs * pool.buffer_size()
    }

    pub(crate) fn send(&mut self, pool: &mut Segments<'_, '_>, data: &[u8]) -> usize {
        self.sendq.write(pool, data)
    }

    pub(crate) fn recv(&mut self, pool: &mut Segments<'_, '_>, out: &mut [u8]) -> usize {
        let n = self.recvq.read(pool, out);
        if n > 0 && self.state.is_synchronized() {
            // Receiver SWS avoidance: announce the window once it opened by a worthwhile
            // amount (RFC 1122 §4.2.3.3).
            let edge = self.rcv_nxt() + self.window_now(pool);
            let threshold = self
                .rcv_mss
                .min(Self::max_window_of(pool, usize::from(self.index)) / 2);
            if edge - self.rcv_adv >= threshold.max(1) && !self.fin_received {
                self.ack_now = true;
            }
        }
        n
    }

    fn max_window_of(pool: &Segments<'_, '_>, index: usize) -> usize {
        let limit = pool
            .quota(index)
            .map_or(0, |q| usize::from(q.recv_limit).min(RECV_QUEUE_BUFFERS));
        limit.saturating_sub(1) * pool.buffer_size()
    }

    /// The application closed its direction: a FIN follows the queued data.
    pub(crate) fn close(&mut self, pool: &mut Segments<'_, '_>) {
        match self.state {
            TcpState::SynSent | TcpState::Closed => self.reset(pool),
            TcpState::SynReceived | TcpState::Established => {
                self.fin_queued = true;
                self.state = TcpState::FinWait1;
            }
            TcpState::CloseWait => {
                self.fin_queued = true;
                self.state = TcpState::LastAck;
            }
            _ => {}
        }
    }

    /// Set Nagle off (`true`) or on.
    pub(crate) fn set_no_delay(&mut self, on: bool) {
        self.no_delay = on;
    }

    /// The sequence number of our FIN (valid when `fin_queued`).
    fn fin_seq(&self) -> SeqNumber {
        self.sendq.end()
    }

    fn fin_acked(&self) -> bool {
        self.fin_queued && self.snd_una == self.fin_seq() + 1
    }

    // ------------------------------------------------------------------------- input

    /// The window in bytes that the last ACK we sent offered (the acceptability window).
    fn rcv_wnd(&self) -> usize {
        self.rcv_adv - self.rcv_nxt()
    }

    fn challenge(&mut self, ctx: &mut Ctx<'_, '_>) {
        if ctx
            .challenge
            .allow(ctx.now, ctx.config.challenge_acks_per_second)
        {
            self.ack_now = true;
            bump(&mut ctx.stats.tcp_challenge_acks);
        } else {
            bump(&mut ctx.stats.tcp_challenge_ack_limited);
        }
    }

    /// End the connection because its local address is no longer the interface's. No RST is
    /// sent: the address it would come from is not ours any more.
    pub(crate) fn lose_address(&mut self, pool: &mut Segments<'_, '_>) {
        self.fail(pool, TcpError::AddressLost);
    }

    fn fail(&mut self, pool: &mut Segments<'_, '_>, error: TcpError) {
        self.error = Some(error);
        self.reset(pool);
    }

    /// Process one segment addressed to this connection (RFC 9293 §3.10.7.3 and .4).
    pub(crate) fn process(&mut self, ctx: &mut Ctx<'_, '_>, seg: &Repr<'_>) -> InputAction {
        self.timers
            .on_peer_activity(&ctx.config.timer_config(), ctx.now);
        match self.state {
            TcpState::Closed => InputAction::None,
            TcpState::SynSent => self.process_syn_sent(ctx, seg),
            _ => self.process_synchronized(ctx, seg),
        }
    }

    fn process_syn_sent(&mut self, ctx: &mut Ctx<'_, '_>, seg: &Repr<'_>) -> InputAction {
        let ack_ok = match seg.ack_number {
            Some(ack) => {
                if !(ack > self.iss && seq_ge(self.snd_max, ack)) {
                    bump(&mut ctx.stats.tcp_ack_invalid);
                    return if seg.control == Control::Rst {
                        InputAction::None
                    } else {
                        InputAction::SendReset
                    };
                }
                true
            }
            None => false,
        };
        match seg.control {
            Control::Rst => {
                if ack_ok {
                    bump(&mut ctx.stats.tcp_resets_rx);
                    self.fail(&mut ctx.pool, TcpError::Refused);
                } else {
                    bump(&mut ctx.stats.tcp_rst_invalid);
                }
                InputAction::None
            }
            Control::Syn => {
                self.init_receive(seg.seq_number);
                self.negotiate(seg, ctx.config, true);
                if ack_ok {
                    let ack = seg.ack_number.unwrap_or(self.iss + 1);
                    self.snd_una = ack;
                    self.snd_nxt = self.snd_nxt.max(ack);
                    self.timed = None;
                    self.timers.stop_retransmit();
                    self.start_congestion(ctx.config);
                    self.state = TcpState::Established;
                    bump(&mut ctx.stats.tcp_connections_established);
                    self.ack_now = true;
                } else {
                    // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-ACK with our ISS.
                    self.state = TcpState::SynReceived;
                    self.snd_nxt = self.iss;
                    self.syn_due = true;
                }
                InputAction::None
            }
            _ => {
                bump(&mut ctx.stats.tcp_out_of_window);
                InputAction::None
            }
        }
    }

    fn process_synchronized(&mut self, ctx: &mut Ctx<'_, '_>, seg: &Repr<'_>) -> InputAction {
        let rcv_nxt = self.rcv_nxt();
        let rcv_wnd = self.rcv_wnd();
        let seg_len = seg.segment_len();
        let seq = seg.seq_number;
        // Acceptability (RFC 9293 §3.10.7.4, first check).
        let acceptable = match (seg_len, rcv_wnd) {
            (0, 0) => seq == rcv_nxt,
            (0, _) => seq.in_window(rcv_nxt, rcv_wnd),
            (_, 0) => false,
            (len, wnd) => seq.in_window(rcv_nxt, wnd) || (seq + (len - 1)).in_window(rcv_nxt, wnd),
        };
        // A retransmitted SYN in SYN-RECEIVED (our SYN-ACK was lost) is answered by
        // resending the SYN-ACK.
        // Simultaneous open: the peer's SYN-ACK acknowledging our SYN completes the
        // handshake in SYN-RECEIVED too (RFC 9293 §3.5 figure 8).
        if self.state == TcpState::SynReceived && seg.control == Control::Syn && seq + 1 == rcv_nxt
        {
            match seg.ack_number {
                None => {
                    self.syn_due = true;
                    self.snd_nxt = self.iss;
                    return InputAction::None;
                }
                Some(ack) if ack == self.iss + 1 => {
                    self.establish(ctx, seg, ack);
                    self.ack_now = true;
                    return InputAction::None;
                }
                Some(_) => {}
            }
        }
        if !acceptable {
            // RFC 9293 §3.10.7.4: "special allowance should be made to accept valid ACKs"
            // when the window is (nearly) closed: a segment starting beyond it, but no
            // further than our largest window, still has its ACK (and SACK) processed, so the
            // sender side does not stall on a full receive buffer. Its data is dropped.
            let ahead = seq
                .checked_sub(rcv_nxt)
                .is_some_and(|d| d >= rcv_wnd && d <= self.rcv_wnd_max);
            if ahead
                && matches!(seg.control, Control::None | Control::Fin)
                && let Some(ack) = seg.ack_number
                && self.state.is_synchronized()
                && self.process_ack(ctx, seg, ack, true)
                && self.state == TcpState::Closed
            {
                return InputAction::None;
            }
            // A zero-window probe (one byte at RCV.NXT) is answered too.
            if seg.control != Control::Rst {
                self.ack_now = true;
                if self.state == TcpState::TimeWait && seg.control == Control::Fin {
                    self.enter_time_wait(ctx);
                }
            }
            bump(&mut ctx.stats.tcp_out_of_window);
            return InputAction::None;
        }
        // RST (RFC 5961 §3.2).
        if seg.control == Control::Rst {
            if seq == rcv_nxt {
                bump(&mut ctx.stats.tcp_resets_rx);
                match self.state {
                    TcpState::SynReceived if !self.owned => {
                        // Passive open: back to LISTEN (the slot is simply freed).
                        self.reset(&mut ctx.pool);
                    }
                    TcpState::Closing | TcpState::LastAck | TcpState::TimeWait => {
                        self.reset(&mut ctx.pool);
                    }
                    _ => self.fail(&mut ctx.pool, TcpError::Reset),
                }
            } else {
                bump(&mut ctx.stats.tcp_rst_invalid);
                self.challenge(ctx);
            }
            return InputAction::None;
        }
        // SYN in a synchronized state (RFC 5961 §4).
        if seg.control == Control::Syn {
            bump(&mut ctx.stats.tcp_syn_in_window);
            self.challenge(ctx);
            return InputAction::None;
        }
        let Some(ack) = seg.ack_number else {
            bump(&mut ctx.stats.tcp_no_ack);
            return InputAction::None;
        };
        if self.state == TcpState::SynReceived {
            if ack > self.iss && seq_ge(self.snd_max, ack) {
                self.establish(ctx, seg, ack);
            } else {
                bump(&mut ctx.stats.tcp_ack_invalid);
                return InputAction::SendReset;
            }
        }
        // RFC 7323 §4.3: remember the TSval of a segment covering the last ACK sent.
        if let Some(ts) = seg.timestamp
            && self.ts()
            && seq_ge(rcv_nxt, seq)
        {
            self.ts_recent = ts.tsval;
        }
        if !self.process_ack(ctx, seg, ack, false) {
            return InputAction::None;
        }
        if self.state == TcpState::Closed {
            return InputAction::None;
        }
        // Data.
        if !seg.payload.is_empty() {
            match self.state {
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 => {
                    self.receive_data(ctx, seq, seg.payload);
                }
                _ => {
                    // The peer's FIN was already received: data after it is ignored.
                    self.ack_now = true;
                }
            }
        }
        if seg.control == Control::Fin {
            let fin_at = seq + seg.payload.len();
            if !self.fin_received {
                self.peer_fin = Some(fin_at);
            } else {
                // A retransmitted FIN: acknowledge again (TIME-WAIT restarts its timer).
                self.ack_now = true;
                if self.state == TcpState::TimeWait {
                    self.enter_time_wait(ctx);
                }
            }
        }
        self.check_fin(ctx);
        InputAction::None
    }

    /// SYN-RECEIVED → ESTABLISHED (or FIN-WAIT-1 when the application already closed): our
    /// SYN is acknowledged by `seg`, whose window is the first one of the data phase
    /// (SND.WL2 = `wl2`).
    fn establish(&mut self, ctx: &mut Ctx<'_, '_>, seg: &Repr<'_>, wl2: SeqNumber) {
        self.snd_una = self.iss + 1;
        self.snd_nxt = self.snd_nxt.max(self.snd_una);
        self.timers.stop_retransmit();
        self.start_congestion(ctx.config);
        self.state = if self.fin_queued {
            TcpState::FinWait1
        } else {
            TcpState::Established
        };
        bump(&mut ctx.stats.tcp_connections_established);
        self.snd_wnd = usize::from(seg.window_len) << self.snd_shift;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq_number;
        self.snd_wl2 = wl2;
        self.timed = None;
    }

    /// The ACK field of an acceptable segment (`header_only`: of a segment whose data and FIN
    /// are dropped, taken as a pure ACK). Returns false when the segment must be dropped.
    fn process_ack(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        seg: &Repr<'_>,
        ack: SeqNumber,
        header_only: bool,
    ) -> bool {
        let una = self.snd_una;
        // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA − MAX.SND.WND, SND.MAX].
        if ack > self.snd_max {
            bump(&mut ctx.stats.tcp_ack_invalid);
            self.challenge(ctx);
            return false;
        }
        let lowest = una - self.max_snd_wnd.max(1);
        if ack < lowest {
            bump(&mut ctx.stats.tcp_ack_invalid);
            self.challenge(ctx);
            return false;
        }
        let window = usize::from(seg.window_len) << self.snd_shift;
        let sack_blocks = if self.sack() {
            seg.sack_ranges.as_slice()
        } else {
            &[]
        };
        let update = if self.sack() {
            self.board.update(ack.max(una), self.snd_max, sack_blocks)
        } else {
            Default::default()
        };
        if ack > una {
            // New data acknowledged.
            let acked = ack - una;
            self.sendq.ack(&mut ctx.pool, ack);
            self.snd_una = ack;
            if self.snd_nxt < ack {
                self.snd_nxt = ack;
            }
            self.retries = 0;
            // RTT: timestamps when on (valid for retransmissions too), else the timed segment
            // (Karn's rule: `timed` is cleared when it is retransmitted).
            if self.ts()
                && let Some(ts) = seg.timestamp
                && ts.tsecr != 0
            {
                let now_ms = ctx.now.total_millis() as u32;
                let ms = now_ms.wrapping_sub(ts.tsecr);
                if ms < 60_000 {
                    self.rtt
                        .on_timestamp_sample(Duration::from_millis(u64::from(ms)));
                }
                self.timed = None;
            } else if let Some((s, at)) = self.timed
                && ack > s
            {
                self.rtt
                    .on_segment_acked(ctx.now.saturating_duration_since(at), false);
                self.timed = None;
            }
            let flight = self.snd_max - ack;
            match self.cc.on_ack(ack, acked, flight) {
                AckAction::PartialAck {
                    retransmit_first_unacked,
                    reset_timer: _,
                } => {
                    if retransmit_first_unacked {
                        self.fast_rexmit = true;
                    }
                }
                AckAction::RecoveryExited => self.marks.reset(ack),
                AckAction::Normal => {}
            }
            self.limited_transmit = 0;
            if flight == 0 {
                self.timers.stop_retransmit();
            } else {
                self.timers.arm_retransmit(ctx.now, self.rtt.rto());
            }
            self.update_window(seg, ack, window);
        } else if ack == una {
            let window_changed = window != self.snd_wnd;
            let outstanding = self.snd_max > una;
            // RFC 5681 §2: no data, same window. With SACK, an ACK bringing new SACK
            // information counts too, data or not (RFC 6675 §2, §5), so losses are found while
            // the peer is sending as well (an echo).
            let dup = outstanding
                && (header_only || seg.control == Control::None)
                && (((header_only || seg.payload.is_empty()) && !window_changed)
                    || (self.sack() && update.newly_sacked > 0));
            self.update_window(seg, ack, window);
            if dup {
                let flight = self.snd_max - una;
                let action = self.cc.on_dup_ack(ack, self.snd_max, flight);
                // RFC 6675 §5 step (2.b): the scoreboard may see the loss before the third
                // duplicate. RFC 5827 early retransmit: with fewer than four segments
                // outstanding and nothing new to send, oseg − 1 duplicates are enough (a
                // small flight cannot produce three).
                let oseg = flight.div_ceil(self.snd_mss.max(1));
                let nothing_new = self.sendq.end() == self.snd_max || self.snd_wnd <= flight;
                let early_retransmit = oseg < 4
                    && nothing_new
                    && self.cc.dup_acks() as usize >= oseg.saturating_sub(1).max(1);
                let early = !self.cc.in_recovery()
                    && action == DupAckAction::None
                    && ((self.sack() && self.board.is_lost(una, self.snd_mss)) || early_retransmit)
                    && self.cc.enter_recovery(ack, self.snd_max, flight);
                if action == DupAckAction::FastRetransmit || early {
                    bump(&mut ctx.stats.tcp_fast_retransmits);
                    self.fast_rexmit = true;
                    let end = (una + self.snd_mss).min(self.snd_max);
                    self.marks.on_enter_recovery(SeqRange::new(una, end));
                    self.timed = None;
                    self.limited_transmit = 0;
                } else if !self.cc.in_recovery() && self.cc.dup_acks() <= 2 {
                    // RFC 3042 limited transmit: one new segment per of the first two
                    // duplicates, beyond cwnd, to keep the ACK clock running.
                    self.limited_transmit = self.limited_transmit.saturating_add(1).min(2);
                } else if self.sack()
                    && !self.cc.in_recovery()
                    && self.rexmit_after_rto != Some(una)
                    && self.snd_nxt > una
                    && self.board.is_lost(una, self.snd_mss)
                {
                    // After a timeout, recovery may not start again below `recover`
                    // (RFC 6582), but the scoreboard shows the go-back retransmission of
                    // SND.UNA was lost too: resend it once rather than wait for another
                    // (doubled) timeout (RFC 6675 §5.1 uses SACK after an RTO).
                    self.rexmit_after_rto = Some(una);
                    self.fast_rexmit = true;
                }
            }
        } else {
            // An old ACK (below SND.UNA but acceptable): only the window may be news.
            self.update_window(seg, ack, window);
        }
        // State changes driven by the ACK of our FIN.
        if self.fin_queued && self.snd_nxt > self.fin_seq() && seq_ge(ack, self.fin_seq() + 1) {
            match self.state {
                TcpState::FinWait1 => self.state = TcpState::FinWait2,
                TcpState::Closing => self.enter_time_wait(ctx),
                TcpState::LastAck => {
                    self.reset(&mut ctx.pool);
                    if self.owned {
                        self.state = TcpState::Closed;
                    }
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    fn update_window(&mut self, seg: &Repr<'_>, ack: SeqNumber, window: usize) {
        if self.snd_wl1 < seg.seq_number
            || (self.snd_wl1 == seg.seq_number && seq_ge(ack, self.snd_wl2))
        {
            // The persist timer probes a zero window, or (RFC 1122 §4.2.3.4) is the override
            // timer of data that sender SWS avoidance holds back from a small one: either way
            // it starts afresh when the window opens or closes (`dispatch` re-arms it).
            if (window > 0) != (self.snd_wnd > 0) {
                self.timers.stop_persist();
            }
            self.snd_wnd = window;
            self.max_snd_wnd = self.max_snd_wnd.max(window);
            self.snd_wl1 = seg.seq_number;
            self.snd_wl2 = ack;
        }
    }

    fn receive_data(&mut self, ctx: &mut Ctx<'_, '_>, seq: SeqNumber, payload: &[u8]) {
        let rcv_nxt = self.asm.next();
        let wnd = self.rcv_wnd();
        // Trim to the window: what lies before RCV.NXT was read already; what lies beyond the
        // right edge is dropped (the peer retransmits it).
        let skip = rcv_nxt.checked_sub(seq).unwrap_or(0).min(payload.len());
        let start = seq + skip;
        let room = (rcv_nxt + wnd) - start;
        let data = &payload[skip..];
        if data.len() > room {
            // Part lay beyond the window: tell the peer where the window ends, now.
            self.ack_now = true;
        }
        let data = &data[..data.len().min(room)];
        if data.is_empty() {
            // A duplicate: acknowledge at once (RFC 5681 §4.2).
            self.ack_now = true;
            bump(&mut ctx.stats.tcp_rx_duplicate);
            return;
        }
        let stored = self.recvq.insert(&mut ctx.pool, start, data);
        if let Some(from) = stored.reneged_from {
            self.asm.truncate_from(from);
        }
        // Only what the queue holds is recorded as received.
        let held = if stored.stored == data.len() {
            data.len()
        } else {
            // Partly stored: count the contiguous prefix the queue holds from `start`.
            let readable_end = self.recvq.read_seq() + self.recvq.readable();
            if start == rcv_nxt && readable_end > start {
                (readable_end - start).min(data.len())
            } else {
                0
            }
        };
        if held < data.len() {
            bump(&mut ctx.stats.tcp_rx_no_buffer);
        }
        let in_order = start == rcv_nxt;
        let had_holes = !self.asm.is_empty();
        match self.asm.insert(start, held) {
            Ok(advanced) if advanced > 0 => {
                self.latest_ooo = None;
                // Filling a hole is acknowledged at once (RFC 5681 §4.2).
                let full_sized = data.len() >= self.rcv_mss.min(self.snd_mss.max(1));
                // A segment of two MSS or more counts as the second full-sized one.
                let two_full = data.len() >= 2 * self.rcv_mss.min(self.snd_mss.max(1));
                if had_holes
                    || two_full
                    || self
                        .timers
                        .on_data_received(&ctx.config.timer_config(), ctx.now, full_sized)
                {
                    self.ack_now = true;
                }
            }
            Ok(_) => {
                if !in_order && held > 0 {
                    self.latest_ooo = Some(start);
                }
                self.ack_now = true;
            }
            Err(_) => {
                bump(&mut ctx.stats.tcp_ooo_dropped);
                self.ack_now = true;
            }
        }
    }

    /// Accept the peer's FIN once all data before it has arrived.
    fn check_fin(&mut self, ctx: &mut Ctx<'_, '_>) {
        let Some(at) = self.peer_fin else {
            return;
        };
        if self.fin_received || self.asm.next() != at {
            return;
        }
        self.fin_received = true;
        self.peer_fin = None;
        self.ack_now = true;
        match self.state {
            TcpState::SynReceived | TcpState::Established => self.state = TcpState::CloseWait,
            TcpState::FinWait1 => {
                if self.fin_acked() {
                    self.enter_time_wait(ctx);
                } else {
                    self.state = TcpState::Closing;
                }
            }
            TcpState::FinWait2 => self.enter_time_wait(ctx),
            _ => {}
        }
    }

    /// Enter TIME-WAIT, or restart its timer when already there (a retransmitted FIN).
    fn enter_time_wait(&mut self, ctx: &mut Ctx<'_, '_>) {
        self.state = TcpState::TimeWait;
        self.sendq.clear(&mut ctx.pool);
        self.timers
            .enter_time_wait(&ctx.config.timer_config(), ctx.now);
    }

    // ------------------------------------------------------------------------ output

    /// The window field to send and the right edge it announces (never moving the edge
    /// left; small openings are held back, RFC 1122 §4.2.3.3).
    fn window_to_send(&self, pool: &Segments<'_, '_>, syn: bool) -> (u16, SeqNumber) {
        let rcv_nxt = self.rcv_nxt();
        let now_wnd = if self.fin_received {
            0
        } else {
            self.window_now(pool)
        };
        let old = self.rcv_adv - rcv_nxt;
        let threshold = self
            .rcv_mss
            .min(Self::max_window_of(pool, usize::from(self.index)) / 2)
            .max(1);
        let wnd = if now_wnd <= old || (now_wnd - old < threshold && old > 0) {
            old
        } else {
            now_wnd
        };
        let shift = if syn { 0 } else { self.rcv_shift };
        let field = (wnd >> shift).min(0xffff);
        let edge = rcv_nxt + (field << shift);
        (field as u16, edge.max(self.rcv_adv))
    }

    /// A segment from `seq` with the current ACK, window (and SACK blocks, timestamps), and the
    /// right edge its window announces (for [`TcpSlot::emit_one`]); `syn`: the window of a SYN
    /// (never scaled).
    fn base_repr(
        &mut self,
        pool: &Segments<'_, '_>,
        now: Instant,
        seq: SeqNumber,
        syn: bool,
    ) -> (Repr<'static>, SeqNumber) {
        let (window_len, edge) = self.window_to_send(pool, syn);
        let mut sack_ranges = SackRanges::new();
        if self.sack() && !self.asm.is_empty() {
            sack_ranges = self.reporter.blocks(
                self.asm.ranges(),
                self.latest_ooo,
                None,
                max_sack_blocks(self.ts()),
            );
        }
        let repr = Repr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq_number: seq,
            ack_number: Some(self.rcv_nxt()),
            window_len,
            sack_ranges,
            timestamp: self.ts().then(|| Timestamp {
                tsval: now.total_millis() as u32,
                tsecr: self.ts_recent,
            }),
            ..Repr::default()
        };
        (repr, edge)
    }

    /// Emit one segment and account for it: the ACK it carries, the window it announces
    /// (`edge`, the right edge from [`TcpSlot::window_to_send`] for this segment).
    #[allow(clippy::too_many_arguments)]
    fn emit_one<F>(
        &mut self,
        pool: &Segments<'_, '_>,
        stats: &mut Stats,
        repr: &Repr<'_>,
        edge: SeqNumber,
        seq: SeqNumber,
        len: usize,
        emit: &mut F,
    ) -> bool
    where
        F: FnMut(&Repr<'_>, Payload<'_, '_>) -> bool,
    {
        let payload = Payload {
            queue: &self.sendq,
            pool,
            seq,
            len,
        };
        if !emit(repr, payload) {
            return false;
        }
        bump(&mut stats.tcp_segments_tx);
        if repr.ack_number.is_some() {
            self.rcv_adv = edge;
            self.ack_now = false;
            self.timers.on_ack_sent();
        }
        true
    }

    /// Emit a segment without data from `seq` (an ACK, a window probe, a keepalive): one
    /// out-of-line copy of the segment building for the four places that send one.
    #[inline(never)]
    fn emit_empty<F>(
        &mut self,
        pool: &Segments<'_, '_>,
        stats: &mut Stats,
        now: Instant,
        seq: SeqNumber,
        emit: &mut F,
    ) -> bool
    where
        F: FnMut(&Repr<'_>, Payload<'_, '_>) -> bool,
    {
        let (repr, edge) = self.base_repr(pool, now, seq, false);
        self.emit_one(pool, stats, &repr, edge, seq, 0, emit)
    }

    fn on_timer(
        &mut self,
        event: TimerEvent,
        pool: &mut Segments<'_, '_>,
        stats: &mut Stats,
        config: &TcpConfig,
    ) -> bool {
        let mut keepalive = false;
        match event {
            TimerEvent::Retransmit => match self.state {
                TcpState::SynSent | TcpState::SynReceived if !self.state_established_once() => {
                    self.syn_retries = self.syn_retries.saturating_add(1);
                    if self.syn_retries > config.max_syn_retransmits {
                        bump(&mut stats.tcp_timeouts);
                        self.fail(pool, TcpError::TimedOut);
                        return false;
                    }
                    self.rtt.on_timeout();
                    self.syn_due = true;
                    self.snd_nxt = self.iss;
                }
                TcpState::Closed | TcpState::TimeWait => {}
                _ => {
                    if self.snd_max == self.snd_una {
                        return false;
                    }
                    self.retries = self.retries.saturating_add(1);
                    if self.retries > config.max_retransmits {
                        bump(&mut stats.tcp_timeouts);
                        self.fail(pool, TcpError::TimedOut);
                        return false;
                    }
                    bump(&mut stats.tcp_rto_expired);
                    self.rtt.on_timeout();
                    self.cc
                        .on_timeout(self.snd_max - self.snd_una, self.snd_max);
                    self.marks.reset(self.snd_una);
                    self.snd_nxt = self.snd_una;
                    self.fast_rexmit = false;
                    self.timed = None;
                }
            },
            TimerEvent::Persist => return true,
            TimerEvent::Keepalive => keepalive = true,
            TimerEvent::KeepaliveDead => {
                bump(&mut stats.tcp_keepalive_timeouts);
                self.fail(pool, TcpError::TimedOut);
            }
            TimerEvent::DelayedAck => self.ack_now = true,
            TimerEvent::TimeWaitDone => {
                self.reset(pool);
            }
        }
        keepalive
    }

    fn state_established_once(&self) -> bool {
        false
    }

    /// The sequence number a RST aborting this connection carries (SND.NXT).
    pub(crate) fn snd_next_for_rst(&self) -> SeqNumber {
        self.snd_nxt
    }

    /// Run expired timers and send every segment that is due, through `emit` (which returns
    /// false when the driver has no buffer: the segment is then sent at a later call).
    /// Returns false when `emit` refused a segment.
    pub(crate) fn dispatch<F>(
        &mut self,
        pool: &mut Segments<'_, '_>,
        stats: &mut Stats,
        config: &TcpConfig,
        now: Instant,
        mut emit: F,
    ) -> bool
    where
        F: FnMut(&Repr<'_>, Payload<'_, '_>) -> bool,
    {
        let mut probe = false;
        let mut keepalive = false;
        for _ in 0..8 {
            let Some(event) = self.timers.poll(&config.timer_config(), now) else {
                break;
            };
            let is_persist = event == TimerEvent::Persist;
            let k = self.on_timer(event, pool, stats, config);
            if is_persist {
                probe = k;
            } else {
                keepalive |= k;
            }
            if self.state == TcpState::Closed {
                return true;
            }
        }
        if self.state == TcpState::Closed {
            return true;
        }
        let pool: &Segments<'_, '_> = pool;
        // SYN or SYN-ACK.
        if self.syn_due {
            let syn_ack = self.state == TcpState::SynReceived;
            // The common fields (an unscaled window, no SACK blocks: nothing is received yet),
            // less the ACK of a SYN that answers none.
            let (mut repr, edge) = self.base_repr(pool, now, self.iss, true);
            repr.control = Control::Syn;
            if !syn_ack {
                repr.ack_number = None;
            }
            repr.max_seg_size = Some(self.rcv_mss.min(0xffff) as u16);
            if WINDOW_SCALING
                && config.window_scaling
                && (!syn_ack || self.rcv_shift > 0 || self.snd_shift > 0)
            {
                repr.window_scale = Some(self.rcv_shift);
            }
            if syn_ack && repr.window_scale.is_none() {
                self.rcv_shift = 0;
            }
            repr.sack_permitted = self.sack();
            if let Some(ts) = repr.timestamp.as_mut()
                && !syn_ack
            {
                // A SYN echoes no timestamp.
                ts.tsecr = 0;
            }
            if !self.emit_one(pool, stats, &repr, edge, self.iss, 0, &mut emit) {
                return false;
            }
            self.syn_due = false;
            self.snd_nxt = self.iss + 1;
            self.snd_max = self.snd_max.max(self.snd_nxt);
            self.timers.arm_retransmit(now, self.rtt.rto());
            return true;
        }
        if !self.state.is_synchronized() {
            if self.state == TcpState::SynReceived
                && self.ack_now
                && !self.emit_empty(pool, stats, now, self.iss + 1, &mut emit)
            {
                return false;
            }
            return true;
        }
        let mut sent = 0usize;
        // Fast retransmit / NewReno partial ACK: the segment at SND.UNA.
        if self.fast_rexmit {
            let una = self.snd_una;
            let end = (una + self.snd_mss).min(self.snd_max);
            if end > una {
                if !self.send_range(pool, stats, now, una, end - una, &mut emit) {
                    return false;
                }
                bump(&mut stats.tcp_retransmits);
                sent += 1;
            }
            self.fast_rexmit = false;
        }
        // SACK loss recovery (RFC 6675 §5 step C).
        if self.sack() && self.cc.in_recovery() {
            let smss = self.snd_mss;
            let mut pipe = self
                .board
                .pipe(self.snd_una, self.snd_max, &self.marks, smss);
            while sent < MAX_SEGMENTS_PER_DISPATCH && self.cc.can_send(pipe) >= smss {
                let unsent = self.unsent();
                let wnd_room = self.snd_wnd.saturating_sub(self.snd_max - self.snd_una);
                let next = self.board.next_seg(
                    self.snd_una,
                    self.snd_max,
                    &self.marks,
                    smss,
                    unsent > 0 && wnd_room > 0,
                );
                let n = match next {
                    NextSeg::RetransmitLost(r)
                    | NextSeg::RetransmitUnsacked(r)
                    | NextSeg::Rescue(r) => {
                        if !self.send_range(pool, stats, now, r.start, r.len(), &mut emit) {
                            return false;
                        }
                        bump(&mut stats.tcp_retransmits);
                        r.len()
                    }
                    NextSeg::NewData => {
                        self.snd_nxt = self.snd_max;
                        let len = unsent.min(smss).min(wnd_room);
                        if !self.send_range(pool, stats, now, self.snd_max, len, &mut emit) {
                            return false;
                        }
                        len
                    }
                    NextSeg::Nothing => break,
                };
                if n == 0 {
                    break;
                }
                self.marks.on_sent(next, self.cc.recover());
                pipe = pipe.saturating_add(n);
                sent += 1;
            }
        } else {
            // New data (and go-back retransmission after a timeout).
            while sent < MAX_SEGMENTS_PER_DISPATCH {
                match self.next_data_segment(now) {
                    Some((seq, len)) => {
                        if !self.send_range(pool, stats, now, seq, len, &mut emit) {
                            return false;
                        }
                        sent += 1;
                    }
                    None => break,
                }
            }
        }
        // Zero window: probe with one byte beyond the window when the persist timer fires.
        let data_end = self.sendq.end();
        let held = data_end > self.snd_nxt && self.snd_max == self.snd_una;
        if self.snd_wnd > 0 {
            // RFC 1122 §4.2.3.4: data waits, nothing is in flight (so no ACK will come), and the
            // window is open but too small for sender SWS avoidance: send what fits when the
            // override timer (the persist timer, armed with the override timeout) expires, so a
            // lost window update cannot stall the connection.
            if held && self.sends_data() {
                if probe {
                    let len = (data_end - self.snd_nxt)
                        .min(self.snd_wnd)
                        .min(self.data_mss());
                    let seq = self.snd_nxt;
                    if !self.send_range(pool, stats, now, seq, len, &mut emit) {
                        return false;
                    }
                    self.timers.stop_persist();
                    sent += 1;
                } else {
                    let timeout = self.rtt.rto().clamp(SWS_OVERRIDE_MIN, SWS_OVERRIDE_MAX);
                    self.timers
                        .start_persist(&config.timer_config(), now, timeout);
                }
            } else if self.timers.persisting() {
                self.timers.stop_persist();
            }
        } else if held {
            if probe {
                // An old sequence number makes the peer answer with its current window
                // (RFC 9293 §3.8.6.1 allows any probe the receiver must acknowledge).
                if !self.emit_empty(pool, stats, now, self.snd_una - 1, &mut emit) {
                    return false;
                }
                bump(&mut stats.tcp_window_probes);
                sent += 1;
            }
            let rto = self.rtt.rto();
            self.timers.start_persist(&config.timer_config(), now, rto);
        }
        if keepalive && sent == 0 {
            if !self.emit_empty(pool, stats, now, self.snd_una - 1, &mut emit) {
                return false;
            }
            bump(&mut stats.tcp_keepalives_tx);
            sent += 1;
        }
        if self.ack_now && sent == 0 {
            // A pure ACK carries the highest sequence number sent (RFC 9293's SND.NXT, which a
            // retransmission does not move back): after a timeout `snd_nxt` is rewound to
            // SND.UNA, and an ACK from there lies before the peer's RCV.NXT, so the peer drops
            // it as unacceptable without reading its ACK field. If both sides time out at once
            // they would answer each other's unacceptable ACKs forever.
            if !self.emit_empty(pool, stats, now, self.snd_max, &mut emit) {
                return false;
            }
        }
        // Outstanding data always has a retransmission timer (RFC 6298 §5.1), whatever kept
        // this dispatch from sending.
        if self.snd_max > self.snd_una
            && self.state != TcpState::TimeWait
            && self.timers.retransmit_deadline().is_none()
        {
            self.timers.arm_retransmit(now, self.rtt.rto());
        }
        true
    }

    /// The payload of a full segment now: the MSS less the SACK blocks our ACKs carry while
    /// data is held out of order (RFC 6691: options come out of the payload), so a segment
    /// is never split into a full one and a sliver.
    fn data_mss(&self) -> usize {
        if self.sack() && !self.asm.is_empty() {
            let blocks = self.asm.ranges().count().min(max_sack_blocks(self.ts()));
            self.snd_mss.saturating_sub(4 + 8 * blocks).max(32)
        } else {
            self.snd_mss
        }
    }

    /// True in the states that send data (and the FIN after it).
    fn sends_data(&self) -> bool {
        matches!(
            self.state,
            TcpState::Established
                | TcpState::CloseWait
                | TcpState::FinWait1
                | TcpState::Closing
                | TcpState::LastAck
        )
    }

    /// Bytes written but not yet sent (beyond SND.NXT).
    fn unsent(&self) -> usize {
        self.sendq.end() - self.snd_nxt
    }

    /// The next segment of new data (or of go-back retransmission) that the windows, Nagle
    /// and sender SWS avoidance allow: `(seq, len)`, `len` 0 for a lone FIN.
    fn next_data_segment(&mut self, now: Instant) -> Option<(SeqNumber, usize)> {
        if !self.sends_data() {
            return None;
        }
        let data_end = self.sendq.end();
        let fin_pending = self.fin_queued && seq_ge(data_end, self.snd_nxt);
        // Go-back retransmission skips what the peer SACKed (RFC 6675 §5.1).
        let mut limit = usize::MAX;
        if self.sack() && self.snd_nxt < self.snd_max && !self.board.is_empty() {
            match self
                .board
                .next_unsacked(self.snd_nxt, self.snd_max, self.data_mss())
            {
                Some(r) => {
                    if r.start > self.snd_nxt {
                        self.snd_nxt = r.start;
                    }
                    limit = r.len();
                }
                None => self.snd_nxt = self.snd_max,
            }
        }
        let unsent = data_end - self.snd_nxt;
        let fin_pending = fin_pending && seq_ge(data_end, self.snd_nxt);
        if unsent == 0 && !fin_pending {
            return None;
        }
        let in_flight = self.snd_nxt - self.snd_una;
        if in_flight == 0 {
            self.cc.restart_after_idle(now, self.rtt.rto());
        }
        let mut wnd_room = self.snd_wnd.saturating_sub(in_flight);
        if in_flight == 0 && self.snd_nxt < self.snd_max {
            // Retransmitting after a timeout: the data was inside the window when first sent
            // and the peer may have shrunk it since; resending one segment of it is what
            // tells us its window again (and keeps the retransmission timer running).
            wnd_room = wnd_room.max(self.snd_max - self.snd_nxt).min(self.snd_mss);
        }
        let mut cwnd_room = self.cc.can_send(in_flight);
        if self.limited_transmit > 0 && self.snd_nxt == self.snd_max {
            cwnd_room = cwnd_room.max(self.snd_mss);
        }
        let mss = self.data_mss();
        let len = unsent.min(mss).min(wnd_room).min(cwnd_room).min(limit);
        if unsent > 0 && len == 0 {
            return None;
        }
        if len < mss && len < limit {
            let all = len == unsent;
            let nagle_ok = self.no_delay || in_flight == 0 || fin_pending;
            let half_window = len >= self.max_snd_wnd / 2 && len > 0;
            let retransmission = self.snd_nxt < self.snd_max;
            if !((all && nagle_ok) || half_window || retransmission) {
                return None;
            }
        }
        Some((self.snd_nxt, len))
    }

    /// Send `len` bytes from `seq` (a FIN too when the range reaches it), as new data or as
    /// a retransmission, and do the bookkeeping.
    fn send_range<F>(
        &mut self,
        pool: &Segments<'_, '_>,
        stats: &mut Stats,
        now: Instant,
        seq: SeqNumber,
        len: usize,
        emit: &mut F,
    ) -> bool
    where
        F: FnMut(&Repr<'_>, Payload<'_, '_>) -> bool,
    {
        let data_end = self.sendq.end();
        let (mut repr, edge) = self.base_repr(pool, now, seq, false);
        // Options beyond the timestamps (SACK blocks) come out of the payload, so the
        // segment never exceeds the peer's MSS (RFC 6691).
        let ts_opts = if self.ts() { 12 } else { 0 };
        let cap = (self.snd_mss + ts_opts).saturating_sub(repr.stack_header_len() - 20);
        let len = len.min(data_end - seq).min(cap);
        let fin = self.fin_queued && seq + len == data_end && seq_ge(data_end, seq);
        if fin {
            repr.control = Control::Fin;
        }
        repr.push = seq + len == data_end && len > 0;
        if len == 0 && !fin {
            return true;
        }
        if !self.emit_one(pool, stats, &repr, edge, seq, len, emit) {
            return false;
        }
        let end = seq + len + usize::from(fin);
        let retransmission = seq < self.snd_max;
        if retransmission {
            if let Some((t, _)) = self.timed
                && t.in_window(seq, end - seq)
            {
                self.timed = None;
            }
        } else {
            self.cc.on_data_sent(now);
            self.limited_transmit = self.limited_transmit.saturating_sub(1);
            if self.timed.is_none() && !self.ts() {
                self.timed = Some((seq, now));
            }
        }
        if end > self.snd_nxt {
            self.snd_nxt = end;
        }
        if end > self.snd_max {
            self.snd_max = end;
        }
        self.timers.arm_retransmit_if_stopped(now, self.rtt.rto());
        true
    }

    /// The earliest moment this socket needs a dispatch, `None` when only input can wake it.
    pub(crate) fn next_deadline(&self) -> Option<crate::time::Instant> {
        self.timers.next_deadline()
    }

    /// True when something is owed right now (an ACK, a SYN, a retransmission).
    pub(crate) fn wants_dispatch(&self) -> bool {
        self.state != TcpState::Closed && (self.ack_now || self.syn_due || self.fast_rexmit)
    }

    /// True when the slot is in TIME-WAIT, with when it entered (for reuse of the oldest).
    pub(crate) fn time_wait_end(&self) -> Option<crate::time::Instant> {
        if self.state == TcpState::TimeWait {
            self.timers.time_wait_deadline()
        } else {
            None
        }
    }

    /// Drop the buffers of a slot about to be reused (TIME-WAIT reuse).
    pub(crate) fn recycle(&mut self, pool: &mut Segments<'_, '_>) {
        self.sendq.clear(pool);
        self.recvq.clear(pool);
        self.free();
    }
}

#[cfg(test)]
mod tests;
