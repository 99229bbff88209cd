//! Benchmark 4 (footprint): the TCP echo server of `../ours` on smoltcp 0.14, with the pool
//! sizes of `profiles/minimal.toml` (feature `minimal`) or `profiles/stm32f407.toml`
//! (feature `reference`: also UDP echo, the DHCPv4 client and one DNS lookup), over a device
//! that touches no hardware (`../common/opaque.rs`). All memory is static (no allocator).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress};
use static_cell::ConstStaticCell;

#[path = "../../common/opaque.rs"]
mod opaque;
use opaque::{ECHO_CHUNK, ECHO_PORT, MAC};

/// The profile's sizes.
#[cfg(all(feature = "minimal", not(feature = "reference")))]
mod sizes {
    /// `[tcp] sockets`.
    pub const TCP_SOCKETS: usize = 1;
    /// `rx_window` and `send_buffer`: 2 × MSS.
    pub const TCP_BUFFER: usize = 2 * 1460;
    /// Every socket of the set.
    pub const SOCKETS: usize = TCP_SOCKETS;
}

#[cfg(feature = "reference")]
mod sizes {
    /// `[tcp] sockets`.
    pub const TCP_SOCKETS: usize = 8;
    /// `rx_window` and `send_buffer`: 4 × MSS.
    pub const TCP_BUFFER: usize = 4 * 1460;
    /// `[udp] sockets`.
    pub const UDP_SOCKETS: usize = 4;
    /// `[udp] rx_buffer` and `tx_buffer`.
    pub const UDP_BUFFER: usize = 2048;
    /// Datagrams queued per UDP buffer (smoltcp's metadata ring).
    pub const UDP_PACKETS: usize = 4;
    /// TCP, UDP, the DHCP client and the DNS resolver.
    pub const SOCKETS: usize = TCP_SOCKETS + UDP_SOCKETS + 2;
}

use sizes::*;

static SOCKET_STORAGE: ConstStaticCell<[SocketStorage<'static>; SOCKETS]> =
    ConstStaticCell::new([SocketStorage::EMPTY; SOCKETS]);
static TCP_RX: ConstStaticCell<[[u8; TCP_BUFFER]; TCP_SOCKETS]> =
    ConstStaticCell::new([[0; TCP_BUFFER]; TCP_SOCKETS]);
static TCP_TX: ConstStaticCell<[[u8; TCP_BUFFER]; TCP_SOCKETS]> =
    ConstStaticCell::new([[0; TCP_BUFFER]; TCP_SOCKETS]);

#[cfg(feature = "reference")]
mod reference {
    use smoltcp::socket::{dns, udp};
    use static_cell::ConstStaticCell;

    use super::sizes::*;

    pub static UDP_RX: ConstStaticCell<[[u8; UDP_BUFFER]; UDP_SOCKETS]> =
        ConstStaticCell::new([[0; UDP_BUFFER]; UDP_SOCKETS]);
    pub static UDP_TX: ConstStaticCell<[[u8; UDP_BUFFER]; UDP_SOCKETS]> =
        ConstStaticCell::new([[0; UDP_BUFFER]; UDP_SOCKETS]);
    pub static UDP_RX_META: ConstStaticCell<[[udp::PacketMetadata; UDP_PACKETS]; UDP_SOCKETS]> =
        ConstStaticCell::new([[udp::PacketMetadata::EMPTY; UDP_PACKETS]; UDP_SOCKETS]);
    pub static UDP_TX_META: ConstStaticCell<[[udp::PacketMetadata; UDP_PACKETS]; UDP_SOCKETS]> =
        ConstStaticCell::new([[udp::PacketMetadata::EMPTY; UDP_PACKETS]; UDP_SOCKETS]);
    /// One lookup in flight, as our profile's resolver.
    pub static DNS_QUERIES: ConstStaticCell<[Option<dns::DnsQuery>; 1]> =
        ConstStaticCell::new([None]);
}

/// The device: frames come from and go to `opaque`.
struct Nic;
struct Rx;
struct Tx;

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let mut frame = [0u8; 1514];
        let len = opaque::receive_into(&mut frame);
        f(&frame[..len])
    }
}

impl phy::TxToken for Tx {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = [0u8; 1514];
        let frame = &mut frame[..len.min(1514)];
        let r = f(frame);
        opaque::transmit(frame);
        r
    }
}

impl Device for Nic {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;
    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx)> {
        opaque::frame_waiting().then_some((Rx, Tx))
    }
    fn transmit(&mut self, _: Instant) -> Option<Tx> {
        Some(Tx)
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = 1514;
        caps.medium = Medium::Ethernet;
        caps
    }
}

/// One echo connection's bytes received but not sent yet.
#[derive(Clone, Copy)]
struct Pending {
    bytes: [u8; ECHO_CHUNK],
    len: usize,
}

#[entry]
fn main() -> ! {
    let mut nic = Nic;
    let now = || Instant::from_millis(opaque::now_ms() as i64);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC)));
    let seed = opaque::seed();
    config.random_seed = u64::from_le_bytes([
        seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7],
    ]);
    let mut iface = Interface::new(config, &mut nic, now());
    #[cfg(not(feature = "reference"))]
    iface.update_ip_addrs(|a| {
        // The minimal profile's static address.
        let cidr = smoltcp::wire::IpCidr::new(smoltcp::wire::IpAddress::v4(192, 0, 2, 10), 24);
        let _ = a.push(cidr);
    });
    let mut sockets = SocketSet::new(&mut SOCKET_STORAGE.take()[..]);
    let (rx, tx) = (TCP_RX.take(), TCP_TX.take());
    let mut tcp_handles: [Option<SocketHandle>; TCP_SOCKETS] = [None; TCP_SOCKETS];
    for ((rx, tx), handle) in rx.iter_mut().zip(tx.iter_mut()).zip(tcp_handles.iter_mut()) {
        let socket = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut rx[..]),
            tcp::SocketBuffer::new(&mut tx[..]),
        );
        *handle = Some(sockets.add(socket));
    }
    let mut pending = [Pending {
        bytes: [0; ECHO_CHUNK],
        len: 0,
    }; TCP_SOCKETS];
    #[cfg(feature = "reference")]
    let (udp_handle, dhcp_handle, dns_handle) = {
        use smoltcp::socket::{dhcpv4, dns, udp};
        let (rx, tx) = (reference::UDP_RX.take(), reference::UDP_TX.take());
        let (rxm, txm) = (reference::UDP_RX_META.take(), reference::UDP_TX_META.take());
        let mut first = None;
        for (((rx, tx), rxm), txm) in rx
            .iter_mut()
            .zip(tx.iter_mut())
            .zip(rxm.iter_mut())
            .zip(txm.iter_mut())
        {
            let socket = udp::Socket::new(
                udp::PacketBuffer::new(&mut rxm[..], &mut rx[..]),
                udp::PacketBuffer::new(&mut txm[..], &mut tx[..]),
            );
            let h = sockets.add(socket);
            first.get_or_insert(h);
        }
        let udp_handle = first.expect("four UDP sockets");
        let _ = sockets.get_mut::<udp::Socket>(udp_handle).bind(ECHO_PORT);
        let dhcp_handle = sockets.add(dhcpv4::Socket::new());
        let dns_handle = sockets.add(dns::Socket::new(
            &[],
            &mut reference::DNS_QUERIES.take()[..],
        ));
        (udp_handle, dhcp_handle, dns_handle)
    };
    #[cfg(feature = "reference")]
    let mut query = None;
    loop {
        iface.poll(now(), &mut nic, &mut sockets);
        for (handle, p) in tcp_handles.iter().flatten().zip(pending.iter_mut()) {
            let s = sockets.get_mut::<tcp::Socket>(*handle);
            if !s.is_open() {
                let _ = s.listen(ECHO_PORT);
                p.len = 0;
                continue;
            }
            if p.len > 0 {
                match s.send_slice(&p.bytes[..p.len]) {
                    Ok(n) => {
                        p.bytes.copy_within(n..p.len, 0);
                        p.len -= n;
                    }
                    Err(_) => s.close(),
                }
                continue;
            }
            match s.recv_slice(&mut p.bytes) {
                Ok(n) => p.len = n,
                Err(tcp::RecvError::Finished) => s.close(),
                Err(_) => s.abort(),
            }
        }
        #[cfg(feature = "reference")]
        {
            use smoltcp::socket::{dhcpv4, dns, udp};
            use smoltcp::wire::{DnsQueryType, IpAddress, IpCidr};
            let s = sockets.get_mut::<udp::Socket>(udp_handle);
            let mut buf = [0u8; ECHO_CHUNK];
            if let Ok((n, meta)) = s.recv_slice(&mut buf) {
                let _ = s.send_slice(&buf[..n], meta.endpoint);
            }
            // What the application keeps of a DHCP event (the event borrows the socket set).
            let event = match sockets.get_mut::<dhcpv4::Socket>(dhcp_handle).poll() {
                Some(dhcpv4::Event::Configured(lease)) => {
                    let mut servers = [IpAddress::Ipv4(lease.address.address()); 2];
                    for (slot, server) in servers.iter_mut().zip(lease.dns_servers.iter()) {
                        *slot = IpAddress::Ipv4(*server);
                    }
                    let count = lease.dns_servers.len().min(2);
                    Some(Some((lease.address, lease.router, servers, count)))
                }
                Some(dhcpv4::Event::Deconfigured) => Some(None),
                None => None,
            };
            match event {
                Some(Some((address, router, servers, count))) => {
                    iface.update_ip_addrs(|a| {
                        a.clear();
                        let _ = a.push(IpCidr::Ipv4(address));
                    });
                    if let Some(router) = router {
                        let _ = iface.routes_mut().add_default_ipv4_route(router);
                    } else {
                        iface.routes_mut().remove_default_ipv4_route();
                    }
                    let dns = sockets.get_mut::<dns::Socket>(dns_handle);
                    dns.update_servers(&servers[..count]);
                    if query.is_none() {
                        query = dns
                            .start_query(iface.context(), "device.example", DnsQueryType::A)
                            .ok();
                    }
                }
                Some(None) => {
                    iface.update_ip_addrs(|a| a.clear());
                    iface.routes_mut().remove_default_ipv4_route();
                }
                None => {}
            }
            if let Some(q) = query
                && let Ok(addrs) = sockets
                    .get_mut::<dns::Socket>(dns_handle)
                    .get_query_result(q)
            {
                if let Some(IpAddress::Ipv4(a)) = addrs.first() {
                    opaque::record(u32::from(*a));
                }
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
