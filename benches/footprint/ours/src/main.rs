//! Benchmark 4 (footprint): a TCP echo server on stack-runtime, with the pools of
//! `profiles/minimal.toml` (feature `minimal`) or `profiles/stm32f407.toml` (feature
//! `reference`: also UDP echo, the DHCPv4 client and one DNS lookup, so every protocol of the
//! feature set is used), over a driver that touches no hardware (`../common/opaque.rs`).

#![no_std]
#![no_main]

use core::task::Context;

use cortex_m_rt::entry;
use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use stack_runtime::wire::EthernetAddress;
use stack_runtime::{Instant, TcpError, TcpHandle};

#[path = "../../common/opaque.rs"]
mod opaque;
use opaque::{ECHO_CHUNK, ECHO_PORT, MAC};

#[cfg(all(feature = "minimal", not(feature = "reference")))]
#[stackgen_macros::stack_config(profile = "../../../profiles/minimal.toml")]
mod net {}

#[cfg(feature = "reference")]
#[stackgen_macros::stack_config(profile = "../../../profiles/stm32f407.toml")]
mod net {}

/// The driver: frames come from and go to `opaque`.
struct Nic;
struct Rx;
struct Tx;

impl embassy_net_driver::RxToken for Rx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        let mut frame = [0u8; 1514];
        let len = opaque::receive_into(&mut frame);
        f(&mut frame[..len])
    }
}

impl embassy_net_driver::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = [0u8; 1514];
        let frame = &mut frame[..len.min(1514)];
        let r = f(frame);
        opaque::transmit(frame);
        r
    }
}

impl Driver for Nic {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;
    fn receive(&mut self, _: &mut Context) -> Option<(Rx, Tx)> {
        opaque::frame_waiting().then_some((Rx, Tx))
    }
    fn transmit(&mut self, _: &mut Context) -> Option<Tx> {
        Some(Tx)
    }
    fn link_state(&mut self, _: &mut Context) -> LinkState {
        LinkState::Up
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = 1514;
        caps
    }
    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(MAC)
    }
}

/// One echo connection and the bytes it received but could not send yet.
#[derive(Clone, Copy)]
struct Conn {
    socket: TcpHandle,
    pending: [u8; ECHO_CHUNK],
    len: usize,
}

#[entry]
fn main() -> ! {
    let Some(mut net) = net::init(net::config(), EthernetAddress(MAC), opaque::seed()) else {
        #[allow(clippy::empty_loop)]
        loop {}
    };
    let listener = net.tcp_listen(ECHO_PORT).ok();
    let mut conns: [Option<Conn>; net::TCP_SOCKETS] = [None; net::TCP_SOCKETS];
    #[cfg(feature = "reference")]
    let udp = net.udp_bind(ECHO_PORT).ok();
    #[cfg(feature = "reference")]
    let mut query = None;
    let mut nic = Nic;
    loop {
        net.poll(&mut nic, Instant::from_millis(opaque::now_ms()));
        if let Some(listener) = listener
            && let Some(free) = conns.iter_mut().find(|c| c.is_none())
            && let Some(socket) = net.tcp_accept(listener)
        {
            *free = Some(Conn {
                socket,
                pending: [0; ECHO_CHUNK],
                len: 0,
            });
        }
        for slot in conns.iter_mut() {
            let Some(c) = slot else { continue };
            if c.len > 0 {
                match net.tcp_send(c.socket, &c.pending[..c.len]) {
                    Ok(n) => {
                        c.pending.copy_within(n..c.len, 0);
                        c.len -= n;
                    }
                    Err(TcpError::WouldBlock) => {}
                    Err(_) => {
                        net.tcp_close(c.socket);
                        *slot = None;
                    }
                }
                continue;
            }
            match net.tcp_recv(c.socket, &mut c.pending) {
                Ok(0) => {
                    net.tcp_close(c.socket);
                    *slot = None;
                }
                Ok(n) => c.len = n,
                Err(TcpError::WouldBlock) => {}
                Err(_) => {
                    net.tcp_close(c.socket);
                    *slot = None;
                }
            }
        }
        #[cfg(feature = "reference")]
        {
            if let Some(udp) = udp {
                let mut buf = [0u8; ECHO_CHUNK];
                if let Ok((n, from)) = net.udp_recv_from(udp, &mut buf) {
                    let _ = net.udp_send_to(udp, &buf[..n], from);
                }
            }
            if net.dhcp_take_event().is_some() && query.is_none() {
                query = net.dns_query("device.example").ok();
            }
            if let Some(q) = query
                && let Ok(addr) = net.dns_result(q)
            {
                opaque::record(u32::from(addr));
                query = None;
            }
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[allow(clippy::empty_loop)]
    loop {}
}
