//! UDP on the interface: datagrams into socket receive rings (checksummed while copied) and out
//! of socket transmit rings (checksummed when queued, sent straight from the ring).

use core::net::{Ipv4Addr, SocketAddrV4};
use core::task::Context;

use embassy_net_driver::Driver;

use super::ipv4::{DstKind, FrameAddrs, IpInfo, RouteError, emit_ip};
use super::{NextHop, Stack};
use crate::ring::RecordMeta;
use crate::stats::bump;
use crate::time::Instant;
use crate::udp::{UdpError, UdpHandle};
use crate::wire::udp::HEADER_LEN as UDP_HEADER_LEN;
use crate::wire::{Icmpv4DstUnreachable, IpProtocol, Ipv4Repr, UdpPacket, checksum};

/// The largest UDP payload one IPv4 datagram carries (65535 − 20 − 8).
pub const MAX_UDP_PAYLOAD: usize = 65507;

impl Stack<'_> {
    #[inline(never)]
    pub(crate) fn udp_input(&mut self, info: IpInfo, data: &[u8], quote: &[u8], now: Instant) {
        let Ok(packet) = UdpPacket::new_checked(data) else {
            return bump(&mut self.stats.udp_malformed);
        };
        if packet.dst_port() == 0 {
            return bump(&mut self.stats.udp_malformed);
        }
        // The DHCP client and the DNS resolver own their ports without socket slots.
        #[cfg(feature = "dhcpv4")]
        if self.dhcp_owns_port(packet.dst_port()) {
            return self.dhcp_input((info.src, info.dst), &packet, now);
        }
        #[cfg(feature = "dns")]
        if packet.src_port() == crate::wire::dns::SERVER_PORT
            && self.dns_owns_port(packet.dst_port())
        {
            return self.dns_input((info.src, info.dst), &packet, now);
        }
        let payload = packet.payload();
        let meta = RecordMeta {
            port: packet.src_port(),
            addr: info.src,
            local: info.dst,
        };
        let Some(slot) = self.sockets.find_port(packet.dst_port()) else {
            if !packet.verify_checksum(info.src, info.dst) {
                return bump(&mut self.stats.udp_bad_checksum);
            }
            bump(&mut self.stats.udp_no_socket);
            if info.kind == DstKind::Unicast {
                self.send_dst_unreachable(info, Icmpv4DstUnreachable::PortUnreachable, quote, now);
            }
            return;
        };
        let Some(area) = slot.rx.reserve(payload.len()) else {
            if !packet.verify_checksum(info.src, info.dst) {
                return bump(&mut self.stats.udp_bad_checksum);
            }
            return bump(&mut self.stats.udp_rx_full);
        };
        let sum = checksum::copy_and_checksum(area, payload);
        if !packet.verify_checksum_with_payload_sum(info.src, info.dst, sum) {
            return bump(&mut self.stats.udp_bad_checksum);
        }
        slot.rx.commit(meta, payload.len());
        bump(&mut self.stats.udp_rx);
    }

    /// Queue a datagram in the socket's transmit ring, UDP header and checksum included.
    pub(crate) fn udp_enqueue(
        &mut self,
        h: UdpHandle,
        payload: &[u8],
        to: SocketAddrV4,
    ) -> Result<(), UdpError> {
        let src = self.config.ipv4.ok_or(UdpError::Unaddressed)?.address;
        if payload.len() > MAX_UDP_PAYLOAD {
            return Err(UdpError::TooLarge);
        }
        if to.port() == 0 {
            return Err(UdpError::NoRoute);
        }
        match self.route(*to.ip()) {
            Ok(_) => {}
            Err(RouteError::Unaddressed) => return Err(UdpError::Unaddressed),
            Err(RouteError::NoRoute) => return Err(UdpError::NoRoute),
        }
        let slot = self.sockets.get(h)?;
        let len = UDP_HEADER_LEN + payload.len();
        if len > slot.tx.max_payload() {
            return Err(UdpError::TooLarge);
        }
        let src_port = slot.port;
        let area = slot.tx.reserve(len).ok_or(UdpError::BufferFull)?;
        // `area` is `len` bytes: the header, then the payload.
        let Some((header, data)) = area.split_first_chunk_mut::<UDP_HEADER_LEN>() else {
            return Err(UdpError::TooLarge);
        };
        let (s, d, l) = (
            src_port.to_be_bytes(),
            to.port().to_be_bytes(),
            (len as u16).to_be_bytes(),
        );
        *header = [s[0], s[1], d[0], d[1], l[0], l[1], 0, 0];
        let sum = checksum::copy_and_checksum(data, payload);
        UdpPacket::new_unchecked(&mut *area).fill_checksum_with_payload_sum(src, *to.ip(), sum);
        let meta = RecordMeta {
            port: to.port(),
            addr: *to.ip(),
            local: src,
        };
        slot.tx.commit(meta, len);
        Ok(())
    }

    /// Send queued datagrams of every socket. A socket whose head datagram waits for ARP
    /// waits as a whole (datagrams keep their order). False when the driver ran out of
    /// transmit buffers.
    pub(crate) fn transmit_udp<D: Driver>(
        &mut self,
        driver: &mut D,
        cx: &mut Context,
        now: Instant,
    ) -> bool {
        for i in 0..self.sockets.slots.len() {
            while let Some(meta) = self.sockets.slots[i].tx.peek().map(|(m, _)| m) {
                let (dst, hop) = match self.route(meta.addr) {
                    Ok(hop) => (meta.addr, hop),
                    Err(_) => {
                        self.sockets.slots[i].tx.pop();
                        self.sockets.slots[i].tx_sent = 0;
                        bump(&mut self.stats.tx_no_route);
                        continue;
                    }
                };
                let mac = match self.resolve_now(hop, now) {
                    Ok(Some(mac)) => mac,
                    Ok(None) => break,
                    Err(()) => {
                        self.sockets.slots[i].tx.pop();
                        self.sockets.slots[i].tx_sent = 0;
                        bump(&mut self.stats.arp_queue_full);
                        continue;
                    }
                };
                let Some(src) = self.config.ipv4.map(|c| c.address) else {
                    return true;
                };
                let fresh = self.sockets.slots[i].tx_sent == 0;
                let ident = if fresh {
                    self.next_ident()
                } else {
                    self.sockets.slots[i].tx_ident
                };
                let (mtu, src_mac, ttl) = (self.mtu, self.mac, self.config.ttl);
                let slot = &mut self.sockets.slots[i];
                slot.tx_ident = ident;
                if fresh && meta.local != src {
                    // The address changed since the datagram was queued: fix the checksum.
                    if let Some((_, record)) = slot.tx.peek_mut() {
                        UdpPacket::new_unchecked(&mut *record).fill_checksum(src, dst);
                    }
                    slot.tx.set_head_meta(RecordMeta { local: src, ..meta });
                }
                let Some((_, record)) = slot.tx.peek() else {
                    break;
                };
                let repr = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Udp,
                    payload_len: record.len(),
                    hop_limit: ttl,
                };
                let done = emit_ip(
                    driver,
                    cx,
                    &mut self.stats,
                    FrameAddrs {
                        src: src_mac,
                        dst: mac,
                    },
                    &repr,
                    record,
                    ident,
                    mtu,
                    &mut slot.tx_sent,
                );
                if !done {
                    return false;
                }
                slot.tx.pop();
                slot.tx_sent = 0;
                bump(&mut self.stats.udp_tx);
            }
        }
        true
    }

    /// Send a UDP datagram the stack builds itself (DHCP, DNS) through the packet pool and the
    /// transmit queue: `fill` writes the `len`-byte payload (a `dyn`, so one copy of this
    /// function serves every caller). Broadcasts go out without ARP,
    /// from any source (0.0.0.0 included). Failures are counted; returns whether it was
    /// queued.
    #[cfg(any(feature = "dhcpv4", feature = "dns"))]
    pub(crate) fn send_built_udp(
        &mut self,
        (src, src_port): (Ipv4Addr, u16),
        (dst, dst_port): (Ipv4Addr, u16),
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
        now: Instant,
    ) -> bool {
        let hop = if dst.is_broadcast() {
            NextHop::Mac(crate::wire::EthernetAddress::BROADCAST)
        } else {
            match self.route(dst) {
                Ok(hop) => hop,
                Err(_) => {
                    bump(&mut self.stats.tx_no_route);
                    return false;
                }
            }
        };
        let udp_len = crate::wire::udp::HEADER_LEN + len;
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Udp,
            payload_len: udp_len,
            hop_limit: self.config.ttl,
        };
        let Some(packet) = self.build_ip_packet(&repr, |buf| {
            // `buf` is the `udp_len` bytes of the datagram.
            let Some((header, payload)) = buf.split_first_chunk_mut::<UDP_HEADER_LEN>() else {
                return;
            };
            let (s, d, l) = (
                src_port.to_be_bytes(),
                dst_port.to_be_bytes(),
                (udp_len as u16).to_be_bytes(),
            );
            *header = [s[0], s[1], d[0], d[1], l[0], l[1], 0, 0];
            fill(payload);
            UdpPacket::new_unchecked(buf).fill_checksum(src, dst);
        }) else {
            return false;
        };
        let queued = self.enqueue(packet, hop, now);
        if queued {
            bump(&mut self.stats.udp_tx);
        }
        queued
    }

    /// Drop the datagrams at the head of every socket that wait for `ip` (ARP failed).
    pub(crate) fn drop_udp_waiting_for(&mut self, ip: Ipv4Addr) {
        for i in 0..self.sockets.slots.len() {
            while let Some((meta, _)) = self.sockets.slots[i].tx.peek() {
                if self.route(meta.addr) != Ok(NextHop::Ip(ip)) {
                    break;
                }
                let slot = &mut self.sockets.slots[i];
                slot.tx.pop();
                slot.tx_sent = 0;
                bump(&mut self.stats.arp_timeout);
            }
        }
    }
}
