//! UDP on the interface: received datagrams copied (and checksummed) once into packet-pool
//! buffers queued on their socket; sent datagrams built straight into pool buffers (as IPv4
//! fragments when needed) and handed to the transmit queue, like every frame the stack builds.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::Stack;
use super::ipv4::{DstKind, IpInfo, RouteError};
use crate::stats::bump;
use crate::time::Instant;
use crate::udp::{UdpError, UdpHandle};
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::wire::ipv4::HEADER_LEN as IPV4_HEADER_LEN;
use crate::wire::udp::HEADER_LEN as UDP_HEADER_LEN;
use crate::wire::{Icmpv4DstUnreachable, IpProtocol, Ipv4Repr, UdpPacket, checksum};

/// The largest UDP payload one IPv4 datagram carries (65535 − 20 − 8).
pub const MAX_UDP_PAYLOAD: usize = 65507;

/// Bytes at the head of a received datagram's first packet buffer: payload length, source
/// port and source address.
const RX_HEAD: usize = 8;

/// Payload bytes a receive buffer of `size` bytes holds: (first buffer, each further one),
/// both even so the pieces' checksums add up.
fn rx_pieces(size: usize) -> (usize, usize) {
    (size.saturating_sub(RX_HEAD) & !1, size & !1)
}

/// Packet buffers of `size` bytes a received datagram of `len` payload bytes takes; `None`
/// when buffers that small hold no datagram.
fn rx_buffers_for(len: usize, size: usize) -> Option<usize> {
    if size < RX_HEAD + 2 {
        return None;
    }
    let (first, rest) = rx_pieces(size);
    Some(if len <= first {
        1
    } else {
        1 + (len - first).div_ceil(rest)
    })
}

/// Copy bytes `off..off + dst.len()` of the datagram `header` ++ `payload` into `dst`.
fn copy_datagram(dst: &mut [u8], header: &[u8; UDP_HEADER_LEN], payload: &[u8], off: usize) {
    let head = header.get(off..).unwrap_or(&[]);
    let n = head.len().min(dst.len());
    let (d_head, d_rest) = dst.split_at_mut(n);
    d_head.copy_from_slice(&head[..n]);
    let body = payload
        .get(off.saturating_sub(UDP_HEADER_LEN)..)
        .unwrap_or(&[]);
    let n = body.len().min(d_rest.len());
    d_rest[..n].copy_from_slice(&body[..n]);
}

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
        let size = self.pool.buffer_size();
        let for_data = self.pool.available_for_data();
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
        let need = rx_buffers_for(payload.len(), size).filter(|&n| slot.rx_room(n, payload.len()));
        let Some(need) = need.filter(|&n| n <= for_data) else {
            if !packet.verify_checksum(info.src, info.dst) {
                return bump(&mut self.stats.udp_bad_checksum);
            }
            // Refused by the socket's own limits, or to keep the pool's frame reserve.
            return bump(if need.is_some() {
                &mut self.stats.udp_rx_no_buffer
            } else {
                &mut self.stats.udp_rx_full
            });
        };
        // Copy (and checksum) the payload into `need` buffers staged after the queued ones.
        let (first, rest) = rx_pieces(size);
        let at = usize::from(slot.rx_bufs);
        // At most `RX_QUEUE` (8) folded 16-bit sums: a `u32` cannot overflow.
        let (mut sum, mut off) = (0u32, 0usize);
        for k in 0..need {
            let Some(mut buf) = self.pool.alloc() else {
                break;
            };
            let area = self.pool.buffer_mut(&buf);
            let (skip, room) = if k == 0 { (RX_HEAD, first) } else { (0, rest) };
            let piece = payload.get(off..).unwrap_or(&[]);
            let piece = piece.get(..room).unwrap_or(piece);
            if let Some((head, body)) = area.split_at_mut_checked(skip) {
                sum = sum.wrapping_add(u32::from(checksum::copy_and_checksum(body, piece)));
                if let Some(head) = head.first_chunk_mut::<RX_HEAD>() {
                    let (l, p) = (
                        (payload.len() as u16).to_be_bytes(),
                        packet.src_port().to_be_bytes(),
                    );
                    let a = info.src.octets();
                    *head = [l[0], l[1], p[0], p[1], a[0], a[1], a[2], a[3]];
                }
            }
            off += piece.len();
            self.pool.set_len(&mut buf, skip + piece.len());
            if let Some(entry) = slot.rx.get_mut(at + k) {
                *entry = Some(buf);
            } else {
                self.pool.free(buf);
            }
        }
        let sum = checksum::fold_sums(u64::from(sum));
        if off != payload.len() || !packet.verify_checksum_with_payload_sum(info.src, info.dst, sum)
        {
            slot.free_rx_from(at, &mut self.pool);
            return bump(&mut self.stats.udp_bad_checksum);
        }
        slot.commit_rx(need, payload.len());
        bump(&mut self.stats.udp_rx);
    }

    /// Take the oldest datagram of socket `h` into `buf`: its length, its sender, and whether
    /// it was cut to `buf`.
    pub(crate) fn udp_dequeue(
        &mut self,
        h: UdpHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddrV4, bool), UdpError> {
        let slot = self.sockets.get(h)?;
        if slot.rx_datagrams == 0 {
            return Err(UdpError::WouldBlock);
        }
        let pool = &mut self.pool;
        let head = slot.rx[0]
            .as_ref()
            .and_then(|b| pool.bytes(b).first_chunk::<RX_HEAD>().copied())
            .unwrap_or([0; RX_HEAD]);
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        let from = SocketAddrV4::new(
            Ipv4Addr::new(head[4], head[5], head[6], head[7]),
            u16::from_be_bytes([head[2], head[3]]),
        );
        let (mut left, mut copied, mut bufs) = (len, 0usize, 0usize);
        for (k, entry) in slot.rx.iter().enumerate() {
            let Some(b) = entry else { break };
            let skip = if k == 0 { RX_HEAD } else { 0 };
            let piece = pool.bytes(b).get(skip..).unwrap_or(&[]);
            let piece = piece.get(..left).unwrap_or(piece);
            let room = buf.get_mut(copied..).unwrap_or(&mut []);
            let n = room.len().min(piece.len());
            room[..n].copy_from_slice(&piece[..n]);
            copied += n;
            left -= piece.len();
            bufs = k + 1;
            if left == 0 {
                break;
            }
        }
        slot.pop_rx(bufs, len, pool);
        self.sync_pool_gauges();
        Ok((copied, from, copied < len))
    }

    /// Bring the packet pool's gauges in [`crate::Stats`] up to date between polls (the UDP
    /// API takes and frees buffers).
    fn sync_pool_gauges(&mut self) {
        let p = self.pool.stats();
        self.stats.pool_packets_in_use = p.in_use;
        self.stats.pool_packets_high_water = p.high_water;
    }

    /// Build the datagram `payload` for `to` straight into packet-pool buffers (fragments when
    /// it is larger than the MTU or a buffer allows) and put them on the transmit queue, which
    /// resolves the next hop with ARP and sends them from the next `poll` on. All or nothing: every buffer and queue slot is checked before the first is taken.
    pub(crate) fn udp_enqueue(
        &mut self,
        h: UdpHandle,
        payload: &[u8],
        to: SocketAddrV4,
    ) -> Result<(), UdpError> {
        let src = self.config.ipv4.ok_or(UdpError::Unaddressed)?.address;
        if to.port() == 0 {
            return Err(UdpError::NoRoute);
        }
        let hop = match self.route(*to.ip()) {
            Ok(hop) => hop,
            Err(RouteError::Unaddressed) => return Err(UdpError::Unaddressed),
            Err(RouteError::NoRoute) => return Err(UdpError::NoRoute),
        };
        let slot = self.sockets.get(h)?;
        let src_port = slot.port;
        if payload.len() > MAX_UDP_PAYLOAD || payload.len() > slot.tx_max as usize {
            return Err(UdpError::TooLarge);
        }
        let udp_len = UDP_HEADER_LEN + payload.len();
        let room = self
            .pool
            .buffer_size()
            .saturating_sub(ETH_LEN + IPV4_HEADER_LEN);
        let chunk = if IPV4_HEADER_LEN + udp_len <= self.mtu && udp_len <= room {
            udp_len
        } else {
            // Fragment data is a multiple of 8 bytes (RFC 791).
            self.mtu.saturating_sub(IPV4_HEADER_LEN).min(room) / 8 * 8
        };
        let Some(frames) = udp_len.checked_div(chunk).map(|_| udp_len.div_ceil(chunk)) else {
            return Err(UdpError::TooLarge);
        };
        // Socket data leaves the frame reserve free in the pool and in the transmit queue (for
        // the ARP request these frames may need, among others).
        let keep = self.pool.frame_reserve();
        let (pool_cap, queue_cap) = (self.pool.capacity(), self.queue.capacity());
        if frames + keep > pool_cap || frames + keep > queue_cap {
            return Err(UdpError::TooLarge);
        }
        if frames > self.pool.available_for_data()
            || frames + keep > queue_cap - self.queue.in_use()
        {
            return Err(UdpError::BufferFull);
        }
        let (s, d, l) = (
            src_port.to_be_bytes(),
            to.port().to_be_bytes(),
            (udp_len as u16).to_be_bytes(),
        );
        let mut header = [s[0], s[1], d[0], d[1], l[0], l[1], 0, 0];
        UdpPacket::new_unchecked(&mut header[..]).fill_checksum_with_payload_sum(
            src,
            *to.ip(),
            checksum::data(payload),
        );
        let ident = self.next_ident();
        for k in 0..frames {
            let off = k * chunk;
            let take = chunk.min(udp_len - off);
            let repr = Ipv4Repr {
                src_addr: src,
                dst_addr: *to.ip(),
                next_header: IpProtocol::Udp,
                payload_len: take,
                hop_limit: self.config.ttl,
            };
            // Room was checked above: this cannot fail.
            let frag = Some((ident, off as u16, off + take < udp_len));
            let Some(packet) = self.build_ip_packet_dyn(&repr, frag, &mut |data| {
                copy_datagram(data, &header, payload, off);
            }) else {
                break;
            };
            if frames > 1 {
                bump(&mut self.stats.frag_tx);
            }
            // Starts ARP resolution (the entry counts as used); failures are counted.
            self.enqueue(packet, hop, self.last_poll);
        }
        bump(&mut self.stats.udp_tx);
        self.sync_pool_gauges();
        Ok(())
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
            super::NextHop::Mac(crate::wire::EthernetAddress::BROADCAST)
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
}
