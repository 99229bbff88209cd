//! ICMP on the interface: echo replies (from a frame or, in place, from a reassembled
//! datagram) and rate-limited destination-unreachable errors.

use super::Stack;
use super::ipv4::{DstKind, IpInfo};
use crate::ipv4_reassembly::Outgoing;
use crate::stats::{Stats, bump};
use crate::time::Instant;
use crate::wire::checksum;
use crate::wire::{Icmpv4DstUnreachable, Icmpv4Message, Icmpv4Packet, IpProtocol, Ipv4Repr};

const ICMP_HEADER_LEN: usize = crate::wire::icmpv4::HEADER_LEN;

/// The ICMP checksum after the type/code word changed from `old_word` to `new_word`
/// (RFC 1624, eqn. 3), so the payload need not be summed again.
fn adjust_checksum(old_checksum: u16, old_word: u16, new_word: u16) -> u16 {
    !checksum::combine(&[!old_checksum, !old_word, new_word])
}

/// Turn the echo request in `icmp` (already copied) into an echo reply.
fn request_to_reply(icmp: &mut [u8]) {
    if icmp.len() < ICMP_HEADER_LEN {
        return;
    }
    let Some(h) = icmp.first_chunk_mut::<4>() else {
        return;
    };
    let old_word = u16::from_be_bytes([h[0], h[1]]);
    let old_sum = u16::from_be_bytes([h[2], h[3]]);
    let reply = u8::from(Icmpv4Message::EchoReply);
    let sum = adjust_checksum(old_sum, old_word, u16::from(reply) << 8).to_be_bytes();
    *h = [reply, 0, sum[0], sum[1]];
}

/// ICMP types that are errors: never answered with another error (RFC 1122 3.2.2).
fn is_icmp_error(msg_type: u8) -> bool {
    matches!(msg_type, 3 | 4 | 5 | 11 | 12)
}

/// Validate an ICMP message and decide whether it is an echo request to answer (a function of
/// the counters alone, so a reassembled message is read in place, without lending the
/// reassembler out).
fn echo_to_answer(stats: &mut Stats, info: &IpInfo, data: &[u8]) -> bool {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        bump(&mut stats.icmp_malformed);
        return false;
    };
    if !packet.verify_checksum() {
        bump(&mut stats.icmp_bad_checksum);
        return false;
    }
    bump(&mut stats.icmp_rx);
    if packet.msg_type() != Icmpv4Message::EchoRequest {
        bump(&mut stats.icmp_unsupported);
        return false;
    }
    if info.kind != DstKind::Unicast {
        bump(&mut stats.icmp_broadcast_ignored);
        return false;
    }
    true
}

impl Stack<'_> {
    fn reply_repr(&self, info: &IpInfo, len: usize) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: info.dst,
            dst_addr: info.src,
            next_header: IpProtocol::Icmp,
            payload_len: len,
            hop_limit: self.config.ttl,
        }
    }

    /// ICMP in a received frame: echo requests are answered from a pool buffer.
    pub(crate) fn icmp_input(&mut self, info: IpInfo, data: &[u8], now: Instant) {
        if !echo_to_answer(&mut self.stats, &info, data) {
            return;
        }
        let Ok(hop) = self.route(info.src) else {
            return bump(&mut self.stats.tx_no_route);
        };
        let repr = self.reply_repr(&info, data.len());
        let Some(packet) = self.build_ip_packet(&repr, |icmp| {
            // `icmp` is `data.len()` bytes long: the bound only keeps this panic-free.
            if let Some(icmp) = icmp.get_mut(..data.len()) {
                icmp.copy_from_slice(data);
                request_to_reply(icmp);
            }
        }) else {
            return;
        };
        if self.enqueue(packet, hop, now) {
            bump(&mut self.stats.pings_answered);
        }
    }

    /// ICMP reassembled in slot `slot`: an echo request becomes its reply in place, and the
    /// slot is parked as an outgoing datagram (sent in fragments by `transmit_held`).
    pub(crate) fn icmp_input_reassembled(
        &mut self,
        info: IpInfo,
        slot: usize,
        len: usize,
        now: Instant,
    ) {
        let buf = self.frag.buffer(slot);
        let answer = echo_to_answer(&mut self.stats, &info, buf.get(..len).unwrap_or(buf));
        if !answer {
            return;
        }
        let Ok(next_hop) = self.route(info.src) else {
            return bump(&mut self.stats.tx_no_route);
        };
        let repr = self.reply_repr(&info, len);
        let ident = self.next_ident();
        if let Some(icmp) = self.frag.buffer_mut(slot).get_mut(..len) {
            request_to_reply(icmp);
        }
        self.frag.set_outgoing(
            slot,
            Outgoing {
                repr,
                next_hop,
                ident,
                sent: 0,
            },
        );
        // Start resolution now so the reply leaves as soon as possible.
        if self.resolve_now(next_hop, now).is_err() {
            bump(&mut self.stats.arp_queue_full);
            self.frag.release(slot);
            return;
        }
        bump(&mut self.stats.pings_answered);
    }

    /// Send a destination-unreachable error about the datagram whose IP header and first
    /// payload bytes are `quote`, unless the rules forbid it (not unicast, an unusable source,
    /// an ICMP error itself) or the rate limiter says no.
    pub(crate) fn send_dst_unreachable(
        &mut self,
        info: IpInfo,
        reason: Icmpv4DstUnreachable,
        quote: &[u8],
        now: Instant,
    ) {
        if info.kind != DstKind::Unicast
            || info.src.is_unspecified()
            || info.src.is_broadcast()
            || info.src.is_multicast()
        {
            return;
        }
        if info.protocol == IpProtocol::Icmp {
            let header_len = quote.first().map_or(0, |b| usize::from(b & 0x0f) * 4);
            if quote.get(header_len).is_none_or(|&t| is_icmp_error(t)) {
                return;
            }
        }
        if let Some(cidr) = self.config.ipv4
            && cidr.prefix_len < 31
            && info.src == cidr.broadcast()
        {
            return;
        }
        if !self.icmp_limiter.take(now) {
            return bump(&mut self.stats.icmp_rate_limited);
        }
        let Ok(hop) = self.route(info.src) else {
            return bump(&mut self.stats.tx_no_route);
        };
        let repr = self.reply_repr(&info, ICMP_HEADER_LEN + quote.len());
        let Some(packet) = self.build_ip_packet(&repr, |icmp| {
            // `icmp` is the header and `quote.len()` bytes: the bounds only keep this
            // panic-free.
            let Some((header, data)) = icmp.split_first_chunk_mut::<ICMP_HEADER_LEN>() else {
                return;
            };
            if let Some(data) = data.get_mut(..quote.len()) {
                data.copy_from_slice(quote);
            }
            *header = [
                u8::from(Icmpv4Message::DstUnreachable),
                reason.code(),
                0,
                0,
                0,
                0,
                0,
                0,
            ];
            let sum = (!checksum::data(icmp)).to_be_bytes();
            if let Some(c) = icmp.get_mut(2..4) {
                c.copy_from_slice(&sum);
            }
        }) else {
            return;
        };
        if self.enqueue(packet, hop, now) {
            bump(&mut self.stats.icmp_unreachable_tx);
        }
    }
}
