//! The profile as the user wrote it: every value with the span it came from, nothing defaulted.
//!
//! [`Profile::parse`] reads TOML into this form, rejecting unknown keys, wrong types, values out
//! of range and malformed addresses with a [`ProfileError`] each. Defaults and the checks that
//! relate several values belong to [`crate::plan`].

mod error;
pub mod keys;
mod read;
mod values;

use std::net::Ipv4Addr;
use std::time::Duration;

pub use error::{CidrProblem, MacProblem, ProfileError, Suggestion};
pub use values::{parse_ipv4_setting, parse_mac};

use crate::source::{Source, Span};
use crate::units::TcpSize;

/// A value and the span of its text in the profile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Val<T> {
    /// The parsed value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// `[stack]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// Span of the section name in `[stack]`.
    pub header: Option<Span>,
    /// `name` (required).
    pub name: Val<String>,
    /// `board` (required).
    pub board: Val<String>,
    /// `target`.
    pub target: Option<Val<String>>,
    /// `app`: the default application of `stackgen build`, relative to the profile file.
    pub app: Option<Val<String>>,
}

/// Link type of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InterfaceKind {
    /// An Ethernet port (frames with MAC addresses, ARP for IPv4).
    #[default]
    Ethernet,
    /// A software loopback (no MAC, no ARP).
    Loopback,
}

/// How an interface gets its MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacSetting {
    /// Read from the board at start-up (OTP, EEPROM or a generated one).
    FromBoard,
    /// This address.
    Address([u8; 6]),
}

/// How an interface gets its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Setting {
    /// No IPv4 on this interface.
    Off,
    /// Leased by the DHCPv4 client.
    Dhcp,
    /// Fixed address and prefix length.
    Static {
        /// The interface's address.
        address: Ipv4Addr,
        /// The prefix length (`/24`).
        prefix: u8,
    },
}

/// One `[[interface]]` as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    /// Span of this `[[interface]]` header.
    pub header: Span,
    /// `name` (required).
    pub name: Val<String>,
    /// `kind`.
    pub kind: Option<Val<InterfaceKind>>,
    /// `mac`.
    pub mac: Option<Val<MacSetting>>,
    /// `ipv4`.
    pub ipv4: Option<Val<Ipv4Setting>>,
    /// `gateway`.
    pub gateway: Option<Val<Ipv4Addr>>,
    /// `ipv6`.
    pub ipv6: Option<Val<bool>>,
    /// `mtu`.
    pub mtu: Option<Val<u64>>,
}

/// `[protocols]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protocols {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `arp`.
    pub arp: Option<Val<bool>>,
    /// `ipv4`.
    pub ipv4: Option<Val<bool>>,
    /// `ipv6`.
    pub ipv6: Option<Val<bool>>,
    /// `icmpv4`.
    pub icmpv4: Option<Val<bool>>,
    /// `icmpv6`.
    pub icmpv6: Option<Val<bool>>,
    /// `udp`.
    pub udp: Option<Val<bool>>,
    /// `tcp`.
    pub tcp: Option<Val<bool>>,
    /// `dhcpv4`.
    pub dhcpv4: Option<Val<bool>>,
    /// `dns`.
    pub dns: Option<Val<bool>>,
}

/// `[buffers]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buffers {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `rx_count`.
    pub rx_count: Option<Val<u64>>,
    /// `tx_count`.
    pub tx_count: Option<Val<u64>>,
    /// `size`, bytes.
    pub size: Option<Val<u64>>,
}

/// How TCP windows and send buffers take memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpBuffers {
    /// Limits over the shared packet-buffer pools (lwIP style).
    #[default]
    Shared,
    /// Every socket owns its rx window and send buffer (smoltcp style).
    Reserved,
}

/// `[tcp]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tcp {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `sockets`.
    pub sockets: Option<Val<u64>>,
    /// `listeners`.
    pub listeners: Option<Val<u64>>,
    /// `backlog`.
    pub backlog: Option<Val<u64>>,
    /// `mss`, bytes.
    pub mss: Option<Val<u64>>,
    /// `rx_window`.
    pub rx_window: Option<Val<TcpSize>>,
    /// `send_buffer`.
    pub send_buffer: Option<Val<TcpSize>>,
    /// `segments`.
    pub segments: Option<Val<u64>>,
    /// `out_of_order_segments`.
    pub out_of_order_segments: Option<Val<u64>>,
    /// `time_wait`.
    pub time_wait: Option<Val<Duration>>,
    /// `keepalive`: `None` inside means off.
    pub keepalive: Option<Val<Option<Duration>>>,
    /// `window_scaling`.
    pub window_scaling: Option<Val<bool>>,
    /// `timestamps`.
    pub timestamps: Option<Val<bool>>,
    /// `sack`.
    pub sack: Option<Val<bool>>,
    /// `buffers`.
    pub buffers: Option<Val<TcpBuffers>>,
}

/// `[udp]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Udp {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `sockets`.
    pub sockets: Option<Val<u64>>,
    /// `rx_buffer`, bytes.
    pub rx_buffer: Option<Val<u64>>,
    /// `tx_buffer`, bytes.
    pub tx_buffer: Option<Val<u64>>,
}

/// A section with a single `entries` key (`[arp]`, `[ndp]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cache {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `entries`.
    pub entries: Option<Val<u64>>,
}

/// `[reassembly]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reassembly {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `buffers`.
    pub buffers: Option<Val<u64>>,
    /// `size`, bytes.
    pub size: Option<Val<u64>>,
}

/// `[dns]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dns {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `servers`.
    pub servers: Option<Val<u64>>,
    /// `cache_entries`.
    pub cache_entries: Option<Val<u64>>,
}

/// `[budget]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `ram_max`, bytes.
    pub ram_max: Option<Val<u64>>,
    /// `flash_max`, bytes.
    pub flash_max: Option<Val<u64>>,
}

/// `[workload]` as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Span of the section name.
    pub header: Option<Span>,
    /// `concurrent_connections`.
    pub concurrent_connections: Option<Val<u64>>,
    /// `new_connections_per_second`.
    pub new_connections_per_second: Option<Val<f64>>,
    /// `rtt`.
    pub rtt: Option<Val<Duration>>,
    /// `peers`.
    pub peers: Option<Val<u64>>,
}

/// A whole profile as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `[stack]`.
    pub stack: Stack,
    /// Every `[[interface]]`, in file order.
    pub interfaces: Vec<Interface>,
    /// `[protocols]`.
    pub protocols: Protocols,
    /// `[buffers]`.
    pub buffers: Buffers,
    /// `[tcp]`.
    pub tcp: Tcp,
    /// `[udp]`.
    pub udp: Udp,
    /// `[arp]`.
    pub arp: Cache,
    /// `[ndp]`.
    pub ndp: Cache,
    /// `[reassembly]`.
    pub reassembly: Reassembly,
    /// `[dns]`.
    pub dns: Dns,
    /// `[budget]`.
    pub budget: Budget,
    /// `[workload]`.
    pub workload: Workload,
}

impl Profile {
    /// Parses a profile, returning every error found (sorted by position), not just the first.
    pub fn parse(source: &Source) -> Result<Profile, Vec<ProfileError>> {
        read::parse(source.text())
    }
}
