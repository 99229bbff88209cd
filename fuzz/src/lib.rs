//! Helpers shared by the fuzz targets of `fuzz_targets/`: checksum fix-ups for frames built
//! from fuzz bytes, and the check every frame the stack sends must pass.

use core::net::Ipv4Addr;

use stack_runtime::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr,
    IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr, ethernet,
};

/// Rewrites the checksums of an Ethernet/IPv4 frame in place: the IPv4 header checksum and,
/// for an unfragmented UDP, TCP or ICMP packet, the transport checksum, so that bytes chosen by
/// the fuzzer get past verification. Frames that do not parse as far are left alone.
pub fn fix_checksums(frame: &mut [u8]) {
    let Ok(mut eth) = EthernetFrame::new_checked(&mut *frame) else {
        return;
    };
    if eth.ethertype() != EtherType::Ipv4 {
        return;
    }
    let Ok(mut ip) = Ipv4Packet::new_checked(eth.payload_mut()) else {
        return;
    };
    ip.fill_checksum();
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let protocol = ip.next_header();
    if ip.is_fragment() {
        return;
    }
    fix_transport_checksum(protocol, src, dst, ip.payload_mut());
}

/// Rewrites the transport checksum of `payload` (the whole IPv4 payload), if it is long enough
/// to hold one.
pub fn fix_transport_checksum(
    protocol: IpProtocol,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &mut [u8],
) {
    match protocol {
        IpProtocol::Udp => {
            if let Ok(mut udp) = UdpPacket::new_checked(&mut *payload) {
                udp.fill_checksum(src, dst);
            }
        }
        IpProtocol::Tcp => {
            if let Ok(mut tcp) = TcpPacket::new_checked(&mut *payload) {
                tcp.fill_checksum(src, dst);
            }
        }
        IpProtocol::Icmp => {
            if let Ok(mut icmp) = Icmpv4Packet::new_checked(&mut *payload) {
                icmp.fill_checksum();
            }
        }
        IpProtocol::Unknown(_) => {}
    }
}

/// Asserts what every frame the stack transmits must satisfy: at most `mtu + 14` bytes, and
/// parseable by our own parsers with valid checksums (IPv4 header, and the transport header of
/// unfragmented UDP, TCP and ICMP packets).
pub fn check_sent_frame(frame: &[u8], mtu: usize) {
    assert!(
        frame.len() <= mtu + ethernet::HEADER_LEN,
        "sent frame of {} bytes exceeds MTU {mtu} + 14",
        frame.len()
    );
    let eth = EthernetFrame::new_checked(frame).expect("sent frame: Ethernet header");
    let eth_repr = EthernetRepr::parse(&eth).expect("sent frame: Ethernet repr");
    match eth_repr.ethertype {
        EtherType::Arp => {
            let arp = ArpPacket::new_checked(eth.payload()).expect("sent ARP: length");
            ArpRepr::parse(&arp).expect("sent ARP: repr");
        }
        EtherType::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).expect("sent IPv4: length");
            let ip_repr = Ipv4Repr::parse(&ip, true).expect("sent IPv4: repr/checksum");
            if ip.is_fragment() {
                return;
            }
            let payload = ip.payload();
            let (src, dst) = (ip_repr.src_addr, ip_repr.dst_addr);
            match ip_repr.next_header {
                IpProtocol::Udp => {
                    let udp = UdpPacket::new_checked(payload).expect("sent UDP: length");
                    UdpRepr::parse(&udp, src, dst, true).expect("sent UDP: repr/checksum");
                }
                IpProtocol::Tcp => {
                    let tcp = TcpPacket::new_checked(payload).expect("sent TCP: length");
                    TcpRepr::parse(&tcp, src, dst, true).expect("sent TCP: repr/checksum");
                }
                IpProtocol::Icmp => {
                    let icmp = Icmpv4Packet::new_checked(payload).expect("sent ICMP: length");
                    Icmpv4Repr::parse(&icmp, true).expect("sent ICMP: repr/checksum");
                }
                IpProtocol::Unknown(p) => panic!("stack sent IP protocol {p}"),
            }
        }
        other => panic!("stack sent ethertype {other}"),
    }
}
