//! The bulk transfer on two smoltcp interfaces.

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use crate::link::{Port, Ring};
use crate::{BulkOutcome, BulkParams, CHUNK, matches_pattern};

const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const CLIENT_IP: Ipv4Address = Ipv4Address::new(192, 0, 2, 1);
const SERVER_IP: Ipv4Address = Ipv4Address::new(192, 0, 2, 2);
const PORT: u16 = 5001;
/// Frames each direction of the link holds (same as for our stack).
const LINK_FRAMES: usize = 64;

fn interface(mac: [u8; 6], ip: Ipv4Address, port: &mut Port<'_>, seed: u64) -> Interface {
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let mut iface = Interface::new(config, port, Instant::from_secs(1));
    iface.update_ip_addrs(|a| {
        a.push(IpCidr::new(IpAddress::Ipv4(ip), 24))
            .expect("address slot");
    });
    iface
}

fn socket(window: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; window]),
        tcp::SocketBuffer::new(vec![0; window]),
    )
}

/// Move `params.bytes` from a client interface to a server interface over the in-memory
/// link, with receive and send buffers of `params.window_bytes()`.
#[inline(never)]
pub fn bulk_smoltcp(params: &BulkParams, pattern: &[u8]) -> BulkOutcome {
    let mut c2s = Ring::new(LINK_FRAMES);
    let mut s2c = Ring::new(LINK_FRAMES);
    let client = interface(
        CLIENT_MAC,
        CLIENT_IP,
        &mut Port {
            mac: CLIENT_MAC,
            rx: &mut s2c,
            tx: &mut c2s,
        },
        1,
    );
    let server = interface(
        SERVER_MAC,
        SERVER_IP,
        &mut Port {
            mac: SERVER_MAC,
            rx: &mut c2s,
            tx: &mut s2c,
        },
        2,
    );
    let mut client_set = SocketSet::new(vec![]);
    let mut server_set = SocketSet::new(vec![]);
    let ch = client_set.add(socket(params.window_bytes()));
    let sh = server_set.add(socket(params.window_bytes()));
    let mut sink = vec![0u8; CHUNK];
    let mut ends = Ends {
        client,
        server,
        client_set,
        server_set,
        ch,
        sh,
    };
    transfer_smoltcp(params, pattern, &mut ends, &mut c2s, &mut s2c, &mut sink)
}

/// Both interfaces and their sockets.
struct Ends {
    client: Interface,
    server: Interface,
    client_set: SocketSet<'static>,
    server_set: SocketSet<'static>,
    ch: SocketHandle,
    sh: SocketHandle,
}

/// The measured part: handshake and transfer (callgrind's `--toggle-collect` target).
#[inline(never)]
fn transfer_smoltcp(
    params: &BulkParams,
    pattern: &[u8],
    e: &mut Ends,
    c2s: &mut Ring,
    s2c: &mut Ring,
    sink: &mut [u8],
) -> BulkOutcome {
    let mut now = Instant::from_secs(1);
    e.server_set
        .get_mut::<tcp::Socket>(e.sh)
        .listen(PORT)
        .expect("listen");
    e.client_set
        .get_mut::<tcp::Socket>(e.ch)
        .connect(e.client.context(), (SERVER_IP, PORT), 49152)
        .expect("connect");
    let (mut sent, mut received) = (0usize, 0usize);
    let mut intact = true;
    let (mut iterations, mut clock_jumps) = (0u64, 0u64);
    while received < params.bytes {
        iterations += 1;
        let before = (sent, received);
        {
            let s = e.client_set.get_mut::<tcp::Socket>(e.ch);
            while sent < params.bytes && s.can_send() {
                let start = sent % crate::PATTERN_PERIOD;
                let n = (params.bytes - sent).min(CHUNK);
                match s.send_slice(&pattern[start..start + n]) {
                    Ok(0) => break,
                    Ok(k) => sent += k,
                    Err(err) => panic!("client send: {err}"),
                }
            }
        }
        let mut cp = Port {
            mac: CLIENT_MAC,
            rx: s2c,
            tx: c2s,
        };
        e.client.poll(now, &mut cp, &mut e.client_set);
        let next_c = e.client.poll_delay(now, &e.client_set);
        let mut sp = Port {
            mac: SERVER_MAC,
            rx: c2s,
            tx: s2c,
        };
        e.server.poll(now, &mut sp, &mut e.server_set);
        let next_s = e.server.poll_delay(now, &e.server_set);
        {
            let s = e.server_set.get_mut::<tcp::Socket>(e.sh);
            while s.can_recv() {
                match s.recv_slice(sink) {
                    Ok(0) => break,
                    Ok(k) => {
                        if params.verify && !matches_pattern(pattern, received, &sink[..k]) {
                            intact = false;
                        }
                        received += k;
                    }
                    Err(err) => panic!("server recv: {err}"),
                }
            }
        }
        if (sent, received) == before && c2s.is_empty() && s2c.is_empty() {
            // Nothing moved: jump to the earliest timer (delayed ACK, RTO, ...).
            let delay = match (next_c, next_s) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let step = delay
                .filter(|d| d.total_micros() > 0)
                .map_or(1000, |d| d.total_micros());
            now += smoltcp::time::Duration::from_micros(step);
            clock_jumps += 1;
        } else {
            now += smoltcp::time::Duration::from_micros(1);
        }
    }
    BulkOutcome {
        received,
        intact,
        iterations,
        clock_jumps,
        virtual_micros: now.total_micros() as u64,
    }
}
