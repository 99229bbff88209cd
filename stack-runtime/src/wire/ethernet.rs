//! Ethernet II frames: destination, source, EtherType, payload.
//!
//! The frame check sequence is handled by the MAC and never appears here.
//! Short frames padded to the 60-byte minimum keep their padding in
//! [`Frame::payload`]; the IPv4 layer bounds its payload by its own total
//! length field.

use core::fmt;

use super::{Error, EthernetAddress, Result};

mod field {
    use core::ops::{Range, RangeFrom};
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: RangeFrom<usize> = 14..;
}

/// Length of the Ethernet II header (no VLAN tag).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// The EtherType field: which protocol the payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4, 0x0800.
    Ipv4,
    /// ARP, 0x0806.
    Arp,
    /// IPv6, 0x86DD.
    Ipv6,
    /// Anything else (including 802.1Q tags and 802.3 length values). Build
    /// values with `From<u16>`, which never yields `Unknown` for a number that
    /// has its own variant.
    Unknown(u16),
}

/// Write the header of a frame from `src` to `dst` carrying `ethertype` at the front of
/// `frame`; returns the rest (the payload), `None` when `frame` is shorter than a header.
/// Constant offsets, no panicking path: one copy for every sender.
#[inline(never)]
pub(crate) fn emit_header(
    frame: &mut [u8],
    dst: EthernetAddress,
    src: EthernetAddress,
    ethertype: EtherType,
) -> Option<&mut [u8]> {
    let (h, payload) = frame.split_first_chunk_mut::<HEADER_LEN>()?;
    let t = u16::from(ethertype).to_be_bytes();
    let (d, s) = (dst.0, src.0);
    *h = [
        d[0], d[1], d[2], d[3], d[4], d[5], s[0], s[1], s[2], s[3], s[4], s[5], t[0], t[1],
    ];
    Some(payload)
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Unknown(v) => v,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Unknown(v) => write!(f, "0x{v:04x}"),
        }
    }
}

/// A zero-copy view of an Ethernet II frame in a buffer `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without checking its length. Only for buffers the caller
    /// sized itself (emitting); accessors panic if it is shorter than
    /// [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wrap a received buffer, checking that it holds a full header.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Err(Truncated)` when the buffer is shorter than the header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header length plus `payload_len`: the buffer size to emit a frame.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let b = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[field::DESTINATION]);
        EthernetAddress(a)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> EthernetAddress {
        let b = self.buffer.as_ref();
        let mut a = [0u8; 6];
        a.copy_from_slice(&b[field::SOURCE]);
        EthernetAddress(a)
    }

    /// The EtherType.
    pub fn ethertype(&self) -> EtherType {
        let b = self.buffer.as_ref();
        EtherType::from(u16::from_be_bytes([
            b[field::ETHERTYPE.start],
            b[field::ETHERTYPE.start + 1],
        ]))
    }

    /// The payload: everything after the header, including any padding.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// The payload, borrowed for the buffer's lifetime `'a` rather than the
    /// view's (so the view can be dropped while the payload is parsed on).
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Set the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Set the source MAC address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Set the EtherType.
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }

    /// The payload, mutable, for emitting the next layer in place.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The decoded Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source MAC address.
    pub src_addr: EthernetAddress,
    /// Destination MAC address.
    pub dst_addr: EthernetAddress,
    /// Protocol of the payload.
    pub ethertype: EtherType,
}

impl Repr {
    /// Decode the header of a checked frame. Never fails on a frame from
    /// [`Frame::new_checked`]; returns `Truncated` on a too-short unchecked one.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Bytes `emit` writes: the header only.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into `frame` (at least [`HEADER_LEN`] bytes).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ethernet {} > {} {}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}
