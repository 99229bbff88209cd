//! IPv4 on the interface: input validation and local-destination check, reassembly hand-off,
//! protocol dispatch, routing, and output with fragmentation.

use core::net::Ipv4Addr;
use core::task::Context;

use embassy_net_driver::{Driver, TxToken};

use super::ethernet::multicast_mac;
use super::{NextHop, Stack};
use crate::arp_cache::Lookup;
use crate::ipv4_reassembly::{FragError, FragKey, FragOutcome};
use crate::pool::PacketBuf;
use crate::stats::{Stats, bump};
use crate::time::Instant;
use crate::wire::ipv4::HEADER_LEN as IPV4_HEADER_LEN;
use crate::wire::{EtherType, EthernetAddress, IpProtocol, Ipv4Packet, Ipv4Repr};

const ETH_LEN: usize = crate::wire::ethernet::HEADER_LEN;

/// How a received packet was addressed; ICMP errors and echo replies answer unicast only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DstKind {
    Unicast,
    Broadcast,
    Multicast,
}

/// What the upper layers need to know about a received datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IpInfo {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) protocol: IpProtocol,
    pub(crate) kind: DstKind,
}

/// Why a destination cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteError {
    Unaddressed,
    NoRoute,
}

impl Stack<'_> {
    /// Validate a received IPv4 packet (the Ethernet payload, padding included), decide
    /// whether it is for us, and hand it to reassembly or straight to its protocol. Every
    /// rejection increments exactly one drop counter.
    // Out of line: inlined into `poll` (through `process_frame`), it cost about 230 bytes more.
    #[inline(never)]
    pub(crate) fn ipv4_input(&mut self, link_multicast: bool, payload: &[u8], now: Instant) {
        // The fixed header as an array: constant offsets, no bounds checks. The checks and
        // their order are those of `Ipv4Packet::new_checked`, then the version.
        let Some(h) = payload.first_chunk::<IPV4_HEADER_LEN>() else {
            return bump(&mut self.stats.ipv4_truncated);
        };
        let header_len = usize::from(h[0] & 0x0f) * 4;
        let total_len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if header_len < IPV4_HEADER_LEN || total_len < header_len {
            return bump(&mut self.stats.ipv4_malformed);
        }
        // Ethernet padding beyond the total length is ignored.
        let Some(datagram) = payload.get(..total_len) else {
            return bump(&mut self.stats.ipv4_truncated);
        };
        // `header_len <= total_len`: the split always succeeds.
        let (header, data) = datagram.split_at_checked(header_len).unwrap_or_default();
        if h[0] >> 4 != 4 {
            return bump(&mut self.stats.ipv4_malformed);
        }
        if !crate::wire::ipv4::header_checksum_ok(header) {
            return bump(&mut self.stats.ipv4_bad_checksum);
        }
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        let own = self.config.ipv4.map(|c| c.address);
        if src.is_broadcast() || src.is_multicast() || Some(src) == own {
            return bump(&mut self.stats.ipv4_bad_src);
        }
        if h[8] == 0 {
            return bump(&mut self.stats.ipv4_ttl_expired);
        }
        let protocol = IpProtocol::from(h[9]);
        let kind = match self.classify_dst(dst) {
            Some(k) => k,
            // DHCP: a server's unicast reply to the address it offers arrives while the
            // interface has none yet (see `crate::dhcpv4`).
            #[cfg(feature = "dhcpv4")]
            None if self.dhcp_accepts(dst, protocol, data) => DstKind::Unicast,
            None => return bump(&mut self.stats.ipv4_not_for_us),
        };
        // A unicast IP packet that arrived in a link-layer broadcast or multicast frame is
        // treated as a broadcast: RFC 1122 forbids ICMP errors about it.
        let kind = if link_multicast && kind == DstKind::Unicast {
            DstKind::Broadcast
        } else {
            kind
        };
        bump(&mut self.stats.ipv4_rx);
        let info = IpInfo {
            src,
            dst,
            protocol,
            kind,
        };
        let flags = u16::from_be_bytes([h[6], h[7]]);
        let more_frags = flags & 0x2000 != 0;
        // In bytes: the wire field × 8.
        let frag_offset = (flags & 0x1fff) * 8;
        if more_frags || frag_offset != 0 {
            let key = FragKey {
                src,
                dst,
                ident: u16::from_be_bytes([h[4], h[5]]),
                protocol,
            };
            let deadline = now + self.config.reassembly_timeout;
            match self
                .frag
                .add(key, usize::from(frag_offset), more_frags, data, deadline)
            {
                Ok(FragOutcome::Incomplete) => {}
                Ok(FragOutcome::Complete { slot, len }) => {
                    bump(&mut self.stats.frag_reassembled);
                    self.deliver_reassembled(info, slot, len, now);
                }
                Err(e) => bump(match e {
                    FragError::NoSlot => &mut self.stats.frag_no_slot,
                    FragError::Overlap => &mut self.stats.frag_overlap,
                    FragError::TooLarge => &mut self.stats.frag_too_large,
                    FragError::TooFragmented => &mut self.stats.frag_too_fragmented,
                    FragError::Malformed => &mut self.stats.frag_malformed,
                }),
            }
            return;
        }
        let quote_len = datagram.len().min(header_len + 8);
        self.deliver(info, data, &datagram[..quote_len], now);
    }

    /// A complete datagram in reassembly slot `slot`: deliver it, then free the slot unless
    /// the upper layer kept it as an outgoing buffer.
    fn deliver_reassembled(&mut self, info: IpInfo, slot: usize, len: usize, now: Instant) {
        let mut quote = [0u8; IPV4_HEADER_LEN + 8];
        let repr = Ipv4Repr {
            src_addr: info.src,
            dst_addr: info.dst,
            next_header: info.protocol,
            payload_len: len,
            hop_limit: 64,
        };
        let ident = self.frag.key(slot).map_or(0, |k| k.ident);
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut quote[..]), ident);
        // The first 8 bytes of the payload (fewer when it is shorter).
        let buf = self.frag.buffer(slot);
        let head = buf.get(..len.min(8)).unwrap_or(&[]);
        if let Some((_, tail)) = quote.split_first_chunk_mut::<IPV4_HEADER_LEN>() {
            for (q, b) in tail.iter_mut().zip(head) {
                *q = *b;
            }
        }
        let quote = quote.get(..IPV4_HEADER_LEN + head.len()).unwrap_or(&[]);
        // The buffer is borrowed from the reassembler while the upper layer runs; the slot is
        // only handed over (for an in-place reply) through `Origin::Reassembly`.
        match info.protocol {
            #[cfg(feature = "icmp")]
            IpProtocol::Icmp => self.icmp_input_reassembled(info, slot, len, now),
            // Everything else as an unfragmented datagram (one copy of the dispatch).
            _ => self.with_reassembled(slot, len, |stack, data| {
                stack.deliver(info, data, quote, now);
            }),
        }
        if self.frag.outgoing(slot).is_none() {
            self.frag.release(slot);
        }
    }

    /// Run `f` over the payload of reassembly slot `slot` without copying it.
    ///
    /// The reassembler is moved out of `self` for the duration (a cheap swap of references),
    /// so `f` can use the rest of the stack mutably.
    pub(crate) fn with_reassembled<R>(
        &mut self,
        slot: usize,
        len: usize,
        f: impl FnOnce(&mut Self, &[u8]) -> R,
    ) -> R {
        let frag = core::mem::replace(
            &mut self.frag,
            crate::ipv4_reassembly::Reassembler::new(&mut [], &mut []),
        );
        let buf = frag.buffer(slot);
        let data = buf.get(..len).unwrap_or(buf);
        let r = f(self, data);
        self.frag = frag;
        r
    }

    /// Hand a complete, unfragmented datagram to its protocol.
    pub(crate) fn deliver(&mut self, info: IpInfo, data: &[u8], quote: &[u8], now: Instant) {
        match info.protocol {
            #[cfg(feature = "icmp")]
            IpProtocol::Icmp => self.icmp_input(info, data, now),
            #[cfg(feature = "udp")]
            IpProtocol::Udp => self.udp_input(info, data, quote, now),
            #[cfg(feature = "tcp")]
            IpProtocol::Tcp => self.tcp_input(info, data, now),
            _ => {
                bump(&mut self.stats.ipv4_unknown_protocol);
                self.send_dst_unreachable(
                    info,
                    crate::wire::Icmpv4DstUnreachable::ProtoUnreachable,
                    quote,
                    now,
                );
            }
        }
    }

    /// Is `dst` ours, and how was it addressed?
    pub(crate) fn classify_dst(&self, dst: Ipv4Addr) -> Option<DstKind> {
        if dst.is_broadcast() {
            return Some(DstKind::Broadcast);
        }
        if dst.is_multicast() {
            return self.has_multicast_group(dst).then_some(DstKind::Multicast);
        }
        let cidr = self.config.ipv4?;
        if dst == cidr.address {
            Some(DstKind::Unicast)
        } else if cidr.prefix_len < 31 && dst == cidr.broadcast() {
            Some(DstKind::Broadcast)
        } else {
            None
        }
    }

    /// The next hop towards `dst`: link broadcast/multicast, the destination itself when
    /// on-link, else the gateway.
    pub(crate) fn route(&self, dst: Ipv4Addr) -> Result<NextHop, RouteError> {
        let cidr = self.config.ipv4.ok_or(RouteError::Unaddressed)?;
        if dst.is_unspecified() {
            return Err(RouteError::NoRoute);
        }
        if dst.is_broadcast() || (cidr.prefix_len < 31 && dst == cidr.broadcast()) {
            return Ok(NextHop::Mac(EthernetAddress::BROADCAST));
        }
        if dst.is_multicast() {
            return Ok(NextHop::Mac(multicast_mac(dst)));
        }
        if cidr.contains(dst) {
            return Ok(NextHop::Ip(dst));
        }
        match self.config.gateway {
            Some(gw) if gw != cidr.address => Ok(NextHop::Ip(gw)),
            _ => Err(RouteError::NoRoute),
        }
    }

    /// Resolve `hop` for a datagram sent straight from a buffer (not queued): the MAC when
    /// known; otherwise resolution is started and `None` returned. `Err` when no ARP entry
    /// could be made.
    pub(crate) fn resolve_now(
        &mut self,
        hop: NextHop,
        now: Instant,
    ) -> Result<Option<EthernetAddress>, ()> {
        match hop {
            NextHop::Mac(m) => Ok(Some(m)),
            NextHop::Ip(ip) => match self.arp.lookup(ip, now) {
                Lookup::Found(m) => Ok(Some(m)),
                Lookup::Pending => Ok(None),
                Lookup::SendRequest => {
                    self.send_arp_request(ip, None);
                    Ok(None)
                }
                Lookup::NoEntry => Err(()),
            },
        }
    }

    /// Build a whole datagram in a pool buffer: Ethernet and IPv4 headers from `repr`, and
    /// the payload written by `fill` into its `repr.payload_len` bytes. `None` (counted) when
    /// no buffer is free or the datagram exceeds a buffer or the MTU.
    #[inline(always)]
    pub(crate) fn build_ip_packet(
        &mut self,
        repr: &Ipv4Repr,
        mut fill: impl FnMut(&mut [u8]),
    ) -> Option<PacketBuf> {
        self.build_ip_packet_dyn(repr, None, &mut fill)
    }

    /// [`build_ip_packet`](Self::build_ip_packet) without the generic: one copy for every
    /// caller. `frag` makes it one fragment of a larger datagram: (identification, offset of
    /// this fragment's data in bytes, more fragments follow); `None`, a whole datagram with
    /// the next identification.
    #[inline(never)]
    pub(crate) fn build_ip_packet_dyn(
        &mut self,
        repr: &Ipv4Repr,
        frag: Option<(u16, u16, bool)>,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Option<PacketBuf> {
        let frame_len = ETH_LEN + IPV4_HEADER_LEN + repr.payload_len;
        if frame_len > self.pool.buffer_size() || IPV4_HEADER_LEN + repr.payload_len > self.mtu {
            bump(&mut self.stats.tx_too_large);
            return None;
        }
        let mut packet = self.alloc_packet()?;
        let (ident, offset, more) = match frag {
            Some(f) => f,
            None => (self.next_ident(), 0, false),
        };
        let src_mac = self.mac;
        // The destination MAC is written when the packet leaves the transmit queue.
        if let Some((eth, rest)) = self
            .pool
            .buffer_mut(&packet)
            .get_mut(..frame_len)
            .and_then(|b| b.split_first_chunk_mut::<ETH_LEN>())
            && let Some((header, payload)) = rest.split_first_chunk_mut::<IPV4_HEADER_LEN>()
        {
            let ([s0, s1, s2, s3, s4, s5], [t0, t1]) =
                (src_mac.0, u16::from(EtherType::Ipv4).to_be_bytes());
            if let Some(src_and_type) = eth.last_chunk_mut::<8>() {
                *src_and_type = [s0, s1, s2, s3, s4, s5, t0, t1];
            }
            repr.emit_header(header, ident, offset, more);
            fill(payload);
            self.pool.set_len(&mut packet, frame_len);
            return Some(packet);
        }
        // Unreachable: `frame_len` fits a buffer (checked above).
        self.pool.free(packet);
        None
    }

    /// Send the datagrams parked in reassembly slots (large echo replies). False when the
    /// driver ran out of buffers.
    pub(crate) fn transmit_held<D: Driver>(
        &mut self,
        driver: &mut D,
        cx: &mut Context,
        now: Instant,
    ) -> bool {
        for slot in 0..self.frag.capacity() {
            let Some(out) = self.frag.outgoing(slot) else {
                continue;
            };
            let mac = match self.resolve_now(out.next_hop, now) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(()) => {
                    bump(&mut self.stats.arp_queue_full);
                    self.frag.release(slot);
                    continue;
                }
            };
            let (mtu, src_mac) = (self.mtu, self.mac);
            let Some((buf, out)) = self.frag.outgoing_parts(slot) else {
                continue;
            };
            let payload = &buf[..out.repr.payload_len.min(buf.len())];
            let done = emit_ip(
                driver,
                cx,
                &mut self.stats,
                FrameAddrs {
                    src: src_mac,
                    dst: mac,
                },
                &out.repr,
                payload,
                out.ident,
                mtu,
                &mut out.sent,
            );
            if !done {
                return false;
            }
            self.frag.release(slot);
        }
        true
    }

    /// Drop parked datagrams whose next hop did not answer ARP.
    pub(crate) fn drop_held_waiting_for(&mut self, ip: Ipv4Addr) {
        for slot in 0..self.frag.capacity() {
            if let Some(out) = self.frag.outgoing(slot)
                && out.next_hop == NextHop::Ip(ip)
            {
                self.frag.release(slot);
                bump(&mut self.stats.arp_timeout);
            }
        }
    }
}

/// Source and destination of the Ethernet frames of one datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameAddrs {
    pub(crate) src: EthernetAddress,
    pub(crate) dst: EthernetAddress,
}

/// Send the datagram `repr` + `payload` straight from its buffer into driver transmit buffers,
/// as one frame or as fragments of at most `mtu` bytes. `sent` is the payload offset already
/// sent (0 for a new datagram): if the driver runs out of transmit buffers mid-way, it keeps
/// the progress and this returns false; call again later with the same `ident`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_ip<D: Driver>(
    driver: &mut D,
    cx: &mut Context,
    stats: &mut Stats,
    addrs: FrameAddrs,
    repr: &Ipv4Repr,
    payload: &[u8],
    ident: u16,
    mtu: usize,
    sent: &mut usize,
) -> bool {
    let fragmenting = IPV4_HEADER_LEN + payload.len() > mtu;
    // Fragment data is a multiple of 8 bytes (RFC 791); mtu >= 68 keeps this >= 48.
    let max_chunk = (mtu.saturating_sub(IPV4_HEADER_LEN) / 8 * 8).max(8);
    loop {
        let off = *sent;
        if off >= payload.len() && (off > 0 || !payload.is_empty()) {
            return true;
        }
        let Some(rest) = payload.get(off..) else {
            return true;
        };
        let chunk = rest.get(..max_chunk).unwrap_or(rest);
        let chunk_len = chunk.len();
        let more = chunk_len < rest.len();
        let Some(token) = driver.transmit(cx) else {
            bump(&mut stats.driver_tx_busy);
            return false;
        };
        let frame_len = ETH_LEN + IPV4_HEADER_LEN + chunk_len;
        token.consume(frame_len, |buf| {
            let frag_repr = Ipv4Repr {
                payload_len: chunk_len,
                ..*repr
            };
            let Some(ip_buf) = buf.get_mut(..frame_len).and_then(|b| {
                crate::wire::ethernet::emit_header(b, addrs.dst, addrs.src, EtherType::Ipv4)
            }) else {
                return;
            };
            let Some((header, data)) = ip_buf.split_first_chunk_mut::<IPV4_HEADER_LEN>() else {
                return;
            };
            frag_repr.emit_header(header, ident, off as u16, more);
            if let Some(data) = data.get_mut(..chunk.len()) {
                data.copy_from_slice(chunk);
            }
        });
        bump(&mut stats.frames_tx);
        bump(&mut stats.ipv4_tx);
        if fragmenting {
            bump(&mut stats.frag_tx);
        }
        *sent = off + chunk_len;
        if !more {
            return true;
        }
    }
}
