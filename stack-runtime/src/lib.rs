//! stack-runtime: the protocol engine behind every stackgen-generated stack.
//!
//! `no_std`, no allocation, no `unsafe`: the engine runs entirely from storage the caller
//! hands in ([`StackStorage`]), so one copy of the code serves every profile size, and the
//! generated code (or a plain `main`) owns the arrays.
//!
//! * [`wire`]: zero-copy views and `Repr`s of the wire formats;
//! * [`Stack`]: one Ethernet interface with ARP, IPv4 (reassembly and fragmentation), ICMP
//!   and UDP sockets, driven by [`Stack::poll`] over any [`embassy_net_driver::Driver`];
//! * [`pool`], [`arp_cache`], [`ipv4_reassembly`], [`udp`], [`icmp`]: the fixed
//!   pools and tables the interface is built from, each usable and testable alone;
//! * `dhcpv4` and `dns` (features `dhcpv4`, `dns`): the DHCPv4 client and the DNS resolver,
//!   enabled at run time with `Stack::enable_dhcp` and `Stack::enable_dns`;
//! * [`stats`]: a counter for every drop reason, traffic counters and pool gauges;
//! * [`time`]: the board's monotonic clock as the stack sees it;
//! * `testing` (feature `testing`): an in-memory driver for tests.
#![no_std]
#![forbid(unsafe_code)]
// With a protocol compiled out (features `udp`, `icmp`), helpers only it used are dead code.
#![cfg_attr(
    not(all(feature = "udp", feature = "icmp")),
    allow(dead_code, unused_variables, unused_imports)
)]

#[cfg(test)]
extern crate std;

pub mod arp_cache;
#[cfg(feature = "async")]
pub mod asynch;
#[cfg(feature = "dhcpv4")]
pub mod dhcpv4;
#[cfg(feature = "dns")]
pub mod dns;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod icmp;
pub mod iface;
pub mod ipv4_reassembly;
pub mod pool;
pub mod seed;
pub mod stats;
pub mod tcp;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod udp;
pub mod wire;

pub use arp_cache::ArpEntry;
pub use iface::{
    MAX_MULTICAST_GROUPS, MulticastError, NextHop, PendingSlot, Stack, StackConfig, StackStorage,
    TcpHandle, TcpListener, TcpListenerSlot, TcpStorage,
};
pub use ipv4_reassembly::ReassemblySlot;
pub use stats::Stats;
pub use tcp::socket::{TcpConfig, TcpError, TcpSlot, TcpState};
pub use time::{Duration, Instant};
pub use udp::{UdpError, UdpHandle, UdpSlot};
