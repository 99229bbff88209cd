//! Byte-vector tests from real traffic.
//!
//! Every frame below was produced by the Linux kernel (6.18, Debian 12 userland)
//! and captured on 2026-11-23 with `tcpdump -i veth-a -nn -e -xx` inside a
//! throw-away pair of network namespaces joined by a veth pair (created and
//! deleted by the capture script, never touching a real interface):
//!
//! * namespace A: `veth-a`, MAC 02:00:00:00:00:01, 192.0.2.1/24
//! * namespace B: `veth-b`, MAC 02:00:00:00:00:02, 192.0.2.2/24
//! * IPv6 disabled in both namespaces (no stray MLD/ND traffic);
//! * `ethtool -K veth-x tx off rx off` on both ends, so every checksum on the
//!   wire was computed by the kernel in software (with offload on, veth
//!   carries UDP frames with only the pseudo-header partial sum in the field).
//!
//! The commands that produced each frame are in the comment above it.
//! Captures were taken from A's side; "A→B" frames were sent by A's kernel,
//! "B→A" frames by B's kernel.

use core::net::Ipv4Addr;

use stack_runtime::wire::{
    ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol,
    Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr, arp, ethernet, icmpv4, ipv4, udp,
};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
const IP_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

// A→B: ARP request "who-has 192.0.2.2 tell 192.0.2.1", triggered by the first
// `ping -c1 192.0.2.2` from namespace A (42-byte frame, veth does not pad).
const ARP_REQUEST: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x02,
];
// B→A: the kernel's ARP reply "192.0.2.2 is-at 02:00:00:00:00:02".
const ARP_REPLY: [u8; 42] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x02,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x02, 0x01,
];
// A→B: `ping -c1 -s 8 -p 5354414b 192.0.2.2`: echo request, id 0x1cf3,
// seq 1, 8 data bytes "STAK\0\0\0\0" (the pattern is placed after ping's
// timestamp slot, which -s 8 leaves no room for). IPv4 id 10145, DF set.
const ICMP_ECHO_REQUEST: [u8; 50] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x24, 0x27, 0xa1, 0x40, 0x00, 0x40, 0x01, 0x8f, 0x34, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x08, 0x00, 0x46, 0x6c, 0x1c, 0xf3, 0x00, 0x01, 0x53, 0x54, 0x41, 0x4b, 0x00, 0x00,
    0x00, 0x00,
];
// B→A: the kernel's echo reply to it; IPv4 id 3150, DF clear.
const ICMP_ECHO_REPLY: [u8; 50] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x24, 0x0c, 0x4e, 0x00, 0x00, 0x40, 0x01, 0xea, 0x87, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x00, 0x00, 0x4e, 0x6c, 0x1c, 0xf3, 0x00, 0x01, 0x53, 0x54, 0x41, 0x4b, 0x00, 0x00,
    0x00, 0x00,
];
// A→B: python3 `socket(AF_INET, SOCK_DGRAM).sendto(b"stackgen wire test",
// ("192.0.2.2", 7))`, source port 42162; UDP checksum 0x5a6b, tcpdump
// "udp sum ok". Exactly 60 bytes, the Ethernet minimum.
const UDP_TO_PORT_7: [u8; 60] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x2e, 0x64, 0x7e, 0x40, 0x00, 0x40, 0x11, 0x52, 0x3d, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0xa4, 0xb2, 0x00, 0x07, 0x00, 0x1a, 0x5a, 0x6b, 0x73, 0x74, 0x61, 0x63, 0x6b, 0x67,
    0x65, 0x6e, 0x20, 0x77, 0x69, 0x72, 0x65, 0x20, 0x74, 0x65, 0x73, 0x74,
];
// B→A: B's kernel answering that datagram (nothing bound to port 7) with
// ICMP destination unreachable, code 3 (port), TOS 0xc0, quoting the whole
// offending datagram (Linux quotes up to 576 bytes, more than RFC 792's 8).
const ICMP_PORT_UNREACHABLE: [u8; 88] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x4a, 0x0c, 0x62, 0x00, 0x00, 0x40, 0x01, 0xe9, 0x8d, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x03, 0x03, 0x81, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x2e, 0x64, 0x7e,
    0x40, 0x00, 0x40, 0x11, 0x52, 0x3d, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0xa4, 0xb2,
    0x00, 0x07, 0x00, 0x1a, 0x5a, 0x6b, 0x73, 0x74, 0x61, 0x63, 0x6b, 0x67, 0x65, 0x6e, 0x20, 0x77,
    0x69, 0x72, 0x65, 0x20, 0x74, 0x65, 0x73, 0x74,
];
// B→A: python3 in B bound to 192.0.2.2:5353 sending b"hello udp" (odd
// length, 9 bytes) to 192.0.2.1:4000.
const UDP_FROM_5353: [u8; 51] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x25, 0x08, 0xd3, 0x40, 0x00, 0x40, 0x11, 0xad, 0xf1, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x14, 0xe9, 0x0f, 0xa0, 0x00, 0x11, 0x2d, 0xe8, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
    0x75, 0x64, 0x70,
];
// A→B: A's kernel answering with port unreachable (code 3).
const ICMP_PORT_UNREACHABLE_2: [u8; 79] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x41, 0x27, 0xfd, 0x00, 0x00, 0x40, 0x01, 0xcd, 0xfb, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x03, 0x03, 0x81, 0x23, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x25, 0x08, 0xd3,
    0x40, 0x00, 0x40, 0x11, 0xad, 0xf1, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00, 0x02, 0x01, 0x14, 0xe9,
    0x0f, 0xa0, 0x00, 0x11, 0x2d, 0xe8, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x75, 0x64, 0x70,
];
// A→B: `ping -c1 -R -s 4 192.0.2.2`: echo request with the Record Route
// option (IHL 15: NOP, RR len 39 ptr 8 holding 192.0.2.1, then 8 empty slots).
const ICMP_ECHO_REQUEST_RR: [u8; 86] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x4f, 0x00,
    0x00, 0x48, 0x27, 0xff, 0x40, 0x00, 0x40, 0x01, 0x9a, 0xa1, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x01, 0x07, 0x27, 0x08, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0xd8, 0xb4, 0x1d, 0x46,
    0x00, 0x01, 0x00, 0x01, 0x02, 0x03,
];
// B→A: its echo reply, options echoed by the kernel with two more hops
// recorded and an EOL.
const ICMP_ECHO_REPLY_RR: [u8; 86] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x4f, 0x00,
    0x00, 0x48, 0x0c, 0xc1, 0x00, 0x00, 0x40, 0x01, 0xc1, 0x83, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x07, 0x27, 0x10, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00, 0x02,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0xb4, 0x1d, 0x46,
    0x00, 0x01, 0x00, 0x01, 0x02, 0x03,
];
// A→B: after `ip link set veth-a mtu 68`, `ping -c1 -s 60 -p 66726167
// 192.0.2.2` is sent in two fragments. This is the first: IPv4 id 10240, MF
// set, offset 0, 48 payload bytes (ICMP header + 40 data bytes). (B's reply
// could not come back through the 68-byte MTU; only A's frames are used.)
const FRAGMENT_FIRST: [u8; 82] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x44, 0x28, 0x00, 0x20, 0x00, 0x40, 0x01, 0xae, 0xb5, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x08, 0x00, 0x32, 0x5b, 0x1d, 0x48, 0x00, 0x01, 0x23, 0x3a, 0x04, 0x6b, 0x00, 0x00,
    0x00, 0x00, 0xdd, 0x5a, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72,
    0x61, 0x67, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72,
    0x61, 0x67,
];
// A→B: the second and last fragment: id 10240, MF clear, offset 48 bytes
// (field value 6), 20 payload bytes.
const FRAGMENT_LAST: [u8; 54] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x28, 0x28, 0x00, 0x00, 0x06, 0x40, 0x01, 0xce, 0xcb, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72, 0x61, 0x67, 0x66, 0x72,
    0x61, 0x67, 0x66, 0x72, 0x61, 0x67,
];

// A→B, captured separately the same way: python3 in A with
// `setsockopt(SOL_SOCKET, SO_NO_CHECK, 1)` sending b"no checksum" from
// 192.0.2.1:40001 to 192.0.2.2:9, so the kernel left the UDP checksum at 0
// ("[no cksum]" in tcpdump), which IPv4 allows.
const UDP_NO_CHECKSUM: [u8; 53] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x27, 0xd4, 0x8c, 0x40, 0x00, 0x40, 0x11, 0xe2, 0x35, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x41, 0x00, 0x09, 0x00, 0x13, 0x00, 0x00, 0x6e, 0x6f, 0x20, 0x63, 0x68, 0x65,
    0x63, 0x6b, 0x73, 0x75, 0x6d,
];

/// Parse an Ethernet frame and its IPv4 packet, checking the header checksum.
fn ip_of(frame: &[u8]) -> (EthernetRepr, Ipv4Packet<&[u8]>, Ipv4Repr) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let eth_repr = EthernetRepr::parse(&eth).unwrap();
    assert_eq!(eth_repr.ethertype, EtherType::Ipv4);
    let ip = Ipv4Packet::new_checked(eth.into_payload()).unwrap();
    let ip_repr = Ipv4Repr::parse(&ip, true).unwrap();
    (eth_repr, ip, ip_repr)
}

fn arp_roundtrip(frame: &[u8], eth_expect: EthernetRepr, arp_expect: ArpRepr) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    assert_eq!(EthernetRepr::parse(&eth).unwrap(), eth_expect);
    let pkt = ArpPacket::new_checked(eth.payload()).unwrap();
    assert_eq!(pkt.hardware_type(), arp::HARDWARE_ETHERNET);
    assert_eq!(pkt.protocol_type(), arp::PROTOCOL_IPV4);
    let repr = ArpRepr::parse(&pkt).unwrap();
    assert_eq!(repr, arp_expect);

    // Emit both layers and compare byte for byte with the kernel's frame.
    let mut out = [0u8; ethernet::HEADER_LEN + arp::PACKET_LEN];
    let mut f = EthernetFrame::new_unchecked(&mut out[..]);
    eth_expect.emit(&mut f);
    arp_expect.emit(&mut ArpPacket::new_unchecked(f.payload_mut()));
    assert_eq!(&out[..], frame);
}

#[test]
fn arp_request() {
    arp_roundtrip(
        &ARP_REQUEST,
        EthernetRepr {
            src_addr: MAC_A,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Arp,
        },
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: MAC_A,
            source_protocol_addr: IP_A,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: IP_B,
        },
    );
}

#[test]
fn arp_reply() {
    arp_roundtrip(
        &ARP_REPLY,
        EthernetRepr {
            src_addr: MAC_B,
            dst_addr: MAC_A,
            ethertype: EtherType::Arp,
        },
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: MAC_B,
            source_protocol_addr: IP_B,
            target_hardware_addr: MAC_A,
            target_protocol_addr: IP_A,
        },
    );
}

#[test]
fn arp_request_with_ethernet_padding() {
    // The same request padded to the 60-byte Ethernet minimum, as a physical
    // NIC would deliver it: the padding must be ignored.
    let mut padded = [0u8; 60];
    padded[..ARP_REQUEST.len()].copy_from_slice(&ARP_REQUEST);
    let eth = EthernetFrame::new_checked(&padded[..]).unwrap();
    let repr = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    assert_eq!(repr.target_protocol_addr, IP_B);
}

#[test]
fn icmp_echo_request() {
    let (eth, ip, ip_repr) = ip_of(&ICMP_ECHO_REQUEST);
    assert_eq!((eth.src_addr, eth.dst_addr), (MAC_A, MAC_B));
    assert_eq!(
        ip_repr,
        Ipv4Repr {
            src_addr: IP_A,
            dst_addr: IP_B,
            next_header: IpProtocol::Icmp,
            payload_len: 16,
            hop_limit: 64,
        }
    );
    assert_eq!(ip.version(), 4);
    assert_eq!(ip.header_len(), 20);
    assert_eq!(ip.total_len(), 36);
    assert_eq!(ip.ident(), 10145);
    assert!(ip.dont_frag());
    assert!(!ip.more_frags());
    assert_eq!(ip.frag_offset(), 0);
    assert!(!ip.is_fragment());
    assert!(ip.options().is_empty());
    assert!(ip.verify_checksum());

    let icmp = Icmpv4Packet::new_checked(ip.into_payload()).unwrap();
    assert_eq!(icmp.msg_type(), Icmpv4Message::EchoRequest);
    assert!(icmp.verify_checksum());
    let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
    let data = b"STAK\0\0\0\0";
    assert_eq!(
        repr,
        Icmpv4Repr::EchoRequest {
            ident: 0x1cf3,
            seq_no: 1,
            data,
        }
    );

    // Re-emit the whole frame: IPv4 with the kernel's id and DF set, then
    // ICMP; every byte (both checksums included) must match.
    let mut out = [0u8; 50];
    let mut f = EthernetFrame::new_unchecked(&mut out[..]);
    eth.emit(&mut f);
    let mut ipp = Ipv4Packet::new_unchecked(f.payload_mut());
    ip_repr.emit(&mut ipp, 10145);
    ipp.set_dont_frag(true);
    ipp.fill_checksum();
    repr.emit(&mut Icmpv4Packet::new_unchecked(ipp.payload_mut()));
    assert_eq!(out, ICMP_ECHO_REQUEST);
}

#[test]
fn icmp_echo_reply() {
    let (eth, ip, ip_repr) = ip_of(&ICMP_ECHO_REPLY);
    assert_eq!(ip.ident(), 3150);
    assert!(!ip.dont_frag());
    let icmp = Icmpv4Packet::new_checked(ip.into_payload()).unwrap();
    let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
    assert_eq!(
        repr,
        Icmpv4Repr::EchoReply {
            ident: 0x1cf3,
            seq_no: 1,
            data: b"STAK\0\0\0\0",
        }
    );
    // The kernel's reply header is exactly what Ipv4Repr::emit writes (no
    // options, DF clear, TOS 0), so the plain emit path reproduces the frame.
    let mut out = [0u8; 50];
    let mut f = EthernetFrame::new_unchecked(&mut out[..]);
    eth.emit(&mut f);
    let mut ipp = Ipv4Packet::new_unchecked(f.payload_mut());
    ip_repr.emit(&mut ipp, 3150);
    repr.emit(&mut Icmpv4Packet::new_unchecked(ipp.payload_mut()));
    assert_eq!(out, ICMP_ECHO_REPLY);
}

#[test]
fn echo_request_turned_into_reply_in_place() {
    // What an interface does to answer a ping without copying the data:
    // swap addresses, flip the type, refill both checksums. The ICMP bytes
    // must then equal the kernel's reply.
    let mut buf = ICMP_ECHO_REQUEST;
    let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
    let mut ip = Ipv4Packet::new_checked(f.payload_mut()).unwrap();
    let mut icmp = Icmpv4Packet::new_checked(ip.payload_mut()).unwrap();
    icmp.set_msg_type(Icmpv4Message::EchoReply);
    icmp.fill_checksum();
    assert_eq!(icmp.as_ref(), &ICMP_ECHO_REPLY[34..]);
}

#[test]
fn icmp_echo_request_with_ethernet_padding() {
    let mut padded = [0u8; 60];
    padded[..50].copy_from_slice(&ICMP_ECHO_REQUEST);
    padded[50..].fill(0xa5);
    let (_, ip, _) = ip_of(&padded);
    // Bounded by total length, not by the frame: padding is not payload.
    assert_eq!(ip.payload().len(), 16);
    let icmp = Icmpv4Packet::new_checked(ip.into_payload()).unwrap();
    assert!(Icmpv4Repr::parse(&icmp, true).is_ok());
}

fn udp_roundtrip(frame: &[u8], src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) {
    let (_, ip, ip_repr) = ip_of(frame);
    assert_eq!(ip_repr.next_header, IpProtocol::Udp);
    assert_eq!((ip_repr.src_addr, ip_repr.dst_addr), (src.0, dst.0));
    let udp_bytes = ip.into_payload();
    let pkt = UdpPacket::new_checked(udp_bytes).unwrap();
    assert!(pkt.verify_checksum(src.0, dst.0));
    let repr = UdpRepr::parse(&pkt, src.0, dst.0, true).unwrap();
    assert_eq!(
        repr,
        UdpRepr {
            src_port: src.1,
            dst_port: dst.1
        }
    );
    assert_eq!(pkt.payload(), payload);
    assert_eq!(usize::from(pkt.len()), udp::HEADER_LEN + payload.len());

    // Emit (checksum while copying) reproduces the kernel's bytes.
    let mut out = [0u8; 64];
    let n = repr.buffer_len(payload.len());
    let mut o = UdpPacket::new_unchecked(&mut out[..n]);
    repr.emit(&mut o, src.0, dst.0, payload);
    assert_eq!(&out[..n], udp_bytes);

    // Receive path with the checksum folded in while copying out.
    let mut copy = [0u8; 64];
    let sum = stack_runtime::wire::checksum::copy_and_checksum(&mut copy, pkt.payload());
    assert!(pkt.verify_checksum_with_payload_sum(src.0, dst.0, sum));
}

#[test]
fn udp_datagram() {
    udp_roundtrip(
        &UDP_TO_PORT_7,
        (IP_A, 42162),
        (IP_B, 7),
        b"stackgen wire test",
    );
}

#[test]
fn udp_datagram_odd_length() {
    udp_roundtrip(&UDP_FROM_5353, (IP_B, 5353), (IP_A, 4000), b"hello udp");
}

#[test]
fn udp_bad_checksum_detected() {
    let mut frame = UDP_TO_PORT_7;
    frame[50] ^= 0x01; // one payload bit
    let (_, ip, _) = ip_of(&frame);
    let pkt = UdpPacket::new_checked(ip.into_payload()).unwrap();
    assert_eq!(UdpRepr::parse(&pkt, IP_A, IP_B, true), Err(Error::Checksum));
    // Without verification (device checked it) the header still parses.
    assert!(UdpRepr::parse(&pkt, IP_A, IP_B, false).is_ok());
}

#[test]
fn udp_zero_checksum_from_kernel() {
    let (_, ip, _) = ip_of(&UDP_NO_CHECKSUM);
    let bytes = ip.into_payload();
    let pkt = UdpPacket::new_checked(bytes).unwrap();
    assert_eq!(pkt.checksum(), 0);
    assert!(pkt.verify_checksum(IP_A, IP_B));
    let repr = UdpRepr::parse(&pkt, IP_A, IP_B, true).unwrap();
    assert_eq!((repr.src_port, repr.dst_port), (40001, 9));
    assert_eq!(pkt.payload(), b"no checksum");
    // We always send a checksum: same bytes except the checksum field,
    // which now verifies.
    let mut out = [0u8; 19];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut out[..]),
        IP_A,
        IP_B,
        b"no checksum",
    );
    assert_eq!(out[..6], bytes[..6]);
    assert_eq!(out[8..], bytes[8..]);
    assert_ne!(out[6..8], [0, 0]);
    assert!(
        UdpPacket::new_checked(&out[..])
            .unwrap()
            .verify_checksum(IP_A, IP_B)
    );
}

fn check_port_unreachable(frame: &[u8], quoted_ip: &[u8], from: Ipv4Addr, to: Ipv4Addr) {
    let (_, ip, ip_repr) = ip_of(frame);
    assert_eq!(ip.dscp(), 0x30); // TOS 0xc0: Linux sends errors as CS6
    assert_eq!((ip_repr.src_addr, ip_repr.dst_addr), (from, to));
    let icmp = Icmpv4Packet::new_checked(ip.into_payload()).unwrap();
    assert_eq!(icmp.msg_type(), Icmpv4Message::DstUnreachable);
    assert_eq!(icmp.msg_code(), 3);
    let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
    let Icmpv4Repr::DstUnreachable {
        reason,
        header,
        data,
    } = repr
    else {
        panic!("expected DstUnreachable, got {repr:?}");
    };
    assert_eq!(reason, Icmpv4DstUnreachable::PortUnreachable);
    let orig = Ipv4Packet::new_checked(quoted_ip).unwrap();
    let orig_repr = Ipv4Repr::parse(&orig, true).unwrap();
    assert_eq!(header, orig_repr);
    assert_eq!(data, orig.payload());
    // The quoted UDP header identifies the socket.
    let q = UdpPacket::new_checked(data).unwrap();
    assert_eq!(q.dst_port(), orig_repr_udp_dst(&orig));

    // Re-emit: the quote shrinks to header + 8 bytes, as RFC 792 asks,
    // and parses back to the same header and the first 8 bytes.
    let mut out = [0u8; 64];
    let n = repr.buffer_len();
    assert_eq!(n, icmpv4::HEADER_LEN + ipv4::HEADER_LEN + 8);
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..n]));
    let back = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&out[..n]).unwrap(), true).unwrap();
    assert_eq!(
        back,
        Icmpv4Repr::DstUnreachable {
            reason,
            header,
            data: &data[..8],
        }
    );
}

fn orig_repr_udp_dst(orig: &Ipv4Packet<&[u8]>) -> u16 {
    UdpPacket::new_checked(orig.payload()).unwrap().dst_port()
}

#[test]
fn icmp_port_unreachable() {
    check_port_unreachable(&ICMP_PORT_UNREACHABLE, &UDP_TO_PORT_7[14..], IP_B, IP_A);
}

#[test]
fn icmp_port_unreachable_odd_quote() {
    check_port_unreachable(&ICMP_PORT_UNREACHABLE_2, &UDP_FROM_5353[14..], IP_A, IP_B);
}

#[test]
fn ipv4_options_record_route() {
    for (frame, ident) in [
        (&ICMP_ECHO_REQUEST_RR, 0x1d46),
        (&ICMP_ECHO_REPLY_RR, 0x1d46),
    ] {
        let (_, ip, ip_repr) = ip_of(frame);
        assert_eq!(ip.header_len(), 60);
        assert_eq!(ip.total_len(), 72);
        assert_eq!(ip_repr.payload_len, 12);
        let opts = ip.options();
        assert_eq!(opts.len(), 40);
        // NOP + RR (type 7, length 39) in the request; RR first in the reply.
        assert!(opts.starts_with(&[0x01, 0x07, 39]) || opts.starts_with(&[0x07, 39]));
        let icmp = Icmpv4Packet::new_checked(ip.into_payload()).unwrap();
        let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
        match repr {
            Icmpv4Repr::EchoRequest {
                ident: i,
                seq_no,
                data,
            }
            | Icmpv4Repr::EchoReply {
                ident: i,
                seq_no,
                data,
            } => {
                assert_eq!((i, seq_no), (ident, 1));
                assert_eq!(data.len(), 4);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn ipv4_options_checksum_covers_options() {
    let mut frame = ICMP_ECHO_REQUEST_RR;
    frame[14 + 30] ^= 0x80; // a byte inside the option area
    let ip = Ipv4Packet::new_checked(&frame[14..]).unwrap();
    assert!(!ip.verify_checksum());
    assert_eq!(Ipv4Repr::parse(&ip, true), Err(Error::Checksum));
}

#[test]
fn ipv4_fragments_reassemble() {
    let (_, first, first_repr) = ip_of(&FRAGMENT_FIRST);
    assert!(first.more_frags());
    assert!(!first.dont_frag());
    assert!(first.is_fragment());
    assert_eq!(first.frag_offset(), 0);
    assert_eq!(first.ident(), 10240);
    assert_eq!(first_repr.payload_len, 48);

    let (_, last, last_repr) = ip_of(&FRAGMENT_LAST);
    assert!(!last.more_frags());
    assert!(last.is_fragment());
    assert_eq!(last.frag_offset(), 48);
    assert_eq!(last.ident(), 10240);
    assert_eq!(last_repr.payload_len, 20);

    // The first fragment alone does not carry a valid ICMP checksum…
    let partial = Icmpv4Packet::new_checked(first.payload()).unwrap();
    assert_eq!(Icmpv4Repr::parse(&partial, true), Err(Error::Checksum));

    // …the reassembled datagram does.
    let mut whole = [0u8; 68];
    whole[..48].copy_from_slice(first.payload());
    whole[48..].copy_from_slice(last.payload());
    let icmp = Icmpv4Packet::new_checked(&whole[..]).unwrap();
    let repr = Icmpv4Repr::parse(&icmp, true).unwrap();
    let Icmpv4Repr::EchoRequest {
        ident,
        seq_no,
        data,
    } = repr
    else {
        panic!("expected echo request, got {repr:?}");
    };
    assert_eq!((ident, seq_no), (0x1d48, 1));
    assert_eq!(data.len(), 60);
    assert!(data.ends_with(b"fragfragfragfragfragfragfragfragfragfragfrag"));

    // Emitting fragment headers reproduces the kernel's (after setting the
    // same ident; DF is clear on fragments).
    for (frame, repr, off, mf) in [
        (&FRAGMENT_FIRST[..], first_repr, 0u16, true),
        (&FRAGMENT_LAST[..], last_repr, 48, false),
    ] {
        let mut hdr = [0u8; ipv4::HEADER_LEN];
        repr.emit_fragment(&mut Ipv4Packet::new_unchecked(&mut hdr[..]), 10240, off, mf);
        assert_eq!(&hdr[..], &frame[14..34]);
    }
}
