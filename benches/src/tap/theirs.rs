//! The TAP server on smoltcp, over its own `phy::TunTapInterface`.

use std::io::Write;
use std::os::fd::AsRawFd;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Medium, TunTapInterface, wait};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

use super::{READY, STACK_IP, STACK_MAC, ServerParams, Service, chargen_pattern, sleep_for};
use crate::{CHUNK, MSS};

/// Runs `params.service` on smoltcp until `params.max_time` has passed (the harness kills the
/// process sooner). Prints [`READY`] once listening.
///
/// `params.sockets` sockets, each with receive and send buffers of
/// `params.window_segments × MSS` bytes, all listen on the service port (a SYN goes to the
/// first listening one). A socket is re-armed (`listen`) when it is closed. For the
/// accept-and-close service the server closes first, so sockets end in TIME-WAIT, which
/// smoltcp holds 10 s: when no socket is left listening, the oldest TIME-WAIT socket is
/// aborted and re-armed, which is what our stack does with its oldest TIME-WAIT slot when all
/// are taken.
pub fn serve(params: &ServerParams) -> Result<(), String> {
    let mut device = TunTapInterface::new(&params.tap, Medium::Ethernet)
        .map_err(|e| format!("opening TAP {}: {e}", params.tap))?;
    let fd = device.as_raw_fd();
    let clock = std::time::Instant::now();
    let now = || Instant::from_micros(clock.elapsed().as_micros() as i64);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(STACK_MAC)));
    let seed = host_tap::random_seed().map_err(|e| format!("/dev/urandom: {e}"))?;
    config.random_seed = u64::from_le_bytes(seed[..8].try_into().expect("8 bytes"));
    let mut iface = Interface::new(config, &mut device, now());
    iface.update_ip_addrs(|a| {
        let [a0, a1, a2, a3] = STACK_IP;
        a.push(IpCidr::new(
            IpAddress::Ipv4(Ipv4Address::new(a0, a1, a2, a3)),
            24,
        ))
        .expect("address slot");
    });
    let window = params.window_segments * MSS;
    let port = params.service.port();
    let mut set = SocketSet::new(vec![]);
    let handles: Vec<SocketHandle> = (0..params.sockets)
        .map(|_| {
            let mut s = tcp::Socket::new(
                tcp::SocketBuffer::new(vec![0; window]),
                tcp::SocketBuffer::new(vec![0; window]),
            );
            if params.service == Service::Echo {
                s.set_nagle_enabled(false);
            }
            s.listen(port).expect("listen");
            set.add(s)
        })
        .collect();
    // Per socket: echo bytes not yet taken by the send buffer, and when it was closed (to
    // pick the oldest TIME-WAIT socket).
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); handles.len()];
    let mut closed_serial: Vec<u64> = vec![0; handles.len()];
    let mut serial = 0u64;
    let pattern = chargen_pattern();
    let mut buf = vec![0u8; CHUNK];
    println!("{READY}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    while clock.elapsed() < params.max_time {
        let t = now();
        let mut moved = iface.poll(t, &mut device, &mut set) != smoltcp::iface::PollResult::None;
        for (i, &h) in handles.iter().enumerate() {
            let s = set.get_mut::<tcp::Socket>(h);
            match s.state() {
                State::Closed => {
                    s.listen(port).expect("listen");
                    moved = true;
                    continue;
                }
                State::Listen | State::SynReceived | State::SynSent => continue,
                _ => {}
            }
            let mut close = false;
            match params.service {
                Service::AcceptClose => {
                    if matches!(s.state(), State::Established | State::CloseWait) {
                        close = true;
                    }
                }
                Service::Discard => {
                    while s.can_recv() {
                        match s.recv(|b| (b.len(), b.len())) {
                            Ok(n) if n > 0 => moved = true,
                            _ => break,
                        }
                    }
                    close = s.state() == State::CloseWait && !s.may_recv();
                }
                Service::Chargen => {
                    while s.can_recv() {
                        match s.recv(|b| (b.len(), b.len())) {
                            Ok(n) if n > 0 => {}
                            _ => break,
                        }
                    }
                    while s.can_send() {
                        match s.send_slice(&pattern) {
                            Ok(n) if n > 0 => moved = true,
                            _ => break,
                        }
                    }
                    close = s.state() == State::CloseWait;
                }
                Service::Echo => {
                    let p = &mut pending[i];
                    loop {
                        if !p.is_empty() {
                            match s.send_slice(p) {
                                Ok(n) => {
                                    p.drain(..n);
                                    moved |= n > 0;
                                }
                                Err(_) => break,
                            }
                            if !p.is_empty() {
                                break;
                            }
                        }
                        match s.recv_slice(&mut buf) {
                            Ok(n) if n > 0 => {
                                p.extend_from_slice(&buf[..n]);
                                moved = true;
                            }
                            _ => break,
                        }
                    }
                    close = s.state() == State::CloseWait && !s.may_recv() && p.is_empty();
                }
            }
            if close {
                s.close();
                serial += 1;
                closed_serial[i] = serial;
                pending[i].clear();
                moved = true;
            }
        }
        // Every socket taken: re-arm the oldest one in TIME-WAIT (see above).
        let listening = handles
            .iter()
            .any(|&h| set.get::<tcp::Socket>(h).state() == State::Listen);
        if !listening {
            let oldest = (0..handles.len())
                .filter(|&i| set.get::<tcp::Socket>(handles[i]).state() == State::TimeWait)
                .min_by_key(|&i| closed_serial[i]);
            if let Some(i) = oldest {
                let s = set.get_mut::<tcp::Socket>(handles[i]);
                s.abort();
                s.listen(port).expect("listen");
                moved = true;
            }
        }
        if moved {
            continue;
        }
        let t = now();
        let delay = iface
            .poll_delay(t, &set)
            .map(|d| t.total_micros() as u64 + d.total_micros());
        let sleep = sleep_for(delay, t.total_micros() as u64);
        wait(fd, Some(Duration::from_micros(sleep.as_micros() as u64)))
            .map_err(|e| format!("select(2): {e}"))?;
    }
    Ok(())
}
