//! One test per parse failure: each error case maps to the `wire::Error`
//! variant (and so to the drop counter) documented for it, plus the small
//! address/enum helpers.

use core::net::Ipv4Addr;

use stack_runtime::wire::{
    ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr,
    Icmpv4TimeExceeded, IpProtocol, Ipv4Cidr, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr, arp,
    checksum, ethernet, icmpv4, ipv4, udp,
};

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const DST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn ip_repr(payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: SRC,
        dst_addr: DST,
        next_header: IpProtocol::Udp,
        payload_len,
        hop_limit: 64,
    }
}

/// A valid 20-byte IPv4 header followed by `payload_len` zero bytes.
fn ip_packet(payload_len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; ipv4::HEADER_LEN + payload_len];
    ip_repr(payload_len).emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), 1);
    buf
}

fn ipv4_parse(buf: &[u8]) -> Result<Ipv4Repr, Error> {
    Ipv4Repr::parse(&Ipv4Packet::new_checked(buf)?, true)
}

// ---------------------------------------------------------------- Ethernet

#[test]
fn ethernet_truncated_below_header() {
    let buf = [0u8; ethernet::HEADER_LEN];
    for n in 0..ethernet::HEADER_LEN {
        assert_eq!(
            EthernetFrame::new_checked(&buf[..n]).err(),
            Some(Error::Truncated),
            "len {n}"
        );
        // Parsing an unchecked view of a short buffer is an error, not a panic.
        assert_eq!(
            EthernetRepr::parse(&EthernetFrame::new_unchecked(&buf[..n])),
            Err(Error::Truncated)
        );
    }
    let f = EthernetFrame::new_checked(&buf[..]).unwrap();
    assert!(f.payload().is_empty());
}

// ---------------------------------------------------------------- ARP

fn arp_request() -> [u8; arp::PACKET_LEN] {
    let mut buf = [0u8; arp::PACKET_LEN];
    ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        source_protocol_addr: SRC,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: DST,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    buf
}

#[test]
fn arp_truncated_at_every_length() {
    let buf = arp_request();
    for n in 0..buf.len() {
        assert_eq!(
            ArpPacket::new_checked(&buf[..n]).err(),
            Some(Error::Truncated),
            "len {n}"
        );
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..n])),
            Err(Error::Truncated),
            "len {n}"
        );
    }
    assert!(ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).is_ok());
}

#[test]
fn arp_unsupported_hardware_or_protocol() {
    let cases: [(usize, &[u8]); 4] = [
        (0, &[0x00, 0x06]), // hardware type IEEE 802
        (2, &[0x86, 0xdd]), // protocol type IPv6
        (4, &[8]),          // 8-byte hardware addresses
        (5, &[16]),         // 16-byte protocol addresses
    ];
    for (at, bytes) in cases {
        let mut buf = [0u8; 64];
        buf[..arp::PACKET_LEN].copy_from_slice(&arp_request());
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        // Long enough for whatever lengths the header declares.
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p), Err(Error::Unsupported), "at {at}");
    }
}

#[test]
fn arp_declared_lengths_exceed_buffer() {
    let mut buf = arp_request();
    buf[4] = 255; // hlen 255: needs 8 + 2 * (255 + 4) bytes
    assert_eq!(
        ArpPacket::new_checked(&buf[..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn arp_unknown_operation_parses() {
    // Still Ethernet/IPv4, so the interface can count it as it likes.
    let mut buf = arp_request();
    buf[7] = 9;
    let repr = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(repr.operation, ArpOperation::Unknown(9));
}

// ---------------------------------------------------------------- IPv4

#[test]
fn ipv4_truncated_below_header() {
    let buf = ip_packet(0);
    for n in 0..ipv4::HEADER_LEN {
        assert_eq!(ipv4_parse(&buf[..n]), Err(Error::Truncated), "len {n}");
    }
    assert_eq!(ipv4_parse(&buf).unwrap(), ip_repr(0));
}

#[test]
fn ipv4_total_len_beyond_buffer() {
    let buf = ip_packet(16);
    for n in ipv4::HEADER_LEN..buf.len() {
        assert_eq!(ipv4_parse(&buf[..n]), Err(Error::Truncated), "len {n}");
    }
}

#[test]
fn ipv4_bad_ihl() {
    for ihl in 0..5u8 {
        let mut buf = ip_packet(8);
        buf[0] = 0x40 | ihl;
        assert_eq!(
            Ipv4Packet::new_checked(&buf[..]).err(),
            Some(Error::Malformed),
            "ihl {ihl}"
        );
    }
}

#[test]
fn ipv4_options_beyond_buffer() {
    // IHL 15 (60 bytes) and total length 60, but only 40 bytes present.
    let mut buf = ip_packet(20);
    buf[0] = 0x4f;
    buf[2..4].copy_from_slice(&60u16.to_be_bytes());
    assert_eq!(ipv4_parse(&buf), Err(Error::Truncated));
}

#[test]
fn ipv4_total_len_below_header_len() {
    for total in 0..20u16 {
        let mut buf = ip_packet(8);
        buf[2..4].copy_from_slice(&total.to_be_bytes());
        assert_eq!(ipv4_parse(&buf), Err(Error::Malformed), "total {total}");
    }
    // IHL 6 (24 bytes) with total length 22.
    let mut buf = ip_packet(8);
    buf[0] = 0x46;
    buf[2..4].copy_from_slice(&22u16.to_be_bytes());
    assert_eq!(ipv4_parse(&buf), Err(Error::Malformed));
}

#[test]
fn ipv4_wrong_version() {
    for version in [0u8, 4, 6, 15] {
        let mut buf = ip_packet(0);
        buf[0] = (version << 4) | 5;
        Ipv4Packet::new_unchecked(&mut buf[..]).fill_checksum();
        let r = ipv4_parse(&buf);
        if version == 4 {
            assert!(r.is_ok());
        } else {
            assert_eq!(r, Err(Error::Malformed), "version {version}");
        }
    }
}

#[test]
fn ipv4_bad_checksum() {
    let mut buf = ip_packet(4);
    buf[10] ^= 0x55;
    assert_eq!(ipv4_parse(&buf), Err(Error::Checksum));
    // A device that verified the checksum in hardware skips the check.
    let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(Ipv4Repr::parse(&p, false), Ok(ip_repr(4)));
    // Any flipped header bit is caught.
    for i in 0..ipv4::HEADER_LEN {
        if i == 0 || (2..4).contains(&i) {
            continue; // those change lengths/version, tested above
        }
        let mut buf = ip_packet(4);
        buf[i] ^= 0x01;
        assert_eq!(ipv4_parse(&buf), Err(Error::Checksum), "byte {i}");
    }
}

#[test]
fn ipv4_payload_excludes_trailing_bytes() {
    let mut buf = ip_packet(4);
    buf.extend_from_slice(&[0xee; 10]);
    let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(p.payload().len(), 4);
}

#[test]
fn ipv4_fragment_fields() {
    let mut buf = ip_packet(8);
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip_repr(8).emit_fragment(&mut p, 0xbeef, 65528, true);
    let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(p.ident(), 0xbeef);
    assert!(p.more_frags());
    assert!(!p.dont_frag());
    assert_eq!(p.frag_offset(), 65528);
    assert!(p.verify_checksum());
    let mut buf2 = buf.clone();
    let mut q = Ipv4Packet::new_unchecked(&mut buf2[..]);
    q.set_dont_frag(true);
    q.set_more_frags(false);
    assert!(q.dont_frag() && !q.more_frags());
    assert_eq!(q.frag_offset(), 65528);
}

// ---------------------------------------------------------------- ICMPv4

fn icmp_parse(buf: &[u8]) -> Result<Icmpv4Repr<'_>, Error> {
    Icmpv4Repr::parse(&Icmpv4Packet::new_checked(buf)?, true)
}

fn echo(data: &[u8]) -> Vec<u8> {
    let repr = Icmpv4Repr::EchoRequest {
        ident: 7,
        seq_no: 9,
        data,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    buf
}

/// A port-unreachable message quoting a UDP datagram.
fn unreachable() -> Vec<u8> {
    let repr = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::PortUnreachable,
        header: ip_repr(8),
        data: &[0, 1, 0, 7, 0, 8, 0, 0],
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    buf
}

fn refill(buf: &mut [u8]) {
    Icmpv4Packet::new_unchecked(buf).fill_checksum();
}

#[test]
fn icmp_truncated_below_header() {
    let buf = echo(b"abc");
    for n in 0..icmpv4::HEADER_LEN {
        assert_eq!(icmp_parse(&buf[..n]), Err(Error::Truncated), "len {n}");
        assert_eq!(
            Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&buf[..n]), false),
            Err(Error::Truncated)
        );
    }
}

#[test]
fn icmp_bad_checksum() {
    let mut buf = echo(b"abcde");
    *buf.last_mut().unwrap() ^= 1;
    assert_eq!(icmp_parse(&buf), Err(Error::Checksum));
    assert!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap(), false).is_ok());
}

#[test]
fn icmp_unknown_type_or_code_unsupported() {
    // Unknown type, a known type we do not represent, echo with a non-zero
    // code, out-of-range unreachable and time-exceeded codes.
    for (ty, code) in [
        (42u8, 0u8),
        (13, 0),
        (5, 1),
        (8, 1),
        (0, 7),
        (3, 16),
        (11, 2),
    ] {
        let mut buf = unreachable();
        buf[0] = ty;
        buf[1] = code;
        refill(&mut buf);
        assert_eq!(icmp_parse(&buf), Err(Error::Unsupported), "{ty}/{code}");
    }
    assert_eq!(Icmpv4Message::from(42), Icmpv4Message::Unknown(42));
}

#[test]
fn icmp_error_quote_truncated() {
    let full = unreachable();
    for n in icmpv4::HEADER_LEN..icmpv4::HEADER_LEN + ipv4::HEADER_LEN {
        let mut buf = full[..n].to_vec();
        refill(&mut buf);
        assert_eq!(icmp_parse(&buf), Err(Error::Truncated), "len {n}");
    }
    // Quoted IHL 15 (total length 68) but only a 20-byte header and 8
    // bytes quoted.
    let mut buf = full.clone();
    buf[8] = 0x4f;
    buf[11] = 68;
    refill(&mut buf);
    assert_eq!(icmp_parse(&buf), Err(Error::Truncated));
}

#[test]
fn icmp_error_quote_malformed() {
    // Quoted version 6, quoted IHL 4, quoted total length below IHL.
    for (at, byte) in [(8usize, 0x65u8), (8, 0x44), (11, 0), (11, 19)] {
        let mut buf = unreachable();
        if at == 11 {
            buf[10] = 0;
        }
        buf[at] = byte;
        refill(&mut buf);
        assert_eq!(icmp_parse(&buf), Err(Error::Malformed), "at {at}");
    }
}

#[test]
fn icmp_time_exceeded() {
    let quoted = [0u8, 53, 0, 53, 0, 8, 0, 0];
    let repr = Icmpv4Repr::TimeExceeded {
        reason: Icmpv4TimeExceeded::FragExpired,
        header: ip_repr(8),
        data: &quoted,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf[0..2], [11, 1]);
    assert_eq!(icmp_parse(&buf), Ok(repr));
}

#[test]
fn icmp_error_quotes_only_eight_bytes() {
    let data = [0xabu8; 100];
    let repr = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::ProtoUnreachable,
        header: ip_repr(100),
        data: &data,
    };
    assert_eq!(repr.buffer_len(), 8 + 20 + 8);
    // A larger buffer: the checksum covers exactly buffer_len() bytes.
    let mut buf = [0u8; 64];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    assert_eq!(buf[1], 2);
    let back = icmp_parse(&buf[..36]).unwrap();
    assert_eq!(
        back,
        Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::ProtoUnreachable,
            header: ip_repr(100),
            data: &data[..8],
        }
    );
}

// ---------------------------------------------------------------- UDP

fn udp_datagram(payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 40000,
        dst_port: 7,
    };
    let mut buf = vec![0u8; repr.buffer_len(payload.len())];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[..]),
        SRC,
        DST,
        payload,
    );
    buf
}

fn udp_parse(buf: &[u8]) -> Result<UdpRepr, Error> {
    UdpRepr::parse(&UdpPacket::new_checked(buf)?, SRC, DST, true)
}

#[test]
fn udp_truncated_below_header() {
    let buf = udp_datagram(b"");
    for n in 0..udp::HEADER_LEN {
        assert_eq!(udp_parse(&buf[..n]), Err(Error::Truncated), "len {n}");
    }
    assert!(udp_parse(&buf).is_ok());
}

#[test]
fn udp_length_field_beyond_buffer() {
    let buf = udp_datagram(b"0123456789");
    for n in udp::HEADER_LEN..buf.len() {
        assert_eq!(udp_parse(&buf[..n]), Err(Error::Truncated), "len {n}");
    }
}

#[test]
fn udp_length_field_below_header() {
    for len in 0..8u16 {
        let mut buf = udp_datagram(b"xy");
        buf[4..6].copy_from_slice(&len.to_be_bytes());
        assert_eq!(udp_parse(&buf), Err(Error::Malformed), "len {len}");
    }
}

#[test]
fn udp_length_field_shorter_than_buffer() {
    // Trailing bytes beyond the UDP length are not payload.
    let mut buf = udp_datagram(b"abc");
    buf.extend_from_slice(b"junk");
    let p = UdpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(p.payload(), b"abc");
    assert!(udp_parse(&buf).is_ok());
}

#[test]
fn udp_bad_checksum() {
    let mut buf = udp_datagram(b"payload");
    buf[9] ^= 0x20;
    assert_eq!(udp_parse(&buf), Err(Error::Checksum));
    // Wrong pseudo header (another destination) fails too.
    let good = udp_datagram(b"payload");
    let p = UdpPacket::new_checked(&good[..]).unwrap();
    assert_eq!(
        UdpRepr::parse(&p, SRC, Ipv4Addr::new(192, 0, 2, 3), true),
        Err(Error::Checksum)
    );
}

#[test]
fn udp_zero_checksum_means_none() {
    let mut buf = udp_datagram(b"payload");
    buf[6] = 0;
    buf[7] = 0;
    assert!(udp_parse(&buf).is_ok());
}

#[test]
fn udp_dst_port_zero_malformed() {
    let repr = UdpRepr {
        src_port: 1,
        dst_port: 0,
    };
    let mut buf = vec![0u8; 8];
    repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), SRC, DST, &[]);
    assert_eq!(udp_parse(&buf), Err(Error::Malformed));
}

#[test]
fn udp_computed_zero_checksum_sent_as_ffff() {
    // Choose a 2-byte payload that makes the one's-complement sum 0xffff,
    // i.e. a computed checksum of 0, which must go on the wire as 0xffff.
    let mut buf = udp_datagram(&[0, 0]);
    buf[6] = 0;
    buf[7] = 0;
    let partial = checksum::combine(&[
        checksum::pseudo_header_v4(SRC, DST, IpProtocol::Udp, 10),
        checksum::data(&buf),
    ]);
    let word = !partial;
    let buf = udp_datagram(&word.to_be_bytes());
    assert_eq!(buf[6..8], [0xff, 0xff]);
    assert!(udp_parse(&buf).is_ok());
}

// ---------------------------------------------------------------- helpers

#[test]
fn ethernet_address_kinds_and_display() {
    let a = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
    assert!(a.is_unicast() && !a.is_multicast() && !a.is_broadcast() && a.is_local());
    assert_eq!(a.to_string(), "02:00:00:00:00:01");
    let b = EthernetAddress::BROADCAST;
    assert!(b.is_broadcast() && b.is_multicast() && !b.is_unicast());
    assert_eq!(b.to_string(), "ff:ff:ff:ff:ff:ff");
    let m = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]);
    assert!(m.is_multicast() && !m.is_broadcast());
    assert_eq!(EthernetAddress::from_bytes(&[1, 2, 3, 4, 5]), None);
    assert_eq!(
        EthernetAddress::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
        Some(EthernetAddress([1, 2, 3, 4, 5, 6]))
    );
}

#[test]
fn ipv4_cidr() {
    assert!(Ipv4Cidr::new(SRC, 33).is_none());
    let c = Ipv4Cidr::new(Ipv4Addr::new(192, 0, 2, 2), 24).unwrap();
    assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
    assert_eq!(c.network(), Ipv4Addr::new(192, 0, 2, 0));
    assert_eq!(c.broadcast(), Ipv4Addr::new(192, 0, 2, 255));
    assert!(c.contains(Ipv4Addr::new(192, 0, 2, 200)));
    assert!(!c.contains(Ipv4Addr::new(198, 51, 100, 1)));
    assert_eq!(c.to_string(), "192.0.2.2/24");
    let all = Ipv4Cidr::new(SRC, 0).unwrap();
    assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
    assert!(all.contains(Ipv4Addr::new(198, 51, 100, 1)));
    assert_eq!(all.broadcast(), Ipv4Addr::BROADCAST);
    let host = Ipv4Cidr::new(SRC, 32).unwrap();
    assert_eq!(host.netmask(), Ipv4Addr::BROADCAST);
    assert!(host.contains(SRC) && !host.contains(DST));
    let c = Ipv4Cidr::new(Ipv4Addr::new(198, 51, 100, 77), 27).unwrap();
    assert_eq!(c.network(), Ipv4Addr::new(198, 51, 100, 64));
    assert_eq!(c.broadcast(), Ipv4Addr::new(198, 51, 100, 95));
    // A prefix set out of range through the public field saturates, no panic.
    let odd = Ipv4Cidr {
        address: SRC,
        prefix_len: 200,
    };
    assert_eq!(odd.netmask(), Ipv4Addr::BROADCAST);
}

#[test]
fn enum_conversions_round_trip() {
    for v in 0..=u8::MAX {
        assert_eq!(u8::from(IpProtocol::from(v)), v);
        assert_eq!(u8::from(Icmpv4Message::from(v)), v);
    }
    for v in 0..=u16::MAX {
        assert_eq!(u16::from(EtherType::from(v)), v);
        assert_eq!(u16::from(ArpOperation::from(v)), v);
    }
    assert_eq!(IpProtocol::from(17), IpProtocol::Udp);
    assert_eq!(EtherType::from(0x0806), EtherType::Arp);
    for code in 0..=15 {
        assert_eq!(Icmpv4DstUnreachable::from_code(code).unwrap().code(), code);
    }
    assert_eq!(Icmpv4DstUnreachable::PortUnreachable.code(), 3);
    assert_eq!(Icmpv4DstUnreachable::ProtoUnreachable.code(), 2);
}

#[test]
fn error_display() {
    assert_eq!(Error::Truncated.to_string(), "truncated packet");
    let _ = EthernetRepr {
        src_addr: EthernetAddress::BROADCAST,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EtherType::Ipv4,
    }
    .to_string();
}
