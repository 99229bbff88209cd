//! The timers of one TCP connection, as plain data with a next deadline.
//!
//! No timer fires by itself: the stack's `poll(now)` asks [`Timers::poll`] which timer has
//! expired (at most one per call, the earliest first), acts on the returned [`TimerEvent`],
//! and reports [`Timers::next_deadline`] to the board so it knows when to poll again.
//!
//! * **Retransmission** (RFC 6298 §5): armed with the current RTO from
//!   [`super::rtt::RttEstimator::rto`] when data is sent and nothing was timed, restarted on an
//!   ACK of new data, stopped when everything is acknowledged.
//! * **Persist** (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17): while the peer's window is zero and
//!   we have data, probe after one RTO, then with exponential backoff up to
//!   [`TimerConfig::persist_max`]. The connection is never aborted for an unanswered probe
//!   while the peer keeps acknowledging them (RFC 1122).
//! * **Keepalive** (RFC 1122 §4.2.3.6, off by default): after `idle` without any segment from
//!   the peer, send up to `count` probes `interval` apart; when they all go unanswered, the
//!   connection is dead.
//! * **Delayed ACK** (RFC 1122 §4.2.3.2, RFC 5681 §4.2): an ACK is sent at once for every
//!   second full-sized segment, otherwise at most [`TimerConfig::delayed_ack`] (capped at
//!   200 ms) after the data arrived.
//! * **TIME-WAIT** (RFC 9293 §3.6): 2·MSL after entering TIME-WAIT the slot is free.

use crate::time::{Duration, Instant};

/// Longest ACK delay this stack allows (RFC 1122 allows 500 ms; 200 ms is the issue's
/// requirement and the common practice).
pub const MAX_DELAYED_ACK: Duration = Duration::from_millis(200);

/// Keepalive settings (RFC 1122 §4.2.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe (RFC 1122: no less than two hours by default).
    pub idle: Duration,
    /// Time between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes after which the connection is declared dead.
    pub count: u8,
}

/// The profile's timer choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Longest delay of an ACK (clamped to [`MAX_DELAYED_ACK`]); zero acknowledges every
    /// segment at once.
    pub delayed_ack: Duration,
    /// Upper bound of the persist interval backoff.
    pub persist_max: Duration,
    /// Keepalive, `None` when off.
    pub keepalive: Option<Keepalive>,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this.
    pub msl: Duration,
}

impl Default for TimerConfig {
    /// 200 ms delayed ACK, 60 s persist cap, keepalive off, MSL 30 s (TIME-WAIT 60 s, as
    /// Linux).
    fn default() -> Self {
        TimerConfig {
            delayed_ack: MAX_DELAYED_ACK,
            persist_max: Duration::from_secs(60),
            keepalive: None,
            msl: Duration::from_secs(30),
        }
    }
}

/// A timer that expired, returned by [`Timers::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerEvent {
    /// Retransmit the oldest unacknowledged segment and back off the RTO.
    Retransmit,
    /// Send a zero-window probe (the persist timer has been re-armed with backoff).
    Persist,
    /// Send a keepalive probe (the next one is armed).
    Keepalive,
    /// Every keepalive probe went unanswered: abort the connection.
    KeepaliveDead,
    /// Send the delayed ACK now.
    DelayedAck,
    /// TIME-WAIT is over: free the connection slot.
    TimeWaitDone,
}

/// Every timer of one connection. The [`TimerConfig`] is the stack's, passed to the calls
/// that need it rather than copied into every connection.
#[derive(Debug, Clone)]
pub struct Timers {
    /// The deadline of each timer (`RETRANSMIT` …), valid where `armed` has its bit (stale
    /// where not; equality ignores it): a bit mask instead of five `Option<Instant>`s saves
    /// 40 bytes per connection.
    at: [Instant; 5],
    armed: u8,
    /// The first persist interval (one RTO) in µs, saturated to `u32` (71 minutes, beyond
    /// any `persist_max` worth having).
    persist_base: u32,
    /// Persist probes since the window closed (saturating; the interval stops doubling at
    /// `persist_max` long before).
    persist_backoffs: u8,
    keepalive_probes: u8,
    unacked_full_segments: u8,
}

impl PartialEq for Timers {
    fn eq(&self, other: &Timers) -> bool {
        self.armed == other.armed
            && (0..self.at.len()).all(|i| self.get(i) == other.get(i))
            && self.persist_base == other.persist_base
            && self.persist_backoffs == other.persist_backoffs
            && self.keepalive_probes == other.keepalive_probes
            && self.unacked_full_segments == other.unacked_full_segments
    }
}

impl Eq for Timers {}

const RETRANSMIT: usize = 0;
const PERSIST: usize = 1;
const KEEPALIVE: usize = 2;
const DELAYED_ACK: usize = 3;
const TIME_WAIT: usize = 4;
/// Which of several timers due at the same instant fires first.
const PRIORITY: [usize; 5] = [TIME_WAIT, RETRANSMIT, DELAYED_ACK, PERSIST, KEEPALIVE];

impl Default for Timers {
    fn default() -> Self {
        Timers::new()
    }
}

impl Timers {
    /// All timers stopped.
    pub const fn new() -> Timers {
        Timers {
            at: [Instant::ZERO; 5],
            armed: 0,
            persist_base: 0,
            persist_backoffs: 0,
            keepalive_probes: 0,
            unacked_full_segments: 0,
        }
    }

    /// Timer `i`'s deadline, `None` when stopped.
    #[inline]
    fn get(&self, i: usize) -> Option<Instant> {
        if self.armed & (1 << i) != 0 {
            self.at.get(i).copied()
        } else {
            None
        }
    }

    /// Arm timer `i` at `at`.
    fn arm(&mut self, i: usize, at: Instant) {
        if let Some(slot) = self.at.get_mut(i) {
            *slot = at;
            self.armed |= 1 << i;
        }
    }

    /// Stop timer `i`.
    fn stop(&mut self, i: usize) {
        self.armed &= !(1 << i);
    }

    /// The earliest armed deadline, `None` when every timer is stopped.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.earliest().map(|(t, _)| t)
    }

    /// The earliest armed timer and its deadline; among timers due at the same instant, the
    /// first of [`PRIORITY`].
    fn earliest(&self) -> Option<(Instant, usize)> {
        // Usually at most one timer runs (retransmission while data is in flight, or the
        // delayed ACK): no priority walk for it.
        if self.armed & self.armed.wrapping_sub(1) == 0 {
            let i = self.armed.trailing_zeros() as usize;
            return self.at.get(i).map(|&t| (t, i));
        }
        let mut next: Option<(Instant, usize)> = None;
        for i in PRIORITY {
            if let Some(t) = self.get(i)
                && next.is_none_or(|(n, _)| t < n)
            {
                next = Some((t, i));
            }
        }
        next
    }

    /// The earliest expired timer at `now`, disarmed (or re-armed, for the periodic ones), or
    /// `None` when nothing is due.
    pub fn poll(&mut self, config: &TimerConfig, now: Instant) -> Option<TimerEvent> {
        let (t, which) = self.earliest()?;
        if t > now {
            return None;
        }
        Some(match which {
            TIME_WAIT => {
                *self = Timers::new();
                TimerEvent::TimeWaitDone
            }
            RETRANSMIT => {
                self.stop(RETRANSMIT);
                TimerEvent::Retransmit
            }
            DELAYED_ACK => {
                self.stop(DELAYED_ACK);
                self.unacked_full_segments = 0;
                TimerEvent::DelayedAck
            }
            PERSIST => {
                self.persist_backoffs = self.persist_backoffs.saturating_add(1);
                self.arm(PERSIST, now + self.persist_interval(config));
                TimerEvent::Persist
            }
            _ => self.keepalive_fired(config, now),
        })
    }

    // ---------------------------------------------------------------- retransmission

    /// Arm (or restart) the retransmission timer to fire `rto` after `now`.
    pub fn arm_retransmit(&mut self, now: Instant, rto: Duration) {
        self.arm(RETRANSMIT, now + rto);
    }

    /// Arm the retransmission timer only if it is not running (RFC 6298 §5.1).
    pub fn arm_retransmit_if_stopped(&mut self, now: Instant, rto: Duration) {
        if self.get(RETRANSMIT).is_none() {
            self.arm_retransmit(now, rto);
        }
    }

    /// Stop the retransmission timer (everything acknowledged, RFC 6298 §5.2).
    pub fn stop_retransmit(&mut self) {
        self.stop(RETRANSMIT);
    }

    /// The retransmission deadline, if armed.
    pub fn retransmit_deadline(&self) -> Option<Instant> {
        self.get(RETRANSMIT)
    }

    // ---------------------------------------------------------------- persist

    fn persist_interval(&self, config: &TimerConfig) -> Duration {
        // base × 2^backoffs, saturating (u64::MAX as the factor once it no longer fits).
        let micros = super::saturating_shl(
            u64::from(self.persist_base),
            u32::from(self.persist_backoffs),
        );
        Duration::from_micros(micros).min(config.persist_max)
    }

    /// The peer's window is zero and data waits: start probing one `rto` from now (no effect
    /// when already probing).
    pub fn start_persist(&mut self, config: &TimerConfig, now: Instant, rto: Duration) {
        if self.get(PERSIST).is_none() {
            self.persist_base = u32::try_from(rto.total_micros()).unwrap_or(u32::MAX);
            self.persist_backoffs = 0;
            self.arm(PERSIST, now + self.persist_interval(config));
        }
    }

    /// The window opened: stop probing.
    pub fn stop_persist(&mut self) {
        self.stop(PERSIST);
        self.persist_backoffs = 0;
    }

    /// True while the persist timer runs.
    pub fn persisting(&self) -> bool {
        self.get(PERSIST).is_some()
    }

    // ---------------------------------------------------------------- keepalive

    /// A segment arrived from the peer at `now`: the connection is alive, restart the idle
    /// period and forget unanswered probes.
    pub fn on_peer_activity(&mut self, config: &TimerConfig, now: Instant) {
        self.keepalive_probes = 0;
        if let Some(ka) = config.keepalive
            && self.get(TIME_WAIT).is_none()
        {
            self.arm(KEEPALIVE, now + ka.idle);
        }
    }

    fn keepalive_fired(&mut self, config: &TimerConfig, now: Instant) -> TimerEvent {
        let Some(ka) = config.keepalive else {
            self.stop(KEEPALIVE);
            return TimerEvent::Keepalive;
        };
        if self.keepalive_probes >= ka.count {
            self.stop(KEEPALIVE);
            return TimerEvent::KeepaliveDead;
        }
        self.keepalive_probes += 1;
        self.arm(KEEPALIVE, now + ka.interval);
        TimerEvent::Keepalive
    }

    /// Keepalive probes sent since the peer was last heard from.
    pub fn keepalive_probes(&self) -> u8 {
        self.keepalive_probes
    }

    // ---------------------------------------------------------------- delayed ACK

    /// In-order data arrived at `now`; `full_sized` when it was a full-sized segment (at least
    /// the MSS). Returns true when the ACK must go out now (the second full-sized segment not
    /// yet acknowledged, or delayed ACKs are off); otherwise the delayed-ACK timer is armed
    /// (if not already). Out-of-order data and segments that fill a hole are acknowledged at
    /// once by the state machine (RFC 5681 §4.2) without asking.
    pub fn on_data_received(
        &mut self,
        config: &TimerConfig,
        now: Instant,
        full_sized: bool,
    ) -> bool {
        if full_sized {
            self.unacked_full_segments = self.unacked_full_segments.saturating_add(1);
        }
        let delay = config.delayed_ack.min(MAX_DELAYED_ACK);
        if self.unacked_full_segments >= 2 || delay == Duration::ZERO {
            return true;
        }
        if self.get(DELAYED_ACK).is_none() {
            self.arm(DELAYED_ACK, now + delay);
        }
        false
    }

    /// An ACK was sent (piggybacked or not): nothing is owed any more.
    pub fn on_ack_sent(&mut self) {
        self.stop(DELAYED_ACK);
        self.unacked_full_segments = 0;
    }

    // ---------------------------------------------------------------- TIME-WAIT

    /// Enter TIME-WAIT at `now` (or restart it, when the peer's FIN is retransmitted): every
    /// other timer stops and the slot is free 2·MSL later.
    pub fn enter_time_wait(&mut self, config: &TimerConfig, now: Instant) {
        *self = Timers::new();
        self.arm(TIME_WAIT, now + config.msl + config.msl);
    }

    /// The end of TIME-WAIT, if in it (for choosing the oldest TIME-WAIT slot to reuse).
    pub fn time_wait_deadline(&self) -> Option<Instant> {
        self.get(TIME_WAIT)
    }

    /// Stop every timer (connection closed or aborted).
    pub fn stop_all(&mut self) {
        *self = Timers::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timers with their configuration at hand, so each test reads as before.
    struct Timers {
        t: super::Timers,
        c: TimerConfig,
    }

    impl Timers {
        fn new(c: TimerConfig) -> Self {
            Timers {
                t: super::Timers::new(),
                c,
            }
        }
        fn poll(&mut self, now: Instant) -> Option<TimerEvent> {
            self.t.poll(&self.c, now)
        }
        fn start_persist(&mut self, now: Instant, rto: Duration) {
            self.t.start_persist(&self.c, now, rto)
        }
        fn on_peer_activity(&mut self, now: Instant) {
            self.t.on_peer_activity(&self.c, now)
        }
        fn on_data_received(&mut self, now: Instant, full_sized: bool) -> bool {
            self.t.on_data_received(&self.c, now, full_sized)
        }
        fn enter_time_wait(&mut self, now: Instant) {
            self.t.enter_time_wait(&self.c, now)
        }
    }

    impl core::ops::Deref for Timers {
        type Target = super::Timers;
        fn deref(&self) -> &super::Timers {
            &self.t
        }
    }

    impl core::ops::DerefMut for Timers {
        fn deref_mut(&mut self) -> &mut super::Timers {
            &mut self.t
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn at(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    #[test]
    fn idle_connection_has_no_deadline() {
        let mut t = Timers::new(TimerConfig::default());
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.poll(at(1_000_000)), None);
    }

    #[test]
    fn rfc6298_5_retransmit_timer_arm_restart_stop() {
        let mut t = Timers::new(TimerConfig::default());
        t.arm_retransmit_if_stopped(at(0), ms(1000));
        t.arm_retransmit_if_stopped(at(500), ms(1000));
        assert_eq!(t.next_deadline(), Some(at(1000)));
        assert_eq!(t.poll(at(999)), None);
        t.arm_retransmit(at(500), ms(1000)); // ACK of new data restarts it (§5.3)
        assert_eq!(t.poll(at(1000)), None);
        assert_eq!(t.poll(at(1500)), Some(TimerEvent::Retransmit));
        assert_eq!(t.next_deadline(), None);
        t.arm_retransmit(at(0), ms(10));
        t.stop_retransmit();
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn rfc1122_4_2_2_17_persist_backs_off_exponentially_to_max() {
        let mut t = Timers::new(TimerConfig::default());
        t.start_persist(at(0), ms(1000));
        t.start_persist(at(300), ms(5000)); // already probing: unchanged
        let mut now = 0;
        let mut intervals = std::vec::Vec::new();
        for _ in 0..9 {
            let d = t.next_deadline().unwrap().total_millis();
            intervals.push(d - now);
            now = d;
            assert_eq!(t.poll(at(now)), Some(TimerEvent::Persist));
        }
        assert_eq!(
            intervals,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        t.stop_persist();
        assert!(!t.persisting());
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn rfc1122_4_2_3_6_keepalive_probes_then_declares_dead() {
        let mut t = Timers::new(TimerConfig {
            keepalive: Some(Keepalive {
                idle: Duration::from_secs(7200),
                interval: Duration::from_secs(75),
                count: 3,
            }),
            ..TimerConfig::default()
        });
        t.on_peer_activity(at(0));
        assert_eq!(t.next_deadline(), Some(Instant::from_secs(7200)));
        // Activity pushes it back.
        t.on_peer_activity(Instant::from_secs(100));
        assert_eq!(t.poll(Instant::from_secs(7200)), None);
        let mut now = Instant::from_secs(7300);
        for probe in 1..=3 {
            assert_eq!(t.poll(now), Some(TimerEvent::Keepalive));
            assert_eq!(t.keepalive_probes(), probe);
            now += Duration::from_secs(75);
            assert_eq!(t.next_deadline(), Some(now));
        }
        assert_eq!(t.poll(now), Some(TimerEvent::KeepaliveDead));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn keepalive_answered_probe_resets_count() {
        let mut t = Timers::new(TimerConfig {
            keepalive: Some(Keepalive {
                idle: ms(100),
                interval: ms(10),
                count: 1,
            }),
            ..TimerConfig::default()
        });
        t.on_peer_activity(at(0));
        assert_eq!(t.poll(at(100)), Some(TimerEvent::Keepalive));
        t.on_peer_activity(at(105));
        assert_eq!(t.keepalive_probes(), 0);
        assert_eq!(t.next_deadline(), Some(at(205)));
    }

    #[test]
    fn keepalive_off_by_default() {
        let mut t = Timers::new(TimerConfig::default());
        t.on_peer_activity(at(0));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn rfc1122_4_2_3_2_delayed_ack_every_second_full_segment() {
        let mut t = Timers::new(TimerConfig::default());
        assert!(!t.on_data_received(at(0), true));
        assert_eq!(t.next_deadline(), Some(at(200)));
        assert!(t.on_data_received(at(10), true));
        t.on_ack_sent();
        assert_eq!(t.next_deadline(), None);
        // Small segments wait for the timer, which keeps its first deadline.
        assert!(!t.on_data_received(at(20), false));
        assert!(!t.on_data_received(at(50), false));
        assert_eq!(t.poll(at(219)), None);
        assert_eq!(t.poll(at(220)), Some(TimerEvent::DelayedAck));
    }

    #[test]
    fn rfc1122_4_2_3_2_delay_capped_at_200ms_and_zero_disables() {
        let mut t = Timers::new(TimerConfig {
            delayed_ack: ms(500),
            ..TimerConfig::default()
        });
        t.on_data_received(at(0), false);
        assert_eq!(t.next_deadline(), Some(at(200)));
        let mut t = Timers::new(TimerConfig {
            delayed_ack: Duration::ZERO,
            ..TimerConfig::default()
        });
        assert!(t.on_data_received(at(0), false));
    }

    #[test]
    fn rfc9293_3_6_time_wait_lasts_2msl_and_stops_other_timers() {
        let mut t = Timers::new(TimerConfig::default());
        t.arm_retransmit(at(0), ms(1000));
        t.on_data_received(at(0), false);
        t.enter_time_wait(at(10));
        assert_eq!(t.next_deadline(), Some(at(60_010)));
        assert_eq!(t.time_wait_deadline(), Some(at(60_010)));
        // A retransmitted FIN restarts it.
        t.enter_time_wait(at(1000));
        assert_eq!(t.poll(at(60_010)), None);
        assert_eq!(t.poll(at(61_000)), Some(TimerEvent::TimeWaitDone));
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn poll_returns_earliest_expired_first() {
        let mut t = Timers::new(TimerConfig::default());
        t.arm_retransmit(at(0), ms(300));
        t.on_data_received(at(0), false); // delayed ACK at 200
        assert_eq!(t.next_deadline(), Some(at(200)));
        assert_eq!(t.poll(at(1000)), Some(TimerEvent::DelayedAck));
        assert_eq!(t.poll(at(1000)), Some(TimerEvent::Retransmit));
        assert_eq!(t.poll(at(1000)), None);
    }

    #[test]
    fn huge_values_saturate() {
        let mut t = Timers::new(TimerConfig {
            persist_max: Duration::from_micros(u64::MAX),
            ..TimerConfig::default()
        });
        t.start_persist(
            Instant::from_micros(u64::MAX - 1),
            Duration::from_micros(u64::MAX),
        );
        for _ in 0..100 {
            let _ = t.poll(Instant::from_micros(u64::MAX));
        }
        t.arm_retransmit(Instant::from_micros(u64::MAX), Duration::from_secs(1));
        assert_eq!(
            t.retransmit_deadline(),
            Some(Instant::from_micros(u64::MAX))
        );
    }
}
