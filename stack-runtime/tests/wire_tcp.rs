//! TCP wire format: byte vectors from real captures, then one test per parse
//! failure.
//!
//! # How the captures were made
//!
//! Every frame below was produced by the Linux kernel (6.18) and captured on
//! 2026-11-23 with `tcpdump -i sgtcp-va -nn -e -xx -vv tcp` inside a
//! throw-away pair of network namespaces joined by a veth pair, created and
//! deleted (by an `EXIT` trap, so also on failure) by the capture script:
//!
//! ```text
//! ip netns add sgtcp-a; ip netns add sgtcp-b
//! ip link add sgtcp-va netns sgtcp-a address 02:00:00:00:00:01 type veth \
//!     peer name sgtcp-vb netns sgtcp-b address 02:00:00:00:00:02
//! # in both namespaces: IPv6 off, checksum offload off, lo up
//! ip netns exec sgtcp-X sysctl -w net.ipv6.conf.all.disable_ipv6=1
//! ip netns exec sgtcp-X ethtool -K sgtcp-vX tx off rx off
//! ip -n sgtcp-a addr add 192.0.2.1/24 dev sgtcp-va   # A, the client
//! ip -n sgtcp-b addr add 192.0.2.2/24 dev sgtcp-vb   # B, the server
//! ...
//! ip netns del sgtcp-a; ip netns del sgtcp-b
//! ```
//!
//! With offload off every checksum on the wire was computed by the kernel in
//! software (tcpdump printed "cksum … (correct)" for each). Default sysctls:
//! timestamps, SACK and window scaling on, ECN only when asked. "A→B"
//! frames were sent by A's kernel, "B→A" frames by B's kernel, except
//! `OOO_CRAFTED`, which python built (see there).
//!
//! The python3 programs, run with `ip netns exec`:
//!
//! 1. Exchange. B: `s.bind(("192.0.2.2", 7000)); s.listen(1); c = s.accept()`,
//!    `c.recv(100)`, `c.sendall(b"ok:" + data)`, read until EOF, close.
//!    A: `c.bind(("192.0.2.1", 40000)); c.connect(("192.0.2.2", 7000))`,
//!    `c.sendall(b"stackgen tcp wire")`, `c.recv(100)`,
//!    `c.shutdown(SHUT_WR)`, `c.recv(100)`, `c.close()`.
//! 2. Refused. A: bound to port 40001, `connect(("192.0.2.2", 7999))` with
//!    nothing listening there.
//! 3. SACK. B: a listener on 7001 that accepts and then reads nothing for
//!    3 s. A: bound to port 40002, connects, `sendall(b"in order")` (8
//!    bytes), learns the connection's sequence numbers and TSval by reading
//!    its own data segment back from an `AF_PACKET` socket on `sgtcp-va`,
//!    then sends three 15-byte segments `b"sackN.........."` through a
//!    `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` at 100, 300 and 500 bytes past
//!    the next expected sequence number (TCP header and checksum built in
//!    python, NOP NOP + Timestamps with TSval incremented), 0.2 s apart. B's
//!    kernel queues each out of order and answers with a duplicate ACK
//!    carrying 1, 2, then 3 SACK blocks, most recent first. Then A sets
//!    `SO_LINGER` {1, 0} and closes: an abortive RST.
//! 4. SACK without timestamps: `sysctl -w net.ipv4.tcp_timestamps=0` in B,
//!    then 3. again with ports 40003 → 7002 and four holes (100, 300, 500,
//!    700 bytes ahead, no options on the crafted segments): B answers the
//!    fourth with four SACK blocks.

use core::net::Ipv4Addr;

use stack_runtime::wire::tcp::{
    self, Control, Flags, OptionIter, SackRanges, TcpOption, Timestamp,
};
use stack_runtime::wire::{
    Error, EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket,
    TcpRepr, TcpSeqNumber, checksum,
};

const IP_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const IP_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

const fn seq(v: u32) -> TcpSeqNumber {
    TcpSeqNumber(v)
}

// A→B, exchange: the SYN of `connect(("192.0.2.2", 7000))`. tcpdump: Flags
// [S], seq 821742599, win 64240, options [mss 1460,sackOK,TS val 1369688091
// ecr 0,nop,wscale 10].
const SYN: [u8; 74] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x3c, 0x8a, 0x32, 0x40, 0x00, 0x40, 0x06, 0x2c, 0x86, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x40, 0x1b, 0x58, 0x30, 0xfa, 0xcc, 0x07, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0xfa, 0xae, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x51, 0xa3,
    0xc8, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
];
// B→A, exchange: the kernel's SYN-ACK. Flags [S.], seq 900050989, ack
// 821742600, win 65160, options [mss 1460,sackOK,TS val 665650044 ecr
// 1369688091,nop,wscale 10].
const SYN_ACK: [u8; 74] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xb8, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x1b, 0x58, 0x9c, 0x40, 0x35, 0xa5, 0xb0, 0x2d, 0x30, 0xfa, 0xcc, 0x08, 0xa0, 0x12,
    0xfe, 0x88, 0xe6, 0x09, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x27, 0xad,
    0x03, 0x7c, 0x51, 0xa3, 0xc8, 0x1b, 0x01, 0x03, 0x03, 0x0a,
];
// A→B, exchange: `sendall(b"stackgen tcp wire")`, 17 bytes (odd length).
// Flags [P.], seq 1:18 (relative), ack 1, win 63, options [nop,nop,TS val
// 1369688091 ecr 665650044].
const DATA: [u8; 83] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x45, 0x8a, 0x34, 0x40, 0x00, 0x40, 0x06, 0x2c, 0x7b, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x40, 0x1b, 0x58, 0x30, 0xfa, 0xcc, 0x08, 0x35, 0xa5, 0xb0, 0x2e, 0x80, 0x18,
    0x00, 0x3f, 0xfa, 0x8d, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x51, 0xa3, 0xc8, 0x1b, 0x27, 0xad,
    0x03, 0x7c, 0x73, 0x74, 0x61, 0x63, 0x6b, 0x67, 0x65, 0x6e, 0x20, 0x74, 0x63, 0x70, 0x20, 0x77,
    0x69, 0x72, 0x65,
];
// A→B, exchange: the FIN of `shutdown(SHUT_WR)`. Flags [F.], seq 18, ack 21
// (relative), win 63, options [nop,nop,TS val 1369688091 ecr 665650044].
const FIN: [u8; 66] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x34, 0x8a, 0x36, 0x40, 0x00, 0x40, 0x06, 0x2c, 0x8a, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x40, 0x1b, 0x58, 0x30, 0xfa, 0xcc, 0x19, 0x35, 0xa5, 0xb0, 0x42, 0x80, 0x11,
    0x00, 0x3f, 0x12, 0xfd, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x51, 0xa3, 0xc8, 0x1b, 0x27, 0xad,
    0x03, 0x7c,
];
// B→A, refused: B's kernel answering the SYN to closed port 7999. Flags
// [R.], seq 0, ack 468898013, win 0, no options.
const RST_ACK_REFUSED: [u8; 54] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xcc, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x1f, 0x3f, 0x9c, 0x41, 0x00, 0x00, 0x00, 0x00, 0x1b, 0xf2, 0xd0, 0xdd, 0x50, 0x14,
    0x00, 0x00, 0x83, 0x7c, 0x00, 0x00,
];
// A→B, SACK without timestamps (4.): the first out-of-order segment, built
// by python (header and checksum) and sent through a raw socket; A's kernel
// only added the IPv4 header. tcpdump: "cksum 0x0f31 (correct)", seq 109:124
// (relative), and B's kernel accepted it: its next ACK SACKs exactly these
// 15 bytes. Flags [P.], win 502, no options.
const OOO_CRAFTED: [u8; 69] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x37, 0x96, 0x14, 0x40, 0x00, 0x40, 0x06, 0x20, 0xa9, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x43, 0x1b, 0x5a, 0x5e, 0xfa, 0x4f, 0xb2, 0xc6, 0x6b, 0x00, 0x29, 0x50, 0x18,
    0x01, 0xf6, 0x0f, 0x31, 0x00, 0x00, 0x73, 0x61, 0x63, 0x6b, 0x30, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
    0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
];
// B→A, SACK with timestamps (3.): the duplicate ACK after the third hole.
// Flags [.], seq 1, ack 9 (relative), win 64, options [nop,nop,TS val
// 1795713763 ecr 3470535594,nop,nop,sack 3 {509:524}{309:324}{109:124}]: the
// 3-block maximum next to timestamps, 60-byte header.
const SACK_3_BLOCKS: [u8; 94] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x50, 0xfc, 0xdf, 0x40, 0x00, 0x40, 0x06, 0xb9, 0xc4, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x1b, 0x59, 0x9c, 0x42, 0x9e, 0xb0, 0x30, 0x54, 0x92, 0xa5, 0xae, 0x6e, 0xf0, 0x10,
    0x00, 0x40, 0x56, 0x6c, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x6b, 0x08, 0x6a, 0xe3, 0xce, 0xdc,
    0x2b, 0xaa, 0x01, 0x01, 0x05, 0x1a, 0x92, 0xa5, 0xb0, 0x62, 0x92, 0xa5, 0xb0, 0x71, 0x92, 0xa5,
    0xaf, 0x9a, 0x92, 0xa5, 0xaf, 0xa9, 0x92, 0xa5, 0xae, 0xd2, 0x92, 0xa5, 0xae, 0xe1,
];
// A→B, SACK with timestamps (3.): the RST of the abortive close. Flags [R.],
// seq 9, ack 1 (relative), win 63, options [nop,nop,TS val 3470536696 ecr
// 1795713763].
const RST_ABORT: [u8; 66] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x34, 0xb8, 0x24, 0x40, 0x00, 0x40, 0x06, 0xfe, 0x9b, 0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00,
    0x02, 0x02, 0x9c, 0x42, 0x1b, 0x59, 0x92, 0xa5, 0xae, 0x6e, 0x9e, 0xb0, 0x30, 0x54, 0x80, 0x14,
    0x00, 0x3f, 0x56, 0x01, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xce, 0xdc, 0x2f, 0xf8, 0x6b, 0x08,
    0x6a, 0xe3,
];
// B→A, SACK without timestamps (4.): B's SYN-ACK with timestamps disabled.
// Flags [S.], seq 3328901160, ack 1593462598, win 64240, options [mss
// 1460,nop,nop,sackOK,nop,wscale 10].
const SYN_ACK_NO_TS: [u8; 66] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x34, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xb6, 0xc0, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x1b, 0x5a, 0x9c, 0x43, 0xc6, 0x6b, 0x00, 0x28, 0x5e, 0xfa, 0x4f, 0x46, 0x80, 0x12,
    0xfa, 0xf0, 0xc3, 0x97, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03,
    0x03, 0x0a,
];
// B→A, SACK without timestamps (4.): the duplicate ACK after the fourth
// hole. Flags [.], seq 1, ack 9 (relative), win 63, options
// [nop,nop,sack 4 {709:724}{509:524}{309:324}{109:124}].
const SACK_4_BLOCKS: [u8; 90] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x4c, 0x60, 0x8f, 0x40, 0x00, 0x40, 0x06, 0x56, 0x19, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x1b, 0x5a, 0x9c, 0x43, 0xc6, 0x6b, 0x00, 0x29, 0x5e, 0xfa, 0x4f, 0x4e, 0xe0, 0x10,
    0x00, 0x3f, 0xe9, 0xcd, 0x00, 0x00, 0x01, 0x01, 0x05, 0x22, 0x5e, 0xfa, 0x52, 0x0a, 0x5e, 0xfa,
    0x52, 0x19, 0x5e, 0xfa, 0x51, 0x42, 0x5e, 0xfa, 0x51, 0x51, 0x5e, 0xfa, 0x50, 0x7a, 0x5e, 0xfa,
    0x50, 0x89, 0x5e, 0xfa, 0x4f, 0xb2, 0x5e, 0xfa, 0x4f, 0xc1,
];

/// The IPv4 header and the TCP segment bytes of a captured frame, checking
/// the Ethernet and IPv4 layers on the way.
fn segment_of(frame: &[u8]) -> (Ipv4Repr, &[u8]) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    assert_eq!(
        EthernetRepr::parse(&eth).unwrap().ethertype,
        EtherType::Ipv4
    );
    let ip = Ipv4Packet::new_checked(eth.into_payload()).unwrap();
    let ip_repr = Ipv4Repr::parse(&ip, true).unwrap();
    assert_eq!(ip_repr.next_header, IpProtocol::Tcp);
    assert_eq!(ip_repr.next_header, tcp::PROTOCOL);
    (ip_repr, ip.into_payload())
}

/// Parse a captured segment, compare it with `expect`, and re-emit it both
/// ways (full emit, and header-only emit over a payload already in place)
/// byte for byte.
fn check_capture<'a>(frame: &'a [u8], expect: TcpRepr<'_>) -> TcpPacket<&'a [u8]> {
    let (ip, seg) = segment_of(frame);
    let (src, dst) = (ip.src_addr, ip.dst_addr);
    let p = TcpPacket::new_checked(seg).unwrap();
    assert!(p.verify_checksum(src, dst));
    assert!(!p.verify_checksum(dst, Ipv4Addr::new(192, 0, 2, 3)));
    let repr = TcpRepr::parse(&p, src, dst, true).unwrap();
    assert_eq!(repr, expect);
    assert_eq!(repr.header_len(), usize::from(p.header_len()));
    assert_eq!(repr.buffer_len(), seg.len());
    assert_eq!(repr.flags(), p.flags());
    assert_eq!(repr.segment_len(), p.segment_len());
    assert_eq!(repr.emitted_sack_blocks(), repr.sack_ranges.len());

    let mut out = vec![0xa5u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), src, dst);
    assert_eq!(out, seg, "emit");

    // Retransmission path: payload already in the buffer, header written in
    // front of it, checksum from a cached payload sum.
    let mut out = vec![0x5au8; repr.buffer_len()];
    out[repr.header_len()..].copy_from_slice(repr.payload);
    let mut q = TcpPacket::new_unchecked(&mut out[..]);
    repr.emit_header(&mut q);
    q.fill_checksum_with_payload_sum(src, dst, checksum::data(repr.payload));
    assert_eq!(out, seg, "emit_header + fill_checksum_with_payload_sum");
    let mut out2 = out.clone();
    out2[16] ^= 0xff;
    TcpPacket::new_unchecked(&mut out2[..]).fill_checksum(src, dst);
    assert_eq!(out2, seg, "fill_checksum");
    p
}

fn options(p: &TcpPacket<&[u8]>) -> Vec<TcpOption<'static>> {
    p.iter_options()
        .map(|o| match o.unwrap() {
            TcpOption::Unknown { .. } => panic!("unexpected unknown option"),
            TcpOption::EndOfList => TcpOption::EndOfList,
            TcpOption::NoOperation => TcpOption::NoOperation,
            TcpOption::MaxSegmentSize(v) => TcpOption::MaxSegmentSize(v),
            TcpOption::WindowScale(v) => TcpOption::WindowScale(v),
            TcpOption::SackPermitted => TcpOption::SackPermitted,
            TcpOption::SackRange(r) => TcpOption::SackRange(r),
            TcpOption::Timestamps(t) => TcpOption::Timestamps(t),
        })
        .collect()
}

fn ts(tsval: u32, tsecr: u32) -> Option<Timestamp> {
    Some(Timestamp { tsval, tsecr })
}

#[test]
fn syn() {
    let p = check_capture(
        &SYN,
        TcpRepr {
            src_port: 40000,
            dst_port: 7000,
            control: Control::Syn,
            seq_number: seq(821742599),
            ack_number: None,
            window_len: 64240,
            window_scale: Some(10),
            max_seg_size: Some(1460),
            sack_permitted: true,
            timestamp: ts(1369688091, 0),
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.src_port(), 40000);
    assert_eq!(p.dst_port(), 7000);
    assert_eq!(p.seq_number(), seq(821742599));
    assert_eq!(p.ack_number(), seq(0));
    assert_eq!(p.header_len(), 40);
    assert_eq!(p.flags(), Flags::SYN);
    assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh());
    assert!(!p.urg() && !p.ece() && !p.cwr());
    assert_eq!(p.window_len(), 64240);
    assert_eq!(p.checksum(), 0xfaae);
    assert_eq!(p.urgent_at(), 0);
    assert_eq!(p.options().len(), 20);
    assert!(p.payload().is_empty());
    assert_eq!(p.segment_len(), 1);
    assert_eq!(
        options(&p),
        [
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamps(Timestamp {
                tsval: 1369688091,
                tsecr: 0
            }),
            TcpOption::NoOperation,
            TcpOption::WindowScale(10),
        ]
    );
}

#[test]
fn syn_ack() {
    let p = check_capture(
        &SYN_ACK,
        TcpRepr {
            src_port: 7000,
            dst_port: 40000,
            control: Control::Syn,
            seq_number: seq(900050989),
            ack_number: Some(seq(821742600)),
            window_len: 65160,
            window_scale: Some(10),
            max_seg_size: Some(1460),
            sack_permitted: true,
            timestamp: ts(665650044, 1369688091),
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.flags(), Flags::SYN | Flags::ACK);
    assert_eq!(p.checksum(), 0xe609);
    // The SYN-ACK acknowledges the SYN's one octet.
    let (_, syn) = segment_of(&SYN);
    let syn = TcpPacket::new_checked(syn).unwrap();
    assert_eq!(p.ack_number(), syn.seq_number() + syn.segment_len());
}

#[test]
fn syn_ack_without_timestamps() {
    let p = check_capture(
        &SYN_ACK_NO_TS,
        TcpRepr {
            src_port: 7002,
            dst_port: 40003,
            control: Control::Syn,
            seq_number: seq(3328901160),
            ack_number: Some(seq(1593462598)),
            window_len: 64240,
            window_scale: Some(10),
            max_seg_size: Some(1460),
            sack_permitted: true,
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.header_len(), 32);
    assert_eq!(
        options(&p),
        [
            TcpOption::MaxSegmentSize(1460),
            TcpOption::NoOperation,
            TcpOption::NoOperation,
            TcpOption::SackPermitted,
            TcpOption::NoOperation,
            TcpOption::WindowScale(10),
        ]
    );
}

#[test]
fn data_segment() {
    let p = check_capture(
        &DATA,
        TcpRepr {
            src_port: 40000,
            dst_port: 7000,
            push: true,
            seq_number: seq(821742600),
            ack_number: Some(seq(900050990)),
            window_len: 63,
            timestamp: ts(1369688091, 665650044),
            payload: b"stackgen tcp wire",
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.flags(), Flags::PSH | Flags::ACK);
    assert_eq!(p.header_len(), 32);
    assert_eq!(p.payload(), b"stackgen tcp wire");
    assert_eq!(p.segment_len(), 17);
    assert_eq!(p.checksum(), 0xfa8d);
    // The receive hot path: copy the payload out while summing it.
    let (ip, seg) = segment_of(&DATA);
    let mut rx = [0u8; 17];
    let sum = checksum::copy_and_checksum(&mut rx, p.payload());
    assert_eq!(&rx, b"stackgen tcp wire");
    assert!(p.verify_checksum_with_payload_sum(ip.src_addr, ip.dst_addr, sum));
    assert!(!p.verify_checksum_with_payload_sum(ip.src_addr, ip.dst_addr, sum ^ 1));
    // into_payload borrows from the buffer, not the view.
    let payload = TcpPacket::new_checked(seg).unwrap().into_payload();
    assert_eq!(payload, b"stackgen tcp wire");
    // Without verification, a corrupted payload still parses (the caller
    // verifies while copying).
    let mut bad = seg.to_vec();
    bad[40] ^= 0x20;
    let q = TcpPacket::new_checked(&bad[..]).unwrap();
    assert!(TcpRepr::parse(&q, ip.src_addr, ip.dst_addr, false).is_ok());
    assert_eq!(
        TcpRepr::parse(&q, ip.src_addr, ip.dst_addr, true),
        Err(Error::Checksum)
    );
}

#[test]
fn fin() {
    let p = check_capture(
        &FIN,
        TcpRepr {
            src_port: 40000,
            dst_port: 7000,
            control: Control::Fin,
            seq_number: seq(821742617),
            ack_number: Some(seq(900051010)),
            window_len: 63,
            timestamp: ts(1369688091, 665650044),
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.flags(), Flags::FIN | Flags::ACK);
    assert_eq!(p.segment_len(), 1);
    // The FIN follows the 17 data bytes.
    let (_, data) = segment_of(&DATA);
    let data = TcpPacket::new_checked(data).unwrap();
    assert_eq!(p.seq_number() - data.seq_number(), 17);
}

#[test]
fn rst_ack_for_closed_port() {
    let p = check_capture(
        &RST_ACK_REFUSED,
        TcpRepr {
            src_port: 7999,
            dst_port: 40001,
            control: Control::Rst,
            seq_number: seq(0),
            ack_number: Some(seq(468898013)),
            window_len: 0,
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.flags(), Flags::RST | Flags::ACK);
    assert_eq!(p.header_len(), 20);
    assert!(p.options().is_empty());
    assert_eq!(p.iter_options().count(), 0);
    assert_eq!(p.segment_len(), 0);
}

#[test]
fn rst_abortive_close() {
    check_capture(
        &RST_ABORT,
        TcpRepr {
            src_port: 40002,
            dst_port: 7001,
            control: Control::Rst,
            seq_number: seq(2460331630),
            ack_number: Some(seq(2662346836)),
            window_len: 63,
            timestamp: ts(3470536696, 1795713763),
            ..TcpRepr::default()
        },
    );
}

#[test]
fn out_of_order_segment_built_by_python() {
    let p = check_capture(
        &OOO_CRAFTED,
        TcpRepr {
            src_port: 40003,
            dst_port: 7002,
            push: true,
            seq_number: seq(1593462706),
            ack_number: Some(seq(3328901161)),
            window_len: 502,
            payload: b"sack0..........",
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.checksum(), 0x0f31);
    // 1593462598 is A's first data byte (the SYN-ACK acks it), the 8 bytes
    // "in order" end at 1593462606, and the hole is 100 bytes.
    assert_eq!(p.seq_number() - seq(1593462598), 108);
}

#[test]
fn sack_three_blocks_with_timestamps() {
    // tcpdump prints A's sequence numbers relative to A's ISN 2460331621
    // (the seq of its SYN): B's ack 9 is 2460331630, block {109:124} is
    // 2460331730..2460331745, and so on.
    let base = 2460331621u32;
    let block = |rel: u32| (seq(base + rel), seq(base + rel + 15));
    let p = check_capture(
        &SACK_3_BLOCKS,
        TcpRepr {
            src_port: 7001,
            dst_port: 40002,
            seq_number: seq(2662346836),
            ack_number: Some(seq(2460331630)),
            window_len: 64,
            timestamp: ts(1795713763, 3470535594),
            sack_ranges: SackRanges::from_slice(&[block(509), block(309), block(109)]),
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.header_len(), 60);
    assert_eq!(
        options(&p)[3..],
        [
            TcpOption::NoOperation,
            TcpOption::NoOperation,
            TcpOption::SackRange(SackRanges::from_slice(&[
                (seq(0x92a5b062), seq(0x92a5b071)),
                (seq(0x92a5af9a), seq(0x92a5afa9)),
                (seq(0x92a5aed2), seq(0x92a5aee1)),
            ])),
        ]
    );
}

#[test]
fn sack_four_blocks() {
    let base = 1593462597u32; // A's ISN (port 40003): relative 0.
    let block = |rel: u32| (seq(base + rel), seq(base + rel + 15));
    let p = check_capture(
        &SACK_4_BLOCKS,
        TcpRepr {
            src_port: 7002,
            dst_port: 40003,
            seq_number: seq(3328901161),
            ack_number: Some(seq(1593462606)),
            window_len: 63,
            sack_ranges: SackRanges::from_slice(&[block(709), block(509), block(309), block(109)]),
            ..TcpRepr::default()
        },
    );
    assert_eq!(p.header_len(), 56);
    assert_eq!(p.options().len(), 36);
    // The OOO segment crafted in python is the oldest (last) block.
    let (_, ooo) = segment_of(&OOO_CRAFTED);
    let ooo = TcpPacket::new_checked(ooo).unwrap();
    let repr = TcpRepr::parse(&p, IP_B, IP_A, true).unwrap();
    assert_eq!(
        repr.sack_ranges.as_slice()[3],
        (ooo.seq_number(), ooo.seq_number() + ooo.payload().len())
    );
}

#[test]
fn display() {
    let (ip, seg) = segment_of(&SYN_ACK);
    let p = TcpPacket::new_checked(seg).unwrap();
    let r = TcpRepr::parse(&p, ip.src_addr, ip.dst_addr, true).unwrap();
    assert_eq!(
        r.to_string(),
        "TCP 7000 > 40000 SYN|ACK seq=900050989 ack=821742600 win=65160 len=0 mss=1460 \
         ws=10 sackOK ts=665650044/1369688091"
    );
}

// ---------------------------------------------------------------- errors

/// Every capture, as (frame, source, destination).
fn all_captures() -> [(&'static [u8], Ipv4Addr, Ipv4Addr); 10] {
    [
        (&SYN, IP_A, IP_B),
        (&SYN_ACK, IP_B, IP_A),
        (&DATA, IP_A, IP_B),
        (&FIN, IP_A, IP_B),
        (&RST_ACK_REFUSED, IP_B, IP_A),
        (&OOO_CRAFTED, IP_A, IP_B),
        (&SACK_3_BLOCKS, IP_B, IP_A),
        (&RST_ABORT, IP_A, IP_B),
        (&SYN_ACK_NO_TS, IP_B, IP_A),
        (&SACK_4_BLOCKS, IP_B, IP_A),
    ]
}

#[test]
fn truncated_at_every_length() {
    for (frame, src, dst) in all_captures() {
        let (_, seg) = segment_of(frame);
        let header_len = usize::from(TcpPacket::new_checked(seg).unwrap().header_len());
        for n in 0..header_len {
            let cut = &seg[..n];
            assert_eq!(
                TcpPacket::new_checked(cut).err(),
                Some(Error::Truncated),
                "len {n}"
            );
            // An unchecked view of a short buffer is an error, not a panic.
            assert_eq!(
                TcpRepr::parse(&TcpPacket::new_unchecked(cut), src, dst, false),
                Err(Error::Truncated),
                "len {n}"
            );
            // The slice accessors are panic-free even unchecked.
            let u = TcpPacket::new_unchecked(cut);
            let _ = (
                u.header_len(),
                u.options(),
                u.payload(),
                u.verify_checksum(src, dst),
            );
        }
        // Cutting into the payload leaves a well-formed segment whose
        // checksum no longer verifies.
        for n in header_len..seg.len() {
            let p = TcpPacket::new_checked(&seg[..n]).unwrap();
            assert_eq!(p.payload().len(), n - header_len);
            assert_eq!(TcpRepr::parse(&p, src, dst, true), Err(Error::Checksum));
            assert!(TcpRepr::parse(&p, src, dst, false).is_ok());
        }
    }
}

#[test]
fn bad_data_offset() {
    let (_, seg) = segment_of(&DATA);
    for off in 0u8..16 {
        let mut buf = seg.to_vec();
        buf[12] = (off << 4) | (buf[12] & 0x0f);
        let r = TcpPacket::new_checked(&buf[..]).map(|p| p.header_len());
        // The segment is 32 + 17 = 49 bytes: offsets up to 12 (48) fit.
        assert_eq!(seg.len(), 49);
        match off {
            0..=4 => assert_eq!(r, Err(Error::Malformed), "offset {off}"),
            5..=12 => assert_eq!(r, Ok(off * 4), "offset {off}"),
            _ => assert_eq!(r, Err(Error::Truncated), "offset {off}"),
        }
        let u = TcpPacket::new_unchecked(&buf[..]);
        // Offsets 6..=12 turn option and payload bytes into options that may or
        // may not parse; the others always fail.
        let parsed = TcpRepr::parse(&u, IP_A, IP_B, false);
        assert!(parsed.is_err() || (5..=12).contains(&off));
        let _ = (u.options(), u.payload(), u.segment_len());
    }
}

#[test]
fn bad_checksum() {
    for (frame, src, dst) in all_captures() {
        let (_, seg) = segment_of(frame);
        // Flip one bit at every position: always caught.
        for i in 0..seg.len() {
            let mut buf = seg.to_vec();
            buf[i] ^= 0x01;
            let p = TcpPacket::new_checked(&buf[..]);
            if let Ok(p) = p {
                assert!(!p.verify_checksum(src, dst), "byte {i}");
                assert_eq!(TcpRepr::parse(&p, src, dst, true), Err(Error::Checksum));
            }
        }
        // Wrong pseudo header.
        let p = TcpPacket::new_checked(seg).unwrap();
        assert_eq!(
            TcpRepr::parse(&p, dst, src, true),
            Ok(TcpRepr::parse(&p, src, dst, true).unwrap()),
            "swapped addresses sum the same"
        );
        assert_eq!(
            TcpRepr::parse(&p, src, Ipv4Addr::new(192, 0, 2, 9), true),
            Err(Error::Checksum)
        );
    }
}

/// A minimal valid ACK segment with `opts` (padded with zeros to a multiple
/// of 4) and a correct checksum.
fn with_options(opts: &[u8]) -> Vec<u8> {
    let padded = opts.len().div_ceil(4) * 4;
    let mut buf = vec![0u8; tcp::HEADER_LEN + padded];
    let repr = TcpRepr {
        src_port: 40000,
        dst_port: 7,
        seq_number: seq(1000),
        ack_number: Some(seq(2000)),
        window_len: 1024,
        ..TcpRepr::default()
    };
    let mut p = TcpPacket::new_unchecked(&mut buf[..]);
    repr.emit_header(&mut p);
    p.set_header_len((tcp::HEADER_LEN + padded) as u8);
    p.options_mut()[..opts.len()].copy_from_slice(opts);
    p.fill_checksum(IP_A, IP_B);
    buf
}

fn parse_opts(buf: &[u8]) -> Result<TcpRepr<'_>, Error> {
    TcpRepr::parse(&TcpPacket::new_checked(buf)?, IP_A, IP_B, true)
}

#[test]
fn malformed_options() {
    let cases: &[(&str, &[u8])] = &[
        ("length 0", &[8, 0]),
        ("length 1", &[2, 1]),
        ("unknown kind, length 0", &[30, 0]),
        ("unknown kind, length 1", &[30, 1, 0, 0]),
        ("length byte missing", &[1, 1, 1, 2]),
        ("MSS runs past the end", &[1, 1, 1, 1, 1, 1, 2, 4]),
        ("unknown runs past the end", &[30, 8, 0, 0]),
        ("SACK runs past the end", &[1, 1, 5, 10, 0, 0, 0, 1]),
        ("MSS length 3", &[2, 3, 5, 0]),
        ("MSS length 5", &[2, 5, 5, 0xb4, 0, 0, 0, 0]),
        ("WS length 2", &[3, 2, 0, 0]),
        ("WS length 4", &[3, 4, 7, 0]),
        ("SACK-permitted length 3", &[4, 3, 0, 0]),
        ("Timestamps length 9", &[8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        (
            "Timestamps length 11",
            &[8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        ("SACK without blocks", &[1, 1, 5, 2]),
        ("SACK length 9", &[5, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0]),
        (
            "SACK length 14",
            &[5, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0],
        ),
        (
            "SACK with 5 blocks",
            &[5, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        ("garbage after a valid MSS", &[2, 4, 5, 0xb4, 30, 0]),
    ];
    for &(name, opts) in cases {
        let buf = with_options(opts);
        assert_eq!(parse_opts(&buf), Err(Error::Malformed), "{name}");
        // The iterator ends with exactly one error.
        let p = TcpPacket::new_checked(&buf[..]).unwrap();
        let items: Vec<_> = p.iter_options().collect();
        assert_eq!(items.iter().filter(|o| o.is_err()).count(), 1, "{name}");
        assert!(items.last().unwrap().is_err(), "{name}");
        // Parsing the raw option bytes directly fails the same way.
        assert!(OptionIter::new(opts).any(|o| o.is_err()), "{name}");
    }
    // SACK with 5 blocks cannot fit a header, but the iterator also rejects
    // it when handed the raw bytes.
    let mut five = vec![5u8, 42];
    five.extend_from_slice(&[0; 40]);
    assert_eq!(TcpOption::parse(&five).err(), Some(Error::Malformed));
    assert_eq!(TcpOption::parse(&[]).err(), Some(Error::Malformed));
}

#[test]
fn option_edge_cases() {
    // Unknown kinds are skipped; End of Option List stops parsing, so junk
    // after it is ignored.
    let buf = with_options(&[30, 4, 0xde, 0xad, 2, 4, 2, 0x18, 0, 99, 1, 0]);
    let r = parse_opts(&buf).unwrap();
    assert_eq!(r.max_seg_size, Some(536));
    let p = TcpPacket::new_checked(&buf[..]).unwrap();
    let opts: Vec<_> = p.iter_options().map(Result::unwrap).collect();
    assert_eq!(
        opts,
        [
            TcpOption::Unknown {
                kind: 30,
                data: &[0xde, 0xad][..]
            },
            TcpOption::MaxSegmentSize(536),
            TcpOption::EndOfList,
        ]
    );
    // A window shift above 14 is used as 14 (RFC 7323 §2.3).
    for shift in [14u8, 15, 200, 255] {
        let buf = with_options(&[1, 3, 3, shift]);
        assert_eq!(parse_opts(&buf).unwrap().window_scale, Some(14));
    }
    // The last occurrence of an option wins.
    let buf = with_options(&[2, 4, 1, 0, 2, 4, 2, 0]);
    assert_eq!(parse_opts(&buf).unwrap().max_seg_size, Some(512));
    // An unknown option of length 2 (no data) is fine.
    let buf = with_options(&[30, 2]);
    assert!(parse_opts(&buf).is_ok());
    // Option emit and parse agree, with the shift clamp.
    let mut out = [0u8; 3];
    assert_eq!(TcpOption::WindowScale(20).emit(&mut out), 3);
    assert_eq!(out, [3, 3, 14]);
    let mut out = [0u8; 4];
    let unknown = TcpOption::Unknown {
        kind: 77,
        data: &[1, 2],
    };
    assert_eq!(unknown.emit(&mut out), 4);
    assert_eq!(TcpOption::parse(&out).unwrap(), (unknown, &[][..]));
}

#[test]
fn invalid_ports_and_flag_combinations() {
    let base = with_options(&[]);
    for (at, bytes) in [(0usize, [0u8, 0]), (2, [0, 0])] {
        let mut buf = base.clone();
        buf[at..at + 2].copy_from_slice(&bytes);
        TcpPacket::new_unchecked(&mut buf[..]).fill_checksum(IP_A, IP_B);
        assert_eq!(parse_opts(&buf), Err(Error::Malformed), "port at {at}");
    }
    for (flags, ok) in [
        (Flags::SYN | Flags::FIN, false),
        (Flags::SYN | Flags::RST, false),
        (Flags::FIN | Flags::RST, false),
        (Flags::SYN | Flags::FIN | Flags::RST, false),
        (Flags::FIN | Flags::PSH | Flags::ACK, true),
        (Flags::SYN | Flags::ECE | Flags::CWR, true),
        (Flags::URG | Flags::ACK, true),
        (Flags::empty(), true),
    ] {
        let mut buf = base.clone();
        let mut p = TcpPacket::new_unchecked(&mut buf[..]);
        p.set_flags(flags);
        p.fill_checksum(IP_A, IP_B);
        let r = parse_opts(&buf);
        assert_eq!(r.is_ok(), ok, "{flags}");
        if let Ok(r) = r {
            assert_eq!(r.flags(), flags);
        } else {
            assert_eq!(r, Err(Error::Malformed));
        }
    }
}

#[test]
fn emit_limits_sack_blocks() {
    let blocks: Vec<_> = (0..4u32)
        .map(|i| (seq(1000 * i), seq(1000 * i + 10)))
        .collect();
    let ranges = SackRanges::from_slice(&blocks);
    let mut repr = TcpRepr {
        src_port: 1,
        dst_port: 2,
        ack_number: Some(seq(5)),
        sack_ranges: ranges,
        ..TcpRepr::default()
    };
    assert_eq!((repr.emitted_sack_blocks(), repr.header_len()), (4, 56));
    repr.timestamp = ts(1, 2);
    assert_eq!((repr.emitted_sack_blocks(), repr.header_len()), (3, 60));
    repr.max_seg_size = Some(1460);
    repr.window_scale = Some(7);
    repr.sack_permitted = true;
    assert_eq!((repr.emitted_sack_blocks(), repr.header_len()), (2, 60));
    repr.timestamp = None;
    assert_eq!((repr.emitted_sack_blocks(), repr.header_len()), (3, 60));

    repr.timestamp = ts(1, 2);
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), IP_A, IP_B);
    let back = parse_opts(&buf).unwrap();
    assert_eq!(
        back.sack_ranges.as_slice(),
        &blocks[..2],
        "most recent blocks kept"
    );
    assert_eq!(back.timestamp, repr.timestamp);
}

#[test]
fn emit_shift_above_14_is_clamped() {
    let repr = TcpRepr {
        src_port: 1,
        dst_port: 2,
        control: Control::Syn,
        window_scale: Some(15),
        ..TcpRepr::default()
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), IP_A, IP_B);
    assert_eq!(parse_opts(&buf).unwrap().window_scale, Some(14));
}
