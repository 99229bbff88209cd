//! Round-trip-time estimation and the retransmission timeout (RFC 6298).
//!
//! [`RttEstimator`] keeps SRTT and RTTVAR in integer microseconds (no floating point) with the
//! RFC's gains alpha = 1/8 and beta = 1/4 and K = 4, and derives the RTO:
//!
//! * before any sample, RTO = the initial RTO, 1 s (RFC 6298 §2.1);
//! * first sample R: SRTT = R, RTTVAR = R/2 (§2.2);
//! * later samples R': RTTVAR = 3/4·RTTVAR + 1/4·|SRTT − R'|, then SRTT = 7/8·SRTT + 1/8·R'
//!   (§2.3, RTTVAR first, with the old SRTT);
//! * RTO = SRTT + max(G, 4·RTTVAR), clamped to `[min_rto, max_rto]` (§2.4, §2.5), where G is the
//!   clock granularity of the timers;
//! * every retransmission timeout doubles the RTO up to `max_rto` (§5.5), and the next valid
//!   sample recomputes it from SRTT and RTTVAR, which ends the backoff (§5, the note after
//!   rule 5.7);
//! * Karn's rule (§3): a segment that was retransmitted gives no sample, because its ACK may
//!   answer either transmission; the backoff stays until a segment sent once is acknowledged.
//!   With timestamps (RFC 7323 §4) the echoed TSecr says which transmission is acknowledged, so
//!   [`RttEstimator::on_timestamp_sample`] is accepted even for retransmissions.
//!
//! The state machine times one segment per flight (or uses timestamps), calls
//! [`RttEstimator::on_segment_acked`] when it is acknowledged, [`RttEstimator::on_timeout`]
//! when the retransmission timer fires, and arms the timer with [`RttEstimator::rto`].
//!
//! Not implemented: RFC 7323 Appendix G's scaling of alpha and beta by the number of samples
//! per flight when every segment is timed with timestamps (the state machine can simply take one
//! timestamp sample per RTT, which keeps RFC 6298's gains meaningful).

use crate::time::Duration;

/// Largest sample used, in microseconds (one hour): longer measurements are clamped so that the
/// fixed-point arithmetic can never overflow.
pub const MAX_SAMPLE_MICROS: u64 = 3_600_000_000;

/// The RTO floor after a retransmitted SYN (RFC 6298 §5.7): 3 s.
pub const SYN_RETRANSMIT_RTO: Duration = Duration::from_secs(3);

/// The profile's choices for the retransmission timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttConfig {
    /// RTO before any sample (RFC 6298 §2.1: 1 s).
    pub initial_rto: Duration,
    /// Lower bound of the RTO. RFC 6298 §2.4 says 1 s; embedded stacks and Linux commonly use
    /// 200 ms, which recovers faster on a LAN at the risk of spurious retransmissions.
    pub min_rto: Duration,
    /// Upper bound of the RTO, also for the backoff (RFC 6298 §2.5: at least 60 s).
    pub max_rto: Duration,
    /// Clock granularity G of the timers (RFC 6298 §2): the poll or tick period that bounds how
    /// precisely a timer fires.
    pub granularity: Duration,
}

impl RttConfig {
    /// RFC 6298's values: initial 1 s, minimum 1 s, maximum 60 s, G = 1 ms.
    pub const RFC6298: RttConfig = RttConfig {
        initial_rto: Duration::from_secs(1),
        min_rto: Duration::from_secs(1),
        max_rto: Duration::from_secs(60),
        granularity: Duration::from_millis(1),
    };
}

impl Default for RttConfig {
    fn default() -> Self {
        RttConfig::RFC6298
    }
}

/// SRTT, RTTVAR and the (backed-off) RTO of one connection.
///
/// Every time is kept in `u32` microseconds (28 bytes per connection instead of 64 with
/// `u64`s and the whole [`RttConfig`]): samples are capped at [`MAX_SAMPLE_MICROS`] (one
/// hour), so SRTT and RTTVAR always fit, and the configured bounds saturate at `u32::MAX` µs
/// (about 71 minutes, beyond any sensible `max_rto`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RttEstimator {
    /// Lower bound of the RTO in µs.
    min_rto: u32,
    /// Upper bound of the RTO in µs.
    max_rto: u32,
    /// Clock granularity G in µs.
    granularity: u32,
    /// Smoothed RTT in µs (valid when `has_sample`).
    srtt: u32,
    /// RTT variation in µs (valid when `has_sample`).
    rttvar: u32,
    /// The RTO computed from the estimate (or the initial RTO), before backoff, in µs.
    base_rto: u32,
    /// Number of timeouts since the last valid sample (saturating).
    backoffs: u8,
    has_sample: bool,
}

/// `d` in microseconds, saturated to `u32`.
fn micros(d: Duration) -> u32 {
    u32::try_from(d.total_micros()).unwrap_or(u32::MAX)
}

impl RttEstimator {
    /// An estimator with no sample yet: RTO = `config.initial_rto`.
    pub fn new(config: RttConfig) -> RttEstimator {
        let mut e = RttEstimator {
            min_rto: micros(config.min_rto),
            max_rto: micros(config.max_rto),
            granularity: micros(config.granularity),
            srtt: 0,
            rttvar: 0,
            base_rto: 0,
            backoffs: 0,
            has_sample: false,
        };
        e.base_rto = e.clamp(config.initial_rto.total_micros());
        e
    }

    /// An estimator of a free socket slot: all zero bytes (`new` gives a live one).
    pub(crate) const ZERO: RttEstimator = RttEstimator {
        min_rto: 0,
        max_rto: 0,
        granularity: 0,
        srtt: 0,
        rttvar: 0,
        base_rto: 0,
        backoffs: 0,
        has_sample: false,
    };

    #[inline(never)]
    fn clamp(&self, rto: u64) -> u32 {
        let max = self.max_rto;
        let min = self.min_rto.min(max);
        // Within `[min, max]`, so within `u32`.
        rto.clamp(u64::from(min), u64::from(max)) as u32
    }

    /// The lower bound of the RTO (the configured `min_rto`, at most `max_rto`).
    pub fn min_rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.min_rto.min(self.max_rto)))
    }

    /// The upper bound of the RTO (the configured `max_rto`).
    pub fn max_rto(&self) -> Duration {
        Duration::from_micros(u64::from(self.max_rto))
    }

    /// The smoothed round-trip time, `None` before the first sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.has_sample
            .then(|| Duration::from_micros(u64::from(self.srtt)))
    }

    /// The round-trip-time variation, `None` before the first sample.
    pub fn rttvar(&self) -> Option<Duration> {
        self.has_sample
            .then(|| Duration::from_micros(u64::from(self.rttvar)))
    }

    /// Timeouts since the last valid sample (each doubled the RTO).
    pub fn backoffs(&self) -> u32 {
        u32::from(self.backoffs)
    }

    /// The current retransmission timeout, including the exponential backoff, within
    /// `[min_rto, max_rto]`.
    pub fn rto(&self) -> Duration {
        let shifted = if self.backoffs < 64 {
            super::saturating_shl(u64::from(self.base_rto), u32::from(self.backoffs))
        } else {
            u64::MAX
        };
        Duration::from_micros(u64::from(self.clamp(shifted)))
    }

    /// Feed one valid RTT measurement (RFC 6298 §2.2–§2.4) and end any backoff (RFC 6298 §5,
    /// the note after rule 5.7).
    pub fn sample(&mut self, rtt: Duration) {
        // At most one hour: every value below fits `u32` microseconds.
        let r = rtt.total_micros().min(MAX_SAMPLE_MICROS);
        let (srtt, rttvar) = (u64::from(self.srtt), u64::from(self.rttvar));
        let (srtt, rttvar) = if self.has_sample {
            let diff = srtt.abs_diff(r);
            ((7 * srtt + r) / 8, (3 * rttvar + diff) / 4)
        } else {
            self.has_sample = true;
            (r, r / 2)
        };
        self.srtt = u32::try_from(srtt).unwrap_or(u32::MAX);
        self.rttvar = u32::try_from(rttvar).unwrap_or(u32::MAX);
        let var_term = (4 * rttvar).max(u64::from(self.granularity));
        self.base_rto = self.clamp(srtt.saturating_add(var_term));
        self.backoffs = 0;
    }

    /// The timed segment, sent `rtt` ago, was acknowledged. Applies Karn's rule (RFC 6298 §3):
    /// when it had been `retransmitted`, no sample is taken and the backoff stays. Returns
    /// whether a sample was taken.
    pub fn on_segment_acked(&mut self, rtt: Duration, retransmitted: bool) -> bool {
        if retransmitted {
            return false;
        }
        self.sample(rtt);
        true
    }

    /// An RTT measured from an echoed timestamp (now − TSecr, RFC 7323 §4.1). The echo names
    /// the transmission it answers, so Karn's ambiguity does not arise and the sample is taken
    /// even when the segment was retransmitted (RFC 7323 §4).
    pub fn on_timestamp_sample(&mut self, rtt: Duration) {
        self.sample(rtt);
    }

    /// The retransmission timer expired: back off (RFC 6298 §5.5, RTO ← 2·RTO, at most
    /// `max_rto`).
    pub fn on_timeout(&mut self) {
        if self.rto() < self.max_rto() {
            self.backoffs = self.backoffs.saturating_add(1);
        }
    }

    /// The three-way handshake completed. RFC 6298 §5.7: if the SYN (or SYN-ACK) had to be
    /// retransmitted and no sample has been taken, the RTO for the data phase is 3 s rather than
    /// the 1 s initial value.
    pub fn on_handshake_complete(&mut self, syn_retransmitted: bool) {
        if syn_retransmitted && !self.has_sample {
            self.base_rto =
                self.clamp(u64::from(self.base_rto).max(SYN_RETRANSMIT_RTO.total_micros()));
            self.backoffs = 0;
        }
    }

    /// Forget SRTT and RTTVAR (RFC 6298 §5: allowed after repeated backoffs, when the estimate
    /// is probably stale); the next sample initialises them as a first sample. The current
    /// backed-off RTO is kept until then.
    pub fn reset_estimate(&mut self) {
        if self.has_sample {
            self.base_rto = micros(self.rto());
            self.backoffs = 0;
            self.has_sample = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn lan() -> RttConfig {
        RttConfig {
            min_rto: ms(200),
            ..RttConfig::RFC6298
        }
    }

    #[test]
    fn rfc6298_2_1_initial_rto_is_one_second() {
        let e = RttEstimator::new(RttConfig::RFC6298);
        assert_eq!(e.rto(), Duration::from_secs(1));
        assert_eq!(e.srtt(), None);
    }

    #[test]
    fn rfc6298_2_2_first_sample_sets_srtt_and_half_rttvar() {
        let mut e = RttEstimator::new(lan());
        e.sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), Some(ms(50)));
        // RTO = 100 + 4·50 = 300 ms.
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn rfc6298_2_3_later_samples_update_rttvar_then_srtt() {
        let mut e = RttEstimator::new(lan());
        e.sample(ms(100));
        e.sample(ms(200));
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5 ms; SRTT = 7/8·100 + 1/8·200 = 112.5 ms.
        assert_eq!(e.rttvar(), Some(Duration::from_micros(62_500)));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn rfc6298_2_3_converges_to_a_constant_rtt() {
        let mut e = RttEstimator::new(RttConfig {
            min_rto: Duration::ZERO,
            ..RttConfig::RFC6298
        });
        for _ in 0..200 {
            e.sample(ms(40));
        }
        assert_eq!(e.srtt(), Some(ms(40)));
        assert_eq!(e.rttvar(), Some(Duration::ZERO));
        // 4·RTTVAR is 0, so the granularity G (1 ms) is the variance term.
        assert_eq!(e.rto(), ms(41));
    }

    #[test]
    fn rfc6298_2_4_min_rto_is_configurable() {
        let mut rfc = RttEstimator::new(RttConfig::RFC6298);
        let mut fast = RttEstimator::new(lan());
        for _ in 0..50 {
            rfc.sample(ms(10));
            fast.sample(ms(10));
        }
        assert_eq!(rfc.rto(), Duration::from_secs(1));
        assert_eq!(fast.rto(), ms(200));
    }

    #[test]
    fn rfc6298_2_5_max_rto_bounds_huge_samples() {
        let mut e = RttEstimator::new(RttConfig::RFC6298);
        e.sample(Duration::from_secs(100));
        assert_eq!(e.rto(), Duration::from_secs(60));
        e.sample(Duration::from_micros(u64::MAX));
        assert_eq!(e.rto(), Duration::from_secs(60));
    }

    #[test]
    fn rfc6298_5_5_timeout_doubles_rto_up_to_max() {
        let mut e = RttEstimator::new(RttConfig::RFC6298);
        let mut expect = 1;
        for _ in 0..10 {
            assert_eq!(e.rto(), Duration::from_secs(expect.min(60)));
            e.on_timeout();
            expect *= 2;
        }
        assert_eq!(e.rto(), Duration::from_secs(60));
        for _ in 0..1000 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), Duration::from_secs(60));
    }

    #[test]
    fn rfc6298_5_new_sample_collapses_backed_off_rto() {
        let mut e = RttEstimator::new(lan());
        e.sample(ms(100));
        e.on_timeout();
        e.on_timeout();
        assert_eq!(e.rto(), ms(1200));
        assert!(e.on_segment_acked(ms(100), false));
        assert_eq!(e.backoffs(), 0);
        assert!(e.rto() < ms(400));
    }

    #[test]
    fn rfc6298_karn_no_sample_from_retransmission() {
        let mut e = RttEstimator::new(lan());
        e.sample(ms(100));
        e.on_timeout();
        let before = e.clone();
        assert!(!e.on_segment_acked(ms(5000), true));
        // Nothing changed: no sample, and the backed-off RTO is kept (RFC 6298 §5 / Karn).
        assert_eq!(e, before);
        assert_eq!(e.rto(), ms(600));
    }

    #[test]
    fn rfc7323_4_timestamp_sample_allowed_after_retransmission() {
        let mut e = RttEstimator::new(lan());
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_secs(2));
        e.on_timestamp_sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn rfc6298_5_7_syn_retransmitted_gives_3s_rto() {
        let mut e = RttEstimator::new(RttConfig::RFC6298);
        e.on_timeout();
        e.on_handshake_complete(true);
        assert_eq!(e.rto(), Duration::from_secs(3));
        let mut e = RttEstimator::new(RttConfig::RFC6298);
        e.on_handshake_complete(false);
        assert_eq!(e.rto(), Duration::from_secs(1));
        // A timestamp sample during the handshake wins over the 3 s rule.
        let mut e = RttEstimator::new(lan());
        e.on_timestamp_sample(ms(10));
        e.on_handshake_complete(true);
        assert_eq!(e.rto(), ms(200));
    }

    #[test]
    fn reset_estimate_reinitialises_from_next_sample() {
        let mut e = RttEstimator::new(lan());
        e.sample(ms(100));
        e.on_timeout();
        e.reset_estimate();
        assert_eq!(e.srtt(), None);
        assert_eq!(e.rto(), ms(600));
        e.sample(ms(20));
        assert_eq!(e.srtt(), Some(ms(20)));
        assert_eq!(e.rttvar(), Some(ms(10)));
    }

    #[test]
    fn inconsistent_config_does_not_panic() {
        let e = RttEstimator::new(RttConfig {
            initial_rto: Duration::ZERO,
            min_rto: Duration::from_secs(100),
            max_rto: Duration::from_secs(1),
            granularity: Duration::from_micros(u64::MAX),
        });
        assert_eq!(e.rto(), Duration::from_secs(1));
    }

    proptest::proptest! {
        #[test]
        fn rto_always_within_bounds(
            events in proptest::collection::vec((0u8..4, proptest::num::u64::ANY), 0..60),
        ) {
            let cfg = lan();
            let mut e = RttEstimator::new(cfg);
            for (kind, v) in events {
                match kind {
                    0 => e.sample(Duration::from_micros(v)),
                    1 => e.on_timeout(),
                    2 => { e.on_segment_acked(Duration::from_micros(v % 10_000_000), v % 2 == 0); }
                    _ => e.on_handshake_complete(v % 2 == 0),
                }
                let rto = e.rto();
                proptest::prop_assert!(rto >= cfg.min_rto && rto <= cfg.max_rto);
            }
        }
    }
}
