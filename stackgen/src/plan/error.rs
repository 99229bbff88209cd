//! Contradictions between values of a profile: each one makes the profile invalid.

use std::net::Ipv4Addr;

use crate::diagnostic::{Diagnostic, Severity, ToDiagnostic};
use crate::source::Span;
use crate::units::format_size;

/// A contradiction found while resolving a profile into a plan, with the span it points at.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct PlanError {
    /// What is contradictory.
    pub kind: PlanErrorKind,
    /// The value to underline (the one most likely to need changing), if it was written.
    pub span: Option<Span>,
}

/// The contradictions the plan detects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanErrorKind {
    /// A board stackgen does not know (only reachable with a `Profile` built by hand:
    /// [`crate::profile::Profile::parse`] rejects unknown boards first).
    #[error("unknown board `{board}`")]
    UnknownBoard {
        /// The board name.
        board: String,
    },
    /// Neither IPv4 nor IPv6 is on.
    #[error("no IP protocol is on: protocols.ipv4 and protocols.ipv6 are both false")]
    NoIp,
    /// ICMPv4 without IPv4.
    #[error("protocols.icmpv4 is on but protocols.ipv4 is off")]
    Icmpv4WithoutIpv4,
    /// ARP asked for without IPv4.
    #[error("protocols.arp is on but protocols.ipv4 is off")]
    ArpWithoutIpv4,
    /// IPv4 on an Ethernet interface without ARP.
    #[error("interface `{interface}` carries IPv4 over Ethernet, but protocols.arp is off")]
    Ipv4EthernetWithoutArp {
        /// The interface.
        interface: String,
    },
    /// IPv6 without ICMPv6.
    #[error("protocols.ipv6 is on but protocols.icmpv6 is off")]
    Ipv6WithoutIcmpv6,
    /// ICMPv6 without IPv6.
    #[error("protocols.icmpv6 is on but protocols.ipv6 is off")]
    Icmpv6WithoutIpv6,
    /// TCP or UDP with no IP version on.
    #[error("protocols.{protocol} is on but protocols.ipv4 and protocols.ipv6 are both off")]
    TransportWithoutIp {
        /// `tcp` or `udp`.
        protocol: &'static str,
    },
    /// The DHCPv4 client without IPv4.
    #[error("protocols.dhcpv4 is on but protocols.ipv4 is off")]
    DhcpWithoutIpv4,
    /// A stack service that needs UDP, without UDP.
    #[error("protocols.{service} is on but protocols.udp is off")]
    ServiceWithoutUdp {
        /// `dhcpv4` or `dns`.
        service: &'static str,
    },
    /// An interface with an IPv4 setting while IPv4 is off.
    #[error("interface `{interface}` uses {setting} but protocols.ipv4 is off")]
    InterfaceIpv4WhileOff {
        /// The interface.
        interface: String,
        /// `DHCP` or `a static address`.
        setting: &'static str,
    },
    /// `ipv4 = "dhcp"` without the DHCP client.
    #[error("interface `{interface}` uses DHCP but protocols.dhcpv4 is off")]
    InterfaceDhcpWithoutClient {
        /// The interface.
        interface: String,
    },
    /// IPv6 on an interface while IPv6 is off.
    #[error("interface `{interface}` has ipv6 = true but protocols.ipv6 is off")]
    InterfaceIpv6WhileOff {
        /// The interface.
        interface: String,
    },
    /// The static address is the network or broadcast address of its own prefix.
    #[error("static address {address}/{prefix} is the {which} address of its own prefix")]
    AddressNotHost {
        /// The address.
        address: Ipv4Addr,
        /// The prefix length.
        prefix: u8,
        /// `network` or `broadcast`.
        which: &'static str,
        /// The first usable host address.
        first: Ipv4Addr,
        /// The last usable host address.
        last: Ipv4Addr,
    },
    /// The gateway is not on the interface's subnet.
    #[error("gateway {gateway} is not on-link: it is outside {network}/{prefix}")]
    GatewayOffLink {
        /// The gateway.
        gateway: Ipv4Addr,
        /// The interface's network address.
        network: Ipv4Addr,
        /// The prefix length.
        prefix: u8,
    },
    /// The gateway is the interface's own address.
    #[error("gateway {gateway} is the interface's own address")]
    GatewayIsSelf {
        /// The gateway.
        gateway: Ipv4Addr,
    },
    /// A gateway on an interface without a static address.
    #[error("interface `{interface}` sets a gateway but has no static IPv4 address")]
    GatewayWithoutStatic {
        /// The interface.
        interface: String,
        /// Whether the interface uses DHCP (which supplies the gateway).
        dhcp: bool,
    },
    /// A MAC on a loopback interface.
    #[error("loopback interface `{interface}` cannot have a MAC address")]
    MacOnLoopback {
        /// The interface.
        interface: String,
    },
    /// Two interfaces with one name.
    #[error("two interfaces are named `{name}`")]
    DuplicateInterfaceName {
        /// The name.
        name: String,
    },
    /// Two interfaces with one MAC.
    #[error("interfaces `{first}` and `{second}` have the same MAC address {mac}")]
    DuplicateMac {
        /// The first interface.
        first: String,
        /// The second interface.
        second: String,
        /// The address.
        mac: String,
    },
    /// A full frame does not fit a packet buffer.
    #[error(
        "buffers.size of {size} B cannot hold a full frame of interface `{interface}` ({frame} B = MTU {mtu} + 14 B Ethernet header)"
    )]
    FrameExceedsBuffer {
        /// The interface.
        interface: String,
        /// Its MTU.
        mtu: u64,
        /// MTU + link header.
        frame: u64,
        /// The buffer size in bytes.
        size: u64,
    },
    /// TCP on with zero sockets.
    #[error("protocols.tcp is on but tcp.sockets is 0")]
    ZeroTcpSockets,
    /// More listeners than sockets.
    #[error("tcp.listeners ({listeners}) is more than tcp.sockets ({sockets})")]
    ListenersExceedSockets {
        /// Listeners.
        listeners: u64,
        /// Sockets.
        sockets: u64,
    },
    /// The MSS does not fit the smallest MTU.
    #[error(
        "tcp.mss of {mss} B does not fit interface `{interface}`: MTU {mtu} leaves {max} B after IP and TCP headers"
    )]
    MssExceedsMtu {
        /// The MSS.
        mss: u64,
        /// The interface with the smallest MTU.
        interface: String,
        /// Its MTU.
        mtu: u64,
        /// The largest MSS it allows.
        max: u64,
    },
    /// A receive window over 64 KiB without window scaling.
    #[error(
        "tcp.rx_window of {window} B is over 65535 B, the most a TCP header can announce without window scaling"
    )]
    WindowNeedsScaling {
        /// The window in bytes.
        window: u64,
    },
    /// A window or send buffer smaller than one segment.
    #[error("tcp.{key} of {bytes} B is smaller than one segment (tcp.mss = {mss} B)")]
    BelowOneSegment {
        /// `rx_window` or `send_buffer`.
        key: &'static str,
        /// Its size.
        bytes: u64,
        /// The MSS.
        mss: u64,
    },
    /// The receive window is more than the rx pool can ever hold.
    #[error(
        "tcp.rx_window of {window} B is larger than the rx packet-buffer pool can hold ({count} buffers × {per_buffer} B of segment data = {capacity} B)"
    )]
    WindowExceedsRxPool {
        /// The window in bytes.
        window: u64,
        /// Rx buffers.
        count: u64,
        /// TCP payload one buffer holds.
        per_buffer: u64,
        /// count × per_buffer.
        capacity: u64,
    },
    /// The send buffer is more than the tx pool can ever hold.
    #[error(
        "tcp.send_buffer of {send_buffer} B is larger than the tx packet-buffer pool can hold ({count} buffers × {per_buffer} B of segment data = {capacity} B)"
    )]
    SendBufferExceedsTxPool {
        /// The send buffer in bytes.
        send_buffer: u64,
        /// Tx buffers.
        count: u64,
        /// TCP payload one buffer holds.
        per_buffer: u64,
        /// count × per_buffer.
        capacity: u64,
    },
    /// One send buffer needs more packet buffers than TCP data may hold.
    #[error(
        "tcp.segments ({segments}) cannot queue one full send buffer ({needed} segments of {mss} B)"
    )]
    SendBufferExceedsSegments {
        /// Packet buffers TCP data may hold.
        segments: u64,
        /// Segments one send buffer needs.
        needed: u64,
        /// The MSS.
        mss: u64,
    },
    /// TCP data may take more packet buffers than the pool has beyond its frame reserve.
    #[error(
        "tcp.segments ({segments}) is more than the packet pool can give TCP data ({pool} buffers − {reserve} kept for frames)"
    )]
    SegmentsExceedPool {
        /// Packet buffers TCP data may hold.
        segments: u64,
        /// Packet buffers (buffers.rx_count + buffers.tx_count).
        pool: u64,
        /// Buffers TCP never takes (ARP, ICMP, UDP, DHCP/DNS, TCP control segments).
        reserve: u64,
    },
    /// `budget.ram_max` or `flash_max` above what the board has.
    #[error("budget.{key} of {limit} is more than the board `{board}` has ({available})")]
    LimitAboveBoard {
        /// `ram_max` or `flash_max`.
        key: &'static str,
        /// The limit, as shown.
        limit: String,
        /// The board.
        board: &'static str,
        /// What the board has, as shown.
        available: String,
    },
    /// The pools need more RAM than `budget.ram_max`.
    #[error("the pools need {total} B of RAM, over budget.ram_max of {limit} B by {over} B")]
    OverRamBudget {
        /// Total pool bytes.
        total: u64,
        /// The limit.
        limit: u64,
        /// total − limit.
        over: u64,
        /// The biggest pool's knob, the first place to look.
        biggest_knob: &'static str,
        /// The biggest pool's bytes.
        biggest_bytes: u64,
    },
    /// The pools need more RAM than the board has.
    #[error("the pools need {total} B of RAM, more than the board `{board}` has ({available} B)")]
    OverBoardRam {
        /// Total pool bytes.
        total: u64,
        /// The board.
        board: &'static str,
        /// The board's RAM.
        available: u64,
    },
}

impl PlanErrorKind {
    /// Text under the underline.
    fn label(&self) -> String {
        use PlanErrorKind::*;
        match self {
            UnknownBoard { .. } => "not a known board".into(),
            NoIp => "no network layer".into(),
            Icmpv4WithoutIpv4 | ArpWithoutIpv4 | DhcpWithoutIpv4 => "needs IPv4".into(),
            Ipv4EthernetWithoutArp { .. } => "IPv4 over Ethernet needs ARP".into(),
            Ipv6WithoutIcmpv6 => "IPv6 neighbor discovery runs over ICMPv6".into(),
            Icmpv6WithoutIpv6 => "needs IPv6".into(),
            TransportWithoutIp { .. } => "needs IPv4 or IPv6".into(),
            ServiceWithoutUdp { .. } => "runs over UDP".into(),
            InterfaceIpv4WhileOff { .. } => "IPv4 is off in [protocols]".into(),
            InterfaceDhcpWithoutClient { .. } => "no DHCPv4 client compiled in".into(),
            InterfaceIpv6WhileOff { .. } => "IPv6 is off in [protocols]".into(),
            AddressNotHost { which, .. } => format!("{which} address, not a host address"),
            GatewayOffLink { .. } => "not reachable without a router".into(),
            GatewayIsSelf { .. } => "same as the interface address".into(),
            GatewayWithoutStatic { .. } => "gateway without a static address".into(),
            MacOnLoopback { .. } => "loopback has no link-layer address".into(),
            DuplicateInterfaceName { .. } => "already used by an earlier interface".into(),
            DuplicateMac { .. } => "already used by an earlier interface".into(),
            FrameExceedsBuffer { .. } => "too small for a full frame".into(),
            ZeroTcpSockets => "no socket for any connection".into(),
            ListenersExceedSockets { .. } => "more listeners than sockets".into(),
            MssExceedsMtu { max, .. } => format!("at most {max} B"),
            WindowNeedsScaling { .. } => "needs window scaling".into(),
            BelowOneSegment { .. } => "less than one segment".into(),
            WindowExceedsRxPool { capacity, .. } => {
                format!("the rx pool holds at most {capacity} B")
            }
            SendBufferExceedsTxPool { capacity, .. } => {
                format!("the tx pool holds at most {capacity} B")
            }
            SendBufferExceedsSegments { .. } => "fewer than one send buffer needs".into(),
            SegmentsExceedPool { pool, reserve, .. } => {
                format!("at most {}", pool.saturating_sub(*reserve))
            }
            LimitAboveBoard { .. } => "more than the board has".into(),
            OverRamBudget { over, .. } => format!("{over} B short"),
            OverBoardRam { .. } => "the chip does not have this much RAM".into(),
        }
    }

    /// How to fix it.
    fn help(&self) -> String {
        use PlanErrorKind::*;
        match self {
            UnknownBoard { .. } => format!("use one of {}", crate::board::names()),
            NoIp => "set protocols.ipv4 = true (or protocols.ipv6 = true)".into(),
            Icmpv4WithoutIpv4 => "set protocols.ipv4 = true, or protocols.icmpv4 = false".into(),
            ArpWithoutIpv4 => "set protocols.ipv4 = true, or protocols.arp = false".into(),
            Ipv4EthernetWithoutArp { interface } => format!(
                "set protocols.arp = true, or ipv4 = \"off\" on interface `{interface}`"
            ),
            Ipv6WithoutIcmpv6 => "set protocols.icmpv6 = true (or remove the line: it follows protocols.ipv6)".into(),
            Icmpv6WithoutIpv6 => "set protocols.ipv6 = true, or protocols.icmpv6 = false".into(),
            TransportWithoutIp { protocol } => {
                format!("set protocols.ipv4 = true (or protocols.ipv6 = true), or protocols.{protocol} = false")
            }
            DhcpWithoutIpv4 => "set protocols.ipv4 = true, or protocols.dhcpv4 = false".into(),
            ServiceWithoutUdp { service } => format!(
                "set protocols.udp = true (the {}'s own socket is added by the plan, not taken from udp.sockets), or protocols.{service} = false",
                if *service == "dns" { "DNS resolver" } else { "DHCPv4 client" }
            ),
            InterfaceIpv4WhileOff { .. } => "set protocols.ipv4 = true, or ipv4 = \"off\" on this interface".into(),
            InterfaceDhcpWithoutClient { .. } => {
                "set protocols.dhcpv4 = true (and protocols.udp = true), or give the interface a static address such as \"static 192.0.2.2/24\"".into()
            }
            InterfaceIpv6WhileOff { .. } => "set protocols.ipv6 = true, or ipv6 = false on this interface".into(),
            AddressNotHost { prefix, first, last, .. } => {
                format!("use a host address from {first} to {last}, e.g. \"static {first}/{prefix}\"")
            }
            GatewayOffLink { network, prefix, .. } => format!(
                "use a gateway inside {network}/{prefix}, or widen the prefix of the static address so it covers the gateway"
            ),
            GatewayIsSelf { .. } => "use the router's address, or remove `gateway` if there is no router".into(),
            GatewayWithoutStatic { dhcp: true, .. } => "remove `gateway`: DHCP supplies the gateway".into(),
            GatewayWithoutStatic { dhcp: false, .. } => {
                "give the interface a static address such as ipv4 = \"static 192.0.2.2/24\", or remove `gateway`".into()
            }
            MacOnLoopback { .. } => "remove `mac` from the loopback interface".into(),
            DuplicateInterfaceName { .. } => "give each interface its own name, e.g. \"eth1\"".into(),
            DuplicateMac { .. } => "give each interface its own MAC address, e.g. \"02:00:00:00:00:02\", or use \"from-board\"".into(),
            FrameExceedsBuffer { frame, size, .. } => format!(
                "set buffers.size to at least \"{frame} B\", or lower the interface's mtu to {}",
                size.saturating_sub(crate::plan::sizes::ETHERNET_HEADER)
            ),
            ZeroTcpSockets => "set tcp.sockets to at least 1, or protocols.tcp = false".into(),
            ListenersExceedSockets { sockets, .. } => format!(
                "set tcp.listeners to at most {sockets}, or raise tcp.sockets (each accepted connection takes a socket too)"
            ),
            MssExceedsMtu { max, .. } => format!("set tcp.mss = {max} or lower"),
            WindowNeedsScaling { .. } => {
                "set tcp.window_scaling = true, or lower tcp.rx_window to 65535 B or less".into()
            }
            BelowOneSegment { key, .. } => format!("set tcp.{key} to at least \"1 mss\" (\"4 mss\" for useful throughput)"),
            WindowExceedsRxPool { window, per_buffer, capacity, .. } => format!(
                "lower tcp.rx_window to {} or less, or raise buffers.rx_count to {} (or set tcp.buffers = \"reserved\")",
                format_size(*capacity),
                window.div_ceil(*per_buffer)
            ),
            SendBufferExceedsTxPool { send_buffer, per_buffer, capacity, .. } => format!(
                "lower tcp.send_buffer to {} or less, or raise buffers.tx_count to {} (or set tcp.buffers = \"reserved\")",
                format_size(*capacity),
                send_buffer.div_ceil(*per_buffer)
            ),
            SendBufferExceedsSegments { needed, .. } => format!(
                "raise tcp.segments to at least {needed} (one send buffer per busy socket: tcp.sockets × {needed}), or lower tcp.send_buffer"
            ),
            SegmentsExceedPool { segments, pool, reserve } => format!(
                "set tcp.segments to {} or less, or raise buffers.rx_count + buffers.tx_count to {} (TCP data lives in the packet buffers)",
                pool.saturating_sub(*reserve),
                segments + reserve
            ),
            LimitAboveBoard { key, available, .. } => format!("set budget.{key} to {available} or less"),
            OverRamBudget { biggest_knob, biggest_bytes, .. } => format!(
                "raise budget.ram_max, or shrink the pools; the biggest is `{biggest_knob}` ({biggest_bytes} B): run `stackgen budget` for the table"
            ),
            OverBoardRam { .. } => "shrink the pools: run `stackgen budget` for the table".into(),
        }
    }
}

impl ToDiagnostic for PlanError {
    fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: self.kind.to_string(),
            span: self.span.clone(),
            label: self.kind.label(),
            help: Some(self.kind.help()),
        }
    }
}
