//! Wire formats: zero-copy views over packet bytes and high-level `Repr`s.
//!
//! Every protocol module follows the same two-layer pattern:
//!
//! * A **view** (`ethernet::Frame<T>`, `ipv4::Packet<T>`, …) wraps any buffer
//!   `T: AsRef<[u8]>` without copying. `new_checked` validates once that the
//!   buffer is long enough for the header (and for whatever length field the
//!   header carries); after that the accessors read fields straight out of the
//!   bytes. With `T: AsRef<[u8]> + AsMut<[u8]>` the view also has setters, so the
//!   same type is used to build outgoing packets in place inside a pooled
//!   buffer. `new_unchecked` skips validation and is meant only for buffers the
//!   caller has sized itself (for emitting); accessors on an unchecked view of
//!   a too-short buffer panic, so received bytes always go through
//!   `new_checked`.
//! * A **`Repr`** is the decoded, validated meaning of a header: plain values,
//!   no bytes. `Repr::parse(&view)` checks the semantic rules (versions,
//!   checksums, supported variants) and `Repr::emit(&self, &mut view)` writes a
//!   header; `Repr::buffer_len()` says how many bytes `emit` needs.
//!   `parse(emit(r)) == r` for every representable `r`.
//!
//! All bytes from the wire are untrusted: parsing never panics and never
//! overflows, whatever the input, and each failure maps onto one [`Error`]
//! variant so the interface can count it in a dedicated drop counter.
//!
//! IPv4 addresses are [`core::net::Ipv4Addr`] throughout; this module adds
//! only what `core` lacks ([`EthernetAddress`], [`Ipv4Cidr`], [`IpProtocol`]).
//!
//! ```
//! use core::net::Ipv4Addr;
//! use stack_runtime::wire::{IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr, ipv4, udp};
//!
//! let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
//! let payload = b"hello";
//!
//! // Emit: size the buffer from the Reprs, then write inside-out or outside-in.
//! let udp_repr = UdpRepr { src_port: 4000, dst_port: 7 };
//! let ip_repr = Ipv4Repr {
//!     src_addr: src,
//!     dst_addr: dst,
//!     next_header: IpProtocol::Udp,
//!     payload_len: udp_repr.buffer_len(payload.len()),
//!     hop_limit: 64,
//! };
//! let mut buf = [0u8; 64];
//! let len = ip_repr.buffer_len() + ip_repr.payload_len;
//! let mut ip = Ipv4Packet::new_unchecked(&mut buf[..len]);
//! ip_repr.emit(&mut ip, 0x1234);
//! udp_repr.emit(&mut UdpPacket::new_unchecked(ip.payload_mut()), src, dst, payload);
//!
//! // Parse: check lengths with `new_checked`, then validate with `Repr::parse`.
//! let ip = Ipv4Packet::new_checked(&buf[..len])?;
//! let ip_repr2 = Ipv4Repr::parse(&ip, true)?;
//! let udp = UdpPacket::new_checked(ip.payload())?;
//! let udp_repr2 = UdpRepr::parse(&udp, ip_repr2.src_addr, ip_repr2.dst_addr, true)?;
//! assert_eq!((ip_repr2, udp_repr2), (ip_repr, udp_repr));
//! assert_eq!(udp.payload(), payload);
//! assert_eq!(len, ipv4::HEADER_LEN + udp::HEADER_LEN + payload.len());
//! # Ok::<(), stack_runtime::wire::Error>(())
//! ```

use core::fmt;
use core::net::Ipv4Addr;

pub mod arp;
pub mod checksum;
pub mod dhcpv4;
pub mod dns;
pub mod ethernet;
pub mod icmpv4;
pub mod ipv4;
pub mod tcp;
pub mod udp;

/// Why a packet could not be parsed. Each variant corresponds to one drop
/// counter in the interface statistics, so the set is deliberately small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the fixed header, or shorter than a length
    /// field inside the header says it is.
    Truncated,
    /// A field holds a value that no valid packet can have (IPv4 IHL < 5, a
    /// total length smaller than the header, a UDP length below 8, …).
    Malformed,
    /// The checksum does not verify.
    Checksum,
    /// The packet is well formed but describes something this stack does not
    /// handle (ARP for non-Ethernet/IPv4, an unknown ICMP type, …).
    Unsupported,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
            Error::Checksum => "checksum error",
            Error::Unsupported => "unsupported packet",
        })
    }
}

impl core::error::Error for Error {}

/// Result of every parse in this module.
pub type Result<T> = core::result::Result<T, Error>;

/// A 48-bit IEEE 802 MAC address, as carried in Ethernet and ARP headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`, destination of ARP requests.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Build an address from the first six bytes of `data`.
    ///
    /// Returns `None` when `data` is shorter than six bytes, so it is safe to
    /// call on untrusted slices.
    pub fn from_bytes(data: &[u8]) -> Option<EthernetAddress> {
        let bytes: [u8; 6] = data.get(..6)?.try_into().ok()?;
        Some(EthernetAddress(bytes))
    }

    /// The address as a byte slice, in wire order.
    pub const fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for `ff:ff:ff:ff:ff:ff`.
    pub const fn is_broadcast(&self) -> bool {
        let b = self.0;
        b[0] == 0xff && b[1] == 0xff && b[2] == 0xff && b[3] == 0xff && b[4] == 0xff && b[5] == 0xff
    }

    /// True when the group bit (least significant bit of the first octet) is
    /// set; this includes the broadcast address.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True for an individual (non-group) address, the only kind a station
    /// may use as its own source address.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// True when the locally-administered bit is set (e.g. `02:…`).
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An IPv4 address with a prefix length, e.g. `192.0.2.2/24`: an interface
/// address together with the on-link network it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    /// The address (host bits are kept, not masked off).
    pub address: Ipv4Addr,
    /// Number of leading network bits, 0..=32.
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// Create a CIDR; returns `None` when `prefix_len > 32`.
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Cidr> {
        if prefix_len > 32 {
            None
        } else {
            Some(Ipv4Cidr {
                address,
                prefix_len,
            })
        }
    }

    fn mask_bits(&self) -> u32 {
        // `checked_shl` keeps a /0 prefix (shift by 32) from overflowing, and
        // an out-of-range prefix set directly in the pub field saturates to /32.
        match self.prefix_len {
            0 => 0,
            p if p >= 32 => u32::MAX,
            p => u32::MAX << (32 - u32::from(p)),
        }
    }

    /// The netmask, e.g. `255.255.255.0` for a /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask_bits())
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.address.to_bits() & self.mask_bits())
    }

    /// The directed broadcast address (host bits set). For /31 and /32 there
    /// is no broadcast address in practice; this returns the all-ones-host
    /// form anyway, callers decide whether it is meaningful.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.address.to_bits() | !self.mask_bits())
    }

    /// True when `addr` lies in this network (is on-link).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let m = self.mask_bits();
        addr.to_bits() & m == self.address.to_bits() & m
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// The IPv4 protocol number (the "next header" of the IP header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// ICMP, 1.
    Icmp,
    /// TCP, 6.
    Tcp,
    /// UDP, 17.
    Udp,
    /// Any other protocol number; the interface answers it with ICMP protocol
    /// unreachable. Build values with `From<u8>`, which never yields
    /// `Unknown` for a number that has its own variant (so `==` is reliable).
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(p: IpProtocol) -> u8 {
        match p {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(v) => v,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Unknown(v) => write!(f, "0x{v:02x}"),
        }
    }
}

pub use arp::{Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr};
pub use dhcpv4::{MessageType as DhcpMessageType, Packet as DhcpPacket, Repr as DhcpRepr};
pub use dns::{
    Message as DnsMessage, Name as DnsName, Packet as DnsPacket, QueryRepr as DnsQueryRepr,
};
pub use ethernet::{EtherType, Frame as EthernetFrame, Repr as EthernetRepr};
pub use icmpv4::{
    DstUnreachable as Icmpv4DstUnreachable, Message as Icmpv4Message, Packet as Icmpv4Packet,
    Repr as Icmpv4Repr, TimeExceeded as Icmpv4TimeExceeded,
};
pub use ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use tcp::{Packet as TcpPacket, Repr as TcpRepr, SeqNumber as TcpSeqNumber};
pub use udp::{Packet as UdpPacket, Repr as UdpRepr};
