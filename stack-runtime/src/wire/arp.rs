//! ARP (RFC 826) packets.
//!
//! The view handles any hardware/protocol address length (the lengths come
//! from the header and are validated against the buffer); the [`Repr`] only
//! accepts Ethernet + IPv4, the one combination this stack resolves. Anything
//! else parses to [`Error::Unsupported`].

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, EthernetAddress, Result};

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    /// First byte of the variable-length address block.
    pub const ADDRS: usize = 8;
}

/// Hardware type for Ethernet.
pub const HARDWARE_ETHERNET: u16 = 1;
/// Protocol type for IPv4 (the IPv4 EtherType).
pub const PROTOCOL_IPV4: u16 = 0x0800;
/// Length of an Ethernet/IPv4 ARP packet, the only kind [`Repr`] emits.
pub const PACKET_LEN: usize = field::ADDRS + 2 * (6 + 4);

/// The ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// "Who has target_protocol_addr?", 1.
    Request,
    /// "target_protocol_addr is at …", 2.
    Reply,
    /// Any other operation (RARP, InARP, …); `From<u16>` never yields it for
    /// 1 or 2.
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Self {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(v) => v,
        }
    }
}

/// A zero-copy view of an ARP packet in a buffer `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it. Only for buffers the caller sized
    /// itself; accessors panic on a buffer too short for its address lengths.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer, checking that it holds the fixed header and
    /// all four addresses at the lengths the header declares.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` unless the buffer covers the fixed header and the
    /// address block (`2 * (hlen + plen)` bytes).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::ADDRS || len < self.packet_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Total length the header implies: 8 + 2 × (hlen + plen). At most 518,
    /// so it cannot overflow.
    fn packet_len(&self) -> usize {
        let b = self.buffer.as_ref();
        field::ADDRS + 2 * (usize::from(b[field::HLEN]) + usize::from(b[field::PLEN]))
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::HTYPE.start)
    }

    /// Protocol type (0x0800 = IPv4).
    pub fn protocol_type(&self) -> u16 {
        be16(self.buffer.as_ref(), field::PTYPE.start)
    }

    /// Hardware address length in bytes.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length in bytes.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation code.
    pub fn operation(&self) -> Operation {
        Operation::from(be16(self.buffer.as_ref(), field::OPER.start))
    }

    fn hl(&self) -> usize {
        usize::from(self.hardware_len())
    }

    fn pl(&self) -> usize {
        usize::from(self.protocol_len())
    }

    /// Sender hardware address (`hardware_len` bytes).
    pub fn source_hardware_addr(&self) -> &[u8] {
        let s = field::ADDRS;
        &self.buffer.as_ref()[s..s + self.hl()]
    }

    /// Sender protocol address (`protocol_len` bytes).
    pub fn source_protocol_addr(&self) -> &[u8] {
        let s = field::ADDRS + self.hl();
        &self.buffer.as_ref()[s..s + self.pl()]
    }

    /// Target hardware address (`hardware_len` bytes).
    pub fn target_hardware_addr(&self) -> &[u8] {
        let s = field::ADDRS + self.hl() + self.pl();
        &self.buffer.as_ref()[s..s + self.hl()]
    }

    /// Target protocol address (`protocol_len` bytes).
    pub fn target_protocol_addr(&self) -> &[u8] {
        let s = field::ADDRS + 2 * self.hl() + self.pl();
        &self.buffer.as_ref()[s..s + self.pl()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Set the hardware type.
    pub fn set_hardware_type(&mut self, v: u16) {
        self.put16(field::HTYPE.start, v);
    }

    /// Set the protocol type.
    pub fn set_protocol_type(&mut self, v: u16) {
        self.put16(field::PTYPE.start, v);
    }

    /// Set the hardware address length (set it before the addresses).
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::HLEN] = v;
    }

    /// Set the protocol address length (set it before the addresses).
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::PLEN] = v;
    }

    /// Set the operation code.
    pub fn set_operation(&mut self, op: Operation) {
        self.put16(field::OPER.start, u16::from(op));
    }

    /// Set the sender hardware address; `addr.len()` must equal `hardware_len`.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let s = field::ADDRS;
        let n = self.hl();
        self.buffer.as_mut()[s..s + n].copy_from_slice(addr);
    }

    /// Set the sender protocol address; `addr.len()` must equal `protocol_len`.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let s = field::ADDRS + self.hl();
        let n = self.pl();
        self.buffer.as_mut()[s..s + n].copy_from_slice(addr);
    }

    /// Set the target hardware address; `addr.len()` must equal `hardware_len`.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let s = field::ADDRS + self.hl() + self.pl();
        let n = self.hl();
        self.buffer.as_mut()[s..s + n].copy_from_slice(addr);
    }

    /// Set the target protocol address; `addr.len()` must equal `protocol_len`.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let s = field::ADDRS + 2 * self.hl() + self.pl();
        let n = self.pl();
        self.buffer.as_mut()[s..s + n].copy_from_slice(addr);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A decoded Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Request or reply (or an unknown code, which the interface ignores).
    pub operation: Operation,
    /// Sender MAC address.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC address (zero in requests).
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Decode an ARP packet. `Truncated` if the buffer is short,
    /// `Unsupported` for anything but Ethernet (6-byte) / IPv4 (4-byte).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        let b = packet.buffer.as_ref();
        // Check the fixed part before reading hlen/plen.
        let Some(h) = b.first_chunk::<{ field::ADDRS }>() else {
            return Err(Error::Truncated);
        };
        if u16::from_be_bytes([h[0], h[1]]) != HARDWARE_ETHERNET
            || u16::from_be_bytes([h[2], h[3]]) != PROTOCOL_IPV4
            || h[field::HLEN] != 6
            || h[field::PLEN] != 4
        {
            return Err(Error::Unsupported);
        }
        // With 6-byte and 4-byte addresses the packet is exactly `PACKET_LEN` bytes: an
        // array from here on, read at constant offsets without bounds checks.
        let Some(b) = b.first_chunk::<PACKET_LEN>() else {
            return Err(Error::Truncated);
        };
        let mac = |at: usize| {
            EthernetAddress([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]])
        };
        let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
        Ok(Repr {
            operation: Operation::from(u16::from_be_bytes([b[6], b[7]])),
            source_hardware_addr: mac(8),
            source_protocol_addr: ip(14),
            target_hardware_addr: mac(18),
            target_protocol_addr: ip(24),
        })
    }

    /// Bytes `emit` writes: [`PACKET_LEN`] (28).
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Write an Ethernet/IPv4 ARP packet into `packet` (at least 28 bytes).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        // One array store: constant offsets, no bounds checks and no slice copies (which
        // stay calls at opt-level "z").
        let Some(b) = packet.buffer.as_mut().first_chunk_mut::<PACKET_LEN>() else {
            return;
        };
        let [h0, h1] = HARDWARE_ETHERNET.to_be_bytes();
        let [p0, p1] = PROTOCOL_IPV4.to_be_bytes();
        let [o0, o1] = u16::from(self.operation).to_be_bytes();
        let [a0, a1, a2, a3, a4, a5] = self.source_hardware_addr.0;
        let [b0, b1, b2, b3] = self.source_protocol_addr.octets();
        let [c0, c1, c2, c3, c4, c5] = self.target_hardware_addr.0;
        let [d0, d1, d2, d3] = self.target_protocol_addr.octets();
        *b = [
            h0, h1, p0, p1, 6, 4, o0, o1, a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, c0, c1, c2, c3,
            c4, c5, d0, d1, d2, d3,
        ];
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ARP {:?} {}/{} > {}/{}",
            self.operation,
            self.source_hardware_addr,
            self.source_protocol_addr,
            self.target_hardware_addr,
            self.target_protocol_addr
        )
    }
}
