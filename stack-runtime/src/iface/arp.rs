//! ARP on the interface: answering requests for our address, learning, requests for
//! resolution and refresh, gratuitous announcements, and dropping what waited in vain.

use core::net::Ipv4Addr;

use super::{NextHop, Stack};
use crate::stats::bump;
use crate::time::Instant;
use crate::wire::{ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress};

const ARP_FRAME_LEN: usize = crate::wire::ethernet::HEADER_LEN + crate::wire::arp::PACKET_LEN;

impl Stack<'_> {
    pub(crate) fn arp_input(&mut self, payload: &[u8], now: Instant) {
        let repr = match ArpPacket::new_checked(payload).and_then(|p| ArpRepr::parse(&p)) {
            Ok(r) => r,
            Err(Error::Truncated) => return bump(&mut self.stats.arp_truncated),
            Err(Error::Unsupported) => return bump(&mut self.stats.arp_unsupported),
            Err(_) => return bump(&mut self.stats.arp_malformed),
        };
        let sender_ip = repr.source_protocol_addr;
        if !repr.source_hardware_addr.is_unicast()
            || sender_ip.is_broadcast()
            || sender_ip.is_multicast()
        {
            return bump(&mut self.stats.arp_malformed);
        }
        if !matches!(repr.operation, ArpOperation::Request | ArpOperation::Reply) {
            return bump(&mut self.stats.arp_unsupported);
        }
        // RFC 5227: while the DHCP client probes an offered address, ARP from another station
        // using or probing for it is a conflict (counted in `dhcp_conflicts`).
        #[cfg(feature = "dhcpv4")]
        if self.dhcp_arp_conflict(&repr, now) {
            return;
        }
        let Some(cidr) = self.config.ipv4 else {
            return bump(&mut self.stats.arp_not_for_us);
        };
        let ours = cidr.address;
        let for_us = repr.target_protocol_addr == ours;
        let gratuitous = sender_ip == repr.target_protocol_addr;
        if !for_us && !gratuitous {
            // Merge rule of RFC 826: refresh what we already know, learn nothing new.
            if !sender_ip.is_unspecified() {
                self.arp
                    .fill(sender_ip, repr.source_hardware_addr, now, false);
            }
            return bump(&mut self.stats.arp_not_for_us);
        }
        bump(&mut self.stats.arp_rx);
        if !sender_ip.is_unspecified() && sender_ip != ours {
            // Learn (create an entry) only from on-link senders that addressed us.
            let create = for_us && cidr.contains(sender_ip);
            self.arp
                .fill(sender_ip, repr.source_hardware_addr, now, create);
        }
        if for_us && repr.operation == ArpOperation::Request {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.mac,
                source_protocol_addr: ours,
                target_hardware_addr: repr.source_hardware_addr,
                target_protocol_addr: sender_ip,
            };
            if self.queue_arp(reply, repr.source_hardware_addr) {
                bump(&mut self.stats.arp_replies_tx);
            }
        }
    }

    /// Build an ARP frame to `dst` in a pool buffer and queue it. False if it was dropped
    /// (counted).
    pub(crate) fn queue_arp(&mut self, repr: ArpRepr, dst: EthernetAddress) -> bool {
        let Some(mut packet) = self.alloc_packet() else {
            return false;
        };
        let mac = self.mac;
        let buf = self.pool.buffer_mut(&packet);
        let Some(payload) = buf
            .get_mut(..ARP_FRAME_LEN)
            .and_then(|b| crate::wire::ethernet::emit_header(b, dst, mac, EtherType::Arp))
        else {
            self.pool.free(packet);
            bump(&mut self.stats.tx_too_large);
            return false;
        };
        repr.emit(&mut ArpPacket::new_unchecked(payload));
        self.pool.set_len(&mut packet, ARP_FRAME_LEN);
        self.enqueue(packet, NextHop::Mac(dst), Instant::ZERO)
    }

    /// Ask who has `ip`: broadcast, or unicast to `to` when refreshing a known entry.
    pub(crate) fn send_arp_request(&mut self, ip: Ipv4Addr, to: Option<EthernetAddress>) {
        if let Some(cidr) = self.config.ipv4 {
            self.send_arp_request_from(cidr.address, ip, to.unwrap_or(EthernetAddress::BROADCAST));
        }
    }

    /// Announce our address (gratuitous ARP request: sender and target are both us).
    pub(crate) fn send_gratuitous_arp(&mut self) {
        if let Some(cidr) = self.config.ipv4 {
            self.send_arp_request_from(cidr.address, cidr.address, EthernetAddress::BROADCAST);
        }
    }

    /// An ARP request for `ip` from sender address `src` (0.0.0.0 for an RFC 5227 probe) to
    /// `to`, counted in `arp_requests_tx` when queued.
    #[inline(never)]
    pub(crate) fn send_arp_request_from(
        &mut self,
        src: Ipv4Addr,
        ip: Ipv4Addr,
        to: EthernetAddress,
    ) {
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: self.mac,
            source_protocol_addr: src,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: ip,
        };
        if self.queue_arp(repr, to) {
            bump(&mut self.stats.arp_requests_tx);
        }
    }

    /// Resolution of `ip` failed: drop everything waiting for it, counting each packet.
    pub(crate) fn arp_failed(&mut self, ip: Ipv4Addr) {
        let n = self.queue.drop_for(ip, &mut self.pool);
        self.stats.arp_timeout = self.stats.arp_timeout.wrapping_add(n);
        self.drop_held_waiting_for(ip);
    }
}
