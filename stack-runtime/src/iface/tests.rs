//! Interface tests: every input decision and drop counter, byte-exact replies, reassembly and
//! fragmentation, UDP sockets, ARP resolution and timers, all through the in-memory driver.

use std::vec;
use std::vec::Vec;

use core::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::testing::FrameQueueDriver;
use crate::time::{Duration, Instant};
use crate::wire::{EthernetAddress, Ipv4Cidr};

const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const GW_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const GW_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const OFF_LINK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const T0: Instant = Instant::from_secs(100);

type Drv = FrameQueueDriver<64, 1514>;

fn config() -> StackConfig {
    StackConfig {
        ipv4: Ipv4Cidr::new(OUR_IP, 24),
        gateway: Some(GW_IP),
        ..StackConfig::default()
    }
}

/// Declare storage arrays and a stack over them, plus a driver.
macro_rules! setup {
    ($stack:ident, $drv:ident) => {
        setup!($stack, $drv, config(), 2, 8)
    };
    ($stack:ident, $drv:ident, $config:expr) => {
        setup!($stack, $drv, $config, 2, 8)
    };
    ($stack:ident, $drv:ident, $config:expr, $reasm:expr, $packets:expr) => {
        let mut packets = [0u8; $packets * 1514];
        let mut txq = [PendingSlot::EMPTY; 8];
        let mut arp = [ArpEntry::EMPTY; 4];
        let mut reasm = [ReassemblySlot::EMPTY; $reasm];
        let mut reasm_bytes = [0u8; $reasm * 9000];

        let mut udp = [UdpSlot::new(12000, 12000), UdpSlot::new(256, 256)];
        let storage = StackStorage {
            packets: &mut packets,
            packet_size: 1514,
            tx_queue: &mut txq,
            arp: &mut arp,
            reassembly: &mut reasm,
            reassembly_bytes: &mut reasm_bytes,
            udp: &mut udp,
            tcp: crate::TcpStorage::none(),
        };
        #[allow(unused_mut)]
        let mut $stack = Stack::new($config, storage, OUR_MAC);
        #[allow(unused_mut)]
        let mut $drv: Drv = FrameQueueDriver::new(OUR_MAC.0);
    };
}

// ---- frame builders (independent of the wire module, to cross-check it) ----

fn reference_sum(data: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for c in data.chunks(2) {
        let w = (u32::from(c[0]) << 8) | u32::from(*c.get(1).unwrap_or(&0));
        acc += w;
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn eth(dst: EthernetAddress, src: EthernetAddress, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn arp_packet(
    op: u16,
    smac: EthernetAddress,
    sip: Ipv4Addr,
    tmac: EthernetAddress,
    tip: Ipv4Addr,
) -> Vec<u8> {
    let mut p = vec![0, 1, 8, 0, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&smac.0);
    p.extend_from_slice(&sip.octets());
    p.extend_from_slice(&tmac.0);
    p.extend_from_slice(&tip.octets());
    p
}

fn arp_request_frame(sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
    let p = arp_packet(1, PEER_MAC, sip, EthernetAddress([0; 6]), tip);
    eth(EthernetAddress::BROADCAST, PEER_MAC, 0x0806, &p)
}

#[derive(Clone, Copy)]
struct Ip {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    ident: u16,
    frag_off: u16,
    mf: bool,
    ttl: u8,
}

impl Ip {
    fn new(src: Ipv4Addr, dst: Ipv4Addr, proto: u8) -> Ip {
        Ip {
            src,
            dst,
            proto,
            ident: 0x1234,
            frag_off: 0,
            mf: false,
            ttl: 64,
        }
    }

    fn packet(&self, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let flags = (if self.mf { 0x2000 } else { 0 }) | (self.frag_off / 8);
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&self.ident.to_be_bytes());
        h.extend_from_slice(&flags.to_be_bytes());
        h.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        h.extend_from_slice(&self.src.octets());
        h.extend_from_slice(&self.dst.octets());
        let c = !reference_sum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn frame(&self, payload: &[u8]) -> Vec<u8> {
        eth(OUR_MAC, PEER_MAC, 0x0800, &self.packet(payload))
    }
}

fn icmp_echo(kind: u8, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = !reference_sum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

fn udp_datagram(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    let len = (8 + data.len()) as u16;
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(data);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&len.to_be_bytes());
    pseudo.extend_from_slice(&u);
    let mut c = !reference_sum(&pseudo);
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

fn udp_frame(sport: u16, dport: u16, data: &[u8]) -> Vec<u8> {
    Ip::new(PEER_IP, OUR_IP, 17).frame(&udp_datagram(PEER_IP, OUR_IP, sport, dport, data))
}

fn sent_all(drv: &mut Drv) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while let Some(f) = drv.take_sent() {
        v.push(f.to_vec());
    }
    v
}

/// First poll (gratuitous ARP) and the peer made known through its ARP request.
fn start(stack: &mut Stack<'_>, drv: &mut Drv) {
    stack.poll(drv, T0);
    drv.inject(&arp_request_frame(PEER_IP, OUR_IP));
    stack.poll(drv, T0);
    sent_all(drv);
}

fn drop_counters(stats: &Stats) -> Vec<(&'static str, u64)> {
    let mut v = Vec::new();
    stats.for_each_drop(|n, c| {
        if c > 0 {
            v.push((n, c))
        }
    });
    v
}

/// Inject `frame`, poll, and assert it produced exactly one drop, counted as `reason`.
fn assert_drop(stack: &mut Stack<'_>, drv: &mut Drv, frame: &[u8], reason: &str) {
    let before = stack.stats().drops_total();
    let mut old = 0;
    stack.stats().for_each_drop(|n, c| {
        if n == reason {
            old = c
        }
    });
    drv.inject(frame);
    stack.poll(drv, T0);
    let mut new = 0;
    stack.stats().for_each_drop(|n, c| {
        if n == reason {
            new = c
        }
    });
    assert_eq!(new, old + 1, "{reason}: {:?}", drop_counters(stack.stats()));
    assert_eq!(stack.stats().drops_total(), before + 1, "{reason}");
}

// ---- Ethernet ----

#[test]
fn ethernet_drops() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    assert_drop(&mut stack, &mut drv, &[0u8; 10], "eth_truncated");
    let other = EthernetAddress([0x02, 9, 9, 9, 9, 9]);
    let ping = Ip::new(PEER_IP, OUR_IP, 1).packet(&icmp_echo(8, 1, 1, b"x"));
    assert_drop(
        &mut stack,
        &mut drv,
        &eth(other, PEER_MAC, 0x0800, &ping),
        "eth_not_for_us",
    );
    assert_drop(
        &mut stack,
        &mut drv,
        &eth(OUR_MAC, PEER_MAC, 0x86dd, &ping),
        "eth_unknown_type",
    );
    // Multicast: only joined groups (and all-hosts) pass the MAC filter.
    let group = Ipv4Addr::new(224, 1, 2, 3);
    let gmac = EthernetAddress([0x01, 0, 0x5e, 1, 2, 3]);
    let to_group = Ip::new(PEER_IP, group, 17).packet(&udp_datagram(PEER_IP, group, 1, 5000, b"m"));
    let frame = eth(gmac, PEER_MAC, 0x0800, &to_group);
    assert_drop(&mut stack, &mut drv, &frame, "eth_not_for_us");
    stack.join_multicast_v4(group).unwrap();
    assert_eq!(
        stack.join_multicast_v4(Ipv4Addr::new(192, 0, 2, 9)),
        Err(MulticastError::NotMulticast)
    );
    let h = stack.udp_bind(5000).unwrap();
    drv.inject(&frame);
    stack.poll(&mut drv, T0);
    let mut buf = [0u8; 8];
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((1, SocketAddrV4::new(PEER_IP, 1)))
    );
    assert!(stack.leave_multicast_v4(group));
    assert_drop(&mut stack, &mut drv, &frame, "eth_not_for_us");
    assert!(sent_all(&mut drv).is_empty());
}

// ---- ARP ----

#[test]
fn arp_request_gets_exact_reply_and_teaches_us() {
    setup!(stack, drv);
    stack.poll(&mut drv, T0);
    let garp = drv.take_sent().unwrap();
    let expected_garp = eth(
        EthernetAddress::BROADCAST,
        OUR_MAC,
        0x0806,
        &arp_packet(1, OUR_MAC, OUR_IP, EthernetAddress([0; 6]), OUR_IP),
    );
    assert_eq!(&garp[..], &expected_garp[..]);
    drv.inject(&arp_request_frame(PEER_IP, OUR_IP));
    assert_eq!(stack.poll(&mut drv, T0), None);
    let reply = drv.take_sent().unwrap();
    let expected = eth(
        PEER_MAC,
        OUR_MAC,
        0x0806,
        &arp_packet(2, OUR_MAC, OUR_IP, PEER_MAC, PEER_IP),
    );
    assert_eq!(&reply[..], &expected[..]);
    assert!(drv.take_sent().is_none());
    assert_eq!(stack.stats().arp_replies_tx, 1);
    // The sender was learned: a datagram to it leaves at once, without an ARP request.
    let h = stack.udp_bind(0).unwrap();
    stack
        .udp_send_to(h, b"hi", SocketAddrV4::new(PEER_IP, 9))
        .unwrap();
    stack.poll(&mut drv, T0);
    let f = drv.take_sent().unwrap();
    assert_eq!(&f[..6], &PEER_MAC.0);
    assert_eq!(&f[12..14], &[0x08, 0x00]);
    assert_eq!(stack.stats().drops_total(), 0);
}

#[test]
fn arp_drops() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let good = arp_request_frame(PEER_IP, OUR_IP);
    assert_drop(&mut stack, &mut drv, &good[..30], "arp_truncated");
    let mut bad_htype = good.clone();
    bad_htype[15] = 6;
    assert_drop(&mut stack, &mut drv, &bad_htype, "arp_unsupported");
    let mut bad_op = good.clone();
    bad_op[21] = 9;
    assert_drop(&mut stack, &mut drv, &bad_op, "arp_unsupported");
    let mut mcast_sender = good.clone();
    mcast_sender[22] = 0x01;
    assert_drop(&mut stack, &mut drv, &mcast_sender, "arp_malformed");
    let other = arp_request_frame(PEER_IP, Ipv4Addr::new(192, 0, 2, 77));
    assert_drop(&mut stack, &mut drv, &other, "arp_not_for_us");
    assert!(sent_all(&mut drv).is_empty());
    // Without an address nothing is for us.
    stack.set_ipv4(None, None);
    assert_drop(&mut stack, &mut drv, &good, "arp_not_for_us");
}

#[test]
fn gratuitous_arp_on_start_and_address_change() {
    setup!(stack, drv);
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
    stack.poll(&mut drv, T0);
    assert!(sent_all(&mut drv).is_empty());
    // Same address: nothing. New address: announced.
    stack.set_ipv4(Ipv4Cidr::new(OUR_IP, 24), Some(GW_IP));
    stack.poll(&mut drv, T0);
    assert!(sent_all(&mut drv).is_empty());
    let new_ip = Ipv4Addr::new(192, 0, 2, 42);
    stack.set_ipv4(Ipv4Cidr::new(new_ip, 24), Some(GW_IP));
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][28..32], &new_ip.octets());
    assert_eq!(&f[0][38..42], &new_ip.octets());
    assert_eq!(stack.stats().arp_requests_tx, 2);
    // No address at start: no announcement.
    setup!(quiet, qdrv, StackConfig::default());
    quiet.poll(&mut qdrv, T0);
    assert!(sent_all(&mut qdrv).is_empty());
}

#[test]
fn arp_resolution_retries_then_timeout_drops_and_counts() {
    setup!(stack, drv);
    stack.poll(&mut drv, T0);
    sent_all(&mut drv);
    let h = stack.udp_bind(0).unwrap();
    stack
        .udp_send_to(h, b"one", SocketAddrV4::new(PEER_IP, 9))
        .unwrap();
    stack
        .udp_send_to(h, b"two", SocketAddrV4::new(PEER_IP, 9))
        .unwrap();
    // First request now, next deadline one retry interval later.
    assert_eq!(stack.poll(&mut drv, T0), Some(T0 + Duration::from_secs(1)));
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][..6], &[0xff; 6]);
    assert_eq!(&f[0][20..22], &[0, 1]);
    assert_eq!(&f[0][38..42], &PEER_IP.octets());
    // Nothing before the deadline.
    assert_eq!(
        stack.poll(&mut drv, T0 + Duration::from_millis(500)),
        Some(T0 + Duration::from_secs(1))
    );
    assert!(sent_all(&mut drv).is_empty());
    let t1 = T0 + Duration::from_secs(1);
    assert_eq!(stack.poll(&mut drv, t1), Some(t1 + Duration::from_secs(1)));
    assert_eq!(sent_all(&mut drv).len(), 1);
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(stack.poll(&mut drv, t2), Some(t2 + Duration::from_secs(1)));
    assert_eq!(sent_all(&mut drv).len(), 1);
    let t3 = t2 + Duration::from_secs(1);
    assert_eq!(stack.poll(&mut drv, t3), None);
    assert!(sent_all(&mut drv).is_empty());
    assert_eq!(stack.stats().arp_timeout, 2);
    assert_eq!(stack.stats().arp_requests_tx, 4);
    assert_eq!(stack.stats().drops_total(), 2);
}

#[test]
fn arp_reply_releases_queued_packets() {
    setup!(stack, drv);
    stack.poll(&mut drv, T0);
    sent_all(&mut drv);
    // A ping from a peer we do not know: the reply waits for ARP.
    let ping = Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 7, 1, b"abc"));
    drv.inject(&ping);
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1, "only the ARP request");
    assert_eq!(&f[0][12..14], &[0x08, 0x06]);
    let reply = arp_packet(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP);
    drv.inject(&eth(OUR_MAC, PEER_MAC, 0x0806, &reply));
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][..6], &PEER_MAC.0);
    assert_eq!(f[0][34], 0, "echo reply");
    assert_eq!(stack.stats().pings_answered, 1);
}

#[test]
fn arp_pending_queue_is_bounded() {
    setup!(stack, drv, config(), 2, 16);
    stack.poll(&mut drv, T0);
    sent_all(&mut drv);
    // Pings from an unknown peer: replies queue (8 slots, one taken briefly by the request).
    for seq in 0..12 {
        drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 7, seq, b"abc")));
    }
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
    assert_eq!(stack.stats().arp_queue_full, 4);
    assert_eq!(stack.stats().tx_queue_in_use, 8);
    assert_eq!(stack.stats().tx_queue_high_water, 8);
    // Timeout: the eight waiting replies are dropped and counted, buffers return to the pool.
    for s in 1..=3 {
        stack.poll(&mut drv, T0 + Duration::from_secs(s));
    }
    assert_eq!(stack.stats().arp_timeout, 8);
    assert_eq!(stack.stats().pool_packets_in_use, 0);
    assert!(stack.stats().pool_packets_high_water >= 8);
}

#[test]
fn arp_refresh_before_expiry_when_used() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(0).unwrap();
    stack
        .udp_send_to(h, b"x", SocketAddrV4::new(PEER_IP, 9))
        .unwrap();
    // Entry learned at T0 with a 60 s lifetime, used now: refresh due at T0 + 55 s.
    assert_eq!(stack.poll(&mut drv, T0), Some(T0 + Duration::from_secs(55)));
    sent_all(&mut drv);
    let t = T0 + Duration::from_secs(55);
    assert_eq!(stack.poll(&mut drv, t), None);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][..6], &PEER_MAC.0, "unicast refresh");
    assert_eq!(&f[0][20..22], &[0, 1]);
}

// ---- IPv4 input ----

#[test]
fn ipv4_drops() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let ping = icmp_echo(8, 1, 1, b"hello");
    let good = Ip::new(PEER_IP, OUR_IP, 1).frame(&ping);
    assert_drop(&mut stack, &mut drv, &good[..14 + 19], "ipv4_truncated");
    let mut v6 = good.clone();
    v6[14] = 0x65;
    assert_drop(&mut stack, &mut drv, &v6, "ipv4_malformed");
    let mut ihl = good.clone();
    ihl[14] = 0x44;
    assert_drop(&mut stack, &mut drv, &ihl, "ipv4_malformed");
    let mut long = good.clone();
    long[17] += 10; // total length beyond the frame
    assert_drop(&mut stack, &mut drv, &long, "ipv4_truncated");
    let mut short = good.clone();
    short[16] = 0;
    short[17] = 10; // total length below the header length
    assert_drop(&mut stack, &mut drv, &short, "ipv4_malformed");
    let mut sum = good.clone();
    sum[24] ^= 0xff;
    assert_drop(&mut stack, &mut drv, &sum, "ipv4_bad_checksum");
    let ttl0 = Ip {
        ttl: 0,
        ..Ip::new(PEER_IP, OUR_IP, 1)
    }
    .frame(&ping);
    assert_drop(&mut stack, &mut drv, &ttl0, "ipv4_ttl_expired");
    let other = Ip::new(PEER_IP, Ipv4Addr::new(192, 0, 2, 99), 1).frame(&ping);
    assert_drop(&mut stack, &mut drv, &other, "ipv4_not_for_us");
    let bsrc = Ip::new(Ipv4Addr::BROADCAST, OUR_IP, 1).frame(&ping);
    assert_drop(&mut stack, &mut drv, &bsrc, "ipv4_bad_src");
    assert!(sent_all(&mut drv).is_empty());
    // Ethernet padding after the datagram is ignored.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0; 20]);
    drv.inject(&padded);
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
    assert_eq!(stack.stats().pings_answered, 1);
}

#[test]
fn ipv4_accepts_broadcasts_and_routes_via_gateway() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(67).unwrap();
    for dst in [Ipv4Addr::BROADCAST, Ipv4Addr::new(192, 0, 2, 255)] {
        let f = Ip::new(PEER_IP, dst, 17).packet(&udp_datagram(PEER_IP, dst, 68, 67, b"b"));
        drv.inject(&eth(EthernetAddress::BROADCAST, PEER_MAC, 0x0800, &f));
    }
    stack.poll(&mut drv, T0);
    let mut buf = [0u8; 4];
    assert!(stack.udp_recv_from(h, &mut buf).is_ok());
    assert!(stack.udp_recv_from(h, &mut buf).is_ok());
    // Off-link goes to the gateway: ARP for the gateway address.
    stack
        .udp_send_to(h, b"x", SocketAddrV4::new(OFF_LINK, 9))
        .unwrap();
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][38..42], &GW_IP.octets());
    let reply = arp_packet(2, GW_MAC, GW_IP, OUR_MAC, OUR_IP);
    drv.inject(&eth(OUR_MAC, GW_MAC, 0x0806, &reply));
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][..6], &GW_MAC.0);
    assert_eq!(&f[0][30..34], &OFF_LINK.octets());
    // Broadcast send: no ARP, broadcast MAC.
    stack
        .udp_send_to(h, b"x", SocketAddrV4::new(Ipv4Addr::BROADCAST, 9))
        .unwrap();
    stack.poll(&mut drv, T0);
    assert_eq!(&sent_all(&mut drv)[0][..6], &[0xff; 6]);
    // No gateway: off-link has no route.
    stack.set_ipv4(Ipv4Cidr::new(OUR_IP, 24), None);
    assert_eq!(
        stack.udp_send_to(h, b"x", SocketAddrV4::new(OFF_LINK, 9)),
        Err(UdpError::NoRoute)
    );
}

// ---- ICMP ----

#[test]
fn echo_reply_is_byte_exact() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    for len in [0usize, 1, 56, 1472] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 0xbeef, 3, &data)));
        stack.poll(&mut drv, T0);
        let f = sent_all(&mut drv);
        assert_eq!(f.len(), 1, "len {len}");
        let reply = &f[0];
        let ident = u16::from_be_bytes([reply[18], reply[19]]);
        let expected = eth(
            PEER_MAC,
            OUR_MAC,
            0x0800,
            &Ip {
                ident,
                ..Ip::new(OUR_IP, PEER_IP, 1)
            }
            .packet(&icmp_echo(0, 0xbeef, 3, &data)),
        );
        assert_eq!(&reply[..], &expected[..], "len {len}");
    }
    assert_eq!(stack.stats().pings_answered, 4);
    assert_eq!(stack.stats().drops_total(), 0);
}

#[test]
fn icmp_drops() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let ip = Ip::new(PEER_IP, OUR_IP, 1);
    assert_drop(
        &mut stack,
        &mut drv,
        &ip.frame(&[8, 0, 0]),
        "icmp_malformed",
    );
    let mut bad = icmp_echo(8, 1, 1, b"abc");
    bad[9] ^= 1;
    assert_drop(&mut stack, &mut drv, &ip.frame(&bad), "icmp_bad_checksum");
    let timestamp = icmp_echo(13, 1, 1, &[0; 12]);
    assert_drop(
        &mut stack,
        &mut drv,
        &ip.frame(&timestamp),
        "icmp_unsupported",
    );
    let echo_reply = icmp_echo(0, 1, 1, b"abc");
    assert_drop(
        &mut stack,
        &mut drv,
        &ip.frame(&echo_reply),
        "icmp_unsupported",
    );
    let bcast = Ip::new(PEER_IP, Ipv4Addr::BROADCAST, 1).packet(&icmp_echo(8, 1, 1, b"a"));
    let frame = eth(EthernetAddress::BROADCAST, PEER_MAC, 0x0800, &bcast);
    assert_drop(&mut stack, &mut drv, &frame, "icmp_broadcast_ignored");
    assert!(sent_all(&mut drv).is_empty());
}

#[test]
fn port_unreachable_content_and_rate_limit() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let datagram = udp_datagram(PEER_IP, OUR_IP, 40000, 9999, b"payload bytes");
    let ip = Ip::new(PEER_IP, OUR_IP, 17);
    let original = ip.packet(&datagram);
    drv.inject(&ip.frame(&datagram));
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    let r = &f[0];
    let ident = u16::from_be_bytes([r[18], r[19]]);
    let mut icmp = vec![3, 3, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&original[..28]);
    let c = !reference_sum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let expected = eth(
        PEER_MAC,
        OUR_MAC,
        0x0800,
        &Ip {
            ident,
            ..Ip::new(OUR_IP, PEER_IP, 1)
        }
        .packet(&icmp),
    );
    assert_eq!(&r[..], &expected[..]);
    assert_eq!(stack.stats().udp_no_socket, 1);
    assert_eq!(stack.stats().icmp_unreachable_tx, 1);
    // Burst of 10 (one used), then rate limited.
    for _ in 0..14 {
        drv.inject(&ip.frame(&datagram));
    }
    while stack.poll(&mut drv, T0) == Some(T0) {}
    assert_eq!(sent_all(&mut drv).len(), 9);
    assert_eq!(stack.stats().icmp_rate_limited, 5);
    // 10 per second: 100 ms later one more token.
    drv.inject(&ip.frame(&datagram));
    drv.inject(&ip.frame(&datagram));
    stack.poll(&mut drv, T0 + Duration::from_millis(100));
    assert_eq!(sent_all(&mut drv).len(), 1);
    assert_eq!(stack.stats().icmp_rate_limited, 6);
    // Never about broadcasts.
    let b = Ip::new(PEER_IP, Ipv4Addr::BROADCAST, 17).packet(&udp_datagram(
        PEER_IP,
        Ipv4Addr::BROADCAST,
        1,
        9999,
        b"x",
    ));
    drv.inject(&eth(EthernetAddress::BROADCAST, PEER_MAC, 0x0800, &b));
    stack.poll(&mut drv, T0 + Duration::from_secs(5));
    assert!(sent_all(&mut drv).is_empty());
    assert_eq!(stack.stats().udp_no_socket, 18);
}

#[test]
fn protocol_unreachable() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let ip = Ip::new(PEER_IP, OUR_IP, 99);
    assert_drop(
        &mut stack,
        &mut drv,
        &ip.frame(b"0123456789abcdef"),
        "ipv4_unknown_protocol",
    );
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0][34..36], &[3, 2]);
    let original = ip.packet(b"0123456789abcdef");
    assert_eq!(&f[0][42..70], &original[..28]);
    assert_eq!(&f[0][62..70], b"01234567");
}

// ---- UDP ----

#[test]
fn udp_bind_send_recv() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    assert_eq!(stack.udp_bind(7), Err(UdpError::AddrInUse));
    let mut buf = [0u8; 64];
    assert_eq!(stack.udp_recv_from(h, &mut buf), Err(UdpError::WouldBlock));
    drv.inject(&udp_frame(40000, 7, b"hello"));
    drv.inject(&udp_frame(40001, 7, b""));
    let mut zero_sum = udp_datagram(PEER_IP, OUR_IP, 40002, 7, b"nosum");
    zero_sum[6] = 0;
    zero_sum[7] = 0;
    drv.inject(&Ip::new(PEER_IP, OUR_IP, 17).frame(&zero_sum));
    stack.poll(&mut drv, T0);
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((5, SocketAddrV4::new(PEER_IP, 40000)))
    );
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((0, SocketAddrV4::new(PEER_IP, 40001)))
    );
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((5, SocketAddrV4::new(PEER_IP, 40002)))
    );
    // Echo back: exact bytes on the wire.
    stack
        .udp_send_to(h, b"hello", SocketAddrV4::new(PEER_IP, 40000))
        .unwrap();
    stack.poll(&mut drv, T0);
    let f = sent_all(&mut drv);
    assert_eq!(f.len(), 1);
    let ident = u16::from_be_bytes([f[0][18], f[0][19]]);
    let expected = eth(
        PEER_MAC,
        OUR_MAC,
        0x0800,
        &Ip {
            ident,
            ..Ip::new(OUR_IP, PEER_IP, 17)
        }
        .packet(&udp_datagram(OUR_IP, PEER_IP, 7, 40000, b"hello")),
    );
    assert_eq!(&f[0][..], &expected[..]);
    assert_eq!(stack.stats().udp_rx, 3);
    assert_eq!(stack.stats().udp_tx, 1);
    // Truncated receive consumes and counts.
    drv.inject(&udp_frame(40000, 7, b"0123456789"));
    stack.poll(&mut drv, T0);
    assert_eq!(
        stack.udp_recv_from(h, &mut buf[..4]),
        Err(UdpError::Truncated)
    );
    assert_eq!(&buf[..4], b"0123");
    assert_eq!(stack.udp_recv_from(h, &mut buf), Err(UdpError::WouldBlock));
    assert_eq!(stack.stats().udp_recv_truncated, 1);
    stack.udp_close(h);
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Err(UdpError::InvalidHandle)
    );
    assert_drop(
        &mut stack,
        &mut drv,
        &udp_frame(40000, 7, b"x"),
        "udp_no_socket",
    );
}

#[test]
fn udp_input_drops() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let _big = stack.udp_bind(7).unwrap();
    let small = stack.udp_bind(8).unwrap();
    let ip = Ip::new(PEER_IP, OUR_IP, 17);
    let mut bad = udp_datagram(PEER_IP, OUR_IP, 1, 7, b"abcdef");
    bad[9] ^= 0x55;
    assert_drop(&mut stack, &mut drv, &ip.frame(&bad), "udp_bad_checksum");
    assert_drop(
        &mut stack,
        &mut drv,
        &ip.frame(&[0, 1, 0, 7, 0]),
        "udp_malformed",
    );
    let mut len_long = udp_datagram(PEER_IP, OUR_IP, 1, 7, b"abc");
    len_long[5] = 40;
    assert_drop(&mut stack, &mut drv, &ip.frame(&len_long), "udp_malformed");
    // The 256-byte socket holds two 100-byte datagrams (200 bytes of payload), not three.
    let d = [0x5a; 100];
    for _ in 0..2 {
        drv.inject(&udp_frame(1, 8, &d));
    }
    stack.poll(&mut drv, T0);
    assert_drop(&mut stack, &mut drv, &udp_frame(1, 8, &d), "udp_rx_full");
    let mut buf = [0u8; 128];
    assert_eq!(stack.udp_recv_from(small, &mut buf).unwrap().0, 100);
    drv.inject(&udp_frame(1, 8, &d));
    stack.poll(&mut drv, T0);
    assert_eq!(stack.stats().udp_rx, 3);
    assert!(sent_all(&mut drv).is_empty());
}

/// Inject `data` from `sport` to `dport`, as fragments of 1480 bytes when it needs them.
fn inject_udp(drv: &mut Drv, sport: u16, dport: u16, data: &[u8]) {
    let datagram = udp_datagram(PEER_IP, OUR_IP, sport, dport, data);
    for f in fragments(&Ip::new(PEER_IP, OUR_IP, 17), &datagram, 1480) {
        assert!(drv.inject(&f));
    }
}

#[test]
fn udp_datagrams_wait_in_pool_buffers_in_order() {
    setup!(stack, drv, config(), 2, 16);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    // One buffer, two (3,000 bytes), one, three (4,000 bytes): seven; then two more (2,000
    // bytes) would pass RX_QUEUE (8).
    let sizes = [5usize, 3000, 0, 4000, 2000];
    let data = |i: usize| -> Vec<u8> { (0..sizes[i]).map(|b| (b * 7 + i) as u8).collect() };
    for (i, _) in sizes.iter().enumerate() {
        inject_udp(&mut drv, 1000 + i as u16, 7, &data(i));
    }
    stack.poll(&mut drv, T0);
    assert_eq!(stack.stats().udp_rx, 4);
    // The fifth would make nine buffers on the socket: refused by its queue, counted.
    assert_eq!(stack.stats().udp_rx_full, 1);
    assert_eq!(stack.pool.stats().in_use, 7);
    let mut buf = vec![0u8; 5000];
    for i in 0..4 {
        let (n, from) = stack.udp_recv_from(h, &mut buf).unwrap();
        assert_eq!(from, SocketAddrV4::new(PEER_IP, 1000 + i as u16));
        assert_eq!(&buf[..n], &data(i)[..], "datagram {i}");
    }
    assert_eq!(stack.udp_recv_from(h, &mut buf), Err(UdpError::WouldBlock));
    assert_eq!(stack.pool.stats().in_use, 0);
    // A datagram larger than the caller's buffer: its head is copied, the rest dropped and
    // counted, every buffer freed, and the next datagram is whole.
    inject_udp(&mut drv, 2000, 7, &data(3));
    inject_udp(&mut drv, 2001, 7, &data(0));
    stack.poll(&mut drv, T0);
    let mut small = [0u8; 100];
    assert_eq!(stack.udp_recv_from(h, &mut small), Err(UdpError::Truncated));
    assert_eq!(&small[..], &data(3)[..100]);
    assert_eq!(stack.stats().udp_recv_truncated, 1);
    assert_eq!(stack.pool.stats().in_use, 1);
    let (n, from) = stack.udp_recv_from(h, &mut small).unwrap();
    assert_eq!((&small[..n], from.port()), (&data(0)[..], 2001));
    assert_eq!(stack.pool.stats().in_use, 0);
}

#[test]
fn udp_receive_keeps_the_frame_reserve_and_close_frees_everything() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    // 8 buffers, FRAME_RESERVE of them kept: 6 datagrams are queued, 2 refused and counted.
    for k in 0..8u8 {
        drv.inject(&udp_frame(3000 + u16::from(k), 7, &[k; 10]));
    }
    stack.poll(&mut drv, T0);
    assert_eq!(stack.stats().udp_rx, 6);
    assert_eq!(stack.stats().udp_rx_no_buffer, 2);
    assert_eq!(stack.stats().pool_packets_in_use, 6);
    assert_eq!(crate::pool::FRAME_RESERVE, 2);
    // The reserve still answers a ping while the socket holds the rest.
    let echo = icmp_echo(8, 9, 1, b"still here");
    drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&echo));
    stack.poll(&mut drv, T0);
    let out = sent_all(&mut drv);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][34..], &icmp_echo(0, 9, 1, b"still here")[..]);
    // Sending needs buffers beyond the reserve too.
    let to = SocketAddrV4::new(PEER_IP, 9);
    assert_eq!(stack.udp_send_to(h, b"x", to), Err(UdpError::BufferFull));
    let mut buf = [0u8; 16];
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((10, SocketAddrV4::new(PEER_IP, 3000)))
    );
    stack.udp_send_to(h, b"x", to).unwrap();
    // Closing with datagrams queued returns every buffer; the queued send still goes out.
    stack.udp_close(h);
    assert_eq!(stack.pool.stats().in_use, 1);
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
    assert_eq!(stack.stats().pool_packets_in_use, 0);
    let h = stack.udp_bind(7).unwrap();
    assert_eq!(stack.udp_recv_from(h, &mut buf), Err(UdpError::WouldBlock));
}

#[test]
fn udp_send_errors() {
    setup!(stack, _drv, StackConfig::default());
    let h = stack.udp_bind(0).unwrap();
    let to = SocketAddrV4::new(PEER_IP, 9);
    assert_eq!(stack.udp_send_to(h, b"x", to), Err(UdpError::Unaddressed));
    stack.set_ipv4(Ipv4Cidr::new(OUR_IP, 24), None);
    assert_eq!(
        stack.udp_send_to(h, b"x", SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 9)),
        Err(UdpError::NoRoute)
    );
    // 12,000 bytes are within the socket's limit but need 9 fragments: more than the 8-buffer
    // pool (and 8-slot queue) can ever give socket data (8 - FRAME_RESERVE).
    let big = vec![0u8; 12000];
    assert_eq!(stack.udp_send_to(h, &big, to), Err(UdpError::TooLarge));
    let huge = vec![0u8; 70000];
    assert_eq!(stack.udp_send_to(h, &huge, to), Err(UdpError::TooLarge));
    // 4 fragments (and the ARP request for the peer); then 3 do not fit the one buffer left
    // beyond the reserve (BufferFull, nothing taken), one does.
    stack.udp_send_to(h, &[0u8; 5000], to).unwrap();
    assert_eq!(stack.pool.stats().in_use, 5);
    assert_eq!(
        stack.udp_send_to(h, &[0u8; 3000], to),
        Err(UdpError::BufferFull)
    );
    assert_eq!(stack.pool.stats().in_use, 5);
    stack.udp_send_to(h, &[0u8; 1000], to).unwrap();
    assert_eq!(stack.udp_send_to(h, b"x", to), Err(UdpError::BufferFull));
    assert_eq!(stack.pool.stats().in_use, 6);
    let e = stack.udp_bind(0).unwrap();
    // The second socket sends at most 256 bytes.
    assert_eq!(
        stack.udp_send_to(e, &[0u8; 257], to),
        Err(UdpError::TooLarge)
    );
    assert_eq!(stack.udp_bind(0), Err(UdpError::NoSlot));
    assert_ne!(stack.udp_local_port(h), stack.udp_local_port(e));
    assert_eq!(stack.stats().udp_sockets_in_use, 2);
    stack.udp_close(e);
    assert_eq!(stack.stats().udp_sockets_in_use, 1);
    assert_eq!(stack.stats().udp_sockets_high_water, 2);
}

// ---- Reassembly and fragmentation ----

/// Split `datagram` (an IP payload) into fragments of at most `chunk` bytes (multiple of 8).
fn fragments(ip: &Ip, datagram: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < datagram.len() {
        let end = (off + chunk).min(datagram.len());
        let f = Ip {
            frag_off: off as u16,
            mf: end < datagram.len(),
            ..*ip
        };
        v.push(f.frame(&datagram[off..end]));
        off = end;
    }
    v
}

#[test]
fn reassembles_8000_byte_udp_in_any_order() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    let data: Vec<u8> = (0..8000u32).map(|i| (i % 251) as u8).collect();
    let datagram = udp_datagram(PEER_IP, OUR_IP, 5555, 7, &data);
    let ip = Ip::new(PEER_IP, OUR_IP, 17);
    let mut frags = fragments(&ip, &datagram, 1480);
    assert_eq!(frags.len(), 6);
    frags.reverse();
    frags.swap(1, 3);
    for f in &frags {
        drv.inject(f);
    }
    stack.poll(&mut drv, T0);
    let mut buf = vec![0u8; 9000];
    assert_eq!(
        stack.udp_recv_from(h, &mut buf),
        Ok((8000, SocketAddrV4::new(PEER_IP, 5555)))
    );
    assert_eq!(&buf[..8000], &data[..]);
    assert_eq!(stack.stats().frag_reassembled, 1);
    assert_eq!(stack.stats().reassembly_in_use, 0);
    assert_eq!(stack.stats().reassembly_high_water, 1);
    // Echo it back: fragments with 1480-byte payloads, reassembled by the peer (here: us).
    stack
        .udp_send_to(h, &buf[..8000], SocketAddrV4::new(PEER_IP, 5555))
        .unwrap();
    stack.poll(&mut drv, T0);
    let out = sent_all(&mut drv);
    assert_eq!(out.len(), 6);
    assert_eq!(stack.stats().frag_tx, 6);
    let mut slots = [ReassemblySlot::EMPTY; 1];
    let mut bytes = [0u8; 9000];
    let mut r = crate::ipv4_reassembly::Reassembler::new(&mut slots, &mut bytes);
    let mut done = None;
    for f in &out {
        let p = crate::wire::Ipv4Packet::new_checked(&f[14..]).unwrap();
        assert!(p.verify_checksum());
        assert!(p.total_len() <= 1500);
        let key = crate::ipv4_reassembly::FragKey {
            src: p.src_addr(),
            dst: p.dst_addr(),
            ident: p.ident(),
            protocol: p.next_header(),
        };
        let res = r
            .add(
                key,
                usize::from(p.frag_offset()),
                p.more_frags(),
                p.payload(),
                T0,
            )
            .unwrap();
        if let crate::ipv4_reassembly::FragOutcome::Complete { slot, len } = res {
            done = Some((slot, len));
        }
    }
    let (slot, len) = done.unwrap();
    let expected = udp_datagram(OUR_IP, PEER_IP, 7, 5555, &data);
    assert_eq!(&r.buffer(slot)[..len], &expected[..]);
}

#[test]
fn fragmented_ping_is_answered_in_fragments() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    let echo = icmp_echo(8, 0x77, 9, &data);
    let ip = Ip::new(PEER_IP, OUR_IP, 1);
    for f in fragments(&ip, &echo, 1480) {
        drv.inject(&f);
    }
    stack.poll(&mut drv, T0);
    let out = sent_all(&mut drv);
    assert_eq!(out.len(), 3);
    let mut reply = Vec::new();
    for f in &out {
        reply.extend_from_slice(&f[34..]);
    }
    assert_eq!(reply, icmp_echo(0, 0x77, 9, &data));
    assert_eq!(stack.stats().pings_answered, 1);
    assert_eq!(stack.stats().reassembly_in_use, 0);
}

#[test]
fn reassembly_overlap_timeout_too_large() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let _h = stack.udp_bind(7).unwrap();
    let data = vec![1u8; 3000];
    let datagram = udp_datagram(PEER_IP, OUR_IP, 1, 7, &data);
    let ip = Ip::new(PEER_IP, OUR_IP, 17);
    let frags = fragments(&ip, &datagram, 1480);
    // Overlap: second fragment shifted back by 8 bytes.
    drv.inject(&frags[0]);
    let overlapping = Ip {
        frag_off: 1472,
        mf: true,
        ..ip
    }
    .frame(&datagram[1472..1472 + 1480]);
    assert_drop(&mut stack, &mut drv, &overlapping, "frag_overlap");
    assert_eq!(stack.stats().reassembly_in_use, 0);
    // Timeout: only the first fragment arrives.
    drv.inject(&frags[0]);
    let deadline = T0 + Duration::from_secs(30);
    assert_eq!(stack.poll(&mut drv, T0), Some(deadline));
    assert_eq!(stack.poll(&mut drv, deadline), None);
    assert_eq!(stack.stats().frag_timeout, 1);
    // Too large for a 9000-byte slot.
    let big = Ip {
        frag_off: 8992,
        mf: false,
        ..ip
    }
    .frame(&[0u8; 16]);
    assert_drop(&mut stack, &mut drv, &big, "frag_too_large");
    assert_eq!(stack.stats().reassembly_in_use, 0);
    assert!(sent_all(&mut drv).is_empty());
}

#[test]
fn zero_reassembly_slots_drop_fragments() {
    setup!(stack, drv, config(), 0, 8);
    start(&mut stack, &mut drv);
    let _h = stack.udp_bind(7).unwrap();
    let datagram = udp_datagram(PEER_IP, OUR_IP, 1, 7, &[3u8; 2000]);
    let frags = fragments(&Ip::new(PEER_IP, OUR_IP, 17), &datagram, 1480);
    assert_drop(&mut stack, &mut drv, &frags[0], "frag_no_slot");
    assert_drop(&mut stack, &mut drv, &frags[1], "frag_no_slot");
    assert_eq!(stack.stats().udp_rx, 0);
}

#[test]
fn two_stacks_exchange_fragmented_datagram() {
    // 8,000 bytes take 6 fragments (sender) and 6 buffers (receiver), beyond the frame reserve.
    setup!(a, da, config(), 2, 12);
    let b_mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x03]);
    let b_ip = Ipv4Addr::new(192, 0, 2, 3);
    let mut packets = [0u8; 12 * 1514];
    let mut txq = [PendingSlot::EMPTY; 4];
    let mut arp = [ArpEntry::EMPTY; 4];
    let mut reasm = [ReassemblySlot::EMPTY; 1];
    let mut reasm_bytes = [0u8; 16000];
    let mut udp = [UdpSlot::new(16000, 2048)];
    let mut b = Stack::new(
        StackConfig {
            ipv4: Ipv4Cidr::new(b_ip, 24),
            mtu: 576,
            ..StackConfig::default()
        },
        StackStorage {
            packets: &mut packets,
            packet_size: 1514,
            tx_queue: &mut txq,
            arp: &mut arp,
            reassembly: &mut reasm,
            reassembly_bytes: &mut reasm_bytes,
            udp: &mut udp,
            tcp: crate::TcpStorage::none(),
        },
        b_mac,
    );
    let mut db: Drv = FrameQueueDriver::new(b_mac.0);
    let hb = b.udp_bind(9).unwrap();
    let ha = a.udp_bind(0).unwrap();
    let data: Vec<u8> = (0..8000u32).map(|i| (i * 13 % 256) as u8).collect();
    // Both announce their addresses first (the gratuitous ARPs take no queue slot later).
    a.poll(&mut da, T0);
    b.poll(&mut db, T0);
    da.forward_to(&mut db);
    db.forward_to(&mut da);
    a.udp_send_to(ha, &data, SocketAddrV4::new(b_ip, 9))
        .unwrap();
    for round in 0..6 {
        let t = T0 + Duration::from_millis(round);
        a.poll(&mut da, t);
        da.forward_to(&mut db);
        b.poll(&mut db, t);
        db.forward_to(&mut da);
    }
    let mut buf = vec![0u8; 12000];
    let (n, from) = b
        .udp_recv_from(hb, &mut buf)
        .unwrap_or_else(|e| panic!("{e:?} {:?}", drop_counters(b.stats())));
    assert_eq!(n, 8000);
    assert_eq!(from.ip(), &OUR_IP);
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(a.stats().frag_tx, 6);
    assert_eq!(a.stats().drops_total(), 0, "{:?}", drop_counters(a.stats()));
    assert_eq!((a.pool.stats().in_use, b.pool.stats().in_use), (0, 0));
    // b's 576-byte MTU: its answer to a 1000-byte ping is fragmented.
    let hb_a = a.udp_local_port(ha).unwrap();
    b.udp_send_to(hb, &data[..1000], SocketAddrV4::new(OUR_IP, hb_a))
        .unwrap();
    b.poll(&mut db, T0 + Duration::from_millis(10));
    assert_eq!(b.stats().frag_tx, 2);
    db.forward_to(&mut da);
    a.poll(&mut da, T0 + Duration::from_millis(10));
    let (n, _) = a.udp_recv_from(ha, &mut buf).unwrap();
    assert_eq!(&buf[..n], &data[..1000]);
}

// ---- driver back-pressure, deadlines, statistics ----

#[test]
fn driver_busy_keeps_packets_queued() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    let data = vec![9u8; 4000];
    stack
        .udp_send_to(h, &data, SocketAddrV4::new(PEER_IP, 1))
        .unwrap();
    drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 1, 1, b"p")));
    drv.tx_limit = 2;
    // Echo reply and the first fragment fit; the rest waits.
    assert_eq!(stack.poll(&mut drv, T0), Some(T0));
    assert!(stack.stats().driver_tx_busy > 0);
    assert_eq!(sent_all(&mut drv).len(), 2);
    // The last two fragments: done, the next deadline is the ARP refresh.
    assert_eq!(stack.poll(&mut drv, T0), Some(T0 + Duration::from_secs(55)));
    assert_eq!(sent_all(&mut drv).len(), 2);
    stack.poll(&mut drv, T0);
    assert!(sent_all(&mut drv).is_empty());
    assert_eq!(stack.stats().udp_tx, 1);
    assert_eq!(stack.stats().frag_tx, 3);
    assert_eq!(stack.stats().drops_total(), 0);
}

#[test]
fn rx_burst_is_bounded() {
    setup!(stack, drv, config(), 2, 4);
    start(&mut stack, &mut drv);
    for i in 0..10 {
        drv.inject(&udp_frame(1, 9, &[i]));
    }
    // 4 packet buffers: at most 4 frames per poll, then `now` to say more work is waiting.
    assert_eq!(stack.poll(&mut drv, T0), Some(T0));
    assert_eq!(stack.stats().udp_no_socket, 4);
    stack.poll(&mut drv, T0);
    stack.poll(&mut drv, T0);
    assert_eq!(stack.stats().udp_no_socket, 10);
}

#[test]
fn no_buffer_is_counted() {
    setup!(stack, drv, config(), 2, 1);
    start(&mut stack, &mut drv);
    drv.tx_limit = 0;
    let ip = Ip::new(PEER_IP, OUR_IP, 1);
    drv.inject(&ip.frame(&icmp_echo(8, 1, 1, b"a")));
    drv.inject(&ip.frame(&icmp_echo(8, 1, 2, b"b")));
    stack.poll(&mut drv, T0);
    assert_eq!(stack.stats().tx_no_buffer, 1);
    assert_eq!(stack.stats().pool_packets_alloc_failures, 1);
    drv.tx_limit = 64;
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
}

#[test]
fn stats_names_are_unique_snake_case() {
    let s = Stats::new();
    let mut names = Vec::new();
    s.for_each(|n, _| names.push(n));
    for n in &names {
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    for required in [
        "eth_truncated",
        "arp_timeout",
        "ipv4_bad_checksum",
        "frag_overlap",
        "icmp_rate_limited",
        "udp_rx_full",
        "tx_no_buffer",
        "driver_tx_busy",
        "pool_packets_high_water",
    ] {
        assert!(names.contains(&required), "{required}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Random frames and random corruptions of valid ones never panic, every frame is
    /// counted, and the stack still answers a ping afterwards.
    #[test]
    fn garbage_never_breaks_the_stack(
        frames in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 1..20),
        flips in proptest::collection::vec((0usize..120, proptest::num::u8::ANY), 1..6),
        which in 0usize..4,
    ) {
        setup!(stack, drv);
        start(&mut stack, &mut drv);
        let _h = stack.udp_bind(7).unwrap();
        let before = stack.stats().frames_rx;
        for f in &frames {
            drv.inject(f);
        }
        let templates = [
            udp_frame(1, 7, b"0123456789"),
            Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 1, 1, b"ping")),
            arp_request_frame(PEER_IP, OUR_IP),
            fragments(&Ip::new(PEER_IP, OUR_IP, 17), &udp_datagram(PEER_IP, OUR_IP, 1, 7, &[7; 100]), 48)[1].clone(),
        ];
        let mut t = templates[which].clone();
        for (at, v) in &flips {
            if let Some(b) = t.get_mut(*at) {
                *b = *v;
            }
        }
        drv.inject(&t);
        for _ in 0..8 {
            stack.poll(&mut drv, T0);
        }
        proptest::prop_assert_eq!(stack.stats().frames_rx - before, frames.len() as u32 + 1);
        sent_all(&mut drv);
        drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 2, 2, b"alive")));
        stack.poll(&mut drv, T0 + Duration::from_secs(31));
        let out = sent_all(&mut drv);
        proptest::prop_assert!(out.iter().any(|f| f.len() > 34 && f[12..14] == [8, 0] && f[34] == 0));
    }
}

#[test]
fn arp_learns_only_from_requests_for_us() {
    setup!(stack, drv);
    stack.poll(&mut drv, T0);
    sent_all(&mut drv);
    let third = Ipv4Addr::new(192, 0, 2, 5);
    // A request from .5 for someone else: not learned (RFC 826 merge rule).
    assert_drop(
        &mut stack,
        &mut drv,
        &arp_request_frame(third, Ipv4Addr::new(192, 0, 2, 77)),
        "arp_not_for_us",
    );
    assert_eq!(stack.stats().arp_cache_in_use, 0);
    // A request for us from an off-link sender is answered but not learned.
    drv.inject(&arp_request_frame(OFF_LINK, OUR_IP));
    stack.poll(&mut drv, T0);
    assert_eq!(sent_all(&mut drv).len(), 1);
    assert_eq!(stack.stats().arp_cache_in_use, 0);
    // Idle: nothing scheduled.
    assert_eq!(stack.poll(&mut drv, T0), None);
}

#[test]
fn packets_from_our_own_address_are_dropped() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let spoofed = Ip::new(OUR_IP, OUR_IP, 1).frame(&icmp_echo(8, 1, 1, b"x"));
    assert_drop(&mut stack, &mut drv, &spoofed, "ipv4_bad_src");
    assert!(sent_all(&mut drv).is_empty());
}

#[test]
fn small_mtu_fragments_echo_of_reassembled_ping() {
    setup!(
        stack,
        drv,
        StackConfig {
            mtu: 576,
            ..config()
        }
    );
    start(&mut stack, &mut drv);
    // 1000-byte ping in two fragments: the 1008-byte reply leaves in 552-byte pieces.
    let data = vec![0xa5u8; 1000];
    let echo = icmp_echo(8, 1, 1, &data);
    for f in fragments(&Ip::new(PEER_IP, OUR_IP, 1), &echo, 504) {
        drv.inject(&f);
    }
    stack.poll(&mut drv, T0);
    let out = sent_all(&mut drv);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|f| f.len() <= 14 + 576));
    let mut reply = Vec::new();
    for f in &out {
        reply.extend_from_slice(&f[34..]);
    }
    assert_eq!(reply, icmp_echo(0, 1, 1, &data));
    // A 1000-byte unfragmented ping above the MTU cannot be answered from a pool buffer.
    let mut frame = Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 1, 2, &data));
    frame.truncate(14 + 20 + 8 + 1000);
    assert_drop(&mut stack, &mut drv, &frame, "tx_too_large");
}

#[test]
fn datagram_queued_before_address_change_leaves_as_built() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let h = stack.udp_bind(7).unwrap();
    stack
        .udp_send_to(h, b"renumbered", SocketAddrV4::new(PEER_IP, 9))
        .unwrap();
    let new_ip = Ipv4Addr::new(192, 0, 2, 42);
    stack.set_ipv4(Ipv4Cidr::new(new_ip, 24), None);
    stack.poll(&mut drv, T0);
    let out = sent_all(&mut drv);
    // The datagram was built into its packet buffer when sent: it leaves from the address
    // it was sent from, with checksums for that address; then the gratuitous ARP.
    assert_eq!(out.len(), 2);
    let f = &out[0];
    let ident = u16::from_be_bytes([f[18], f[19]]);
    let expected = eth(
        PEER_MAC,
        OUR_MAC,
        0x0800,
        &Ip {
            ident,
            ..Ip::new(OUR_IP, PEER_IP, 17)
        }
        .packet(&udp_datagram(OUR_IP, PEER_IP, 7, 9, b"renumbered")),
    );
    assert_eq!(&out[1][12..14], &[0x08, 0x06]);
    assert_eq!(&f[..], &expected[..]);
}

#[test]
fn inconsistent_fragments_are_counted() {
    setup!(stack, drv);
    start(&mut stack, &mut drv);
    let ip = Ip::new(PEER_IP, OUR_IP, 17);
    // A non-final fragment whose length is not a multiple of 8.
    let odd = Ip { mf: true, ..ip }.frame(&[0u8; 13]);
    assert_drop(&mut stack, &mut drv, &odd, "frag_malformed");
    assert_eq!(stack.stats().reassembly_in_use, 0);
}

#[test]
fn test_driver_queues_and_wires() {
    let mut a: FrameQueueDriver<2, 64> = FrameQueueDriver::new([2, 0, 0, 0, 0, 1]);
    let mut b: FrameQueueDriver<4, 64> = FrameQueueDriver::new([2, 0, 0, 0, 0, 2]);
    assert!(a.inject(&[1, 2, 3]));
    assert!(a.inject(&[4]));
    assert!(!a.inject(&[5]));
    assert_eq!(a.rx.overflows, 1);
    a.tx.push(&[9; 100]);
    assert_eq!(a.forward_to(&mut b), 1);
    assert_eq!(b.rx.len(), 1);
    assert_eq!(b.rx.pop().unwrap().len(), 64, "truncated to MTU");
    assert!(a.take_sent().is_none());
}

/// The host-services loop (poll, echo every datagram, poll) against a kernel-like peer:
/// pings of every size class and a thousand UDP datagrams, no loss, no drop.
#[test]
fn echo_service_loop_loses_nothing() {
    // Received datagrams wait in the 8 packet buffers (6 beyond the frame reserve), so each
    // poll reads at most 4 frames: the driver, not the stack, holds the rest of a burst.
    setup!(
        stack,
        drv,
        StackConfig {
            rx_burst: 4,
            ..config()
        }
    );
    start(&mut stack, &mut drv);
    let echo = stack.udp_bind(7).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut t = T0;
    let mut serve = |stack: &mut Stack<'_>, drv: &mut Drv, t: Instant| {
        loop {
            let next = stack.poll(drv, t);
            let mut echoed = false;
            while let Ok((n, from)) = stack.udp_recv_from(echo, &mut buf) {
                stack.udp_send_to(echo, &buf[..n], from).unwrap();
                echoed = true;
            }
            if !echoed && next != Some(t) {
                break;
            }
        }
    };
    for (i, len) in (0..=1472).step_by(15).enumerate() {
        let data: Vec<u8> = (0..len).map(|b| (b + i) as u8).collect();
        drv.inject(&Ip::new(PEER_IP, OUR_IP, 1).frame(&icmp_echo(8, 42, i as u16, &data)));
        serve(&mut stack, &mut drv, t);
        let out = sent_all(&mut drv);
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0][34..], &icmp_echo(0, 42, i as u16, &data)[..]);
    }
    let mut received = 0;
    for batch in 0..50 {
        for k in 0..20u16 {
            let seq = batch * 20 + k;
            let data: Vec<u8> = (0..(seq % 1400) + 1).map(|b| (b ^ seq) as u8).collect();
            drv.inject(&udp_frame(33000, 7, &data));
        }
        t += Duration::from_millis(1);
        serve(&mut stack, &mut drv, t);
        for f in sent_all(&mut drv) {
            let seq = received as u16;
            let data: Vec<u8> = (0..(seq % 1400) + 1).map(|b| (b ^ seq) as u8).collect();
            assert_eq!(&f[42..], &data[..], "datagram {seq}");
            received += 1;
        }
    }
    assert_eq!(received, 1000);
    assert_eq!(
        stack.stats().drops_total(),
        0,
        "{:?}",
        drop_counters(stack.stats())
    );
    assert_eq!(stack.stats().udp_tx, 1000);
}

/// RAM is the scarcest resource: a guard against slot types growing by accident.
#[test]
fn slot_sizes_stay_small() {
    assert!(core::mem::size_of::<ArpEntry>() <= 32);
    assert!(core::mem::size_of::<PendingSlot>() <= 24);
    assert!(core::mem::size_of::<ReassemblySlot>() <= 160);
    assert!(core::mem::size_of::<UdpSlot>() <= 128);
    // 4 bytes per counter: about 80 for the IP layers, DHCP and DNS, 50 for TCP.
    assert!(core::mem::size_of::<Stats>() <= 4 * 160);
    assert!(core::mem::size_of::<crate::TcpSlot>() <= 2048);
}

proptest::proptest! {
    /// Any mix of datagram sizes (one buffer to several) and reads into buffers of any size:
    /// what the socket accepted comes out in order, cut to the reader's buffer when larger,
    /// the pool holds exactly the buffers of the datagrams waiting, and closing frees them.
    #[test]
    fn udp_receive_queue_matches_a_model(
        ops in proptest::collection::vec((proptest::bool::ANY, 0usize..5000, 0usize..5000), 1..60)
    ) {
        setup!(stack, drv, config(), 2, 12);
        start(&mut stack, &mut drv);
        let h = stack.udp_bind(7).unwrap();
        let mut model: std::collections::VecDeque<(u16, Vec<u8>)> = Default::default();
        let mut next = 0u16;
        let mut buf = vec![0u8; 5000];
        let buffers_of = |len: usize| if len <= 1506 { 1 } else { 1 + (len - 1506).div_ceil(1514) };
        for (send, len, room) in ops {
            if send {
                let data: Vec<u8> = (0..len).map(|b| (b as u16 ^ next) as u8).collect();
                let before = stack.stats().udp_rx;
                inject_udp(&mut drv, 1000 + next, 7, &data);
                stack.poll(&mut drv, T0);
                if stack.stats().udp_rx != before {
                    model.push_back((1000 + next, data));
                }
                next += 1;
            } else {
                match (stack.udp_recv_from(h, &mut buf[..room]), model.pop_front()) {
                    (Err(UdpError::WouldBlock), None) => {}
                    (Ok((n, from)), Some((port, data))) => {
                        proptest::prop_assert_eq!(from, SocketAddrV4::new(PEER_IP, port));
                        proptest::prop_assert_eq!(&buf[..n], &data[..]);
                    }
                    (Err(UdpError::Truncated), Some((_, data))) => {
                        proptest::prop_assert!(data.len() > room);
                        proptest::prop_assert_eq!(&buf[..room], &data[..room]);
                    }
                    (got, want) => proptest::prop_assert!(false, "{got:?} vs {want:?}"),
                }
            }
            let held: usize = model.iter().map(|(_, d)| buffers_of(d.len())).sum();
            proptest::prop_assert_eq!(stack.pool.stats().in_use as usize, held);
            proptest::prop_assert!(held <= crate::udp::RX_QUEUE);
        }
        stack.udp_close(h);
        proptest::prop_assert_eq!(stack.pool.stats().in_use, 0);
        proptest::prop_assert_eq!(stack.stats().udp_bad_checksum, 0);
    }
}
