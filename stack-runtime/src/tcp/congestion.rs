//! Congestion control: RFC 5681 with RFC 3465 byte counting, RFC 6582 NewReno fast recovery
//! (or RFC 6675 SACK-based recovery), the RFC 6928 initial window and restart after idle.
//!
//! [`Congestion`] is driven by events the state machine reports and answers with what it
//! should do; it never sends or times anything itself:
//!
//! | event (state machine)                      | call                           |
//! |--------------------------------------------|--------------------------------|
//! | ACK advancing SND.UNA                      | [`Congestion::on_ack`]         |
//! | duplicate ACK (RFC 5681 §2 definition)     | [`Congestion::on_dup_ack`]     |
//! | retransmission timer expired               | [`Congestion::on_timeout`]     |
//! | SACK scoreboard says `IsLost(SND.UNA)`     | [`Congestion::enter_recovery`] |
//! | about to send after the connection was idle| [`Congestion::restart_after_idle`] |
//! | new data sent                              | [`Congestion::on_data_sent`]   |
//! | SYN or SYN-ACK had to be retransmitted     | [`Congestion::on_syn_lost`]    |
//!
//! and it sends while [`Congestion::can_send`] allows.
//!
//! # Slow start and congestion avoidance (RFC 5681 §3.1, RFC 3465)
//!
//! While `cwnd < ssthresh` each ACK grows cwnd by the bytes it acknowledges, at most `L·SMSS`
//! (L = 2, RFC 3465 §2.2; L = 1 in the slow start that follows a retransmission timeout,
//! RFC 3465 §2.3, because those ACKs may cover a burst of retransmissions). Above ssthresh the
//! acknowledged bytes are accumulated and cwnd grows by one SMSS per cwnd bytes acknowledged
//! (RFC 3465 §2.1), about one SMSS per RTT.
//!
//! # Fast retransmit and fast recovery
//!
//! The third duplicate ACK triggers fast retransmit (RFC 5681 §3.2) unless it does not
//! acknowledge beyond `recover` (RFC 6582 §3.2 step 1: a loss in a window already recovered
//! from, or retransmitted after a timeout, must not halve cwnd again). Two recovery flavours,
//! chosen per connection by whether SACK was negotiated:
//!
//! * **NewReno** (RFC 6582): cwnd = ssthresh + 3·SMSS, inflated by SMSS per further duplicate
//!   ACK; a partial ACK (below `recover`) retransmits the first unacknowledged segment and
//!   deflates cwnd by the acknowledged amount (adding back SMSS if at least SMSS was
//!   acknowledged); a full ACK ends recovery with cwnd = min(ssthresh, max(FlightSize, SMSS) +
//!   SMSS).
//! * **SACK** (RFC 6675 §5): cwnd = ssthresh, no inflation nor deflation; what to send is
//!   chosen by [`super::sack::Scoreboard::next_seg`] while `cwnd − pipe ≥ SMSS`, i.e. the state
//!   machine passes `pipe` ([`super::sack::Scoreboard::pipe`]) instead of FlightSize to
//!   [`Congestion::can_send`] while [`Congestion::in_recovery`]. Recovery ends with the first
//!   ACK at or beyond `recover` (RFC 6675's RecoveryPoint). Recovery may also start before the
//!   third duplicate ACK when the scoreboard already says `IsLost(SND.UNA)`
//!   ([`Congestion::enter_recovery`]).
//!
//! # Timeout (RFC 5681 §3.1, RFC 6582 §4)
//!
//! ssthresh = max(FlightSize/2, 2·SMSS) (kept unchanged when the same data times out again),
//! cwnd = 1·SMSS, recovery ends and `recover` = SND.MAX so that duplicate ACKs caused by the
//! go-back retransmissions cannot start a fast retransmit.
//!
//! `recover` here is one past the highest sequence number sent (SND.MAX at the time), so "the
//! ACK covers more than recover" of RFC 6582 reads `ack > recover` and "acknowledges all data up
//! to and including recover" reads `ack >= recover`. With SACK, a new recovery may start as
//! soon as `ack >= recover` (RFC 6675 §5.1: HighACK ≥ RecoveryPoint), because the scoreboard
//! tells real losses from the echoes of earlier retransmissions. NewReno's strict check means
//! that when the first segment sent after a recovery is lost, only the RTO repairs it; RFC 6582
//! §4's optional ACK/timestamp heuristics for that case are not implemented.

use super::seq_ge;
use crate::time::{Duration, Instant};
use crate::wire::tcp::SeqNumber;

/// Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2, RFC 6675's DupThresh).
pub const DUP_THRESH: u32 = 3;

/// Bytes of the RFC 6928 initial-window cap: min(10·MSS, max(2·MSS, 14600)).
pub const RFC6928_IW_BYTES: usize = 14_600;

/// The profile's congestion-control choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CongestionConfig {
    /// Initial window in bytes; `None` for RFC 6928's min(10·MSS, max(2·MSS, 14600)).
    pub initial_window: Option<usize>,
    /// RFC 3465's L: the most SMSS one ACK may grow cwnd by in slow start (2 recommended).
    pub abc_limit: usize,
}

impl Default for CongestionConfig {
    fn default() -> Self {
        CongestionConfig {
            initial_window: None,
            abc_limit: 2,
        }
    }
}

/// The RFC 6928 initial window for a sender maximum segment size.
pub fn rfc6928_initial_window(smss: usize) -> usize {
    smss.saturating_mul(10)
        .min(smss.saturating_mul(2).max(RFC6928_IW_BYTES))
}

/// What the state machine should do after an ACK that advanced SND.UNA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckAction {
    /// Nothing special: send what [`Congestion::can_send`] allows.
    Normal,
    /// A partial ACK during fast recovery (RFC 6582 §3.2 step 5). With NewReno,
    /// `retransmit_first_unacked` is true: retransmit the segment at the new SND.UNA. With SACK
    /// it is false: the scoreboard's `next_seg` picks what to send. When `reset_timer` is true
    /// (the first partial ACK of this recovery), restart the retransmission timer.
    PartialAck {
        /// Retransmit the first unacknowledged segment now (NewReno).
        retransmit_first_unacked: bool,
        /// Restart the retransmission timer (RFC 6582: on the first partial ACK).
        reset_timer: bool,
    },
    /// A full ACK ended fast recovery (RFC 6582 step 5 / RFC 6675 §5).
    RecoveryExited,
}

/// What the state machine should do after a duplicate ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DupAckAction {
    /// Below the threshold, or fast retransmit refused by the `recover` check: nothing.
    None,
    /// Third duplicate ACK: retransmit the segment at SND.UNA now (fast retransmit), recovery
    /// has begun.
    FastRetransmit,
    /// Already in fast recovery: send new data (NewReno: cwnd was inflated) or the next
    /// `next_seg` (SACK) if [`Congestion::can_send`] allows.
    InRecovery,
}

/// The congestion state of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Congestion {
    smss: usize,
    initial_window: usize,
    abc_limit: usize,
    cwnd: usize,
    ssthresh: usize,
    /// RFC 3465 §2.1 accumulator for congestion avoidance.
    bytes_acked: usize,
    dup_acks: u32,
    in_recovery: bool,
    sack: bool,
    recover: SeqNumber,
    partial_acks: u32,
    /// In the slow start that follows an RTO (L = 1, RFC 3465 §2.3).
    after_timeout: bool,
    /// Timeouts since SND.UNA last advanced (RFC 5681 §3.1: ssthresh held on repeats).
    timeouts: u32,
    last_send: Option<Instant>,
}

impl Congestion {
    /// The state of a connection that just completed its handshake: `smss` is the sender MSS
    /// (after options), `iss` our initial sequence number (RFC 6582 initialises `recover` to
    /// it), `sack` whether SACK was negotiated (selects RFC 6675 recovery). ssthresh starts
    /// "arbitrarily high" (RFC 5681 §3.1).
    pub fn new(config: CongestionConfig, smss: usize, iss: SeqNumber, sack: bool) -> Self {
        let smss = smss.max(1);
        let initial_window = config
            .initial_window
            .unwrap_or_else(|| rfc6928_initial_window(smss))
            .max(smss);
        Congestion {
            smss,
            initial_window,
            abc_limit: config.abc_limit.max(1),
            cwnd: initial_window,
            ssthresh: usize::MAX,
            bytes_acked: 0,
            dup_acks: 0,
            in_recovery: false,
            sack,
            recover: iss,
            partial_acks: 0,
            after_timeout: false,
            timeouts: 0,
            last_send: None,
        }
    }

    /// The state of a free socket slot: all zero bytes (`new` gives a live one).
    pub(crate) const ZERO: Congestion = Congestion {
        smss: 0,
        initial_window: 0,
        abc_limit: 0,
        cwnd: 0,
        ssthresh: 0,
        bytes_acked: 0,
        dup_acks: 0,
        in_recovery: false,
        sack: false,
        recover: SeqNumber(0),
        partial_acks: 0,
        after_timeout: false,
        timeouts: 0,
        last_send: None,
    };

    /// The congestion window in bytes.
    pub fn cwnd(&self) -> usize {
        self.cwnd
    }

    /// The slow-start threshold in bytes.
    pub fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// The sender maximum segment size.
    pub fn smss(&self) -> usize {
        self.smss
    }

    /// The initial window in use (also the restart window after idle, RFC 5681 §4.1).
    pub fn initial_window(&self) -> usize {
        self.initial_window
    }

    /// True in fast recovery (NewReno) or SACK loss recovery.
    pub fn in_recovery(&self) -> bool {
        self.in_recovery
    }

    /// True when SACK-based (RFC 6675) recovery is used instead of NewReno (never without
    /// feature `tcp-sack`, whatever `new` was given, so the SACK branches fold away).
    #[inline(always)]
    pub fn uses_sack(&self) -> bool {
        super::SACK_COMPILED_IN && self.sack
    }

    /// Consecutive duplicate ACKs counted since SND.UNA last advanced.
    pub fn dup_acks(&self) -> u32 {
        self.dup_acks
    }

    /// RFC 6582's `recover` (one past the highest byte sent when recovery or the last timeout
    /// began).
    pub fn recover(&self) -> SeqNumber {
        self.recover
    }

    /// True while cwnd < ssthresh.
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// How many more bytes may be sent now: cwnd minus `outstanding` (FlightSize, or `pipe`
    /// during SACK recovery), zero when the window is full. The receiver's window and Nagle
    /// are the state machine's to apply on top.
    pub fn can_send(&self, outstanding: usize) -> usize {
        self.cwnd.saturating_sub(outstanding)
    }

    fn halve(&self, flight_size: usize) -> usize {
        (flight_size / 2).max(self.smss.saturating_mul(2))
    }

    /// An ACK acknowledged `bytes_acked` new bytes up to `ack` (the new SND.UNA);
    /// `flight_size` is what is still outstanding after it (SND.MAX − SND.UNA). `ack` is
    /// needed to tell a partial from a full ACK during recovery (RFC 6582). An ACK that
    /// acknowledges nothing new (`bytes_acked` 0) changes nothing.
    pub fn on_ack(&mut self, ack: SeqNumber, bytes_acked: usize, flight_size: usize) -> AckAction {
        if bytes_acked == 0 {
            // Not a cumulative ACK (e.g. a window update): nothing to count.
            return AckAction::Normal;
        }
        self.dup_acks = 0;
        self.timeouts = 0;
        if self.in_recovery {
            if seq_ge(ack, self.recover) {
                // Full ACK (RFC 6582 §3.2 step 5 / RFC 6675 §5: ack ≥ RecoveryPoint).
                self.in_recovery = false;
                if !self.uses_sack() {
                    let full = flight_size.max(self.smss).saturating_add(self.smss);
                    self.cwnd = self.ssthresh.min(full);
                }
                self.cwnd = self.cwnd.max(self.smss);
                self.bytes_acked = 0;
                return AckAction::RecoveryExited;
            }
            self.partial_acks = self.partial_acks.saturating_add(1);
            let reset_timer = self.partial_acks == 1;
            if self.uses_sack() {
                return AckAction::PartialAck {
                    retransmit_first_unacked: false,
                    reset_timer,
                };
            }
            // RFC 6582 §3.2 step 5, partial ACK: deflate by the amount acknowledged, add back
            // one SMSS if at least one SMSS was acknowledged.
            self.cwnd = self.cwnd.saturating_sub(bytes_acked);
            if bytes_acked >= self.smss {
                self.cwnd = self.cwnd.saturating_add(self.smss);
            }
            self.cwnd = self.cwnd.max(self.smss);
            return AckAction::PartialAck {
                retransmit_first_unacked: true,
                reset_timer,
            };
        }
        if self.cwnd < self.ssthresh {
            // Slow start with appropriate byte counting (RFC 3465 §2.2, §2.3).
            let l = if self.after_timeout {
                1
            } else {
                self.abc_limit
            };
            let inc = bytes_acked.min(self.smss.saturating_mul(l));
            self.cwnd = self.cwnd.saturating_add(inc);
        } else {
            self.after_timeout = false;
            // Congestion avoidance (RFC 3465 §2.1, RFC 5681 §3.1).
            self.bytes_acked = self.bytes_acked.saturating_add(bytes_acked);
            if self.bytes_acked >= self.cwnd {
                self.bytes_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.smss);
            }
        }
        AckAction::Normal
    }

    /// A duplicate ACK of `ack` (= SND.UNA) arrived; `snd_max` is the highest sequence number
    /// sent plus one, `flight_size` what is outstanding.
    pub fn on_dup_ack(
        &mut self,
        ack: SeqNumber,
        snd_max: SeqNumber,
        flight_size: usize,
    ) -> DupAckAction {
        if self.in_recovery {
            if !self.uses_sack() {
                // RFC 5681 §3.2 step 4: inflate by one SMSS per further duplicate.
                self.cwnd = self.cwnd.saturating_add(self.smss);
            }
            return DupAckAction::InRecovery;
        }
        self.dup_acks = self.dup_acks.saturating_add(1);
        if self.dup_acks == DUP_THRESH && self.enter_recovery(ack, snd_max, flight_size) {
            if !self.uses_sack() {
                // RFC 5681 §3.2 step 3: artificially inflate by the three segments that left.
                self.cwnd = self.ssthresh.saturating_add(self.smss.saturating_mul(3));
            }
            return DupAckAction::FastRetransmit;
        }
        DupAckAction::None
    }

    /// Enter loss recovery, if RFC 6582's check allows (`ack` must be beyond `recover`):
    /// ssthresh = cwnd = max(FlightSize/2, 2·SMSS) (RFC 5681 eq. (4), RFC 6675 §5 step 4.2),
    /// `recover` = `snd_max`. Called by [`Congestion::on_dup_ack`] on the third duplicate, and
    /// directly by the state machine when the SACK scoreboard reports `IsLost(SND.UNA)` earlier
    /// (RFC 6675 §5 step 3). Returns whether recovery began; the caller then retransmits the
    /// first unacknowledged segment.
    pub fn enter_recovery(
        &mut self,
        ack: SeqNumber,
        snd_max: SeqNumber,
        flight_size: usize,
    ) -> bool {
        // NewReno: the ACK must cover more than `recover` (RFC 6582 §3.2 step 1). SACK: HighACK
        // must have reached RecoveryPoint (RFC 6675 §5.1), i.e. `ack >= recover`.
        let allowed = if self.uses_sack() {
            seq_ge(ack, self.recover)
        } else {
            self.recover < ack
        };
        if self.in_recovery || !allowed {
            return false;
        }
        self.ssthresh = self.halve(flight_size);
        self.cwnd = self.ssthresh;
        self.recover = snd_max;
        self.in_recovery = true;
        self.partial_acks = 0;
        self.bytes_acked = 0;
        self.after_timeout = false;
        true
    }

    /// The retransmission timer expired with `flight_size` bytes outstanding and `snd_max`
    /// the highest sequence number sent plus one (RFC 5681 §3.1 eq. (4), RFC 6582 §4). The
    /// state machine retransmits from SND.UNA.
    pub fn on_timeout(&mut self, flight_size: usize, snd_max: SeqNumber) {
        if self.timeouts == 0 {
            self.ssthresh = self.halve(flight_size);
        }
        self.timeouts = self.timeouts.saturating_add(1);
        self.cwnd = self.smss;
        self.in_recovery = false;
        self.dup_acks = 0;
        self.bytes_acked = 0;
        self.recover = snd_max;
        self.after_timeout = true;
    }

    /// New data was sent at `now` (for [`Congestion::restart_after_idle`]).
    pub fn on_data_sent(&mut self, now: Instant) {
        self.last_send = Some(now);
    }

    /// Call before sending when nothing is outstanding: if nothing was sent for more than
    /// `rto`, cwnd is reduced to the restart window min(IW, cwnd) (RFC 5681 §4.1), because the
    /// ACK clock has stopped. Returns whether cwnd was reduced.
    pub fn restart_after_idle(&mut self, now: Instant, rto: Duration) -> bool {
        match self.last_send {
            Some(t)
                if now.saturating_duration_since(t) > rto && self.cwnd > self.initial_window =>
            {
                self.cwnd = self.initial_window;
                true
            }
            _ => false,
        }
    }

    /// The SYN or SYN-ACK had to be retransmitted: the initial window is one segment
    /// (RFC 5681 §3.1, RFC 6928 §2).
    pub fn on_syn_lost(&mut self) {
        self.initial_window = self.smss;
        self.cwnd = self.cwnd.min(self.smss);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;
    const T0: Instant = Instant::ZERO;

    fn reno(iss: u32) -> Congestion {
        Congestion::new(CongestionConfig::default(), MSS, SeqNumber(iss), false)
    }

    #[cfg(feature = "tcp-sack")]
    fn sack(iss: u32) -> Congestion {
        Congestion::new(CongestionConfig::default(), MSS, SeqNumber(iss), true)
    }

    #[test]
    fn rfc6928_initial_window_is_min_10mss_max_2mss_14600() {
        assert_eq!(rfc6928_initial_window(1460), 14_600);
        assert_eq!(rfc6928_initial_window(536), 5_360);
        assert_eq!(rfc6928_initial_window(9000), 18_000);
        assert_eq!(reno(0).cwnd(), 10_000);
        assert_eq!(rfc6928_initial_window(usize::MAX), usize::MAX);
    }

    #[test]
    fn configured_initial_window_is_used() {
        let c = Congestion::new(
            CongestionConfig {
                initial_window: Some(2 * MSS),
                ..CongestionConfig::default()
            },
            MSS,
            SeqNumber(0),
            false,
        );
        assert_eq!(c.cwnd(), 2 * MSS);
    }

    #[test]
    fn rfc5681_3_1_syn_lost_initial_window_is_one_segment() {
        let mut c = reno(0);
        c.on_syn_lost();
        assert_eq!(c.cwnd(), MSS);
        assert_eq!(c.initial_window(), MSS);
    }

    #[test]
    fn rfc3465_2_2_slow_start_grows_by_bytes_acked_up_to_l_smss() {
        let mut c = reno(0);
        c.on_ack(SeqNumber(1001), MSS, 0);
        assert_eq!(c.cwnd(), 11 * MSS);
        c.on_ack(SeqNumber(1501), 500, 0);
        assert_eq!(c.cwnd(), 11 * MSS + 500);
        // A stretch ACK of 5 segments counts as L = 2.
        c.on_ack(SeqNumber(6501), 5 * MSS, 0);
        assert_eq!(c.cwnd(), 13 * MSS + 500);
    }

    #[test]
    fn rfc3465_2_1_congestion_avoidance_one_smss_per_cwnd_acked() {
        let mut c = reno(0);
        // Force congestion avoidance: timeout then regrow to ssthresh.
        c.on_timeout(8 * MSS, SeqNumber(8001));
        assert_eq!(c.ssthresh(), 4 * MSS);
        let mut ack = SeqNumber(1);
        while c.in_slow_start() {
            ack += MSS;
            c.on_ack(ack, MSS, 0);
        }
        assert_eq!(c.cwnd(), 4 * MSS);
        for _ in 0..3 {
            ack += MSS;
            c.on_ack(ack, MSS, 0);
            assert_eq!(c.cwnd(), 4 * MSS);
        }
        ack += MSS;
        c.on_ack(ack, MSS, 0);
        assert_eq!(c.cwnd(), 5 * MSS);
    }

    #[test]
    fn rfc3465_2_3_slow_start_after_timeout_uses_l_1() {
        let mut c = reno(0);
        c.on_timeout(20 * MSS, SeqNumber(20_001));
        assert_eq!(c.cwnd(), MSS);
        c.on_ack(SeqNumber(3001), 3 * MSS, 0);
        assert_eq!(c.cwnd(), 2 * MSS);
    }

    #[test]
    fn rfc5681_3_1_timeout_collapses_cwnd_and_halves_flight() {
        let mut c = reno(0);
        c.on_timeout(10 * MSS, SeqNumber(10_001));
        assert_eq!((c.cwnd(), c.ssthresh()), (MSS, 5 * MSS));
        // Small flight: ssthresh floor is 2·SMSS.
        let mut c = reno(0);
        c.on_timeout(MSS, SeqNumber(1001));
        assert_eq!(c.ssthresh(), 2 * MSS);
    }

    #[test]
    fn rfc5681_3_1_repeated_timeout_keeps_ssthresh() {
        let mut c = reno(0);
        c.on_timeout(10 * MSS, SeqNumber(10_001));
        c.on_timeout(MSS, SeqNumber(10_001));
        assert_eq!(c.ssthresh(), 5 * MSS);
        // After progress, a new timeout recomputes it.
        c.on_ack(SeqNumber(1001), MSS, 4 * MSS);
        c.on_timeout(4 * MSS, SeqNumber(10_001));
        assert_eq!(c.ssthresh(), 2 * MSS);
    }

    #[test]
    fn rfc5681_3_2_fast_retransmit_on_third_dup_ack() {
        let mut c = reno(0);
        let (una, max) = (SeqNumber(1), SeqNumber(10_001));
        assert_eq!(c.on_dup_ack(una, max, 10 * MSS), DupAckAction::None);
        assert_eq!(c.on_dup_ack(una, max, 10 * MSS), DupAckAction::None);
        assert_eq!(
            c.on_dup_ack(una, max, 10 * MSS),
            DupAckAction::FastRetransmit
        );
        assert!(c.in_recovery());
        assert_eq!(c.ssthresh(), 5 * MSS);
        assert_eq!(c.cwnd(), 8 * MSS); // ssthresh + 3·SMSS
        assert_eq!(c.recover(), max);
    }

    #[test]
    fn rfc5681_3_2_further_dup_acks_inflate_cwnd() {
        let mut c = reno(0);
        let (una, max) = (SeqNumber(1), SeqNumber(10_001));
        for _ in 0..3 {
            c.on_dup_ack(una, max, 10 * MSS);
        }
        assert_eq!(c.on_dup_ack(una, max, 10 * MSS), DupAckAction::InRecovery);
        assert_eq!(c.cwnd(), 9 * MSS);
        assert_eq!(c.can_send(10 * MSS), 0);
        c.on_dup_ack(una, max, 10 * MSS);
        c.on_dup_ack(una, max, 10 * MSS);
        assert_eq!(c.can_send(10 * MSS), MSS);
    }

    #[test]
    fn rfc5681_ack_resets_dup_ack_count() {
        let mut c = reno(0);
        c.on_dup_ack(SeqNumber(1), SeqNumber(5001), 5000);
        c.on_dup_ack(SeqNumber(1), SeqNumber(5001), 5000);
        c.on_ack(SeqNumber(1001), MSS, 4000);
        assert_eq!(c.dup_acks(), 0);
        assert_eq!(
            c.on_dup_ack(SeqNumber(1001), SeqNumber(5001), 4000),
            DupAckAction::None
        );
    }

    fn in_fast_recovery(iss: u32) -> Congestion {
        let mut c = reno(iss);
        let una = SeqNumber(iss) + 1;
        for _ in 0..3 {
            c.on_dup_ack(una, una + 10 * MSS, 10 * MSS);
        }
        assert!(c.in_recovery());
        c
    }

    #[test]
    fn rfc6582_partial_ack_retransmits_next_hole() {
        let mut c = in_fast_recovery(0);
        let before = c.cwnd();
        // Partial ACK of 2 segments: deflate by 2000, add back one SMSS.
        let a = c.on_ack(SeqNumber(2001), 2 * MSS, 8 * MSS);
        assert_eq!(
            a,
            AckAction::PartialAck {
                retransmit_first_unacked: true,
                reset_timer: true
            }
        );
        assert_eq!(c.cwnd(), before - 2 * MSS + MSS);
        assert!(c.in_recovery());
        // Second partial ACK, less than one SMSS: no add-back, no timer reset.
        let a = c.on_ack(SeqNumber(2501), 500, 7500);
        assert_eq!(
            a,
            AckAction::PartialAck {
                retransmit_first_unacked: true,
                reset_timer: false
            }
        );
        assert_eq!(c.cwnd(), before - 2 * MSS + MSS - 500);
    }

    #[test]
    fn rfc6582_full_ack_exits_with_min_ssthresh_flight_plus_smss() {
        let mut c = in_fast_recovery(0);
        // Full ACK with 1 byte... no flight left: cwnd = min(5000, max(0, 1000) + 1000).
        assert_eq!(
            c.on_ack(SeqNumber(10_001), 10 * MSS, 0),
            AckAction::RecoveryExited
        );
        assert!(!c.in_recovery());
        assert_eq!(c.cwnd(), 2 * MSS);
        // With new data in flight: cwnd = ssthresh.
        let mut c = in_fast_recovery(0);
        c.on_ack(SeqNumber(10_001), 10 * MSS, 6 * MSS);
        assert_eq!(c.cwnd(), 5 * MSS);
    }

    #[test]
    fn rfc6582_3_2_no_fast_retransmit_below_recover_after_timeout() {
        let mut c = reno(0);
        c.on_timeout(10 * MSS, SeqNumber(10_001));
        // Go-back-N retransmissions produce dup ACKs below recover: no second reduction.
        for _ in 0..5 {
            assert_eq!(
                c.on_dup_ack(SeqNumber(3001), SeqNumber(10_001), 7 * MSS),
                DupAckAction::None
            );
        }
        assert!(!c.in_recovery());
        assert_eq!(c.ssthresh(), 5 * MSS);
        // Beyond recover, fast retransmit is allowed again.
        let mut c2 = c.clone();
        c2.on_ack(SeqNumber(10_002), 1, 5 * MSS);
        for _ in 0..3 {
            c2.on_dup_ack(SeqNumber(10_002), SeqNumber(15_002), 5 * MSS);
        }
        assert!(c2.in_recovery());
    }

    #[test]
    fn rfc6582_3_2_dup_acks_exactly_at_recover_do_not_trigger_newreno() {
        let mut c = in_fast_recovery(0);
        c.on_ack(SeqNumber(10_001), 10 * MSS, 0);
        for _ in 0..3 {
            c.on_dup_ack(SeqNumber(10_001), SeqNumber(12_001), 2 * MSS);
        }
        assert!(!c.in_recovery());
    }

    #[test]
    #[cfg(feature = "tcp-sack")]
    fn rfc6675_5_1_sack_recovery_may_restart_once_ack_reaches_recovery_point() {
        let mut c = sack(0);
        c.on_timeout(10 * MSS, SeqNumber(10_001));
        // Below the recovery point: refused.
        assert!(!c.enter_recovery(SeqNumber(5001), SeqNumber(10_001), 5 * MSS));
        // HighACK ≥ RecoveryPoint: allowed.
        assert!(c.enter_recovery(SeqNumber(10_001), SeqNumber(12_001), 2 * MSS));
    }

    #[test]
    fn rfc6582_recover_works_across_sequence_wrap() {
        let iss = u32::MAX - 3000;
        let mut c = in_fast_recovery(iss);
        let recover = c.recover();
        assert!(recover.0 < 10_000, "wrapped");
        let una = SeqNumber(iss) + 1;
        assert!(matches!(
            c.on_ack(una + 4000, 4000, 6000),
            AckAction::PartialAck { .. }
        ));
        assert_eq!(c.on_ack(recover, 6000, 0), AckAction::RecoveryExited);
    }

    #[test]
    #[cfg(feature = "tcp-sack")]
    fn rfc6675_sack_recovery_sets_cwnd_to_ssthresh_without_inflation() {
        let mut c = sack(0);
        let (una, max) = (SeqNumber(1), SeqNumber(10_001));
        for _ in 0..3 {
            c.on_dup_ack(una, max, 10 * MSS);
        }
        assert!(c.in_recovery());
        assert_eq!((c.cwnd(), c.ssthresh()), (5 * MSS, 5 * MSS));
        assert_eq!(c.on_dup_ack(una, max, 10 * MSS), DupAckAction::InRecovery);
        assert_eq!(c.cwnd(), 5 * MSS);
        assert_eq!(
            c.on_ack(SeqNumber(3001), 3 * MSS, 7 * MSS),
            AckAction::PartialAck {
                retransmit_first_unacked: false,
                reset_timer: true
            }
        );
        assert_eq!(c.cwnd(), 5 * MSS);
        assert_eq!(c.on_ack(max, 7 * MSS, 0), AckAction::RecoveryExited);
        assert_eq!(c.cwnd(), 5 * MSS);
    }

    #[test]
    #[cfg(feature = "tcp-sack")]
    fn rfc6675_5_early_entry_when_scoreboard_says_lost() {
        let mut c = sack(0);
        assert!(c.enter_recovery(SeqNumber(1), SeqNumber(8001), 8 * MSS));
        assert!(!c.enter_recovery(SeqNumber(1), SeqNumber(8001), 8 * MSS));
        assert_eq!(c.cwnd(), 4 * MSS);
    }

    #[test]
    fn rfc5681_4_1_restart_after_idle() {
        let mut c = reno(0);
        let mut ack = SeqNumber(1);
        for _ in 0..20 {
            ack += MSS;
            c.on_ack(ack, MSS, 0);
        }
        assert_eq!(c.cwnd(), 30 * MSS);
        c.on_data_sent(Instant::from_secs(1));
        let rto = Duration::from_secs(1);
        assert!(!c.restart_after_idle(Instant::from_millis(1500), rto));
        assert!(c.restart_after_idle(Instant::from_millis(2001), rto));
        assert_eq!(c.cwnd(), 10 * MSS);
        // Never grows cwnd.
        let mut small = reno(0);
        small.on_timeout(4 * MSS, SeqNumber(1));
        small.on_data_sent(T0);
        assert!(!small.restart_after_idle(Instant::from_secs(100), rto));
        assert_eq!(small.cwnd(), MSS);
    }

    #[test]
    fn can_send_is_cwnd_minus_outstanding() {
        let c = reno(0);
        assert_eq!(c.can_send(0), 10 * MSS);
        assert_eq!(c.can_send(9500), 500);
        assert_eq!(c.can_send(usize::MAX), 0);
    }

    /// RFC 6582 end to end: 20 segments, segments 2 and 7 lost, the receiver is this crate's
    /// assembler (cumulative ACKs only). Fast retransmit repairs the first hole, the partial
    /// ACK that follows repairs the second, the full ACK ends recovery; nothing else is
    /// retransmitted and no timeout is needed.
    fn newreno_walkthrough(iss: u32) {
        use crate::tcp::assembler::Assembler;
        use std::vec::Vec;
        let base = SeqNumber(iss) + 1;
        let mut c = Congestion::new(
            CongestionConfig {
                initial_window: Some(20 * MSS),
                abc_limit: 2,
            },
            MSS,
            SeqNumber(iss),
            false,
        );
        let mut rx = Assembler::<8>::new(base);
        let (mut una, mut snd_max) = (base, base + 20 * MSS);
        let lost = [2usize, 7];
        let mut queue: Vec<SeqNumber> = (0..20usize)
            .filter(|i| !lost.contains(i))
            .map(|i| base + i * MSS)
            .collect();
        let mut retransmitted = Vec::new();
        let mut exited = false;
        while !queue.is_empty() {
            let seg = queue.remove(0);
            rx.insert(seg, MSS).unwrap();
            let ack = rx.next();
            let flight = snd_max - ack;
            let retransmit = if una < ack {
                let acked = ack - una;
                una = ack;
                match c.on_ack(ack, acked, flight) {
                    AckAction::PartialAck {
                        retransmit_first_unacked,
                        ..
                    } => retransmit_first_unacked,
                    AckAction::RecoveryExited => {
                        exited = true;
                        false
                    }
                    AckAction::Normal => false,
                }
            } else {
                c.on_dup_ack(ack, snd_max, flight) == DupAckAction::FastRetransmit
            };
            if retransmit {
                retransmitted.push((una - base) / MSS);
                queue.push(una);
            }
            // New data while the (inflated) window allows, at most 10 more segments.
            while c.can_send(snd_max - una) >= MSS && snd_max - base < 30 * MSS {
                queue.push(snd_max);
                snd_max += MSS;
            }
        }
        assert_eq!(una, snd_max);
        assert!(exited && !c.in_recovery());
        assert_eq!(retransmitted, lost);
        // FlightSize at the third duplicate ACK was 22 segments (the window had grown to 22
        // and was kept full), so ssthresh is half of it.
        assert_eq!(c.ssthresh(), 11 * MSS);
    }

    #[test]
    fn rfc6582_recovery_repairs_two_losses_with_one_partial_ack() {
        newreno_walkthrough(5000);
    }

    #[test]
    fn rfc6582_recovery_across_sequence_wrap() {
        newreno_walkthrough(u32::MAX - 900);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_cwnd_stays_at_least_one_smss(
            sack_on in proptest::bool::ANY,
            iss in proptest::num::u32::ANY,
            events in proptest::collection::vec(
                (0u8..4, proptest::num::u32::ANY, proptest::num::usize::ANY),
                0..100,
            ),
        ) {
            let mut c = Congestion::new(CongestionConfig::default(), 1460, SeqNumber(iss), sack_on);
            for (kind, seq, n) in events {
                match kind {
                    0 => { c.on_ack(SeqNumber(seq), n, n / 3); }
                    1 => { c.on_dup_ack(SeqNumber(seq), SeqNumber(seq.wrapping_add(5000)), n); }
                    2 => c.on_timeout(n, SeqNumber(seq)),
                    _ => {
                        let rto = Duration::from_micros(seq.into());
                        c.restart_after_idle(Instant::from_micros(n as u64), rto);
                    }
                }
                proptest::prop_assert!(c.cwnd() >= c.smss());
                proptest::prop_assert!(c.ssthresh() >= 2 * c.smss());
            }
        }
    }
}
