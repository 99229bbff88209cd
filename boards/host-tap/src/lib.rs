//! Linux TAP board support for stack-runtime.
//!
//! The board a user tries first: the stack runs as an ordinary Linux process and exchanges
//! Ethernet frames with the kernel through a TAP interface, so the kernel's own `ping`, sockets
//! and tools are the peer the stack is tested against.
//!
//! - [`TapDevice`] opens (or creates) a TAP interface and implements
//!   [`embassy_net_driver::Driver`], the same trait every chip driver implements, so the
//!   protocol code cannot tell it from real hardware. [`TapDevice::wait`] lets a poll loop sleep
//!   until a frame arrives or the stack's next deadline passes.
//! - [`args`] parses the `--ipv4` and `--mac` values every host program takes.
//! - [`pcap`] records every frame that passes through any driver into a classic libpcap file
//!   that Wireshark and tcpdump open.
//!
//! ```no_run
//! use host_tap::{pcap::Pcap, TapDevice};
//!
//! # fn main() -> std::io::Result<()> {
//! // `ip tuntap add dev tap0 mode tap && ip link set tap0 up` made the interface.
//! let tap = TapDevice::open("tap0")?.with_mac([0x02, 0, 0, 0, 0, 0x02]);
//! let mut driver = Pcap::create(tap, "capture.pcap")?;
//! // Hand `&mut driver` to `Stack::poll`, and `driver.inner().wait(..)` between polls.
//! # let _ = &mut driver;
//! # Ok(())
//! # }
//! ```
//!
//! This crate is the one place in the workspace allowed `unsafe`: two small blocks, the
//! `TUNSETIFF` ioctl and `poll(2)`, each with its justification beside it.

pub mod args;
pub mod pcap;
mod tap;

use std::io::{self, Read};

/// The board's secret seed for the stack's keyed hashes (TCP initial sequence numbers per
/// RFC 6528, SYN cookies, ephemeral ports, DHCP and DNS ids): 16 bytes from the kernel's
/// random source, fresh on every start.
pub fn random_seed() -> io::Result<[u8; 16]> {
    let mut seed = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

pub use tap::{DEFAULT_MAC, ETHERNET_MTU, TapCounters, TapDevice, TapRxToken, TapTxToken};
