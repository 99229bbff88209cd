//! The resolved plan: defaults applied, contradictions rejected, every pool sized, warnings
//! attached. Everything downstream (budget, code generation) reads the plan, never the TOML.
//!
//! TCP memory model: by default (`tcp.buffers = "shared"`) a socket's receive window and send
//! buffer are *limits* over the shared packet-buffer pools, as lwIP's pbuf and segment pools:
//! received segments wait for the application in rx buffers, sent segments wait for their ACK in
//! tx buffers. `tcp.buffers = "reserved"` gives every socket its own rx_window + send_buffer
//! bytes instead (no contention, much more RAM). The budget shows the bytes reserved either way
//! and the worst case under load.

mod error;
mod pools;
mod resolve;
pub mod sizes;
mod warning;

use std::net::Ipv4Addr;
use std::time::Duration;

pub use error::{PlanError, PlanErrorKind};
pub use pools::{FRAME_RESERVE, Owner, Pool, TCP_SEGMENTS_MAX};
pub use warning::{Warning, WarningKind};

use crate::board::Board;
use crate::profile::{InterfaceKind, Ipv4Setting, MacSetting, Profile, TcpBuffers};
use crate::source::Span;
use crate::units::TcpSize;

/// RTT assumed for throughput statements when the profile gives no `workload.rtt`.
pub const DEFAULT_RTT: Duration = Duration::from_millis(50);

/// One interface, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfacePlan {
    /// Its name.
    pub name: String,
    /// Link type.
    pub kind: InterfaceKind,
    /// MAC source; `None` for loopback.
    pub mac: Option<MacSetting>,
    /// IPv4 setting.
    pub ipv4: Ipv4Setting,
    /// Default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// IPv6 on this interface.
    pub ipv6: bool,
    /// MTU in bytes.
    pub mtu: u64,
}

/// Which protocols are compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProtocolSet {
    /// ARP.
    pub arp: bool,
    /// IPv4.
    pub ipv4: bool,
    /// IPv6.
    pub ipv6: bool,
    /// ICMPv4.
    pub icmpv4: bool,
    /// ICMPv6.
    pub icmpv6: bool,
    /// UDP.
    pub udp: bool,
    /// TCP.
    pub tcp: bool,
    /// DHCPv4 client.
    pub dhcpv4: bool,
    /// DNS resolver.
    pub dns: bool,
}

impl ProtocolSet {
    /// The names of the protocols that are on (`on = true`) or off, in catalogue order.
    pub fn names(&self, on: bool) -> Vec<&'static str> {
        [
            ("arp", self.arp),
            ("ipv4", self.ipv4),
            ("ipv6", self.ipv6),
            ("icmpv4", self.icmpv4),
            ("icmpv6", self.icmpv6),
            ("udp", self.udp),
            ("tcp", self.tcp),
            ("dhcpv4", self.dhcpv4),
            ("dns", self.dns),
        ]
        .into_iter()
        .filter(|(_, enabled)| *enabled == on)
        .map(|(name, _)| name)
        .collect()
    }
}

/// Packet-buffer pools, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferPlan {
    /// Receive buffers.
    pub rx_count: u64,
    /// Transmit buffers.
    pub tx_count: u64,
    /// Bytes per buffer.
    pub size: u64,
}

/// TCP, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpPlan {
    /// Control blocks.
    pub sockets: u64,
    /// Listeners.
    pub listeners: u64,
    /// Backlog per listener.
    pub backlog: u64,
    /// MSS in bytes.
    pub mss: u64,
    /// Receive window in bytes.
    pub rx_window: u64,
    /// Receive window as written (or defaulted).
    pub rx_window_written: TcpSize,
    /// Send buffer in bytes.
    pub send_buffer: u64,
    /// Send buffer as written (or defaulted).
    pub send_buffer_written: TcpSize,
    /// Segment descriptors, all sockets together.
    pub segments: u64,
    /// Out-of-order segments per socket.
    pub out_of_order_segments: u64,
    /// TIME_WAIT duration.
    pub time_wait: Duration,
    /// Keepalive idle time, `None` for off.
    pub keepalive: Option<Duration>,
    /// Window scaling.
    pub window_scaling: bool,
    /// Timestamps.
    pub timestamps: bool,
    /// SACK.
    pub sack: bool,
    /// Shared or reserved buffers.
    pub buffers: TcpBuffers,
    /// TCP payload one rx packet buffer holds (min of MSS and buffer minus headers).
    pub rx_payload_per_buffer: u64,
    /// TCP payload one tx packet buffer holds.
    pub tx_payload_per_buffer: u64,
}

/// UDP, resolved (application sockets only; the stack's own are in [`Plan::dhcp_clients`] and
/// [`Plan::dns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPlan {
    /// Application sockets.
    pub sockets: u64,
    /// Receive buffer per socket.
    pub rx_buffer: u64,
    /// Transmit buffer per socket.
    pub tx_buffer: u64,
}

/// IPv4 reassembly, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyPlan {
    /// Packets reassembled at once.
    pub buffers: u64,
    /// Largest packet.
    pub size: u64,
}

/// DNS resolver, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsPlan {
    /// Servers.
    pub servers: u64,
    /// Cache entries.
    pub cache_entries: u64,
}

/// Memory limits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits {
    /// `budget.ram_max`.
    pub ram_max: Option<u64>,
    /// Where `ram_max` was written.
    pub ram_max_span: Option<Span>,
    /// `budget.flash_max`.
    pub flash_max: Option<u64>,
}

/// The workload, for warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadPlan {
    /// Peak concurrent connections.
    pub concurrent_connections: Option<u64>,
    /// Peak new connections per second.
    pub new_connections_per_second: Option<f64>,
    /// RTT for throughput statements.
    pub rtt: Duration,
    /// Whether the RTT came from the profile.
    pub rtt_from_profile: bool,
    /// On-link peers.
    pub peers: Option<u64>,
}

/// A fully resolved stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `stack.name`.
    pub name: String,
    /// The board.
    pub board: &'static Board,
    /// The target triple.
    pub target: String,
    /// `stack.app` as written: the default application of `stackgen build`, relative to the
    /// profile file.
    pub app: Option<String>,
    /// Interfaces in profile order.
    pub interfaces: Vec<InterfacePlan>,
    /// Protocols compiled in.
    pub protocols: ProtocolSet,
    /// Packet buffers.
    pub buffers: BufferPlan,
    /// TCP, when on.
    pub tcp: Option<TcpPlan>,
    /// UDP, when on.
    pub udp: Option<UdpPlan>,
    /// ARP cache entries, when ARP is on.
    pub arp_entries: Option<u64>,
    /// IPv6 neighbor cache entries, when IPv6 is on.
    pub ndp_entries: Option<u64>,
    /// IPv4 reassembly, when IPv4 is on and buffers > 0.
    pub reassembly: Option<ReassemblyPlan>,
    /// DNS, when on.
    pub dns: Option<DnsPlan>,
    /// DHCPv4 clients (one per interface using DHCP), each with its own UDP socket.
    pub dhcp_clients: u64,
    /// Memory limits.
    pub limits: Limits,
    /// Workload.
    pub workload: WorkloadPlan,
    /// Every pool, in budget order.
    pub pools: Vec<Pool>,
    /// Sizing warnings.
    pub warnings: Vec<Warning>,
}

impl Plan {
    /// Resolves a profile: defaults, cross-field checks, pools, warnings.
    pub fn resolve(profile: &Profile) -> Result<Plan, Vec<PlanError>> {
        resolve::resolve(profile)
    }

    /// Bytes of RAM all pools take.
    pub fn ram_total(&self) -> u64 {
        self.pools.iter().map(Pool::bytes).sum()
    }

    /// Limits the plan breaks: over `budget.ram_max`, over the board's RAM.
    ///
    /// Kept apart from [`Plan::resolve`] so `stackgen budget` can still print the table that
    /// shows where the bytes go.
    pub fn limit_errors(&self) -> Vec<PlanError> {
        let total = self.ram_total();
        let mut errors = Vec::new();
        if let Some(limit) = self.limits.ram_max
            && total > limit
        {
            let biggest = self.pools.iter().max_by_key(|pool| pool.bytes());
            errors.push(PlanError {
                kind: PlanErrorKind::OverRamBudget {
                    total,
                    limit,
                    over: total - limit,
                    biggest_knob: biggest.map_or("", |pool| pool.knob),
                    biggest_bytes: biggest.map_or(0, Pool::bytes),
                },
                span: self.limits.ram_max_span.clone(),
            });
        }
        if let Some(available) = self.board.ram
            && total > available
        {
            errors.push(PlanError {
                kind: PlanErrorKind::OverBoardRam {
                    total,
                    board: self.board.name,
                    available,
                },
                span: None,
            });
        }
        errors
    }
}
