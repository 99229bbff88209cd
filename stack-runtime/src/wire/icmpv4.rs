//! ICMPv4 (RFC 792) messages: echo, destination unreachable, time exceeded.
//!
//! The checksum covers the whole ICMP message (header and data), so the
//! buffer handed to the view must be exactly the IPv4 payload
//! ([`ipv4::Packet::payload`](super::ipv4::Packet::payload), which already
//! excludes link padding). Error messages quote the offending datagram's IPv4
//! header plus the first 8 bytes of its payload, as RFC 792 requires.

use core::fmt;

use super::checksum;
use super::ipv4;
use super::{Error, IpProtocol, Result};

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Echo identifier (echo messages).
    pub const ECHO_IDENT: Range<usize> = 4..6;
    /// Echo sequence number (echo messages).
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    /// The "rest of header" word: unused in unreachable/time exceeded,
    /// next-hop MTU in its low half for "fragmentation needed".
    pub const UNUSED: Range<usize> = 4..8;
}

/// Length of the ICMP header (type, code, checksum and the 4-byte
/// type-specific word).
pub const HEADER_LEN: usize = field::UNUSED.end;

/// How many bytes of the offending datagram's payload an error message
/// quotes after its IPv4 header (RFC 792: 64 bits).
pub const QUOTED_PAYLOAD_LEN: usize = 8;

/// The ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Echo reply, 0.
    EchoReply,
    /// Destination unreachable, 3.
    DstUnreachable,
    /// Redirect, 5.
    Redirect,
    /// Echo request, 8.
    EchoRequest,
    /// Router advertisement, 9.
    RouterAdvert,
    /// Router solicitation, 10.
    RouterSolicit,
    /// Time exceeded, 11.
    TimeExceeded,
    /// Parameter problem, 12.
    ParamProblem,
    /// Timestamp, 13.
    Timestamp,
    /// Timestamp reply, 14.
    TimestampReply,
    /// Any other type; `From<u8>` never yields it for a type listed above.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(v: u8) -> Self {
        match v {
            0 => Message::EchoReply,
            3 => Message::DstUnreachable,
            5 => Message::Redirect,
            8 => Message::EchoRequest,
            9 => Message::RouterAdvert,
            10 => Message::RouterSolicit,
            11 => Message::TimeExceeded,
            12 => Message::ParamProblem,
            13 => Message::Timestamp,
            14 => Message::TimestampReply,
            other => Message::Unknown(other),
        }
    }
}

impl From<Message> for u8 {
    fn from(m: Message) -> u8 {
        match m {
            Message::EchoReply => 0,
            Message::DstUnreachable => 3,
            Message::Redirect => 5,
            Message::EchoRequest => 8,
            Message::RouterAdvert => 9,
            Message::RouterSolicit => 10,
            Message::TimeExceeded => 11,
            Message::ParamProblem => 12,
            Message::Timestamp => 13,
            Message::TimestampReply => 14,
            Message::Unknown(v) => v,
        }
    }
}

/// Codes of the destination-unreachable message (RFC 792, RFC 1122, RFC 1812).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// 0: network unreachable.
    NetUnreachable,
    /// 1: host unreachable.
    HostUnreachable,
    /// 2: protocol unreachable (no handler for the IP protocol).
    ProtoUnreachable,
    /// 3: port unreachable (no UDP socket bound to the port).
    PortUnreachable,
    /// 4: fragmentation needed and DF set.
    FragRequired,
    /// 5: source route failed.
    SrcRouteFailed,
    /// 6: destination network unknown.
    DstNetUnknown,
    /// 7: destination host unknown.
    DstHostUnknown,
    /// 8: source host isolated.
    SrcHostIsolated,
    /// 9: network administratively prohibited.
    NetProhibited,
    /// 10: host administratively prohibited.
    HostProhibited,
    /// 11: network unreachable for type of service.
    NetUnreachToS,
    /// 12: host unreachable for type of service.
    HostUnreachToS,
    /// 13: communication administratively prohibited.
    CommProhibited,
    /// 14: host precedence violation.
    HostPrecedViol,
    /// 15: precedence cutoff in effect.
    PrecedCutoff,
}

impl DstUnreachable {
    /// Decode a code; `None` for values above 15.
    pub const fn from_code(code: u8) -> Option<DstUnreachable> {
        use DstUnreachable::*;
        Some(match code {
            0 => NetUnreachable,
            1 => HostUnreachable,
            2 => ProtoUnreachable,
            3 => PortUnreachable,
            4 => FragRequired,
            5 => SrcRouteFailed,
            6 => DstNetUnknown,
            7 => DstHostUnknown,
            8 => SrcHostIsolated,
            9 => NetProhibited,
            10 => HostProhibited,
            11 => NetUnreachToS,
            12 => HostUnreachToS,
            13 => CommProhibited,
            14 => HostPrecedViol,
            15 => PrecedCutoff,
            _ => return None,
        })
    }

    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// Codes of the time-exceeded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// 0: TTL reached zero in transit.
    TtlExpired,
    /// 1: fragment reassembly time exceeded.
    FragExpired,
}

impl TimeExceeded {
    /// Decode a code; `None` for values above 1.
    pub const fn from_code(code: u8) -> Option<TimeExceeded> {
        match code {
            0 => Some(TimeExceeded::TtlExpired),
            1 => Some(TimeExceeded::FragExpired),
            _ => None,
        }
    }

    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// A zero-copy view of an ICMPv4 message in a buffer `T` (the whole IPv4
/// payload).
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
    /// itself (emitting); accessors panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer, checking that it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` when the buffer is shorter than [`HEADER_LEN`].
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

    /// Message type.
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code (meaning depends on the type).
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field as on the wire.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// Echo identifier (meaningful for echo request/reply).
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number (meaningful for echo request/reply).
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// Next-hop MTU of a "fragmentation needed" message (RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        be16(self.buffer.as_ref(), field::UNUSED.start + 2)
    }

    /// Everything after the 8-byte header: echo data, or the quoted datagram
    /// of an error message.
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[HEADER_LEN.min(b.len())..]
    }

    /// True when the checksum over the whole buffer verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The data after the header, borrowed for the buffer's lifetime `'a`.
    pub fn into_data(self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[HEADER_LEN.min(b.len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Set the message type (e.g. to turn a request into a reply in place).
    pub fn set_msg_type(&mut self, m: Message) {
        self.buffer.as_mut()[field::TYPE] = u8::from(m);
    }

    /// Set the message code.
    pub fn set_msg_code(&mut self, c: u8) {
        self.buffer.as_mut()[field::CODE] = c;
    }

    /// Set the checksum field verbatim.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHECKSUM.start, v);
    }

    /// Set the echo identifier.
    pub fn set_echo_ident(&mut self, v: u16) {
        self.put16(field::ECHO_IDENT.start, v);
    }

    /// Set the echo sequence number.
    pub fn set_echo_seq_no(&mut self, v: u16) {
        self.put16(field::ECHO_SEQNO.start, v);
    }

    /// Set the 4-byte type-specific word to zero ("unused" in error
    /// messages).
    pub fn clear_unused(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    /// The data after the header, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let b = self.buffer.as_mut();
        let start = HEADER_LEN.min(b.len());
        &mut b[start..]
    }

    /// Compute and write the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A decoded ICMPv4 message this stack understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr<'a> {
    /// Echo request ("ping").
    EchoRequest {
        /// Identifier, echoed back.
        ident: u16,
        /// Sequence number, echoed back.
        seq_no: u16,
        /// Payload, echoed back.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier of the request.
        ident: u16,
        /// Sequence number of the request.
        seq_no: u16,
        /// Payload of the request.
        data: &'a [u8],
    },
    /// Destination unreachable, quoting the offending datagram.
    DstUnreachable {
        /// Why (the ICMP code).
        reason: DstUnreachable,
        /// The offending datagram's IPv4 header. Emitted as a 20-byte header
        /// (options are not quoted) with its original total length.
        header: ipv4::Repr,
        /// The quoted start of its payload: emit passes the first
        /// [`QUOTED_PAYLOAD_LEN`] bytes (fewer if shorter); parse returns
        /// everything the sender quoted.
        data: &'a [u8],
    },
    /// Time exceeded, quoting the offending datagram.
    TimeExceeded {
        /// Why (the ICMP code).
        reason: TimeExceeded,
        /// The offending datagram's IPv4 header (see `DstUnreachable`).
        header: ipv4::Repr,
        /// The quoted start of its payload (see `DstUnreachable`).
        data: &'a [u8],
    },
}

/// Decode the IPv4 header quoted in an error message. The quoted datagram is
/// cut short by design, so its total length is not checked against the
/// buffer, nor is its checksum.
fn parse_quoted(quote: &[u8]) -> Result<(ipv4::Repr, &[u8])> {
    if quote.len() < ipv4::HEADER_LEN {
        return Err(Error::Truncated);
    }
    let inner = ipv4::Packet::new_unchecked(quote);
    let header_len = usize::from(inner.header_len());
    if inner.version() != 4 || header_len < ipv4::HEADER_LEN {
        return Err(Error::Malformed);
    }
    let total_len = usize::from(inner.total_len());
    let payload_len = total_len.checked_sub(header_len).ok_or(Error::Malformed)?;
    let data = quote.get(header_len..).ok_or(Error::Truncated)?;
    Ok((
        ipv4::Repr {
            src_addr: inner.src_addr(),
            dst_addr: inner.dst_addr(),
            next_header: inner.next_header(),
            payload_len,
            hop_limit: inner.hop_limit(),
        },
        data,
    ))
}

impl<'a> Repr<'a> {
    /// Decode and validate a message: `Truncated` below 8 bytes, `Checksum`
    /// when `verify_checksum` is true and the checksum fails, `Unsupported`
    /// for any type/code not represented above, and for error messages the
    /// quoted header must be a plausible IPv4 header (`Truncated` /
    /// `Malformed`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
        verify_checksum: bool,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = packet.clone().into_data();
        match (packet.msg_type(), packet.msg_code()) {
            (Message::EchoRequest, 0) => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::EchoReply, 0) => Ok(Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::DstUnreachable, code) => {
                let reason = DstUnreachable::from_code(code).ok_or(Error::Unsupported)?;
                let (header, data) = parse_quoted(data)?;
                Ok(Repr::DstUnreachable {
                    reason,
                    header,
                    data,
                })
            }
            (Message::TimeExceeded, code) => {
                let reason = TimeExceeded::from_code(code).ok_or(Error::Unsupported)?;
                let (header, data) = parse_quoted(data)?;
                Ok(Repr::TimeExceeded {
                    reason,
                    header,
                    data,
                })
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// Quoted payload bytes emitted for an error message.
    fn quoted(data: &[u8]) -> &[u8] {
        &data[..data.len().min(QUOTED_PAYLOAD_LEN)]
    }

    /// Bytes `emit` writes: header plus data (echo), or header plus a 20-byte
    /// quoted IPv4 header plus up to 8 quoted payload bytes (errors).
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::EchoRequest { data, .. } | Repr::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
            Repr::DstUnreachable { data, .. } | Repr::TimeExceeded { data, .. } => {
                HEADER_LEN + ipv4::HEADER_LEN + Self::quoted(data).len()
            }
        }
    }

    /// Write the message into `packet` (at least
    /// [`buffer_len`](Self::buffer_len) bytes) and fill the checksum over
    /// exactly `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let msg = if matches!(self, Repr::EchoRequest { .. }) {
                    Message::EchoRequest
                } else {
                    Message::EchoReply
                };
                packet.set_msg_type(msg);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                packet.data_mut()[..data.len()].copy_from_slice(data);
            }
            Repr::DstUnreachable {
                reason,
                header,
                data,
            } => {
                packet.set_msg_type(Message::DstUnreachable);
                packet.set_msg_code(reason.code());
                Self::emit_quote(packet, &header, data);
            }
            Repr::TimeExceeded {
                reason,
                header,
                data,
            } => {
                packet.set_msg_type(Message::TimeExceeded);
                packet.set_msg_code(reason.code());
                Self::emit_quote(packet, &header, data);
            }
        }
        let len = self.buffer_len();
        packet.set_checksum(0);
        let sum = checksum::data(&packet.buffer.as_ref()[..len]);
        packet.set_checksum(!sum);
    }

    fn emit_quote<T: AsRef<[u8]> + AsMut<[u8]>>(
        packet: &mut Packet<T>,
        header: &ipv4::Repr,
        data: &[u8],
    ) {
        packet.clear_unused();
        let quoted = Self::quoted(data);
        let out = packet.data_mut();
        let mut inner = ipv4::Packet::new_unchecked(&mut out[..ipv4::HEADER_LEN]);
        header.emit(&mut inner, 0);
        out[ipv4::HEADER_LEN..ipv4::HEADER_LEN + quoted.len()].copy_from_slice(quoted);
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMPv4 echo request id={ident} seq={seq_no} len={}",
                data.len()
            ),
            Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => write!(
                f,
                "ICMPv4 echo reply id={ident} seq={seq_no} len={}",
                data.len()
            ),
            Repr::DstUnreachable { reason, header, .. } => {
                write!(f, "ICMPv4 destination unreachable {reason:?} ({header})")
            }
            Repr::TimeExceeded { reason, header, .. } => {
                write!(f, "ICMPv4 time exceeded {reason:?} ({header})")
            }
        }
    }
}

/// The IPv4 protocol number of ICMP, for building the enclosing header.
pub const PROTOCOL: IpProtocol = IpProtocol::Icmp;
