//! Segment-by-segment tests of the state machine: feed one segment, expect exactly the
//! segments that must come back (and nothing else).

use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::pool::PacketPool;
use crate::tcp::segment_pool::SocketQuota;

const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 80);
const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 40000);
const ISS: SeqNumber = SeqNumber(1000);
const IRS: SeqNumber = SeqNumber(5000);
const MSS: usize = 1460;
const T0: Instant = Instant::from_secs(10);

/// One segment sent by the socket, payload copied out.
#[derive(Debug, Clone)]
struct Seg {
    control: Control,
    seq: SeqNumber,
    ack: Option<SeqNumber>,
    window: u16,
    mss: Option<u16>,
    window_scale: Option<u8>,
    sack_permitted: bool,
    #[cfg_attr(not(feature = "tcp-sack"), allow(dead_code))]
    sack: Vec<(SeqNumber, SeqNumber)>,
    timestamp: Option<Timestamp>,
    data: Vec<u8>,
}

struct Harness {
    pool: SegmentPool<'static>,
    packets: PacketPool<'static>,
    stats: Stats,
    config: TcpConfig,
    challenge: ChallengeLimiter,
    sock: TcpSlot,
    now: Instant,
}

/// Options of an incoming segment.
#[derive(Default, Clone, Copy)]
struct In {
    control: Control,
    seq: u32,
    ack: Option<u32>,
    window: u16,
}

fn plain_config() -> TcpConfig {
    TcpConfig {
        window_scaling: false,
        timestamps: false,
        sack: false,
        no_delay: true,
        ..TcpConfig::default()
    }
}

impl Harness {
    fn new(config: TcpConfig) -> Harness {
        // Packet buffers of one MSS of payload plus the queues' metadata tail.
        let packet = MSS + crate::tcp::segment_pool::META_BYTES;
        let bytes: &'static mut [u8] = Box::leak(vec![0u8; 64 * packet].into_boxed_slice());
        let quotas: &'static mut [SocketQuota] = Box::leak(Box::new([SocketQuota::new(
            config.send_buffers,
            config.recv_buffers,
            0,
        )]));
        Harness {
            pool: SegmentPool::new(quotas, MSS, 64, 0),
            packets: PacketPool::new(bytes, packet),
            stats: Stats::new(),
            config,
            challenge: ChallengeLimiter::new(),
            sock: TcpSlot::new(),
            now: T0,
        }
    }

    fn open(&mut self, iss: SeqNumber) {
        let cfg = self.config;
        self.sock.open(0, 0, &cfg, LOCAL, REMOTE, iss, MSS, MSS);
        self.sock.owned = true;
    }

    /// Active open, the SYN taken.
    fn connect(&mut self) -> Seg {
        self.open(ISS);
        self.sock.connect();
        self.out_one()
    }

    /// Active open completed with a SYN-ACK offering nothing; returns the ACK sent.
    fn established(&mut self) -> Seg {
        self.connect();
        self.input_repr(&Repr {
            control: Control::Syn,
            seq_number: IRS,
            ack_number: Some(ISS + 1),
            window_len: 65535,
            max_seg_size: Some(MSS as u16),
            ..self.repr()
        });
        assert_eq!(self.sock.state(), TcpState::Established);
        self.out_one()
    }

    fn repr(&self) -> Repr<'static> {
        Repr {
            src_port: REMOTE.port(),
            dst_port: LOCAL.port(),
            window_len: 65535,
            ..Repr::default()
        }
    }

    fn input_repr(&mut self, repr: &Repr<'_>) -> InputAction {
        let mut ctx = Ctx {
            pool: Segments::new(&mut self.pool, &mut self.packets),
            stats: &mut self.stats,
            config: &self.config,
            challenge: &mut self.challenge,
            now: self.now,
        };
        self.sock.process(&mut ctx, repr)
    }

    /// Feed a segment from the peer with `data`.
    fn input(&mut self, i: In, data: &[u8]) -> InputAction {
        let repr = Repr {
            control: i.control,
            seq_number: SeqNumber(i.seq),
            ack_number: i.ack.map(SeqNumber),
            window_len: i.window,
            payload: data,
            ..self.repr()
        };
        self.input_repr(&repr)
    }

    /// An ACK from the peer at its next sequence number (IRS + 1 + `sent`).
    fn ack(&mut self, peer_sent: usize, ack: SeqNumber, window: u16) -> InputAction {
        self.input(
            In {
                seq: (IRS + 1 + peer_sent).0,
                ack: Some(ack.0),
                window,
                ..In::default()
            },
            &[],
        )
    }

    /// Everything the socket sends now.
    fn out(&mut self) -> Vec<Seg> {
        let mut segs = Vec::new();
        let cfg = self.config;
        self.sock.dispatch(
            &mut Segments::new(&mut self.pool, &mut self.packets),
            &mut self.stats,
            &cfg,
            self.now,
            |r, p| {
                let mut data = vec![0u8; p.len()];
                p.copy_to(&mut data);
                segs.push(Seg {
                    control: r.control,
                    seq: r.seq_number,
                    ack: r.ack_number,
                    window: r.window_len,
                    mss: r.max_seg_size,
                    window_scale: r.window_scale,
                    sack_permitted: r.sack_permitted,
                    sack: r.sack_ranges.as_slice().to_vec(),
                    timestamp: r.timestamp,
                    data,
                });
                true
            },
        );
        segs
    }

    fn out_one(&mut self) -> Seg {
        let mut segs = self.out();
        assert_eq!(segs.len(), 1, "expected exactly one segment: {segs:?}");
        segs.remove(0)
    }

    fn out_none(&mut self) {
        let segs = self.out();
        assert!(segs.is_empty(), "expected no segment: {segs:?}");
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
    }

    fn write(&mut self, data: &[u8]) -> usize {
        self.sock
            .send(&mut Segments::new(&mut self.pool, &mut self.packets), data)
    }

    fn read_all(&mut self) -> Vec<u8> {
        let mut out = vec![0u8; 256 * 1024];
        let n = self.sock.recv(
            &mut Segments::new(&mut self.pool, &mut self.packets),
            &mut out,
        );
        out.truncate(n);
        out
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

// ------------------------------------------------------------------------- handshakes

#[test]
#[cfg(all(
    feature = "tcp-sack",
    feature = "tcp-timestamps",
    feature = "tcp-window-scaling"
))]
fn active_open_sends_a_syn_with_the_configured_options() {
    let mut h = Harness::new(TcpConfig::default());
    let syn = h.connect();
    assert_eq!(syn.control, Control::Syn);
    assert_eq!(syn.seq, ISS);
    assert_eq!(syn.ack, None);
    assert_eq!(syn.mss, Some(MSS as u16));
    assert!(syn.sack_permitted);
    assert_eq!(syn.window_scale, Some(0), "16 × 1460 fits 16 bits: shift 0");
    assert_eq!(syn.timestamp.map(|t| t.tsecr), Some(0));
    assert_eq!(usize::from(syn.window), 15 * MSS);
    assert_eq!(h.sock.state(), TcpState::SynSent);
    h.out_none();
}

#[test]
fn options_can_be_switched_off() {
    let mut h = Harness::new(plain_config());
    let syn = h.connect();
    assert_eq!(syn.window_scale, None);
    assert!(!syn.sack_permitted);
    assert_eq!(syn.timestamp, None);
    assert_eq!(syn.mss, Some(MSS as u16));
}

#[test]
#[cfg(feature = "tcp-window-scaling")]
fn window_scale_is_chosen_for_a_large_window() {
    let mut h = Harness::new(TcpConfig {
        recv_buffers: 32,
        ..TcpConfig::default()
    });
    let syn = h.connect();
    // 31 × 1460 = 45,260 still fits; the shift stays 0. The SYN's window is never scaled.
    assert_eq!(syn.window_scale, Some(0));
    assert_eq!(usize::from(syn.window), 31 * MSS);
}

#[test]
fn syn_ack_completes_the_active_open() {
    let mut h = Harness::new(plain_config());
    let ack = h.established();
    assert_eq!(ack.control, Control::None);
    assert_eq!(ack.seq, ISS + 1);
    assert_eq!(ack.ack, Some(IRS + 1));
    assert!(ack.data.is_empty());
    assert_eq!(h.stats.tcp_connections_established, 1);
    h.out_none();
}

#[test]
fn syn_sent_answers_a_bad_ack_with_rst_and_ignores_a_bad_rst() {
    let mut h = Harness::new(plain_config());
    h.connect();
    let bad = In {
        control: Control::Syn,
        seq: IRS.0,
        ack: Some(ISS.0 + 7),
        window: 1000,
    };
    assert_eq!(h.input(bad, &[]), InputAction::SendReset);
    assert_eq!(h.sock.state(), TcpState::SynSent);
    // A RST whose ACK does not acknowledge our SYN is ignored.
    let rst = In {
        control: Control::Rst,
        seq: IRS.0,
        ack: Some(ISS.0 + 7),
        window: 0,
    };
    assert_eq!(h.input(rst, &[]), InputAction::None);
    assert_eq!(h.sock.state(), TcpState::SynSent);
    h.out_none();
}

#[test]
fn syn_sent_rst_with_acceptable_ack_refuses() {
    let mut h = Harness::new(plain_config());
    h.connect();
    let rst = In {
        control: Control::Rst,
        seq: 0,
        ack: Some(ISS.0 + 1),
        window: 0,
    };
    h.input(rst, &[]);
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.sock.error, Some(TcpError::Refused));
    h.out_none();
}

#[test]
#[cfg(all(
    feature = "tcp-sack",
    feature = "tcp-timestamps",
    feature = "tcp-window-scaling"
))]
fn passive_open_mirrors_the_offered_options() {
    let mut h = Harness::new(TcpConfig::default());
    h.open(ISS);
    let syn = Repr {
        control: Control::Syn,
        seq_number: IRS,
        window_len: 64240,
        max_seg_size: Some(1400),
        window_scale: Some(7),
        sack_permitted: true,
        timestamp: Some(Timestamp {
            tsval: 777,
            tsecr: 0,
        }),
        ..h.repr()
    };
    h.sock.accept_syn(&syn, &h.config.clone(), 0);
    let sa = h.out_one();
    assert_eq!(sa.control, Control::Syn);
    assert_eq!(sa.seq, ISS);
    assert_eq!(sa.ack, Some(IRS + 1));
    assert_eq!(sa.window_scale, Some(0));
    assert!(sa.sack_permitted);
    assert_eq!(sa.timestamp.map(|t| t.tsecr), Some(777));
    assert_eq!(h.sock.state(), TcpState::SynReceived);
    // The third ACK establishes; the peer's window is scaled by its shift from now on.
    let mut ack = h.repr();
    ack.seq_number = IRS + 1;
    ack.ack_number = Some(ISS + 1);
    ack.window_len = 100;
    ack.timestamp = Some(Timestamp {
        tsval: 778,
        tsecr: sa.timestamp.map_or(0, |t| t.tsval),
    });
    h.input_repr(&ack);
    assert_eq!(h.sock.state(), TcpState::Established);
    assert_eq!(h.sock.snd_wnd, 100 << 7);
    // MSS: the peer's 1400 minus the 12 bytes of timestamps.
    assert_eq!(h.sock.snd_mss, 1388);
    h.out_none();
}

#[test]
fn passive_open_without_offered_options_uses_none() {
    let mut h = Harness::new(TcpConfig::default());
    h.open(ISS);
    let syn = Repr {
        control: Control::Syn,
        seq_number: IRS,
        ..h.repr()
    };
    h.sock.accept_syn(&syn, &h.config.clone(), 0);
    let sa = h.out_one();
    assert_eq!(sa.window_scale, None);
    assert!(!sa.sack_permitted);
    assert_eq!(sa.timestamp, None);
    // No MSS option: 536 (RFC 9293 §3.7.1).
    assert_eq!(h.sock.snd_mss, 536);
}

#[test]
fn syn_received_resends_the_syn_ack_for_a_retransmitted_syn_and_rst_on_bad_ack() {
    let mut h = Harness::new(plain_config());
    h.open(ISS);
    let syn = Repr {
        control: Control::Syn,
        seq_number: IRS,
        ..h.repr()
    };
    h.sock.accept_syn(&syn, &h.config.clone(), 0);
    h.out_one();
    h.input_repr(&syn);
    let again = h.out_one();
    assert_eq!((again.control, again.seq), (Control::Syn, ISS));
    // An ACK for something we never sent: RST.
    let bad = In {
        seq: IRS.0 + 1,
        ack: Some(ISS.0 + 50),
        window: 1000,
        ..In::default()
    };
    assert_eq!(h.input(bad, &[]), InputAction::SendReset);
    assert_eq!(h.sock.state(), TcpState::SynReceived);
}

#[test]
fn simultaneous_open() {
    let mut h = Harness::new(plain_config());
    h.connect();
    // The peer's SYN crosses ours.
    h.input(
        In {
            control: Control::Syn,
            seq: IRS.0,
            ack: None,
            window: 8000,
        },
        &[],
    );
    assert_eq!(h.sock.state(), TcpState::SynReceived);
    let sa = h.out_one();
    assert_eq!(
        (sa.control, sa.seq, sa.ack),
        (Control::Syn, ISS, Some(IRS + 1))
    );
    // Its SYN-ACK arrives.
    h.input(
        In {
            control: Control::Syn,
            seq: IRS.0,
            ack: Some(ISS.0 + 1),
            window: 8000,
        },
        &[],
    );
    assert_eq!(h.sock.state(), TcpState::Established);
    let ack = h.out_one();
    assert_eq!(
        (ack.control, ack.seq, ack.ack),
        (Control::None, ISS + 1, Some(IRS + 1))
    );
}

#[test]
fn syn_is_retransmitted_with_backoff_then_the_open_times_out() {
    let mut h = Harness::new(plain_config());
    h.connect();
    // Initial RTO 1 s, then 2 s, 4 s, ...
    h.advance(999);
    h.out_none();
    h.advance(1);
    let s1 = h.out_one();
    assert_eq!((s1.control, s1.seq), (Control::Syn, ISS));
    h.advance(1999);
    h.out_none();
    h.advance(1);
    assert_eq!(h.out_one().control, Control::Syn);
    for _ in 0..4 {
        h.advance(60_000);
        h.out();
    }
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.sock.error, Some(TcpError::TimedOut));
    assert_eq!(h.stats.tcp_timeouts, 1);
}

// ---------------------------------------------------------------------------- receive

#[test]
fn one_full_segment_is_acknowledged_after_the_delay_two_at_once() {
    let mut h = Harness::new(plain_config());
    h.established();
    let data = pattern(2 * MSS);
    let seg = |off: usize| In {
        seq: (IRS + 1 + off).0,
        ack: Some(ISS.0 + 1),
        window: 65535,
        ..In::default()
    };
    h.input(seg(0), &data[..MSS]);
    h.out_none();
    h.advance(199);
    h.out_none();
    h.advance(1);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 1 + MSS));
    // Two full segments: the second is acknowledged at once.
    h.input(seg(MSS), &data[MSS..]);
    h.out_none();
    let more = pattern(2 * MSS);
    h.input(seg(2 * MSS), &more[..MSS]);
    h.input(seg(3 * MSS), &more[MSS..]);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 1 + 4 * MSS));
    let mut all = data.clone();
    all.extend_from_slice(&more);
    assert_eq!(h.read_all(), all);
}

#[test]
#[cfg(feature = "tcp-sack")]
fn out_of_order_data_is_acknowledged_at_once_with_sack_and_the_hole_fill_too() {
    let mut h = Harness::new(TcpConfig {
        sack: true,
        ..plain_config()
    });
    h.open(ISS);
    h.sock.connect();
    h.out_one();
    h.input_repr(&Repr {
        control: Control::Syn,
        seq_number: IRS,
        ack_number: Some(ISS + 1),
        sack_permitted: true,
        max_seg_size: Some(MSS as u16),
        ..h.repr()
    });
    h.out_one();
    let data = pattern(3 * 100);
    let seg = |off: usize| In {
        seq: (IRS + 1 + off).0,
        ack: Some(ISS.0 + 1),
        window: 65535,
        ..In::default()
    };
    h.input(seg(200), &data[200..]);
    let dup = h.out_one();
    assert_eq!(dup.ack, Some(IRS + 1));
    assert_eq!(dup.sack, vec![(IRS + 201, IRS + 301)]);
    h.input(seg(100), &data[100..200]);
    let dup = h.out_one();
    assert_eq!(dup.sack, vec![(IRS + 101, IRS + 301)]);
    h.input(seg(0), &data[..100]);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 301));
    assert!(ack.sack.is_empty());
    assert_eq!(h.read_all(), data);
}

#[test]
fn data_beyond_the_window_is_trimmed_and_outside_it_dropped() {
    let mut h = Harness::new(TcpConfig {
        recv_buffers: 3,
        ..plain_config()
    });
    h.established();
    // Window: (3 − 1) × 1460 = 2920.
    let wnd = 2 * MSS;
    let data = pattern(wnd + 500);
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
            ..In::default()
        },
        &data,
    );
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 1 + wnd), "only the window was taken");
    assert_eq!(ack.window, 0);
    // Entirely outside the (now zero) window: dropped, answered with an ACK.
    h.input(
        In {
            seq: (IRS + 1 + wnd).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
            ..In::default()
        },
        &data[..10],
    );
    let ack = h.out_one();
    assert_eq!((ack.ack, ack.window), (Some(IRS + 1 + wnd), 0));
    assert_eq!(h.stats.tcp_out_of_window, 1);
    // The application reads: the window opens and is announced at once.
    assert_eq!(h.read_all(), data[..wnd]);
    let update = h.out_one();
    assert_eq!(usize::from(update.window), wnd);
}

#[test]
fn old_duplicate_data_is_acknowledged_again() {
    let mut h = Harness::new(plain_config());
    h.established();
    let seg = In {
        seq: (IRS + 1).0,
        ack: Some(ISS.0 + 1),
        window: 65535,
        ..In::default()
    };
    h.input(seg, b"hello");
    h.advance(200);
    h.out_one();
    h.input(seg, b"hello");
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 6));
    assert_eq!(h.stats.tcp_out_of_window, 1);
}

// -------------------------------------------------------------------- RFC 5961 checks

#[test]
fn rst_exactly_at_rcv_nxt_resets_in_window_gets_a_challenge_outside_is_dropped() {
    let mut h = Harness::new(plain_config());
    h.established();
    let rst = |seq: u32| In {
        control: Control::Rst,
        seq,
        ack: None,
        window: 0,
    };
    // Outside the window: silently dropped.
    h.input(rst(IRS.0 + 1 + 100_000), &[]);
    h.out_none();
    assert_eq!(h.sock.state(), TcpState::Established);
    // In the window but not at RCV.NXT: challenge ACK.
    h.input(rst(IRS.0 + 10), &[]);
    let ch = h.out_one();
    assert_eq!(
        (ch.control, ch.seq, ch.ack),
        (Control::None, ISS + 1, Some(IRS + 1))
    );
    assert_eq!(h.sock.state(), TcpState::Established);
    assert_eq!(h.stats.tcp_challenge_acks, 1);
    // Exactly at RCV.NXT: reset.
    h.input(rst(IRS.0 + 1), &[]);
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.sock.error, Some(TcpError::Reset));
    h.out_none();
}

#[test]
fn syn_in_established_gets_a_challenge_ack_and_challenges_are_rate_limited() {
    let mut h = Harness::new(plain_config());
    h.established();
    let syn = In {
        control: Control::Syn,
        seq: IRS.0 + 1,
        ack: None,
        window: 1000,
    };
    for _ in 0..10 {
        h.input(syn, &[]);
        let ch = h.out_one();
        assert_eq!((ch.control, ch.ack), (Control::None, Some(IRS + 1)));
    }
    h.input(syn, &[]);
    h.out_none();
    assert_eq!(h.stats.tcp_challenge_ack_limited, 1);
    assert_eq!(h.sock.state(), TcpState::Established);
    h.advance(1000);
    h.input(syn, &[]);
    h.out_one();
}

#[test]
fn ack_of_unsent_data_gets_a_challenge_and_is_dropped() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 5000),
            window: 1000,
            ..In::default()
        },
        b"data",
    );
    let ch = h.out_one();
    assert_eq!(
        ch.ack,
        Some(IRS + 1),
        "the data was dropped with the segment"
    );
    assert_eq!(h.stats.tcp_ack_invalid, 1);
}

// ------------------------------------------------------------------------------- send

#[test]
fn data_is_sent_in_mss_segments_within_the_peer_window() {
    let mut h = Harness::new(plain_config());
    h.established();
    // Peer window 3000 bytes (ACK moves it).
    h.ack(0, ISS + 1, 3000);
    let data = pattern(5000);
    assert_eq!(h.write(&data), 5000);
    let segs = h.out();
    assert_eq!(segs.len(), 2);
    assert_eq!((segs[0].seq, segs[0].data.len()), (ISS + 1, MSS));
    assert_eq!((segs[1].seq, segs[1].data.len()), (ISS + 1 + MSS, MSS));
    // 3000 − 2920 = 80 bytes left in the window: sender SWS avoidance holds them.
    h.out_none();
    h.ack(0, ISS + 1 + 2 * MSS, 3000);
    let segs = h.out();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].data, data[2 * MSS..3 * MSS]);
    assert_eq!(segs[1].data.len(), 5000 - 3 * MSS);
}

#[test]
fn nagle_holds_small_segments_while_data_is_unacknowledged() {
    let mut h = Harness::new(TcpConfig {
        no_delay: false,
        ..plain_config()
    });
    h.established();
    h.write(b"first");
    assert_eq!(h.out_one().data, b"first");
    h.write(b"second");
    h.out_none();
    h.ack(0, ISS + 6, 65535);
    let s = h.out_one();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 6, &b"second"[..]));
    // With no-delay, small segments go at once.
    h.sock.set_no_delay(true);
    h.write(b"x");
    h.out_one();
    h.write(b"y");
    h.out_one();
}

#[test]
fn retransmission_timeout_backs_off_and_karn_ignores_the_retransmission() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.write(b"hello");
    let first = h.out_one();
    assert_eq!(first.seq, ISS + 1);
    // No sample yet: RTO 1 s, then doubled each time.
    let mut rto = 1000;
    for _ in 0..3 {
        h.advance(rto - 1);
        h.out_none();
        h.advance(1);
        let again = h.out_one();
        assert_eq!((again.seq, again.data.as_slice()), (ISS + 1, &b"hello"[..]));
        rto *= 2;
    }
    assert_eq!(h.stats.tcp_rto_expired, 3);
    // The ACK of a retransmitted segment gives no RTT sample (Karn).
    h.advance(10);
    h.ack(0, ISS + 6, 65535);
    assert_eq!(h.sock.rtt.srtt(), None);
    h.out_none();
}

#[test]
fn rtt_is_measured_and_drives_the_rto() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.write(b"a");
    h.out_one();
    h.advance(50);
    h.ack(0, ISS + 2, 65535);
    assert_eq!(h.sock.rtt.srtt(), Some(Duration::from_millis(50)));
    // RTO = 50 + 4 × 25 = 150 ms, raised to the 200 ms minimum.
    h.write(b"b");
    h.out_one();
    h.advance(199);
    h.out_none();
    h.advance(1);
    assert_eq!(h.out_one().data, b"b");
}

#[test]
fn connection_is_aborted_after_too_many_retransmissions() {
    let mut h = Harness::new(TcpConfig {
        max_retransmits: 2,
        ..plain_config()
    });
    h.established();
    h.write(b"x");
    h.out_one();
    for _ in 0..3 {
        h.advance(60_000);
        h.out();
    }
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.sock.error, Some(TcpError::TimedOut));
}

#[test]
fn three_duplicate_acks_trigger_fast_retransmit() {
    let mut h = Harness::new(plain_config());
    h.established();
    let data = pattern(5 * MSS);
    h.write(&data);
    assert_eq!(h.out().len(), 5);
    h.ack(0, ISS + 1 + MSS, 65535);
    h.out_none();
    for _ in 0..2 {
        h.ack(0, ISS + 1 + MSS, 65535);
        h.out_none();
    }
    h.ack(0, ISS + 1 + MSS, 65535);
    let r = h.out_one();
    assert_eq!((r.seq, r.data.len()), (ISS + 1 + MSS, MSS));
    assert_eq!(r.data, data[MSS..2 * MSS]);
    assert_eq!(h.stats.tcp_fast_retransmits, 1);
}

#[test]
#[cfg(feature = "tcp-sack")]
fn sack_recovery_retransmits_only_the_missing_segment() {
    let mut h = Harness::new(TcpConfig {
        sack: true,
        ..plain_config()
    });
    h.open(ISS);
    h.sock.connect();
    h.out_one();
    h.input_repr(&Repr {
        control: Control::Syn,
        seq_number: IRS,
        ack_number: Some(ISS + 1),
        sack_permitted: true,
        max_seg_size: Some(MSS as u16),
        ..h.repr()
    });
    h.out_one();
    let data = pattern(6 * MSS);
    h.write(&data);
    assert_eq!(h.out().len(), 6);
    // Segment 2 (index 1) is lost; 3, 4, 5 arrive and are SACKed.
    let una = ISS + 1 + MSS;
    for k in 2..5 {
        let mut r = h.repr();
        r.seq_number = IRS + 1;
        r.ack_number = Some(una);
        r.sack_ranges = SackRanges::from_slice(&[(ISS + 1 + 2 * MSS, ISS + 1 + (k + 1) * MSS)]);
        h.input_repr(&r);
    }
    let segs = h.out();
    assert!(!segs.is_empty());
    assert_eq!((segs[0].seq, segs[0].data.len()), (una, MSS));
    // Nothing SACKed is sent again.
    for s in &segs {
        assert!(
            s.seq < ISS + 1 + 2 * MSS || s.seq >= ISS + 1 + 5 * MSS,
            "SACKed data resent: {s:?}"
        );
    }
}

#[test]
fn zero_window_stops_sending_and_the_persist_timer_probes() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.ack(0, ISS + 1, 0);
    h.write(b"blocked");
    h.out_none();
    // Probe after one RTO (1 s): an old sequence number the peer must acknowledge.
    h.advance(1000);
    let probe = h.out_one();
    assert_eq!((probe.seq, probe.data.len()), (ISS, 0));
    assert_eq!(h.stats.tcp_window_probes, 1);
    // Backoff: the next probe 2 s later.
    h.advance(1999);
    h.out_none();
    h.advance(1);
    h.out_one();
    // The window opens: the data goes.
    h.ack(0, ISS + 1, 1000);
    let s = h.out_one();
    assert_eq!(s.data, b"blocked");
}

#[test]
fn zero_window_of_ours_accepts_only_a_probe_at_rcv_nxt() {
    let mut h = Harness::new(TcpConfig {
        recv_buffers: 2,
        ..plain_config()
    });
    h.established();
    let data = pattern(MSS);
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 1000,
            ..In::default()
        },
        &data,
    );
    h.advance(200);
    let ack = h.out_one();
    assert_eq!(ack.window, 0);
    // A probe with one new byte is not acceptable: ACK with the zero window again.
    h.input(
        In {
            seq: (IRS + 1 + MSS).0,
            ack: Some(ISS.0 + 1),
            window: 1000,
            ..In::default()
        },
        b"z",
    );
    let ack = h.out_one();
    assert_eq!((ack.ack, ack.window), (Some(IRS + 1 + MSS), 0));
}

// ----------------------------------------------------------------------------- close

#[test]
fn active_close_through_fin_wait_and_time_wait() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.write(b"bye");
    h.sock
        .close(&mut Segments::new(&mut h.pool, &mut h.packets));
    assert_eq!(h.sock.state(), TcpState::FinWait1);
    let fin = h.out_one();
    assert_eq!(
        (fin.control, fin.seq, fin.data.as_slice()),
        (Control::Fin, ISS + 1, &b"bye"[..])
    );
    h.ack(0, ISS + 5, 65535);
    assert_eq!(h.sock.state(), TcpState::FinWait2);
    h.out_none();
    // Half-close: data still arrives in FIN-WAIT-2.
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 5),
            window: 65535,
            ..In::default()
        },
        b"late",
    );
    h.input(
        In {
            control: Control::Fin,
            seq: (IRS + 5).0,
            ack: Some(ISS.0 + 5),
            window: 65535,
        },
        &[],
    );
    assert_eq!(h.sock.state(), TcpState::TimeWait);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 6));
    assert_eq!(h.read_all(), b"late");
    // A retransmitted FIN is acknowledged again and restarts the 2·MSL timer.
    h.advance(30_000);
    h.input(
        In {
            control: Control::Fin,
            seq: (IRS + 5).0,
            ack: Some(ISS.0 + 5),
            window: 65535,
        },
        &[],
    );
    assert_eq!(h.out_one().ack, Some(IRS + 6));
    h.advance(59_999);
    h.out_none();
    assert_eq!(h.sock.state(), TcpState::TimeWait);
    h.advance(1);
    h.out_none();
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.pool.stats().in_use, 0);
}

#[test]
fn passive_close_through_close_wait_and_last_ack() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.input(
        In {
            control: Control::Fin,
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
        },
        &[],
    );
    assert_eq!(h.sock.state(), TcpState::CloseWait);
    assert_eq!(h.out_one().ack, Some(IRS + 2));
    assert!(h.sock.at_eof());
    // We may still send, then close.
    h.write(b"last words");
    h.sock
        .close(&mut Segments::new(&mut h.pool, &mut h.packets));
    assert_eq!(h.sock.state(), TcpState::LastAck);
    let fin = h.out_one();
    assert_eq!(
        (fin.control, fin.data.as_slice()),
        (Control::Fin, &b"last words"[..])
    );
    h.sock.owned = false;
    h.ack(1, ISS + 12, 65535);
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert!(h.sock.is_free());
}

#[test]
fn simultaneous_close_through_closing() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.sock
        .close(&mut Segments::new(&mut h.pool, &mut h.packets));
    let fin = h.out_one();
    assert_eq!((fin.control, fin.seq), (Control::Fin, ISS + 1));
    // The peer's FIN crosses ours (it has not seen ours yet).
    h.input(
        In {
            control: Control::Fin,
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
        },
        &[],
    );
    assert_eq!(h.sock.state(), TcpState::Closing);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(IRS + 2));
    h.ack(1, ISS + 2, 65535);
    assert_eq!(h.sock.state(), TcpState::TimeWait);
}

#[test]
fn fin_is_retransmitted_on_timeout() {
    let mut h = Harness::new(plain_config());
    h.established();
    h.sock
        .close(&mut Segments::new(&mut h.pool, &mut h.packets));
    h.out_one();
    h.advance(1000);
    let again = h.out_one();
    assert_eq!((again.control, again.seq), (Control::Fin, ISS + 1));
}

// --------------------------------------------------------------------- wrap-around

#[test]
fn sequence_numbers_wrap_around() {
    let iss = SeqNumber(u32::MAX - 100);
    let irs = SeqNumber(u32::MAX - 10);
    let mut h = Harness::new(plain_config());
    h.open(iss);
    h.sock.connect();
    h.out_one();
    h.input_repr(&Repr {
        control: Control::Syn,
        seq_number: irs,
        ack_number: Some(iss + 1),
        max_seg_size: Some(MSS as u16),
        ..h.repr()
    });
    h.out_one();
    // Both directions cross 2^32.
    let data = pattern(3 * MSS);
    h.write(&data);
    let segs = h.out();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[1].seq, iss + 1 + MSS);
    assert!(segs[1].seq.0 < 10_000, "wrapped");
    h.ack(0, iss + 1 + 3 * MSS, 65535);
    assert_eq!(h.sock.sendq.len(), 0);
    let incoming = pattern(2 * MSS);
    let mut r = h.repr();
    r.seq_number = irs + 1;
    r.ack_number = Some(iss + 1 + 3 * MSS);
    r.payload = &incoming[..MSS];
    h.input_repr(&r);
    r.seq_number = irs + 1 + MSS;
    r.payload = &incoming[MSS..];
    h.input_repr(&r);
    let ack = h.out_one();
    assert_eq!(ack.ack, Some(irs + 1 + 2 * MSS));
    assert_eq!(h.read_all(), incoming);
}

// ------------------------------------------------------------------------- keepalive

#[test]
fn keepalive_probes_then_declares_the_connection_dead() {
    let mut h = Harness::new(TcpConfig {
        keepalive: Some(Keepalive {
            idle: Duration::from_secs(10),
            interval: Duration::from_secs(2),
            count: 2,
        }),
        ..plain_config()
    });
    h.established();
    h.advance(10_000);
    let probe = h.out_one();
    assert_eq!((probe.seq, probe.data.len()), (ISS, 0));
    // Answered: the idle period restarts.
    h.ack(0, ISS + 1, 65535);
    h.advance(9_999);
    h.out_none();
    h.advance(1);
    h.out_one();
    h.advance(2_000);
    h.out_one();
    h.advance(2_000);
    h.out();
    assert_eq!(h.sock.state(), TcpState::Closed);
    assert_eq!(h.sock.error, Some(TcpError::TimedOut));
    assert_eq!(h.stats.tcp_keepalive_timeouts, 1);
}

// ------------------------------------------------------------- silly-window avoidance

#[test]
fn receiver_announces_a_reopened_window_only_when_it_is_worth_it() {
    let mut h = Harness::new(TcpConfig {
        recv_buffers: 3,
        ..plain_config()
    });
    h.established();
    // Fill the 2,920-byte window.
    let data = pattern(2 * MSS);
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
            ..In::default()
        },
        &data,
    );
    assert_eq!(h.out_one().window, 0);
    // Reading 100 bytes opens 100 bytes: not announced (RFC 1122 §4.2.3.3).
    let mut small = [0u8; 100];
    assert_eq!(
        h.sock
            .recv(&mut Segments::new(&mut h.pool, &mut h.packets), &mut small),
        100
    );
    h.out_none();
    // Reading the rest opens a full segment and more: announced at once.
    h.read_all();
    let update = h.out_one();
    assert_eq!(usize::from(update.window), 2 * MSS);
}

#[test]
fn ack_of_a_segment_beyond_a_closed_window_is_still_processed() {
    let mut h = Harness::new(TcpConfig {
        recv_buffers: 2,
        ..plain_config()
    });
    h.established();
    h.write(b"request");
    h.out_one();
    // The peer filled our 1,460-byte window; we advertise 0.
    let data = pattern(MSS);
    h.input(
        In {
            seq: (IRS + 1).0,
            ack: Some(ISS.0 + 1),
            window: 65535,
            ..In::default()
        },
        &data,
    );
    h.advance(200);
    assert_eq!(h.out_one().window, 0);
    // Its next segment lies beyond the closed window, but acknowledges our data: the ACK is
    // taken (RFC 9293 §3.10.7.4), the data dropped, and an ACK sent.
    h.input(
        In {
            seq: (IRS + 1 + MSS).0,
            ack: Some(ISS.0 + 8),
            window: 65535,
            ..In::default()
        },
        b"more",
    );
    assert_eq!(h.sock.snd_una, ISS + 8);
    assert_eq!(h.sock.sendq.len(), 0);
    let ack = h.out_one();
    assert_eq!((ack.ack, ack.window), (Some(IRS + 1 + MSS), 0));
}

#[test]
fn limited_transmit_sends_new_data_on_the_first_two_duplicates() {
    let mut h = Harness::new(TcpConfig {
        congestion: CongestionConfig {
            initial_window: Some(2 * MSS),
            abc_limit: 2,
        },
        ..plain_config()
    });
    h.established();
    let data = pattern(6 * MSS);
    h.write(&data);
    // cwnd = 2 segments.
    assert_eq!(h.out().len(), 2);
    h.out_none();
    // First and second duplicate ACKs: one new segment each (RFC 3042).
    h.ack(0, ISS + 1, 65535);
    let s = h.out_one();
    assert_eq!(s.seq, ISS + 1 + 2 * MSS);
    h.ack(0, ISS + 1, 65535);
    let s = h.out_one();
    assert_eq!(s.seq, ISS + 1 + 3 * MSS);
    // The third: fast retransmit of SND.UNA.
    h.ack(0, ISS + 1, 65535);
    let r = h.out();
    assert_eq!(r[0].seq, ISS + 1);
}

/// A free slot must be all zero bytes, so that the generated `[TcpSlot::EMPTY; N]` static is
/// zero-initialised memory (`.bss`) rather than a flash image copied at start-up (or, built at
/// run time, a frame of the slot table's size on the call stack). Without `unsafe` the bytes
/// cannot be read, so this checks the two things that make them zero: every field of `EMPTY`
/// is a zero value (its `Debug` rendering shows no non-zero digit, no `true`, no `Some`: a
/// new default stored in `EMPTY` fails here), and every enum whose `Option` niche sits in the
/// slot (`Option<TcpError>`, `Option<SegmentBuf>` through `QueueKind`) has its discriminants
/// start at 1, so that rustc stores `None` as zero. The linked firmware's `TCP_SLOTS` being in
/// `.bss` (stackgen build's pool table) checks the bytes themselves.
#[test]
fn empty_slot_is_all_zero_values() {
    use crate::tcp::segment_pool::QueueKind;
    let rendered = std::format!("{:?}", TcpSlot::EMPTY);
    let nonzero = rendered
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .find(|t| {
            t.starts_with(|c: char| c.is_ascii_digit()) && !t.trim_start_matches('0').is_empty()
        });
    assert_eq!(
        nonzero, None,
        "non-zero number in TcpSlot::EMPTY: {rendered}"
    );
    assert!(!rendered.contains("true"), "{rendered}");
    assert!(!rendered.contains("Some"), "{rendered}");
    assert_eq!(TcpState::Closed as u8, 0);
    assert_eq!(TcpError::InvalidHandle as u8, 1);
    assert_eq!(QueueKind::Send as u8, 1);
    assert_eq!(QueueKind::Recv as u8, 2);
    // The listener and quota tables are zero too.
    assert_eq!(
        std::format!("{:?}", crate::TcpListenerSlot::EMPTY),
        "TcpListenerSlot { port: 0 }"
    );
    assert_eq!(SocketQuota::new(0, 0, 0), SocketQuota::default());
}

#[test]
fn print_layout_sizes() {
    std::println!(
        "TcpSlot {} align {}; SegmentBuf {}; Option<SegmentBuf> {}; listener {}; quota {}",
        core::mem::size_of::<TcpSlot>(),
        core::mem::align_of::<TcpSlot>(),
        core::mem::size_of::<crate::tcp::segment_pool::SegmentBuf>(),
        core::mem::size_of::<Option<crate::tcp::segment_pool::SegmentBuf>>(),
        core::mem::size_of::<crate::TcpListenerSlot>(),
        core::mem::size_of::<SocketQuota>(),
    );
}

#[test]
fn a_pure_ack_after_a_timeout_carries_the_highest_sequence_sent() {
    // After a retransmission timeout `snd_nxt` is rewound to SND.UNA; an ACK sent from there
    // would lie before the peer's RCV.NXT (the peer may hold everything we sent) and be dropped
    // unread. A pure ACK must carry the highest sequence number sent.
    let mut h = Harness::new(plain_config());
    h.established();
    let data = pattern(3 * MSS);
    assert_eq!(h.write(&data), 3 * MSS);
    let sent = h.out();
    assert_eq!(sent.len(), 3, "{sent:?}");
    h.advance(1000);
    let again = h.out_one();
    assert_eq!(
        again.seq,
        ISS + 1,
        "the timeout retransmits the first segment"
    );
    // The peer's old data arrives again: answered at once, with a pure ACK.
    let old = In {
        seq: (IRS + 1).0,
        ack: Some((ISS + 1).0),
        window: 65535,
        ..In::default()
    };
    h.input(old, b"hello");
    h.advance(200);
    h.out();
    h.input(old, b"hello");
    let ack = h.out_one();
    assert!(ack.data.is_empty(), "{ack:?}");
    assert_eq!(ack.ack, Some(IRS + 6));
    assert_eq!(
        ack.seq,
        ISS + 1 + 3 * MSS,
        "SND.MAX, not the rewound snd_nxt"
    );
}

#[test]
fn rfc1122_4_2_3_4_override_timeout_sends_what_fits_a_small_window() {
    // The peer offers a small non-zero window (its update that would open it further may be
    // lost): sender SWS avoidance holds the data, but only until the override timeout
    // (RFC 1122 §4.2.3.4, 0.1–1 s; here one RTO, 1 s); then what fits goes out.
    let mut h = Harness::new(TcpConfig {
        no_delay: false,
        ..plain_config()
    });
    h.established();
    h.ack(0, ISS + 1, 100);
    let data = pattern(1000);
    assert_eq!(h.write(&data), 1000);
    // No tinygram at once, nor before the timeout.
    h.out_none();
    h.advance(999);
    h.out_none();
    h.advance(1);
    let s = h.out_one();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 1, &data[..100]));
    assert_eq!(h.stats.tcp_window_probes, 0);
    h.out_none();
    // Acknowledged with the same small window: held again, for a whole new timeout (one RTO,
    // 200 ms now that the ACK gave an RTT sample, within RFC 1122's 0.1–1 s).
    h.advance(50);
    h.ack(0, ISS + 101, 100);
    h.out_none();
    let timeout = h.sock.rtt.rto().total_millis();
    assert_eq!(timeout, 200);
    h.advance(timeout - 1);
    h.out_none();
    h.advance(1);
    let s = h.out_one();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 101, &data[100..200]));
    // The window opens: the rest goes at once and no override timer is left behind.
    h.ack(0, ISS + 201, 65535);
    let s = h.out_one();
    assert_eq!((s.seq, s.data.as_slice()), (ISS + 201, &data[200..]));
    h.ack(0, ISS + 1001, 65535);
    h.out_none();
    assert_eq!(h.sock.next_deadline(), None);
}

#[test]
fn the_slot_does_not_grow_with_the_window() {
    use core::mem::size_of;
    // The queues are chains through their packet buffers: a few cursors each, whatever the
    // send buffer and window (the old fixed arrays took 284 bytes on x86_64).
    assert_eq!(size_of::<SendQueue>(), 20);
    assert_eq!(size_of::<RecvQueue>(), 16);
    assert_eq!(size_of::<RttEstimator>(), 28);
    // Without feature `tcp-sack` the SACK state takes no byte.
    let sack_state = size_of::<SackReporter>()
        + size_of::<Scoreboard<SCOREBOARD_RANGES>>()
        + size_of::<RecoveryMarks>();
    assert_eq!(sack_state == 0, !SACK);
    // The whole slot (x86_64; 32-bit targets are checked against stackgen's LAYOUTS_32 by
    // every generated stack).
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size_of::<TcpSlot>(), if SACK { 592 } else { 440 });
}
