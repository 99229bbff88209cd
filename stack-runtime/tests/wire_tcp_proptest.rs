//! Property tests for the TCP wire format: every `Repr` round-trips through
//! `emit` and `parse`, sequence-number arithmetic behaves on the whole
//! circle, and no input, however hostile, makes the view, the option parser
//! or `Repr::parse` panic.

use core::cmp::Ordering;
use core::net::Ipv4Addr;

use proptest::collection::vec;
use proptest::prelude::*;
use stack_runtime::wire::tcp::{
    self, Control, Flags, OptionIter, SackRanges, TcpOption, Timestamp,
};
use stack_runtime::wire::{Error, TcpPacket, TcpRepr, TcpSeqNumber};

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from_bits)
}

fn seq() -> impl Strategy<Value = TcpSeqNumber> {
    any::<u32>().prop_map(TcpSeqNumber)
}

fn control() -> impl Strategy<Value = Control> {
    prop_oneof![
        Just(Control::None),
        Just(Control::Syn),
        Just(Control::Fin),
        Just(Control::Rst),
    ]
}

fn sack_ranges() -> impl Strategy<Value = SackRanges> {
    vec((seq(), seq()), 0..=tcp::MAX_SACK_BLOCKS).prop_map(|b| SackRanges::from_slice(&b))
}

fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    proptest::option::of(
        (any::<u32>(), any::<u32>()).prop_map(|(tsval, tsecr)| Timestamp { tsval, tsecr }),
    )
}

/// The parts of a `Repr` except the payload (which it borrows).
#[derive(Debug, Clone)]
struct Parts {
    src_port: u16,
    dst_port: u16,
    control: Control,
    flags: (bool, bool, bool),
    seq_number: TcpSeqNumber,
    ack_number: Option<TcpSeqNumber>,
    window_len: u16,
    window_scale: Option<u8>,
    max_seg_size: Option<u16>,
    sack_permitted: bool,
    sack_ranges: SackRanges,
    timestamp: Option<Timestamp>,
    urgent_at: Option<u16>,
}

impl Parts {
    fn repr<'a>(&self, payload: &'a [u8]) -> TcpRepr<'a> {
        TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            control: self.control,
            push: self.flags.0,
            ece: self.flags.1,
            cwr: self.flags.2,
            seq_number: self.seq_number,
            ack_number: self.ack_number,
            window_len: self.window_len,
            window_scale: self.window_scale,
            max_seg_size: self.max_seg_size,
            sack_permitted: self.sack_permitted,
            sack_ranges: self.sack_ranges,
            timestamp: self.timestamp,
            urgent_at: self.urgent_at,
            payload,
        }
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (1u16.., 1u16.., control(), any::<(bool, bool, bool)>()),
        (seq(), proptest::option::of(seq()), any::<u16>()),
        (
            proptest::option::of(0u8..=tcp::MAX_WINDOW_SHIFT),
            proptest::option::of(any::<u16>()),
            any::<bool>(),
            sack_ranges(),
            timestamp(),
            proptest::option::of(any::<u16>()),
        ),
    )
        .prop_map(
            |(
                (src_port, dst_port, control, flags),
                (seq_number, ack_number, window_len),
                (window_scale, max_seg_size, sack_permitted, sack_ranges, timestamp, urgent_at),
            )| Parts {
                src_port,
                dst_port,
                control,
                flags,
                seq_number,
                ack_number,
                window_len,
                window_scale,
                max_seg_size,
                sack_permitted,
                sack_ranges,
                timestamp,
                urgent_at,
            },
        )
}

/// Touch every accessor of a segment and parse it every way. Must never
/// panic, checked or not.
fn parse_everything(bytes: &[u8], src: Ipv4Addr, dst: Ipv4Addr) {
    for verify in [true, false] {
        let _ = TcpRepr::parse(&TcpPacket::new_unchecked(bytes), src, dst, verify);
    }
    let u = TcpPacket::new_unchecked(bytes);
    let _ = (
        u.header_len(),
        u.options(),
        u.payload(),
        u.verify_checksum(src, dst),
    );
    let _ = u.iter_options().count();
    check_options(u.options());
    let Ok(p) = TcpPacket::new_checked(bytes) else {
        return;
    };
    let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number());
    let _ = (p.header_len(), p.flags(), p.window_len(), p.checksum());
    let _ = (p.urgent_at(), p.options(), p.payload(), p.segment_len());
    let _ = (
        p.fin(),
        p.syn(),
        p.rst(),
        p.psh(),
        p.ack(),
        p.urg(),
        p.ece(),
        p.cwr(),
    );
    let _ = p.flags().to_string();
    let _ = p.verify_checksum(src, dst);
    let _ = p.verify_checksum_with_payload_sum(src, dst, 0x1234);
    let payload_len = p.payload().len();
    for verify in [true, false] {
        if let Ok(r) = TcpRepr::parse(&p, src, dst, verify) {
            assert_eq!(r.payload.len(), payload_len);
            assert!(r.window_scale.is_none_or(|s| s <= tcp::MAX_WINDOW_SHIFT));
            let _ = (
                r.to_string(),
                r.header_len(),
                r.buffer_len(),
                r.segment_len(),
            );
            let _ = r.emitted_sack_blocks();
            // Whatever was accepted can be emitted again.
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
            assert!(
                TcpRepr::parse(&TcpPacket::new_checked(&out[..]).unwrap(), src, dst, true).is_ok()
            );
        }
    }
}

/// The option iterator's contract on any bytes: at most one error, last;
/// never more items than bytes; nothing after End of Option List.
fn check_options(bytes: &[u8]) {
    let items: Vec<_> = OptionIter::new(bytes).collect();
    assert!(items.len() <= bytes.len());
    if let Some(i) = items.iter().position(|o| o.is_err()) {
        assert_eq!(i, items.len() - 1);
        assert_eq!(items[i], Err(Error::Malformed));
    }
    if let Some(i) = items.iter().position(|o| *o == Ok(TcpOption::EndOfList)) {
        assert_eq!(i, items.len() - 1);
    }
    for o in items.into_iter().flatten() {
        if let TcpOption::WindowScale(s) = o {
            assert!(s <= tcp::MAX_WINDOW_SHIFT);
        }
        if let TcpOption::SackRange(r) = o {
            assert!((1..=tcp::MAX_SACK_BLOCKS).contains(&r.len()));
        }
    }
}

/// A valid segment of random shape, so mutations reach deep paths.
fn valid_segment() -> impl Strategy<Value = (Vec<u8>, Ipv4Addr, Ipv4Addr)> {
    (parts(), vec(any::<u8>(), 0..64), ip(), ip()).prop_map(|(parts, payload, src, dst)| {
        let repr = parts.repr(&payload);
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);
        (buf, src, dst)
    })
}

proptest! {
    #[test]
    fn repr_round_trip(parts in parts(), payload in vec(any::<u8>(), 0..1500),
                       src in ip(), dst in ip()) {
        let repr = parts.repr(&payload);
        let header_len = repr.header_len();
        prop_assert!(header_len <= tcp::MAX_HEADER_LEN);
        prop_assert_eq!(header_len % 4, 0);
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);

        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        prop_assert!(p.verify_checksum(src, dst));
        prop_assert_eq!(usize::from(p.header_len()), header_len);
        let parsed = TcpRepr::parse(&p, src, dst, true).unwrap();
        // Only the SACK blocks that fit are sent; the rest must be as given.
        let mut expect = repr;
        expect.sack_ranges.truncate(repr.emitted_sack_blocks());
        prop_assert_eq!(parsed, expect);
        prop_assert_eq!(p.flags(), repr.flags());
        prop_assert_eq!(p.segment_len(), repr.segment_len());
        // With timestamps at most 3 blocks fit, 4 without other options.
        if repr.timestamp.is_some() {
            prop_assert!(repr.emitted_sack_blocks() <= 3);
        }
        if repr.timestamp.is_none() && repr.max_seg_size.is_none()
            && repr.window_scale.is_none() && !repr.sack_permitted {
            prop_assert_eq!(repr.emitted_sack_blocks(), repr.sack_ranges.len());
        }

        // Two-step emit over a payload already in place agrees.
        let mut two = vec![0xeeu8; repr.buffer_len()];
        two[header_len..].copy_from_slice(&payload);
        let mut q = TcpPacket::new_unchecked(&mut two[..]);
        repr.emit_header(&mut q);
        q.fill_checksum(src, dst);
        prop_assert_eq!(&two, &buf);
    }

    #[test]
    fn option_emit_parse(opt in prop_oneof![
        any::<u16>().prop_map(TcpOption::MaxSegmentSize),
        any::<u8>().prop_map(TcpOption::WindowScale),
        Just(TcpOption::SackPermitted),
        Just(TcpOption::NoOperation),
        Just(TcpOption::EndOfList),
        timestamp().prop_filter_map("some", |t| t).prop_map(TcpOption::Timestamps),
        sack_ranges().prop_filter("non-empty", |r| !r.is_empty()).prop_map(TcpOption::SackRange),
    ], tail in vec(any::<u8>(), 0..8)) {
        let mut buf = vec![0u8; opt.buffer_len()];
        prop_assert_eq!(opt.emit(&mut buf), buf.len());
        buf.extend_from_slice(&tail);
        let (back, rest) = TcpOption::parse(&buf).unwrap();
        let expect = match opt {
            TcpOption::WindowScale(s) => TcpOption::WindowScale(s.min(tcp::MAX_WINDOW_SHIFT)),
            o => o,
        };
        prop_assert_eq!(back, expect);
        prop_assert_eq!(rest, &tail[..]);
    }

    #[test]
    fn unknown_option_round_trip(kind in 9u8.., data in vec(any::<u8>(), 0..=38)) {
        let opt = TcpOption::Unknown { kind, data: &data };
        let mut buf = vec![0u8; opt.buffer_len()];
        opt.emit(&mut buf);
        prop_assert_eq!(TcpOption::parse(&buf).unwrap(), (opt, &[][..]));
    }

    #[test]
    fn seq_order_is_serial_arithmetic(a in any::<u32>(), b in any::<u32>()) {
        let (x, y) = (TcpSeqNumber(a), TcpSeqNumber(b));
        let d = b.wrapping_sub(a) as i32;
        prop_assert_eq!(x < y, d > 0);
        prop_assert_eq!(x > y, d < 0 && d != i32::MIN);
        // Antisymmetric, and None exactly at distance 2^31.
        let fwd = x.partial_cmp(&y);
        prop_assert_eq!(fwd.map(Ordering::reverse), y.partial_cmp(&x));
        prop_assert_eq!(fwd.is_none(), d == i32::MIN);
        prop_assert_eq!(x.max(y) == y, x <= y);
        prop_assert_eq!(x.min(y) == y, y < x);
        match y.checked_sub(x) {
            Some(n) => {
                prop_assert!(x <= y);
                prop_assert_eq!(x + n, y);
                prop_assert_eq!(y - x, n);
            }
            None => {
                prop_assert_eq!(x <= y, false);
                prop_assert_eq!(y - x, 0);
            }
        }
    }

    #[test]
    fn seq_add_and_window(a in any::<u32>(), n in 1usize..(1 << 31), len in 0usize..(1 << 31)) {
        let x = TcpSeqNumber(a);
        prop_assert!(x < x + n);
        prop_assert!(x + n > x);
        prop_assert_eq!((x + n) - x, n);
        prop_assert_eq!((x + n) - n, x);
        prop_assert_eq!(x.checked_sub(x + n), None);
        // in_window(start, len) ⇔ start <= x < start + len, on the circle.
        let start = x - n;
        prop_assert_eq!(x.in_window(start, len), n < len);
        prop_assert!(x.in_window(x, len) == (len > 0));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..100), src in ip(), dst in ip()) {
        parse_everything(&bytes, src, dst);
        check_options(&bytes);
    }

    #[test]
    fn arbitrary_options_never_panic(opts in vec(any::<u8>(), 0..=40), payload in vec(any::<u8>(), 0..8)) {
        // A consistent header in front of random option bytes, checksum
        // fixed up so Repr::parse gets past it into the options.
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
        let padded = opts.len().div_ceil(4) * 4;
        let mut buf = vec![0u8; tcp::HEADER_LEN + padded];
        TcpRepr { src_port: 1, dst_port: 2, ..TcpRepr::default() }
            .emit_header(&mut TcpPacket::new_unchecked(&mut buf[..]));
        buf[12] = (((tcp::HEADER_LEN + padded) / 4) << 4) as u8;
        buf[tcp::HEADER_LEN..tcp::HEADER_LEN + opts.len()].copy_from_slice(&opts);
        buf.extend_from_slice(&payload);
        TcpPacket::new_unchecked(&mut buf[..]).fill_checksum(src, dst);
        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        let iter_ok = p.iter_options().all(|o| o.is_ok());
        let r = TcpRepr::parse(&p, src, dst, true);
        prop_assert_eq!(r.is_ok(), iter_ok);
        parse_everything(&buf, src, dst);
    }

    #[test]
    fn mutated_valid_segments_never_panic((seg, src, dst) in valid_segment(),
                                          flips in vec((any::<usize>(), any::<u8>()), 0..6),
                                          cut in any::<usize>()) {
        let mut seg = seg;
        parse_everything(&seg, src, dst);
        for (at, x) in flips {
            let i = at % seg.len();
            seg[i] ^= x;
        }
        parse_everything(&seg, src, dst);
        let cut = cut % (seg.len() + 1);
        parse_everything(&seg[..cut], src, dst);
    }

    #[test]
    fn flags_byte_round_trip(bits in any::<u8>()) {
        let f = Flags::from_bits(bits);
        prop_assert_eq!(f.bits(), bits);
        let mut buf = [0u8; tcp::HEADER_LEN];
        TcpPacket::new_unchecked(&mut buf[..]).set_flags(f);
        prop_assert_eq!(TcpPacket::new_unchecked(&buf[..]).flags(), f);
    }
}
