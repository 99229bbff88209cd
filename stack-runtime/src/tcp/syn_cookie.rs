//! SYN cookies: accepting connections without a SYN-RECEIVED slot.
//!
//! When every SYN-RECEIVED slot of a listener is taken (a SYN flood, or just a burst), the
//! listener still answers each SYN with a SYN-ACK but keeps no state: everything it needs to
//! build the connection later is encoded in its own initial sequence number, the *cookie*. A
//! legitimate client's ACK returns it as `ack - 1`; the listener checks it and only then
//! allocates a socket. A flood of spoofed SYNs therefore costs no memory, and established
//! connections keep working.
//!
//! # Layout (the classic t/m/s cookie)
//!
//! ```text
//!  31      27 26  24 23                                            0
//! +----------+------+-----------------------------------------------+
//! | t mod 32 |  m   | s = SipHash(key, "cookie", 4-tuple, ISN_c, t, m)|
//! +----------+------+-----------------------------------------------+
//! ```
//!
//! * `t`: a counter of 64-second periods ([`COOKIE_PERIOD_MICROS`]) of the board clock; a
//!   cookie is accepted in the period it was made and in the next one, so it lives between 64
//!   and 128 seconds;
//! * `m`: index of the client's MSS in [`MSS_TABLE`] (the largest entry not above the MSS the
//!   client announced), because the MSS is the one option a connection cannot work well
//!   without;
//! * `s`: 24 bits of SipHash-2-4 over the 4-tuple, the client's ISN, the full `t` and `m`,
//!   keyed by the board's secret. Changing any bit of the cookie, the 4-tuple or the client's
//!   ISN makes validation fail, except with probability 2^-24 per forged ACK.
//!
//! # What is lost
//!
//! Only the MSS (rounded down to a table entry) survives a cookie. Window scale and
//! SACK-permitted cannot ride in 32 bits of sequence number next to a usable hash, so a
//! connection accepted from a cookie without timestamps runs without window scaling (windows up
//! to 64 KiB) and without SACK; the client's initial window and any other option of its SYN are
//! forgotten too. When timestamps were negotiated, [`encode_options_in_tsval`] carries window
//! scale and SACK-permitted in the low 5 bits of our TSval (as Linux does), and the client
//! echoes them back in TSecr; those bits are not authenticated, which is harmless because they
//! only describe the client's own capabilities.

use super::FourTuple;
use super::siphash::{SipKey, siphash24};
use crate::time::Instant;
use crate::wire::tcp::SeqNumber;

/// Length of one cookie time period: 64 s.
pub const COOKIE_PERIOD_MICROS: u64 = 64_000_000;

/// The MSS values a cookie can encode (index `m`), ascending. 536 is the RFC 9293 default and
/// 1460 the Ethernet maximum for IPv4; the others are common values behind tunnels and PPPoE.
pub const MSS_TABLE: [u16; 8] = [536, 1024, 1200, 1300, 1360, 1400, 1440, 1460];

const HASH_MASK: u32 = 0x00ff_ffff;

/// A connection recovered from a valid cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieConnection {
    /// The client's initial sequence number (the ACK's sequence number minus one).
    pub client_isn: SeqNumber,
    /// Our initial sequence number: the cookie itself.
    pub server_isn: SeqNumber,
    /// The MSS to use towards the client: the table entry encoded in the cookie.
    pub mss: u16,
}

/// Makes and checks SYN cookies under one secret key.
#[derive(Clone)]
pub struct SynCookies {
    key: SipKey,
}

impl core::fmt::Debug for SynCookies {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SynCookies { .. }")
    }
}

impl SynCookies {
    /// Cookies keyed with `key` (128 bits from the board's seed; may be the ISN key, the
    /// hash input is domain-separated).
    pub const fn new(key: SipKey) -> SynCookies {
        SynCookies { key }
    }

    /// The period counter `t` at `now`.
    pub fn period(now: Instant) -> u32 {
        // 64 s = 2^12 · 15,625 µs: a shift and a division by a 16-bit divisor, without the
        // 64-bit division routine a plain `u64 / u64` calls on a 32-bit target.
        const _: () = assert!(COOKIE_PERIOD_MICROS == 15_625 << 12);
        crate::time::div_u64_by_u16(now.total_micros() >> 12, 15_625) as u32
    }

    /// Index into [`MSS_TABLE`] for an MSS announced by a client: the largest entry not above
    /// it (entry 0 when it is smaller than every entry, RFC 9293's default 536 then applies).
    pub fn mss_index(mss: u16) -> u8 {
        let mut idx = 0;
        for (i, &v) in MSS_TABLE.iter().enumerate() {
            if v <= mss {
                idx = i as u8;
            }
        }
        idx
    }

    fn hash(&self, tuple: &FourTuple, client_isn: SeqNumber, mss_index: u8, period: u32) -> u32 {
        let mut input = [0u8; 27];
        input[..6].copy_from_slice(b"cookie");
        input[6..18].copy_from_slice(&tuple.to_bytes());
        input[18..22].copy_from_slice(&client_isn.0.to_be_bytes());
        input[22..26].copy_from_slice(&period.to_be_bytes());
        input[26] = mss_index;
        siphash24(&self.key, &input) as u32 & HASH_MASK
    }

    fn cookie_for_period(
        &self,
        tuple: &FourTuple,
        client_isn: SeqNumber,
        mss_index: u8,
        period: u32,
    ) -> u32 {
        ((period & 0x1f) << 27)
            | (u32::from(mss_index & 0x7) << 24)
            | self.hash(tuple, client_isn, mss_index & 0x7, period)
    }

    /// The cookie (our ISN for the SYN-ACK) answering a SYN of `tuple` with sequence number
    /// `client_isn` and MSS option `client_mss` (536 when the SYN had none), at `now`.
    pub fn generate(
        &self,
        tuple: &FourTuple,
        client_isn: SeqNumber,
        client_mss: u16,
        now: Instant,
    ) -> SeqNumber {
        let m = Self::mss_index(client_mss);
        SeqNumber(self.cookie_for_period(tuple, client_isn, m, Self::period(now)))
    }

    /// Check the ACK that completes a cookie handshake: `seq` and `ack` are the ACK segment's
    /// sequence and acknowledgement numbers. Returns the connection to create, or `None` when
    /// the cookie is forged, belongs to another connection or is older than the previous
    /// period.
    pub fn validate(
        &self,
        tuple: &FourTuple,
        seq: SeqNumber,
        ack: SeqNumber,
        now: Instant,
    ) -> Option<CookieConnection> {
        let client_isn = seq - 1;
        let cookie = (ack - 1).0;
        let t5 = cookie >> 27;
        let m = ((cookie >> 24) & 0x7) as u8;
        let current = Self::period(now);
        for period in [current, current.wrapping_sub(1)] {
            if period & 0x1f == t5 && self.cookie_for_period(tuple, client_isn, m, period) == cookie
            {
                return Some(CookieConnection {
                    client_isn,
                    server_isn: SeqNumber(cookie),
                    mss: MSS_TABLE[usize::from(m)],
                });
            }
        }
        None
    }
}

/// Window scale and SACK-permitted of a client's SYN, carried in our TSval when timestamps are
/// on (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookieOptions {
    /// The client's window shift (RFC 7323), `None` when it sent no Window Scale option.
    pub window_scale: Option<u8>,
    /// The client sent SACK-permitted (RFC 2018).
    pub sack_permitted: bool,
}

const TS_WSCALE_NONE: u32 = 0xf;
const TS_OPTION_BITS: u32 = 0x1f;

/// Our TSval for a cookie SYN-ACK: `tsval` with its low 5 bits replaced by `opts` (bits 0–3:
/// window shift, 15 for none; bit 4: SACK-permitted). The clock loses 5 bits of resolution for
/// this one segment only.
pub fn encode_options_in_tsval(tsval: u32, opts: CookieOptions) -> u32 {
    let ws = match opts.window_scale {
        Some(s) => u32::from(s.min(14)),
        None => TS_WSCALE_NONE,
    };
    (tsval & !TS_OPTION_BITS) | ws | (u32::from(opts.sack_permitted) << 4)
}

/// The options [`encode_options_in_tsval`] stored, read back from the TSecr of the ACK that
/// completes the handshake.
pub fn decode_options_from_tsecr(tsecr: u32) -> CookieOptions {
    let ws = tsecr & 0xf;
    CookieOptions {
        window_scale: if ws == TS_WSCALE_NONE {
            None
        } else {
            Some((ws as u8).min(14))
        },
        sack_permitted: tsecr & 0x10 != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use core::net::Ipv4Addr;

    fn tuple() -> FourTuple {
        FourTuple {
            local_addr: Ipv4Addr::new(192, 0, 2, 1),
            local_port: 80,
            remote_addr: Ipv4Addr::new(198, 51, 100, 9),
            remote_port: 51000,
        }
    }

    const KEY: SipKey = [0x5a; 16];

    #[test]
    fn period_is_the_64_second_counter() {
        for micros in [
            0,
            1,
            63_999_999,
            64_000_000,
            64_000_001,
            u64::from(u32::MAX),
            1 << 40,
            u64::MAX,
        ] {
            assert_eq!(
                SynCookies::period(Instant::from_micros(micros)),
                (micros / COOKIE_PERIOD_MICROS) as u32,
                "{micros}"
            );
        }
    }

    #[test]
    fn valid_cookie_validates_and_recovers_mss() {
        let c = SynCookies::new(KEY);
        let now = Instant::from_secs(1000);
        let isn_c = SeqNumber(12345);
        let cookie = c.generate(&tuple(), isn_c, 1460, now);
        let got = c.validate(&tuple(), isn_c + 1, cookie + 1, now).unwrap();
        assert_eq!(got.mss, 1460);
        assert_eq!(got.client_isn, isn_c);
        assert_eq!(got.server_isn, cookie);
    }

    #[test]
    fn mss_rounds_down_to_table_entry() {
        assert_eq!(MSS_TABLE[usize::from(SynCookies::mss_index(1459))], 1440);
        assert_eq!(MSS_TABLE[usize::from(SynCookies::mss_index(9000))], 1460);
        assert_eq!(MSS_TABLE[usize::from(SynCookies::mss_index(100))], 536);
        assert_eq!(MSS_TABLE[usize::from(SynCookies::mss_index(1300))], 1300);
    }

    #[test]
    fn accepted_in_current_and_next_period_rejected_after() {
        let c = SynCookies::new(KEY);
        // Just before a period boundary.
        let made = Instant::from_micros(10 * COOKIE_PERIOD_MICROS - 1);
        let cookie = c.generate(&tuple(), SeqNumber(1), 536, made);
        let ok = |t: Instant| c.validate(&tuple(), SeqNumber(2), cookie + 1, t).is_some();
        assert!(ok(made));
        assert!(ok(made + Duration::from_secs(64)));
        assert!(!ok(made + Duration::from_secs(65)));
        // Made at the start of a period: lives 128 s minus a tick.
        let made = Instant::from_micros(20 * COOKIE_PERIOD_MICROS);
        let cookie = c.generate(&tuple(), SeqNumber(1), 536, made);
        let ok = |t: Instant| c.validate(&tuple(), SeqNumber(2), cookie + 1, t).is_some();
        assert!(ok(
            made + Duration::from_micros(2 * COOKIE_PERIOD_MICROS - 1)
        ));
        assert!(!ok(made + Duration::from_micros(2 * COOKIE_PERIOD_MICROS)));
        // Not accepted from the future either (clock went backwards / forged t).
        assert!(!ok(made - Duration::from_secs(1)));
    }

    #[test]
    fn expiry_is_not_fooled_by_the_5_bit_counter_wrapping() {
        let c = SynCookies::new(KEY);
        let made = Instant::from_secs(0);
        let cookie = c.generate(&tuple(), SeqNumber(1), 536, made);
        // 32 periods later the low 5 bits of t match again, but the hash covers the full t.
        let later = made + Duration::from_micros(32 * COOKIE_PERIOD_MICROS);
        assert!(
            c.validate(&tuple(), SeqNumber(2), cookie + 1, later)
                .is_none()
        );
    }

    #[test]
    fn every_flipped_bit_fails() {
        let c = SynCookies::new(KEY);
        let now = Instant::from_secs(77);
        let cookie = c.generate(&tuple(), SeqNumber(99), 1400, now);
        for bit in 0..32 {
            let forged = SeqNumber(cookie.0 ^ (1 << bit));
            assert!(
                c.validate(&tuple(), SeqNumber(100), forged + 1, now)
                    .is_none(),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn different_tuple_or_client_isn_fails() {
        let c = SynCookies::new(KEY);
        let now = Instant::from_secs(77);
        let cookie = c.generate(&tuple(), SeqNumber(99), 1400, now);
        let mut other = tuple();
        other.remote_port += 1;
        assert!(
            c.validate(&other, SeqNumber(100), cookie + 1, now)
                .is_none()
        );
        let mut other = tuple();
        other.remote_addr = Ipv4Addr::new(198, 51, 100, 10);
        assert!(
            c.validate(&other, SeqNumber(100), cookie + 1, now)
                .is_none()
        );
        assert!(
            c.validate(&tuple(), SeqNumber(101), cookie + 1, now)
                .is_none()
        );
        assert!(
            SynCookies::new([1; 16])
                .validate(&tuple(), SeqNumber(100), cookie + 1, now)
                .is_none()
        );
    }

    #[test]
    fn client_isn_wrapping_round_trips() {
        let c = SynCookies::new(KEY);
        let now = Instant::from_secs(5);
        let isn_c = SeqNumber(u32::MAX);
        let cookie = c.generate(&tuple(), isn_c, 1460, now);
        let got = c.validate(&tuple(), isn_c + 1, cookie + 1, now).unwrap();
        assert_eq!(got.client_isn, isn_c);
    }

    #[test]
    fn options_ride_in_tsval_low_bits() {
        for ws in [None, Some(0), Some(7), Some(14)] {
            for sack in [false, true] {
                let o = CookieOptions {
                    window_scale: ws,
                    sack_permitted: sack,
                };
                let ts = encode_options_in_tsval(0xdead_beef, o);
                assert_eq!(ts & !0x1f, 0xdead_beef & !0x1f);
                assert_eq!(decode_options_from_tsecr(ts), o);
            }
        }
        // A shift above 14 is clamped (RFC 7323 §2.3).
        let o = CookieOptions {
            window_scale: Some(20),
            sack_permitted: false,
        };
        assert_eq!(
            decode_options_from_tsecr(encode_options_in_tsval(0, o)).window_scale,
            Some(14)
        );
    }

    proptest::proptest! {
        #[test]
        fn cookie_round_trips(
            key in proptest::array::uniform16(proptest::num::u8::ANY),
            isn in proptest::num::u32::ANY,
            mss in proptest::num::u16::ANY,
            port in proptest::num::u16::ANY,
            micros in 0u64..(1u64 << 50),
            delay in 0u64..COOKIE_PERIOD_MICROS,
        ) {
            let c = SynCookies::new(key);
            let mut t = tuple();
            t.remote_port = port;
            let now = Instant::from_micros(micros);
            let cookie = c.generate(&t, SeqNumber(isn), mss, now);
            let later = now + Duration::from_micros(delay);
            let got = c.validate(&t, SeqNumber(isn) + 1, cookie + 1, later);
            proptest::prop_assert!(got.is_some());
            let got = got.unwrap();
            proptest::prop_assert!(got.mss <= mss.max(536));
            let expected = MSS_TABLE[usize::from(SynCookies::mss_index(mss))];
            proptest::prop_assert_eq!(got.mss, expected);
        }

        #[test]
        fn validate_never_panics(
            seq in proptest::num::u32::ANY,
            ack in proptest::num::u32::ANY,
            micros in proptest::num::u64::ANY,
        ) {
            let now = Instant::from_micros(micros);
            let _ = SynCookies::new(KEY).validate(&tuple(), SeqNumber(seq), SeqNumber(ack), now);
        }
    }
}
