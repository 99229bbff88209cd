//! Every fixed array the stack needs, as `count × element size`, computed from the plan with the
//! element sizes of [`super::sizes`]. The budget prints these rows; code generation will declare
//! these arrays.

use serde::Serialize;

use super::sizes;
use super::{Plan, TcpBuffers};
use crate::units::format_size;

/// Who uses a pool: the application's sockets, or the stack itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// Sized for the application (sockets it opens, buffers it fills).
    Application,
    /// Used by the stack itself (interfaces, caches, the DHCP client's and DNS resolver's own
    /// sockets): never taken from the application's counts.
    Stack,
}

/// One fixed array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// Stable identifier for tools (`tcp_control_blocks`).
    pub id: &'static str,
    /// What it holds, for people.
    pub name: &'static str,
    /// The profile key that sets the count.
    pub knob: &'static str,
    /// Number of elements.
    pub count: u64,
    /// Bytes per element.
    pub element: u64,
    /// Who uses it.
    pub owner: Owner,
    /// What one element is made of.
    pub detail: String,
}

impl Pool {
    /// `count × element`.
    pub fn bytes(&self) -> u64 {
        self.count.saturating_mul(self.element)
    }
}

fn pool(
    id: &'static str,
    name: &'static str,
    knob: &'static str,
    count: u64,
    element: u64,
    owner: Owner,
    detail: String,
) -> Pool {
    Pool {
        id,
        name,
        knob,
        count,
        element,
        owner,
        detail,
    }
}

/// Computes the pools of a plan whose other fields are resolved.
pub(super) fn compute(plan: &Plan) -> Vec<Pool> {
    use Owner::{Application, Stack};
    let ipv6 = plan.protocols.ipv6;
    let mut pools = Vec::new();
    let interface = sizes::INTERFACE + if ipv6 { sizes::INTERFACE_IPV6 } else { 0 };
    pools.push(pool(
        "interfaces",
        "interfaces",
        "[[interface]]",
        plan.interfaces.len() as u64,
        interface,
        Stack,
        if ipv6 {
            "addresses, MTU, counters + IPv6 link-local state".into()
        } else {
            "addresses, MTU, counters".into()
        },
    ));
    let buffer = sizes::packet_buffer(plan.buffers.size);
    let buffer_detail = format!(
        "{} B descriptor + {}",
        sizes::PACKET_BUFFER_HEADER,
        format_size(sizes::align(plan.buffers.size))
    );
    pools.push(pool(
        "rx_packet_buffers",
        "rx packet buffers",
        "buffers.rx_count",
        plan.buffers.rx_count,
        buffer,
        Stack,
        buffer_detail.clone(),
    ));
    pools.push(pool(
        "tx_packet_buffers",
        "tx packet buffers",
        "buffers.tx_count",
        plan.buffers.tx_count,
        buffer,
        Stack,
        buffer_detail,
    ));
    if let Some(entries) = plan.arp_entries {
        pools.push(pool(
            "arp_cache",
            "ARP cache",
            "arp.entries",
            entries,
            sizes::ARP_ENTRY,
            Stack,
            "IPv4 + MAC + state + timestamp".into(),
        ));
    }
    if let Some(entries) = plan.ndp_entries {
        pools.push(pool(
            "ndp_cache",
            "IPv6 neighbor cache",
            "ndp.entries",
            entries,
            sizes::NDP_ENTRY,
            Stack,
            "IPv6 + MAC + state + timestamp".into(),
        ));
    }
    if let Some(reassembly) = plan.reassembly {
        pools.push(pool(
            "ipv4_reassembly",
            "IPv4 reassembly buffers",
            "reassembly.buffers",
            reassembly.buffers,
            sizes::reassembly_buffer(reassembly.size),
            Stack,
            format!(
                "{} B descriptor + fragment bitmap + {}",
                sizes::REASSEMBLY_DESCRIPTOR,
                format_size(reassembly.size)
            ),
        ));
    }
    if let Some(tcp) = &plan.tcp {
        pools.push(pool(
            "tcp_control_blocks",
            "TCP control blocks",
            "tcp.sockets",
            tcp.sockets,
            sizes::tcp_control_block(ipv6, tcp.timestamps, tcp.window_scaling, tcp.sack),
            Application,
            "sequence state, timers, queue indices".into(),
        ));
        if tcp.listeners > 0 {
            pools.push(pool(
                "tcp_listeners",
                "TCP listeners",
                "tcp.listeners",
                tcp.listeners,
                sizes::tcp_listener(ipv6),
                Application,
                "local address + port + backlog state".into(),
            ));
        }
        pools.push(pool(
            "tcp_segments",
            "TCP segment descriptors",
            "tcp.segments",
            tcp.segments,
            sizes::TCP_SEGMENT,
            Application,
            "data stays in its tx packet buffer".into(),
        ));
        if tcp.out_of_order_segments > 0 {
            pools.push(pool(
                "tcp_out_of_order",
                "TCP out-of-order slots",
                "tcp.out_of_order_segments",
                tcp.sockets * tcp.out_of_order_segments,
                sizes::TCP_OUT_OF_ORDER_SLOT,
                Application,
                format!(
                    "{} per socket; data stays in its rx packet buffer",
                    tcp.out_of_order_segments
                ),
            ));
        }
        if tcp.buffers == TcpBuffers::Reserved {
            pools.push(pool(
                "tcp_rx_reserved",
                "TCP receive windows (reserved)",
                "tcp.rx_window",
                tcp.sockets,
                sizes::align(tcp.rx_window),
                Application,
                "one per socket".into(),
            ));
            pools.push(pool(
                "tcp_tx_reserved",
                "TCP send buffers (reserved)",
                "tcp.send_buffer",
                tcp.sockets,
                sizes::align(tcp.send_buffer),
                Application,
                "one per socket".into(),
            ));
        }
    }
    if let Some(udp) = plan.udp
        && udp.sockets > 0
    {
        pools.push(pool(
            "udp_sockets",
            "UDP sockets (application)",
            "udp.sockets",
            udp.sockets,
            sizes::udp_socket(ipv6) + sizes::align(udp.rx_buffer) + sizes::align(udp.tx_buffer),
            Application,
            format!(
                "{} B control + {} rx + {} tx",
                sizes::udp_socket(ipv6),
                format_size(udp.rx_buffer),
                format_size(udp.tx_buffer)
            ),
        ));
    }
    if plan.dhcp_clients > 0 {
        pools.push(pool(
            "dhcpv4_socket",
            "UDP socket of the DHCPv4 client",
            "protocols.dhcpv4",
            plan.dhcp_clients,
            sizes::udp_socket(ipv6) + 2 * sizes::DHCP_MESSAGE_BUFFER,
            Stack,
            format!(
                "{} B control + {} B rx + {} B tx; one per DHCP interface",
                sizes::udp_socket(ipv6),
                sizes::DHCP_MESSAGE_BUFFER,
                sizes::DHCP_MESSAGE_BUFFER
            ),
        ));
        pools.push(pool(
            "dhcpv4_clients",
            "DHCPv4 client state",
            "protocols.dhcpv4",
            plan.dhcp_clients,
            sizes::DHCP_CLIENT,
            Stack,
            "lease, server, timers".into(),
        ));
    }
    if let Some(dns) = plan.dns {
        pools.push(pool(
            "dns_socket",
            "UDP socket of the DNS resolver",
            "protocols.dns",
            1,
            sizes::udp_socket(ipv6) + 2 * sizes::DNS_MESSAGE_BUFFER,
            Stack,
            format!(
                "{} B control + {} B rx + {} B tx",
                sizes::udp_socket(ipv6),
                sizes::DNS_MESSAGE_BUFFER,
                sizes::DNS_MESSAGE_BUFFER
            ),
        ));
        pools.push(pool(
            "dns_query",
            "DNS query state",
            "protocols.dns",
            1,
            sizes::DNS_QUERY,
            Stack,
            "one query in flight".into(),
        ));
        pools.push(pool(
            "dns_servers",
            "DNS servers",
            "dns.servers",
            dns.servers,
            sizes::DNS_SERVER,
            Stack,
            "address + failure count".into(),
        ));
        if dns.cache_entries > 0 {
            pools.push(pool(
                "dns_cache",
                "DNS cache",
                "dns.cache_entries",
                dns.cache_entries,
                sizes::DNS_CACHE_ENTRY,
                Stack,
                format!("name up to {} B + address + expiry", sizes::DNS_NAME_MAX),
            ));
        }
    }
    pools
}
