//! Every fixed array the generated stack declares, as `count × element size`: one [`Pool`] per
//! `static` of the generated code (same name, same length, same element type), with the element
//! layouts of [`super::sizes`] for the plan's target. `stackgen budget` prints these rows;
//! `stackgen build` finds each one in the linked ELF by its static's name and checks the bytes.

use serde::Serialize;

use super::Plan;
use super::sizes::{self, Layout};
use crate::units::format_size;

/// The most packet buffers stack-runtime lets TCP data hold
/// (`stack_runtime::tcp::segment_pool::MAX_SEGMENTS`, the packet pool's own limit).
pub const TCP_SEGMENTS_MAX: u64 = 256;

pub use super::sizes::FRAME_RESERVE;

/// Who uses a pool: the application's sockets, or the stack itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// Sized for the application (sockets it opens, buffers it fills).
    Application,
    /// Used by the stack itself (packet buffers, caches, the DHCP client's and DNS resolver's
    /// own state): never taken from the application's counts.
    Stack,
}

/// One fixed array: a `static` of the generated code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// Stable identifier for tools (`tcp_slots`).
    pub id: &'static str,
    /// The name of the generated `static` that holds it (`TCP_SLOTS`).
    pub static_name: &'static str,
    /// What it holds, for people.
    pub name: &'static str,
    /// The profile key that sets the count.
    pub knob: &'static str,
    /// Number of elements.
    pub count: u64,
    /// Bytes per element.
    pub element: u64,
    /// Alignment of the element, bytes.
    #[serde(skip)]
    pub align: u64,
    /// Who uses it.
    pub owner: Owner,
    /// What one element is made of.
    pub detail: String,
}

impl Pool {
    /// The bytes of the static: `count × element`, plus the one-byte flag of its
    /// `static_cell` cell, padded to the element's alignment.
    pub fn bytes(&self) -> u64 {
        sizes::static_cell(self.count.saturating_mul(self.element), self.align)
    }
}

/// Builds the pools of a plan, in the order the generated code declares them.
struct Pools(Vec<Pool>);

impl Pools {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: &'static str,
        static_name: &'static str,
        name: &'static str,
        knob: &'static str,
        count: u64,
        layout: Layout,
        owner: Owner,
        detail: String,
    ) {
        self.0.push(Pool {
            id,
            static_name,
            name,
            knob,
            count,
            element: layout.size,
            align: layout.align,
            owner,
            detail,
        });
    }
}

/// Bytes as an array of `u8`: size `bytes`, alignment 1.
const fn bytes(bytes: u64) -> Layout {
    Layout {
        size: bytes,
        align: 1,
    }
}

/// Computes the pools of a plan whose other fields are resolved.
pub(super) fn compute(plan: &Plan) -> Vec<Pool> {
    use Owner::{Application, Stack};
    let layouts = sizes::layouts(&plan.target);
    let mut pools = Pools(Vec::new());
    let packets = plan.buffers.rx_count + plan.buffers.tx_count;
    pools.push(
        "packet_buffers",
        "PACKETS",
        "packet buffers (rx + tx, one shared pool)",
        "buffers.rx_count + buffers.tx_count",
        packets,
        bytes(plan.buffers.size),
        Stack,
        format!(
            "{}; {} for receiving + {} for sending",
            format_size(plan.buffers.size),
            plan.buffers.rx_count,
            plan.buffers.tx_count
        ),
    );
    pools.push(
        "tx_queue",
        "TX_QUEUE",
        "transmit queue",
        "buffers.rx_count + buffers.tx_count",
        packets,
        layouts.pending_slot,
        Stack,
        "one slot per packet buffer: frame waiting for ARP or the driver".into(),
    );
    if let Some(entries) = plan.arp_entries {
        pools.push(
            "arp_cache",
            "ARP_CACHE",
            "ARP cache",
            "arp.entries",
            entries,
            layouts.arp_entry,
            Stack,
            "IPv4 + MAC + state + timers".into(),
        );
    }
    if let Some(reassembly) = plan.reassembly {
        pools.push(
            "ipv4_reassembly",
            "REASSEMBLY",
            "IPv4 reassembly slots",
            "reassembly.buffers",
            reassembly.buffers,
            layouts.reassembly_slot,
            Stack,
            "addresses, id, received ranges, deadline".into(),
        );
        pools.push(
            "ipv4_reassembly_bytes",
            "REASSEMBLY_BYTES",
            "IPv4 reassembly buffers",
            "reassembly.buffers × reassembly.size",
            reassembly.buffers,
            bytes(reassembly.size),
            Stack,
            format!("{} per datagram", format_size(reassembly.size)),
        );
    }
    if let Some(udp) = plan.udp {
        // Datagrams wait in the packet buffers: a socket holds only its port, its limits and
        // the handles of the buffers its received datagrams are in.
        pools.push(
            "udp_sockets",
            "UDP_SLOTS",
            "UDP sockets",
            "udp.sockets",
            udp.sockets,
            layouts.udp_slot,
            Application,
            format!(
                "port, limits ({} rx queued, {} largest tx), packet-buffer handles",
                format_size(udp.rx_buffer),
                format_size(udp.tx_buffer)
            ),
        );
    }
    if let Some(tcp) = &plan.tcp {
        pools.push(
            "tcp_slots",
            "TCP_SLOTS",
            "TCP connections",
            "tcp.sockets",
            tcp.sockets,
            layouts.tcp_slot_for(tcp.sack),
            Application,
            if tcp.sack {
                "state, sequence space, timers, RTT, SACK scoreboard, queue cursors".into()
            } else {
                "state, sequence space, timers, RTT, queue cursors".into()
            },
        );
        pools.push(
            "tcp_listeners",
            "TCP_LISTENER_SLOTS",
            "TCP listeners",
            "tcp.listeners",
            tcp.listeners,
            layouts.tcp_listener_slot,
            Application,
            "local port".into(),
        );
        pools.push(
            "tcp_quotas",
            "TCP_QUOTAS",
            "TCP segment quotas",
            "tcp.sockets",
            tcp.sockets,
            layouts.socket_quota,
            Application,
            "each connection's share of the packet buffers".into(),
        );
    }
    if plan.protocols.dhcpv4
        && plan
            .interfaces
            .first()
            .is_some_and(|interface| interface.ipv4 == crate::profile::Ipv4Setting::Dhcp)
    {
        pools.push(
            "dhcpv4_client",
            "DHCP_SLOT",
            "DHCPv4 client",
            "protocols.dhcpv4",
            1,
            layouts.dhcp_slot,
            Stack,
            "lease, timers and its own UDP socket's message buffers".into(),
        );
    }
    if let Some(dns) = plan.dns {
        pools.push(
            "dns_queries",
            "DNS_QUERY_SLOTS",
            "DNS lookups in flight",
            "protocols.dns",
            1,
            layouts.dns_query_slot,
            Stack,
            "name, id, retries, deadline".into(),
        );
        if dns.cache_entries > 0 {
            pools.push(
                "dns_cache",
                "DNS_CACHE",
                "DNS cache",
                "dns.cache_entries",
                dns.cache_entries,
                layouts.dns_cache_entry,
                Stack,
                "name + address + expiry".into(),
            );
        }
    }
    pools.0
}
