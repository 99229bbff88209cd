//! The bulk transfer on two stack-runtime stacks.

use core::net::{Ipv4Addr, SocketAddrV4};

use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::time::Instant;
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, Stack, StackConfig, StackStorage, TcpConfig, TcpError, TcpListenerSlot,
    TcpSlot, TcpStorage,
};

use crate::link::{FRAME, Port, Ring};
use crate::{BulkOutcome, BulkParams, CHUNK, matches_pattern};

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PORT: u16 = 5001;
/// Frames each direction of the link holds.
const LINK_FRAMES: usize = 64;

/// Arrays one stack runs from (heap-allocated once, before the timed part).
struct Arrays {
    packets: Vec<u8>,
    tx_queue: Vec<PendingSlot>,
    arp: Vec<ArpEntry>,
    sockets: Vec<TcpSlot>,
    listeners: Vec<TcpListenerSlot>,
    quotas: Vec<SocketQuota>,
}

impl Arrays {
    fn new(window_segments: usize) -> Self {
        Arrays {
            // 8 for frames, plus room for a full send buffer and a full receive window (TCP
            // data lives in the packet buffers).
            packets: vec![0; (8 + 2 * window_segments) * FRAME],
            tx_queue: (0..8).map(|_| PendingSlot::EMPTY).collect(),
            arp: vec![ArpEntry::EMPTY; 4],
            sockets: vec![TcpSlot::EMPTY],
            listeners: vec![TcpListenerSlot::EMPTY; 1],
            quotas: vec![SocketQuota::default(); 1],
        }
    }

    fn stack(&mut self, ip: Ipv4Addr, mac: [u8; 6], window_segments: usize) -> Stack<'_> {
        let storage = StackStorage {
            packets: &mut self.packets,
            packet_size: FRAME,
            tx_queue: &mut self.tx_queue,
            arp: &mut self.arp,
            reassembly: &mut [],
            reassembly_bytes: &mut [],
            udp: &mut [],
            tcp: TcpStorage {
                sockets: &mut self.sockets,
                listeners: &mut self.listeners,
                quotas: &mut self.quotas,
            },
        };
        let n = window_segments as u16;
        let config = StackConfig {
            ipv4: Ipv4Cidr::new(ip, 24),
            tcp: TcpConfig {
                // Options smoltcp does not send by default: off, so both carry 1460-byte
                // payloads in 1514-byte frames.
                window_scaling: false,
                timestamps: false,
                sack: false,
                send_buffers: n,
                // The receive window is one buffer less than the receive limit (the stack
                // keeps one for a partly filled buffer), so n + 1 buffers offer the n × MSS
                // window smoltcp's n × MSS receive buffer offers (at most 31 × MSS: the queue
                // holds 32 buffers).
                recv_buffers: n + 1,
                ..TcpConfig::default()
            },
            seed: [7; 16],
            ..StackConfig::default()
        };
        Stack::new(config, storage, EthernetAddress(mac))
    }
}

/// Move `params.bytes` from a client stack to a server stack over the in-memory link.
/// `pattern` is the source (see [`crate::pattern`]).
#[inline(never)]
pub fn bulk_ours(params: &BulkParams, pattern: &[u8]) -> BulkOutcome {
    let mut ca = Arrays::new(params.window_segments);
    let mut sa = Arrays::new(params.window_segments);
    let mut client = ca.stack(CLIENT_IP, CLIENT_MAC, params.window_segments);
    let mut server = sa.stack(SERVER_IP, SERVER_MAC, params.window_segments);
    let mut c2s = Ring::new(LINK_FRAMES);
    let mut s2c = Ring::new(LINK_FRAMES);
    let mut sink = vec![0u8; CHUNK];
    transfer(
        params,
        pattern,
        &mut client,
        &mut server,
        &mut c2s,
        &mut s2c,
        &mut sink,
    )
}

/// The measured part: handshake and transfer (callgrind's `--toggle-collect` target).
#[inline(never)]
fn transfer(
    params: &BulkParams,
    pattern: &[u8],
    client: &mut Stack<'_>,
    server: &mut Stack<'_>,
    c2s: &mut Ring,
    s2c: &mut Ring,
    sink: &mut [u8],
) -> BulkOutcome {
    let mut now = Instant::from_secs(1);
    let listener = server.tcp_listen(PORT).expect("listen");
    let conn = client
        .tcp_connect(SocketAddrV4::new(SERVER_IP, PORT), 0, now)
        .expect("connect");
    let mut accepted = None;
    let (mut sent, mut received) = (0usize, 0usize);
    let mut intact = true;
    let (mut iterations, mut clock_jumps) = (0u64, 0u64);
    while received < params.bytes {
        iterations += 1;
        let before = (sent, received);
        // Before the handshake completes the socket takes no data.
        while sent < params.bytes && client.tcp_may_send(conn) {
            let start = sent % crate::PATTERN_PERIOD;
            let n = (params.bytes - sent).min(CHUNK);
            match client.tcp_send(conn, &pattern[start..start + n]) {
                Ok(0) | Err(TcpError::WouldBlock) => break,
                Ok(k) => sent += k,
                Err(e) => panic!("client send: {e}"),
            }
        }
        let next_c = client.poll(
            &mut Port {
                mac: CLIENT_MAC,
                rx: s2c,
                tx: c2s,
            },
            now,
        );
        let next_s = server.poll(
            &mut Port {
                mac: SERVER_MAC,
                rx: c2s,
                tx: s2c,
            },
            now,
        );
        if accepted.is_none() {
            accepted = server.tcp_accept(listener);
        }
        if let Some(h) = accepted {
            loop {
                match server.tcp_recv(h, sink) {
                    Ok(0) | Err(TcpError::WouldBlock) => break,
                    Ok(k) => {
                        if params.verify && !matches_pattern(pattern, received, &sink[..k]) {
                            intact = false;
                        }
                        received += k;
                    }
                    Err(e) => panic!("server recv: {e}"),
                }
            }
        }
        if (sent, received) == before && c2s.is_empty() && s2c.is_empty() {
            // Nothing moved: jump to the earliest timer (delayed ACK, RTO, ...).
            let next = match (next_c, next_s) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let step = Instant::from_micros(now.total_micros() + 1000);
            now = next.filter(|t| *t > now).unwrap_or(step);
            clock_jumps += 1;
        } else {
            now = Instant::from_micros(now.total_micros() + 1);
        }
    }
    BulkOutcome {
        received,
        intact,
        iterations,
        clock_jumps,
        virtual_micros: now.total_micros(),
    }
}
