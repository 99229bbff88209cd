//! A whole stack fed a sequence of operations chosen by the fuzzer (structure-aware, with
//! `arbitrary`): frames built from fuzz bytes with their checksums fixed up by the harness,
//! time advancing, and application calls.
//!
//! The stack under test has the address 192.0.2.2/24, a TCP listener on port 80 with one
//! accepted connection, one connection it opened to 192.0.2.1:4000, UDP sockets on ports 7 and
//! 5000, the DHCP client (in its first DISCOVER) and the DNS resolver (server 192.0.2.1). Both
//! connections are set up by the harness by injecting valid handshakes. The harness tracks the
//! sequence numbers of every connection, the last DNS query and the last DHCP transaction id from
//! the frames the stack sends, so that operations can address them with plausible values.
//!
//! After every operation the stack is polled, and:
//! * every frame it sent is at most MTU + 14 bytes and parses with our own parsers, checksums
//!   valid ([`stackgen_fuzz::check_sent_frame`]);
//! * every pool gauge is at most its capacity.
#![no_main]

use core::net::{Ipv4Addr, SocketAddrV4};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stack_runtime::dhcpv4::{DhcpConfig, DhcpSlot};
use stack_runtime::dns::{DnsCacheEntry, DnsConfig, DnsQueryHandle, DnsQuerySlot, DnsStorage};
use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::testing::FrameQueueDriver;
use stack_runtime::time::Instant;
use stack_runtime::wire::tcp::{Flags, SeqNumber};
use stack_runtime::wire::{
    ArpOperation, ArpPacket, ArpRepr, DhcpMessageType, DhcpPacket, DhcpRepr, EtherType,
    EthernetAddress, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Cidr, Ipv4Packet, Ipv4Repr,
    TcpPacket, UdpPacket, ethernet, ipv4, tcp, udp,
};
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, Stats, TcpHandle,
    TcpListener, TcpListenerSlot, TcpSlot, TcpState, TcpStorage, UdpHandle, UdpSlot,
};
use stackgen_fuzz::{check_sent_frame, fix_checksums, fix_transport_checksum};

const MAC_US: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
const MAC_PEER: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
const IP_US: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const IP_PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const MTU: usize = 1500;
const LISTEN_PORT: u16 = 80;
const PEER_PORT: u16 = 4000;
const UDP_PORTS: [u16; 2] = [7, 5000];
/// Most operations run per input, so one input stays fast.
const MAX_OPS: usize = 48;
/// `FUZZ_DEBUG` is set: print every frame sent and, at the end of an input, the statistics.
static DEBUG: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("FUZZ_DEBUG").is_some());
/// Names the DNS operations look up.
const NAMES: [&str; 3] = ["a.example", "b.example.org", "x"];

/// One step of a fuzz input.
#[derive(Debug, Arbitrary)]
enum Op {
    /// Inject these bytes as a frame; with `fix`, IPv4 and transport checksums are fixed first.
    Raw { bytes: Vec<u8>, fix: bool },
    /// Inject an IPv4 packet from the peer (or another on-link host) to us, the broadcast or a
    /// stranger, with any protocol, fragment fields and payload (transport checksum fixed
    /// unless it is a fragment).
    Ip {
        src_host: u8,
        dst: DstChoice,
        protocol: u8,
        ttl: u8,
        more_frags: bool,
        frag_offset: u16,
        payload: Vec<u8>,
    },
    /// Inject a TCP segment into a tracked connection, with sequence and acknowledgement
    /// numbers near what the stack expects.
    Tcp {
        conn: u8,
        seq_delta: i16,
        ack_delta: i16,
        flags: u8,
        window: u16,
        options: Vec<u8>,
        payload_len: u16,
    },
    /// Inject a SYN to the listener from a new port.
    Syn { src_port: u16, options: Vec<u8> },
    /// Inject a UDP datagram from the peer to one of our ports.
    Udp {
        dst_port: PortChoice,
        src_port: u16,
        payload: Vec<u8>,
    },
    /// Answer the last DNS query: its id, port and question, then fuzz bytes as records.
    DnsReply {
        flags: u16,
        answers: u8,
        records: Vec<u8>,
    },
    /// Answer the last DHCP message with a structured reply built by our emitter.
    DhcpReply {
        message: u8,
        your_host: u8,
        prefix: u8,
        router: bool,
        lease: Option<u32>,
        renew: Option<u32>,
        rebind: Option<u32>,
        server_id: bool,
        dns: bool,
    },
    /// Inject an ARP request or reply from the peer.
    Arp { reply: bool, target_us: bool },
    /// Let time pass by this many milliseconds.
    Advance { ms: u16 },
    /// Let time pass by this many seconds (timeouts, TIME-WAIT, lease expiry).
    AdvanceSecs { secs: u8 },
    /// `tcp_send` of `len` bytes.
    TcpSend { conn: u8, len: u16 },
    /// `tcp_recv` into a buffer of `len` bytes.
    TcpRecv { conn: u8, len: u16 },
    /// `tcp_close` (graceful).
    TcpClose { conn: u8 },
    /// `tcp_abort`.
    TcpAbort { conn: u8 },
    /// `tcp_connect` to the peer on `port`.
    TcpConnect { port: u16 },
    /// `tcp_accept` on the listener.
    TcpAccept,
    /// `udp_send_to` the peer.
    UdpSend { sock: bool, len: u16, port: u16 },
    /// `udp_recv_from`.
    UdpRecv { sock: bool, len: u16 },
    /// `dns_query` for one of [`NAMES`].
    DnsQuery { name: u8 },
    /// `dns_result` of the queries made so far.
    DnsResult,
}

/// Where an injected IPv4 packet goes.
#[derive(Debug, Arbitrary)]
enum DstChoice {
    Us,
    Broadcast,
    Subnet,
    Other([u8; 4]),
}

/// The destination port of an injected UDP datagram.
#[derive(Debug, Arbitrary)]
enum PortChoice {
    Echo,
    Other,
    Dhcp,
    Dns,
    Any(u16),
}

/// One TCP connection as the harness sees it from the frames the stack sent.
#[derive(Debug, Clone, Copy)]
struct Conn {
    local_port: u16,
    remote_port: u16,
    /// The stack's next sequence number (`SND.NXT` as seen on the wire).
    stack_next: SeqNumber,
    /// The stack's last acknowledgement (what it expects from the peer next).
    stack_ack: SeqNumber,
}

/// Harness state: what it learned from the frames the stack sent.
#[derive(Debug, Default)]
struct Seen {
    conns: Vec<Conn>,
    /// (source port, id, question bytes) of the last DNS query.
    dns: Option<(u16, u16, Vec<u8>)>,
    /// Transaction id of the last DHCP message.
    dhcp_xid: Option<u32>,
}

impl Seen {
    /// Learns from one frame the stack sent (already checked by `check_sent_frame`).
    fn learn(&mut self, frame: &[u8]) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        if eth.ethertype() != EtherType::Ipv4 {
            return;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        if ip.is_fragment() {
            return;
        }
        match ip.next_header() {
            IpProtocol::Tcp => {
                let seg = TcpPacket::new_checked(ip.payload()).unwrap();
                let next = seg.seq_number() + seg.segment_len();
                let (local, remote) = (seg.src_port(), seg.dst_port());
                let ack = seg.ack().then(|| seg.ack_number());
                let known = self.conns.len();
                match self
                    .conns
                    .iter_mut()
                    .find(|c| c.local_port == local && c.remote_port == remote)
                {
                    Some(c) => {
                        if next > c.stack_next || seg.syn() {
                            c.stack_next = next;
                        }
                        if let Some(ack) = ack {
                            c.stack_ack = ack;
                        }
                    }
                    None if known < 8 => self.conns.push(Conn {
                        local_port: local,
                        remote_port: remote,
                        stack_next: next,
                        stack_ack: ack.unwrap_or_default(),
                    }),
                    None => {}
                }
            }
            IpProtocol::Udp => {
                let dgram = UdpPacket::new_checked(ip.payload()).unwrap();
                let data = dgram.payload();
                if dgram.dst_port() == 53 && data.len() >= 12 {
                    let id = u16::from_be_bytes([data[0], data[1]]);
                    self.dns = Some((dgram.src_port(), id, data[12..].to_vec()));
                } else if dgram.dst_port() == 67
                    && let Ok(p) = DhcpPacket::new_checked(data)
                {
                    self.dhcp_xid = Some(p.transaction_id());
                }
            }
            _ => {}
        }
    }
}

/// Writes an Ethernet + IPv4 header for a packet from `src` to `dst` around `payload` built by
/// `fill`, then fixes the transport checksum.
fn ip_frame(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let mut frame = vec![0u8; ethernet::HEADER_LEN + ipv4::HEADER_LEN + payload_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    let dst_mac = if dst.is_broadcast() {
        EthernetAddress::BROADCAST
    } else {
        MAC_US
    };
    EthernetRepr {
        src_addr: MAC_PEER,
        dst_addr: dst_mac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut eth);
    let ip_repr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: protocol,
        payload_len,
        hop_limit: 64,
    };
    let mut ip = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip_repr.emit(&mut ip, 0x1000);
    fill(ip.payload_mut());
    fix_transport_checksum(protocol, src, dst, ip.payload_mut());
    frame
}

/// A TCP segment from the peer.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    src_port: u16,
    dst_port: u16,
    seq: SeqNumber,
    ack: SeqNumber,
    flags: u8,
    window: u16,
    options: &[u8],
    payload_len: usize,
) -> Vec<u8> {
    let options = &options[..options.len().min(40) & !3];
    let header = tcp::HEADER_LEN + options.len();
    ip_frame(
        IP_PEER,
        IP_US,
        IpProtocol::Tcp,
        header + payload_len,
        |buf| {
            let mut seg = TcpPacket::new_unchecked(&mut *buf);
            seg.set_src_port(src_port);
            seg.set_dst_port(dst_port);
            seg.set_seq_number(seq);
            seg.set_ack_number(ack);
            seg.set_header_len(header as u8);
            seg.set_flags(Flags::from_bits(flags));
            seg.set_window_len(window);
            seg.set_urgent_at(0);
            seg.options_mut().copy_from_slice(options);
            for (i, b) in seg.payload_mut().iter_mut().enumerate() {
                *b = i as u8;
            }
        },
    )
}

/// An ARP packet from the peer.
fn arp_frame(reply: bool, target: Ipv4Addr) -> Vec<u8> {
    let mut frame = vec![0u8; 42];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: MAC_PEER,
        dst_addr: if reply {
            MAC_US
        } else {
            EthernetAddress::BROADCAST
        },
        ethertype: EtherType::Arp,
    }
    .emit(&mut eth);
    ArpRepr {
        operation: if reply {
            ArpOperation::Reply
        } else {
            ArpOperation::Request
        },
        source_hardware_addr: MAC_PEER,
        source_protocol_addr: IP_PEER,
        target_hardware_addr: if reply {
            MAC_US
        } else {
            EthernetAddress([0; 6])
        },
        target_protocol_addr: target,
    }
    .emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
    frame
}

/// Asserts that no pool gauge is above its capacity.
fn check_gauges(s: &Stats) {
    let pairs = [
        (
            "pool_packets",
            s.pool_packets_in_use,
            s.pool_packets_capacity,
        ),
        ("arp_cache", s.arp_cache_in_use, s.arp_cache_capacity),
        ("tx_queue", s.tx_queue_in_use, s.tx_queue_capacity),
        ("reassembly", s.reassembly_in_use, s.reassembly_capacity),
        ("udp_sockets", s.udp_sockets_in_use, s.udp_sockets_capacity),
        ("dns_cache", s.dns_cache_in_use, s.dns_cache_capacity),
        ("dns_queries", s.dns_queries_in_use, s.dns_queries_capacity),
        ("tcp_sockets", s.tcp_sockets_in_use, s.tcp_sockets_capacity),
        (
            "tcp_segments",
            s.tcp_segments_in_use,
            s.tcp_segments_capacity,
        ),
    ];
    for (name, in_use, capacity) in pairs {
        assert!(
            in_use <= capacity,
            "{name}: {in_use} in use > capacity {capacity}"
        );
    }
}

/// The stack, its driver, the clock and what the harness learned.
struct Harness<'a> {
    stack: Stack<'a>,
    driver: FrameQueueDriver<16, 1514>,
    now: u64,
    seen: Seen,
    tcp: Vec<TcpHandle>,
    listener: TcpListener,
    udp: [UdpHandle; 2],
    dns: Vec<DnsQueryHandle>,
}

impl Harness<'_> {
    /// Injects `frame` (when the receive queue has room) and polls.
    fn inject(&mut self, frame: &[u8]) {
        self.driver.inject(frame);
        self.poll();
    }

    /// Polls the stack, then checks and learns from everything it sent.
    fn poll(&mut self) {
        // Several polls: the receive queue may hold more than one burst.
        for _ in 0..4 {
            self.stack
                .poll(&mut self.driver, Instant::from_millis(self.now));
            while let Some(frame) = self.driver.take_sent() {
                if *DEBUG {
                    eprintln!("t={} sent {:02x?}", self.now, &frame[..frame.len().min(60)]);
                }
                check_sent_frame(&frame, MTU);
                self.seen.learn(&frame);
            }
            if self.driver.rx.is_empty() {
                break;
            }
        }
        check_gauges(self.stack.stats());
    }

    fn conn(&self, i: u8) -> Option<Conn> {
        let n = self.seen.conns.len();
        (n > 0).then(|| self.seen.conns[usize::from(i) % n])
    }

    fn handle(&self, i: u8) -> Option<TcpHandle> {
        let n = self.tcp.len();
        (n > 0).then(|| self.tcp[usize::from(i) % n])
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Raw { mut bytes, fix } => {
                bytes.truncate(1514);
                if fix {
                    fix_checksums(&mut bytes);
                }
                self.inject(&bytes);
            }
            Op::Ip {
                src_host,
                dst,
                protocol,
                ttl,
                more_frags,
                frag_offset,
                mut payload,
            } => {
                payload.truncate(1480);
                let src = Ipv4Addr::new(192, 0, 2, src_host);
                let dst = match dst {
                    DstChoice::Us => IP_US,
                    DstChoice::Broadcast => Ipv4Addr::BROADCAST,
                    DstChoice::Subnet => Ipv4Addr::new(192, 0, 2, 255),
                    DstChoice::Other(a) => Ipv4Addr::from(a),
                };
                let protocol = IpProtocol::from(protocol % 24);
                let mut frame = ip_frame(src, dst, protocol, payload.len(), |buf| {
                    buf.copy_from_slice(&payload)
                });
                let mut ip = Ipv4Packet::new_unchecked(&mut frame[ethernet::HEADER_LEN..]);
                ip.set_hop_limit(ttl);
                ip.set_more_frags(more_frags);
                ip.set_frag_offset(frag_offset & !7);
                fix_checksums(&mut frame);
                self.inject(&frame);
            }
            Op::Tcp {
                conn,
                seq_delta,
                ack_delta,
                flags,
                window,
                options,
                payload_len,
            } => {
                let Some(c) = self.conn(conn) else { return };
                let seq = c.stack_ack + i64::from(seq_delta).rem_euclid(1 << 16) as usize;
                let seq = seq - if seq_delta < 0 { 1 << 16 } else { 0 };
                let ack = c.stack_next + i64::from(ack_delta).rem_euclid(1 << 16) as usize;
                let ack = ack - if ack_delta < 0 { 1 << 16 } else { 0 };
                let frame = tcp_frame(
                    c.remote_port,
                    c.local_port,
                    seq,
                    ack,
                    flags,
                    window,
                    &options,
                    usize::from(payload_len) % 1461,
                );
                self.inject(&frame);
            }
            Op::Syn { src_port, options } => {
                let frame = tcp_frame(
                    src_port | 1,
                    LISTEN_PORT,
                    SeqNumber(u32::from(src_port) << 16),
                    SeqNumber(0),
                    0x02,
                    64240,
                    &options,
                    0,
                );
                self.inject(&frame);
            }
            Op::Udp {
                dst_port,
                src_port,
                mut payload,
            } => {
                payload.truncate(1472);
                let (src_port, dst_port) = match dst_port {
                    PortChoice::Echo => (src_port, UDP_PORTS[0]),
                    PortChoice::Other => (src_port, UDP_PORTS[1]),
                    PortChoice::Dhcp => (67, 68),
                    PortChoice::Dns => (53, self.seen.dns.as_ref().map_or(1, |d| d.0)),
                    PortChoice::Any(p) => (src_port, p),
                };
                let frame = udp_frame(src_port, dst_port, &payload);
                self.inject(&frame);
            }
            Op::DnsReply {
                flags,
                answers,
                records,
            } => {
                let Some((port, id, question)) = self.seen.dns.clone() else {
                    return;
                };
                let mut msg = Vec::with_capacity(12 + question.len() + records.len());
                msg.extend_from_slice(&id.to_be_bytes());
                // QR set, TC clear (a truncated answer is refused before anything else).
                msg.extend_from_slice(&((flags | 0x8000) & !0x0200).to_be_bytes());
                msg.extend_from_slice(&[0, 1, 0, answers % 8, 0, 0, 0, 0]);
                msg.extend_from_slice(&question);
                msg.extend_from_slice(&records);
                msg.truncate(1472);
                let frame = udp_frame(53, port, &msg);
                self.inject(&frame);
            }
            Op::DhcpReply {
                message,
                your_host,
                prefix,
                router,
                lease,
                renew,
                rebind,
                server_id,
                dns,
            } => {
                let xid = self.seen.dhcp_xid.unwrap_or(0);
                let message = match message % 4 {
                    0 => DhcpMessageType::Offer,
                    1 => DhcpMessageType::Ack,
                    2 => DhcpMessageType::Nak,
                    _ => DhcpMessageType::from_u8(message % 9).unwrap_or(DhcpMessageType::Ack),
                };
                let mut repr = DhcpRepr::new(message, xid, MAC_US);
                repr.your_ip = Ipv4Addr::new(192, 0, 2, your_host);
                repr.server_ip = IP_PEER;
                repr.subnet_mask = Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, prefix % 33)
                    .map(|c| c.netmask())
                    .filter(|_| prefix < 66);
                repr.router = router.then_some(IP_PEER);
                repr.lease_duration = lease;
                repr.renew_duration = renew;
                repr.rebind_duration = rebind;
                repr.server_identifier = server_id.then_some(IP_PEER);
                if dns {
                    repr.dns_servers[0] = Some(IP_PEER);
                }
                let mut msg = vec![0u8; repr.buffer_len()];
                repr.emit(&mut DhcpPacket::new_unchecked(&mut msg[..]));
                let frame = udp_frame(67, 68, &msg);
                self.inject(&frame);
            }
            Op::Arp { reply, target_us } => {
                let target = if target_us {
                    IP_US
                } else {
                    Ipv4Addr::new(192, 0, 2, 9)
                };
                self.inject(&arp_frame(reply, target));
            }
            Op::Advance { ms } => {
                self.now += u64::from(ms);
                self.poll();
            }
            Op::AdvanceSecs { secs } => {
                self.now += u64::from(secs) * 1000;
                self.poll();
            }
            Op::TcpSend { conn, len } => {
                let Some(h) = self.handle(conn) else { return };
                let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let _ = self.stack.tcp_send(h, &data);
                self.poll();
            }
            Op::TcpRecv { conn, len } => {
                let Some(h) = self.handle(conn) else { return };
                let mut buf = vec![0u8; usize::from(len)];
                if let Ok(n) = self.stack.tcp_recv(h, &mut buf) {
                    assert!(n <= buf.len());
                }
                self.poll();
            }
            Op::TcpClose { conn } => {
                let Some(h) = self.handle(conn) else { return };
                self.stack.tcp_close(h);
                self.poll();
            }
            Op::TcpAbort { conn } => {
                let Some(h) = self.handle(conn) else { return };
                self.stack.tcp_abort(h, Instant::from_millis(self.now));
                self.poll();
            }
            Op::TcpConnect { port } => {
                let remote = SocketAddrV4::new(IP_PEER, port);
                if let Ok(h) = self
                    .stack
                    .tcp_connect(remote, 0, Instant::from_millis(self.now))
                {
                    self.tcp.push(h);
                }
                self.poll();
            }
            Op::TcpAccept => {
                if let Some(h) = self.stack.tcp_accept(self.listener) {
                    self.tcp.push(h);
                }
            }
            Op::UdpSend { sock, len, port } => {
                let data = vec![0x5a; usize::from(len) % 2048];
                let to = SocketAddrV4::new(IP_PEER, port);
                let _ = self
                    .stack
                    .udp_send_to(self.udp[usize::from(sock)], &data, to);
                self.poll();
            }
            Op::UdpRecv { sock, len } => {
                let mut buf = vec![0u8; usize::from(len) % 2048];
                let _ = self
                    .stack
                    .udp_recv_from(self.udp[usize::from(sock)], &mut buf);
            }
            Op::DnsQuery { name } => {
                let name = NAMES[usize::from(name) % NAMES.len()];
                if let Ok(h) = self.stack.dns_query(name) {
                    self.dns.push(h);
                }
                self.poll();
            }
            Op::DnsResult => {
                for h in self.dns.clone() {
                    let _ = self.stack.dns_result(h);
                }
            }
        }
    }
}

/// A UDP datagram from the peer to us.
fn udp_frame(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let len = udp::HEADER_LEN + payload.len();
    ip_frame(IP_PEER, IP_US, IpProtocol::Udp, len, |buf| {
        let mut dgram = UdpPacket::new_unchecked(&mut *buf);
        dgram.set_src_port(src_port);
        dgram.set_dst_port(dst_port);
        dgram.set_len(len as u16);
        dgram.payload_mut().copy_from_slice(payload);
    })
}

/// Runs `ops` against a freshly built stack with its connections set up.
fn run(ops: Vec<Op>) {
    // 8 for frames, 16 for TCP data.
    let mut packets = vec![0u8; 24 * 1514];
    let mut tx_queue = [PendingSlot::EMPTY; 8];
    let mut arp = [ArpEntry::EMPTY; 4];
    let mut reassembly = [ReassemblySlot::EMPTY; 1];
    let mut reassembly_bytes = vec![0u8; 4096];
    let mut udp_slots = [UdpSlot::new(2048, 2048), UdpSlot::new(2048, 2048)];
    let mut sockets: Vec<TcpSlot> = (0..4).map(|_| TcpSlot::new()).collect();
    let mut listeners = [TcpListenerSlot::EMPTY; 2];
    let mut quotas = [SocketQuota::default(); 4];
    let mut dhcp_slot = DhcpSlot::EMPTY;
    let mut dns_queries = [DnsQuerySlot::EMPTY; 2];
    let mut dns_cache = [DnsCacheEntry::EMPTY; 2];

    let storage = StackStorage {
        packets: &mut packets,
        packet_size: 1514,
        tx_queue: &mut tx_queue,
        arp: &mut arp,
        reassembly: &mut reassembly,
        reassembly_bytes: &mut reassembly_bytes,
        udp: &mut udp_slots,
        tcp: TcpStorage {
            sockets: &mut sockets,
            listeners: &mut listeners,
            quotas: &mut quotas,
        },
    };
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(IP_US, 24),
        gateway: Some(IP_PEER),
        mtu: MTU,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, storage, MAC_US);
    let listener = stack.tcp_listen(LISTEN_PORT).unwrap();
    let udp = UDP_PORTS.map(|p| stack.udp_bind(p).unwrap());
    let mut dns_config = DnsConfig::new(1);
    dns_config.servers[0] = Some(IP_PEER);
    stack.enable_dns(
        DnsStorage {
            queries: &mut dns_queries,
            cache: &mut dns_cache,
        },
        dns_config,
    );
    stack.enable_dhcp(&mut dhcp_slot, DhcpConfig::new(2));
    let mut h = Harness {
        stack,
        driver: FrameQueueDriver::new(MAC_US.0),
        now: 0,
        seen: Seen::default(),
        tcp: Vec::new(),
        listener,
        udp,
        dns: Vec::new(),
    };
    h.poll();

    // The connection we open: the peer's ARP request puts it in the cache (a segment for an
    // unresolved address waits for a retransmission), then SYN / SYN-ACK / ACK.
    h.inject(&arp_frame(false, IP_US));
    let client = h
        .stack
        .tcp_connect(SocketAddrV4::new(IP_PEER, PEER_PORT), 0, Instant::ZERO)
        .unwrap();
    h.poll();
    let syn = *h
        .seen
        .conns
        .iter()
        .find(|c| c.remote_port == PEER_PORT)
        .unwrap();
    let mss = [2, 4, 0x05, 0xb4];
    h.inject(&tcp_frame(
        PEER_PORT,
        syn.local_port,
        SeqNumber(1_000_000),
        syn.stack_next,
        0x12,
        64240,
        &mss,
        0,
    ));
    assert_eq!(h.stack.tcp_state(client), TcpState::Established);
    h.tcp.push(client);

    // The connection we accept: SYN / SYN-ACK / ACK on the listener.
    h.inject(&tcp_frame(
        5555,
        LISTEN_PORT,
        SeqNumber(7_000_000),
        SeqNumber(0),
        0x02,
        64240,
        &mss,
        0,
    ));
    let syn_ack = *h.seen.conns.iter().find(|c| c.remote_port == 5555).unwrap();
    h.inject(&tcp_frame(
        5555,
        LISTEN_PORT,
        SeqNumber(7_000_001),
        syn_ack.stack_next,
        0x10,
        64240,
        &[],
        0,
    ));
    let server = h
        .stack
        .tcp_accept(h.listener)
        .expect("handshake on the listener");
    assert_eq!(h.stack.tcp_state(server), TcpState::Established);
    h.tcp.push(server);

    for op in ops.into_iter().take(MAX_OPS) {
        h.run(op);
    }
    if *DEBUG {
        h.stack.stats().for_each(|name, value| {
            if value != 0 {
                eprintln!("stat {name}: {value}");
            }
        });
    }
}

fuzz_target!(|ops: Vec<Op>| run(ops));
