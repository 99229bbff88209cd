//! The TAP server on stack-runtime, over `host_tap::TapDevice`.

use std::io::Write;
use std::net::Ipv4Addr;

use host_tap::TapDevice;
use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::time::Instant;
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, Stack, StackConfig, StackStorage, TcpConfig, TcpError, TcpHandle,
    TcpListenerSlot, TcpSlot, TcpStorage,
};

use super::{READY, STACK_IP, STACK_MAC, ServerParams, Service, chargen_pattern, sleep_for};
use crate::CHUNK;

/// Packet buffers (and transmit-queue slots): as in `examples/host-services`.
const PACKETS: usize = 16;
/// Bytes per packet buffer: a full 1514-byte frame, rounded up.
const PACKET_SIZE: usize = 1536;

/// One accepted connection and what its service still has to do.
struct Conn {
    handle: TcpHandle,
    /// Echo: bytes received and not yet taken by the send buffer.
    pending: Vec<u8>,
}

/// Runs `params.service` on our stack until `params.max_time` has passed (the harness kills
/// the process sooner). Prints [`READY`] once listening.
pub fn serve(params: &ServerParams) -> Result<(), String> {
    let mut tap = TapDevice::open(&params.tap)
        .map_err(|e| format!("opening TAP {}: {e}", params.tap))?
        .with_mac(STACK_MAC);
    let w = params.window_segments;
    // TCP data lives in the packet buffers: a full send buffer and a full receive window for
    // one connection, plus slack for the small echo and accept connections, on top of the
    // frames (the pool holds at most 256 buffers).
    let packet_count = (PACKETS + 2 * w + 2 * params.sockets).min(256);
    let mut packets = vec![0u8; packet_count * PACKET_SIZE];
    let mut tx_queue: Vec<PendingSlot> = (0..PACKETS).map(|_| PendingSlot::EMPTY).collect();
    let mut arp = vec![ArpEntry::EMPTY; 4];
    let mut sockets: Vec<TcpSlot> = (0..params.sockets).map(|_| TcpSlot::new()).collect();
    let mut listeners = vec![TcpListenerSlot::EMPTY; 1];
    let mut quotas = vec![SocketQuota::default(); params.sockets];
    let storage = StackStorage {
        packets: &mut packets,
        packet_size: PACKET_SIZE,
        tx_queue: &mut tx_queue,
        arp: &mut arp,
        reassembly: &mut [],
        reassembly_bytes: &mut [],
        udp: &mut [],
        tcp: TcpStorage {
            sockets: &mut sockets,
            listeners: &mut listeners,
            quotas: &mut quotas,
        },
    };
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(Ipv4Addr::from(STACK_IP), 24),
        tcp: TcpConfig {
            // smoltcp sends none of these by default; off here too, so both carry 1460-byte
            // payloads and advertise the same unscaled window.
            window_scaling: false,
            timestamps: false,
            sack: false,
            send_buffers: w as u16,
            recv_buffers: w as u16,
            backlog: 4,
            ..TcpConfig::default()
        },
        seed: host_tap::random_seed().map_err(|e| format!("/dev/urandom: {e}"))?,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, storage, EthernetAddress(STACK_MAC));
    let listener = stack
        .tcp_listen(params.service.port())
        .map_err(|e| format!("listen: {e}"))?;
    let pattern = chargen_pattern();
    let mut buf = vec![0u8; CHUNK];
    let mut conns: Vec<Conn> = Vec::new();
    let clock = std::time::Instant::now();
    let micros = || u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX);
    println!("{READY}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    while clock.elapsed() < params.max_time {
        let now = Instant::from_micros(micros());
        let next = stack.poll(&mut tap, now);
        let mut moved = false;
        while let Some(handle) = stack.tcp_accept(listener) {
            moved = true;
            match params.service {
                Service::AcceptClose => stack.tcp_close(handle),
                Service::Echo => {
                    stack.tcp_set_nodelay(handle, true);
                    conns.push(Conn {
                        handle,
                        pending: Vec::new(),
                    });
                }
                _ => conns.push(Conn {
                    handle,
                    pending: Vec::new(),
                }),
            }
        }
        let mut i = 0;
        while i < conns.len() {
            let (m, finished) = step(
                &mut stack,
                params.service,
                &mut conns[i],
                &mut buf,
                &pattern,
            );
            moved |= m;
            if finished {
                stack.tcp_close(conns[i].handle);
                conns.swap_remove(i);
            } else {
                i += 1;
            }
        }
        if moved {
            continue;
        }
        let timeout = sleep_for(next.map(|t| t.total_micros()), micros());
        tap.wait(Some(timeout))
            .map_err(|e| format!("poll(2): {e}"))?;
    }
    Ok(())
}

/// Whether the connection is over from the application's side.
fn ended(r: &Result<usize, TcpError>) -> bool {
    matches!(r, Ok(0)) || matches!(r, Err(e) if *e != TcpError::WouldBlock)
}

/// Serves one connection once; returns (anything moved, connection over).
fn step(
    stack: &mut Stack<'_>,
    service: Service,
    c: &mut Conn,
    buf: &mut [u8],
    pattern: &[u8],
) -> (bool, bool) {
    let mut moved = false;
    match service {
        Service::Discard | Service::AcceptClose => loop {
            let r = stack.tcp_recv(c.handle, buf);
            match r {
                Ok(n) if n > 0 => moved = true,
                _ => return (moved, ended(&r)),
            }
        },
        Service::Chargen => {
            let r = stack.tcp_recv(c.handle, buf);
            if ended(&r) {
                return (true, true);
            }
            loop {
                match stack.tcp_send(c.handle, pattern) {
                    Ok(n) if n > 0 => moved = true,
                    Ok(_) | Err(TcpError::WouldBlock) => return (moved, false),
                    Err(_) => return (true, true),
                }
            }
        }
        Service::Echo => loop {
            if !c.pending.is_empty() {
                match stack.tcp_send(c.handle, &c.pending) {
                    Ok(n) => {
                        c.pending.drain(..n);
                        moved |= n > 0;
                    }
                    Err(TcpError::WouldBlock) => return (moved, false),
                    Err(_) => return (true, true),
                }
                if !c.pending.is_empty() {
                    return (moved, false);
                }
            }
            let r = stack.tcp_recv(c.handle, buf);
            match r {
                Ok(n) if n > 0 => {
                    c.pending.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                _ => return (moved, ended(&r)),
            }
        },
    }
}
