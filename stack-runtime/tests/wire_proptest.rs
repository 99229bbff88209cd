//! Property tests: every `Repr` round-trips through `emit` and `parse`, and
//! no input, however hostile, makes a checked view or a parser panic.

use core::net::Ipv4Addr;

use proptest::collection::vec;
use proptest::prelude::*;
use stack_runtime::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded, IpProtocol, Ipv4Packet,
    Ipv4Repr, UdpPacket, UdpRepr, ipv4,
};

fn mac() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from_bits)
}

fn ipv4_repr(max_payload: usize) -> impl Strategy<Value = Ipv4Repr> {
    (ip(), ip(), any::<u8>(), 0..=max_payload, any::<u8>()).prop_map(
        |(src_addr, dst_addr, proto, payload_len, hop_limit)| Ipv4Repr {
            src_addr,
            dst_addr,
            next_header: IpProtocol::from(proto),
            payload_len,
            hop_limit,
        },
    )
}

/// Walk a frame through every layer the interface would, touching every
/// accessor of every view that `new_checked` accepted. Must never panic.
fn parse_everything(frame: &[u8]) {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return;
    };
    let Ok(eth_repr) = EthernetRepr::parse(&eth) else {
        return;
    };
    let _ = eth_repr.to_string();
    let payload = eth.into_payload();
    match eth_repr.ethertype {
        EtherType::Arp => parse_arp(payload),
        _ => parse_ipv4(payload),
    }
}

fn parse_arp(bytes: &[u8]) {
    let _ = ArpRepr::parse(&ArpPacket::new_unchecked(bytes));
    if let Ok(p) = ArpPacket::new_checked(bytes) {
        let _ = (p.hardware_type(), p.protocol_type(), p.operation());
        let _ = (p.source_hardware_addr(), p.source_protocol_addr());
        let _ = (p.target_hardware_addr(), p.target_protocol_addr());
        if let Ok(r) = ArpRepr::parse(&p) {
            let _ = r.to_string();
        }
    }
}

fn parse_ipv4(bytes: &[u8]) {
    let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(bytes), true);
    let Ok(p) = Ipv4Packet::new_checked(bytes) else {
        return;
    };
    let _ = (
        p.version(),
        p.header_len(),
        p.dscp(),
        p.ecn(),
        p.total_len(),
    );
    let _ = (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset());
    let _ = (
        p.is_fragment(),
        p.hop_limit(),
        p.next_header(),
        p.checksum(),
    );
    let _ = (p.src_addr(), p.dst_addr(), p.verify_checksum(), p.options());
    let repr = Ipv4Repr::parse(&p, false);
    let payload = p.into_payload();
    parse_icmp(payload);
    parse_udp(payload);
    if let Ok(r) = repr {
        assert_eq!(r.payload_len, payload.len());
        let _ = r.to_string();
    }
}

fn parse_icmp(bytes: &[u8]) {
    let _ = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(bytes), true);
    if let Ok(p) = Icmpv4Packet::new_checked(bytes) {
        let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.echo_ident());
        let _ = (
            p.echo_seq_no(),
            p.next_hop_mtu(),
            p.data(),
            p.verify_checksum(),
        );
        for verify in [true, false] {
            if let Ok(r) = Icmpv4Repr::parse(&p, verify) {
                let _ = r.to_string();
                let _ = r.buffer_len();
            }
        }
    }
}

fn parse_udp(bytes: &[u8]) {
    let a = Ipv4Addr::new(192, 0, 2, 1);
    let b = Ipv4Addr::new(192, 0, 2, 2);
    let _ = UdpRepr::parse(&UdpPacket::new_unchecked(bytes), a, b, true);
    if let Ok(p) = UdpPacket::new_checked(bytes) {
        let _ = (
            p.src_port(),
            p.dst_port(),
            p.len(),
            p.is_empty(),
            p.checksum(),
        );
        let _ = (p.payload(), p.verify_checksum(a, b));
        let _ = UdpRepr::parse(&p, a, b, true);
        if let Ok(r) = UdpRepr::parse(&p, a, b, false) {
            let _ = r.to_string();
        }
    }
}

/// Build a plausible frame (valid headers of a random kind), so mutations
/// explore the deep parsing paths rather than failing at the first check.
fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    (0u8..4, ipv4_repr(64), vec(any::<u8>(), 0..64), any::<u16>()).prop_map(
        |(kind, mut ip, data, n)| {
            let mut frame = vec![0u8; 14];
            if kind == 0 {
                frame[12..14].copy_from_slice(&[0x08, 0x06]);
                let repr = ArpRepr {
                    operation: ArpOperation::from(n),
                    source_hardware_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
                    source_protocol_addr: ip.src_addr,
                    target_hardware_addr: EthernetAddress([0; 6]),
                    target_protocol_addr: ip.dst_addr,
                };
                frame.resize(14 + repr.buffer_len(), 0);
                repr.emit(&mut ArpPacket::new_unchecked(&mut frame[14..]));
                return frame;
            }
            frame[12..14].copy_from_slice(&[0x08, 0x00]);
            let mut l4 = Vec::new();
            if kind == 1 {
                ip.next_header = IpProtocol::Udp;
                let repr = UdpRepr {
                    src_port: n,
                    dst_port: n | 1,
                };
                l4.resize(repr.buffer_len(data.len()), 0);
                repr.emit(
                    &mut UdpPacket::new_unchecked(&mut l4[..]),
                    ip.src_addr,
                    ip.dst_addr,
                    &data,
                );
            } else {
                ip.next_header = IpProtocol::Icmp;
                let repr = if kind == 2 {
                    Icmpv4Repr::EchoRequest {
                        ident: n,
                        seq_no: 1,
                        data: &data,
                    }
                } else {
                    Icmpv4Repr::DstUnreachable {
                        reason: Icmpv4DstUnreachable::PortUnreachable,
                        header: ip,
                        data: &data,
                    }
                };
                l4.resize(repr.buffer_len(), 0);
                repr.emit(&mut Icmpv4Packet::new_unchecked(&mut l4[..]));
            }
            ip.payload_len = l4.len();
            frame.resize(14 + ipv4::HEADER_LEN, 0);
            ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), n);
            frame.extend_from_slice(&l4);
            frame
        },
    )
}

proptest! {
    #[test]
    fn ethernet_round_trip(src in mac(), dst in mac(), ty in any::<u16>(),
                           payload in vec(any::<u8>(), 0..64)) {
        let repr = EthernetRepr { src_addr: src, dst_addr: dst, ethertype: EtherType::from(ty) };
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf[..]);
        repr.emit(&mut f);
        f.payload_mut().copy_from_slice(&payload);
        let f = EthernetFrame::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(EthernetRepr::parse(&f).unwrap(), repr);
        prop_assert_eq!(f.payload(), &payload[..]);
    }

    #[test]
    fn arp_round_trip(op in any::<u16>(), sha in mac(), spa in ip(), tha in mac(), tpa in ip()) {
        let repr = ArpRepr {
            operation: ArpOperation::from(op),
            source_hardware_addr: sha,
            source_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&p).unwrap(), repr);
    }

    #[test]
    fn ipv4_round_trip(repr in ipv4_repr(65535 - 20), ident in any::<u16>(),
                       off in 0u16..8192, mf in any::<bool>(), pad in 0usize..20) {
        let mut buf = vec![0u8; repr.buffer_len() + repr.payload_len + pad];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit_fragment(&mut p, ident, off * 8, mf);
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Ipv4Repr::parse(&p, true).unwrap(), repr);
        prop_assert_eq!(p.ident(), ident);
        prop_assert_eq!(p.frag_offset(), off * 8);
        prop_assert_eq!(p.more_frags(), mf);
        prop_assert!(!p.dont_frag());
        prop_assert_eq!(p.payload().len(), repr.payload_len);
    }

    #[test]
    fn icmp_echo_round_trip(req in any::<bool>(), ident in any::<u16>(), seq_no in any::<u16>(),
                            data in vec(any::<u8>(), 0..1500)) {
        let repr = if req {
            Icmpv4Repr::EchoRequest { ident, seq_no, data: &data }
        } else {
            Icmpv4Repr::EchoReply { ident, seq_no, data: &data }
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        let p = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Icmpv4Repr::parse(&p, true).unwrap(), repr);
    }

    #[test]
    fn icmp_error_round_trip(unreach in any::<bool>(), code in 0u8..16, header in ipv4_repr(65515),
                             data in vec(any::<u8>(), 0..=8)) {
        let repr = if unreach {
            Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::from_code(code).unwrap(),
                header,
                data: &data,
            }
        } else {
            Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::from_code(code % 2).unwrap(),
                header,
                data: &data,
            }
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        let p = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Icmpv4Repr::parse(&p, true).unwrap(), repr);
    }

    #[test]
    fn udp_round_trip(src in ip(), dst in ip(), sp in any::<u16>(), dp in 1u16..,
                      payload in vec(any::<u8>(), 0..1500), pad in 0usize..8) {
        let repr = UdpRepr { src_port: sp, dst_port: dp };
        let mut buf = vec![0u8; repr.buffer_len(payload.len()) + pad];
        let n = repr.buffer_len(payload.len());
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..n]), src, dst, &payload);
        prop_assert_ne!(u16::from_be_bytes([buf[6], buf[7]]), 0);
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(UdpRepr::parse(&p, src, dst, true).unwrap(), repr);
        prop_assert_eq!(p.payload(), &payload[..]);
        // Two-step emit (header, then payload written separately) agrees.
        let mut two = vec![0u8; n];
        let mut q = UdpPacket::new_unchecked(&mut two[..]);
        repr.emit_header(&mut q, payload.len());
        q.payload_mut().copy_from_slice(&payload);
        q.fill_checksum(src, dst);
        prop_assert_eq!(&two[..], &buf[..n]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        parse_everything(&bytes);
        parse_arp(&bytes);
        parse_ipv4(&bytes);
        parse_icmp(&bytes);
        parse_udp(&bytes);
    }

    #[test]
    fn mutated_valid_frames_never_panic(frame in valid_frame(),
                                        flips in vec((any::<usize>(), any::<u8>()), 0..6),
                                        cut in any::<usize>()) {
        let mut frame = frame;
        parse_everything(&frame);
        for (at, x) in flips {
            let i = at % frame.len();
            frame[i] ^= x;
        }
        parse_everything(&frame);
        let cut = cut % (frame.len() + 1);
        parse_everything(&frame[..cut]);
    }
}
