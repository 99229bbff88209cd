//! Ethernet receive demultiplexing.

use super::Stack;
use crate::stats::bump;
use crate::time::Instant;
use crate::wire::{EtherType, EthernetAddress};

/// The Ethernet group address an IPv4 multicast group maps to (RFC 1112: 01:00:5e and the low
/// 23 bits of the group).
pub(crate) fn multicast_mac(group: core::net::Ipv4Addr) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

impl Stack<'_> {
    /// Process one received frame completely: every path ends in a delivery, a reply or one
    /// drop counter.
    pub(crate) fn process_frame(&mut self, frame: &[u8], now: Instant) {
        bump(&mut self.stats.frames_rx);
        // The header as an array: constant offsets, no bounds checks.
        let Some((h, payload)) = frame.split_first_chunk::<{ crate::wire::ethernet::HEADER_LEN }>()
        else {
            bump(&mut self.stats.eth_truncated);
            return;
        };
        let dst = EthernetAddress([h[0], h[1], h[2], h[3], h[4], h[5]]);
        let for_us = dst == self.mac
            || dst.is_broadcast()
            || (dst.is_multicast() && self.accepts_multicast_mac(dst));
        if !for_us {
            bump(&mut self.stats.eth_not_for_us);
            return;
        }
        let link_multicast = dst.is_multicast();
        match EtherType::from(u16::from_be_bytes([h[12], h[13]])) {
            EtherType::Arp => self.arp_input(payload, now),
            EtherType::Ipv4 => self.ipv4_input(link_multicast, payload, now),
            _ => bump(&mut self.stats.eth_unknown_type),
        }
    }

    fn accepts_multicast_mac(&self, mac: EthernetAddress) -> bool {
        mac == multicast_mac(core::net::Ipv4Addr::new(224, 0, 0, 1))
            || self
                .groups
                .iter()
                .flatten()
                .any(|&g| multicast_mac(g) == mac)
    }
}
