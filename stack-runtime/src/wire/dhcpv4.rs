//! DHCPv4 messages (RFC 2131) with the options of RFC 2132 a client needs.
//!
//! A DHCP message is a BOOTP header (236 bytes), the magic cookie 99.130.83.99 and a list of
//! type-length-value options ending with option 255. [`Packet`] is the zero-copy view of the
//! fixed part with an [`OptionIter`] over the options; [`Repr`] is the decoded message with the
//! options the stack's client uses:
//!
//! | code | option | in [`Repr`] |
//! |------|--------|-------------|
//! | 1 | subnet mask | `subnet_mask` |
//! | 3 | router | `router` (the first one) |
//! | 6 | domain name servers | `dns_servers` (at most [`MAX_DNS_SERVERS`], the rest ignored) |
//! | 12 | host name | `host_name` |
//! | 50 | requested IP address | `requested_ip` |
//! | 51 | lease time | `lease_duration` |
//! | 53 | message type | `message_type` (required) |
//! | 54 | server identifier | `server_identifier` |
//! | 55 | parameter request list | `parameter_request_list` |
//! | 58, 59 | renewal (T1) and rebinding (T2) time | `renew_duration`, `rebind_duration` |
//! | 61 | client identifier | `client_identifier` |
//!
//! Pad options (0) are skipped, unknown options are skipped by their length, and parsing stops
//! at the end option (255) or at the end of the buffer. An option whose length runs past the
//! buffer, or a known option with an impossible length (a 3-byte subnet mask, in any of its
//! occurrences), is [`Error::Malformed`]; a buffer shorter than header and cookie is
//! [`Error::Truncated`]; a message for other hardware than Ethernet, or without a message type
//! (plain BOOTP), is [`Error::Unsupported`]. The first occurrence of an option wins. Options overloaded into the
//! `sname`/`file` fields (option 52) are not read.

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, EthernetAddress, Result};

/// The UDP port DHCP servers listen on.
pub const SERVER_PORT: u16 = 67;
/// The UDP port DHCP clients listen on.
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// DNS servers kept from one message; further ones are ignored.
pub const MAX_DNS_SERVERS: usize = 3;
/// Smallest message emitted: BOOTP relays and some servers drop shorter ones (RFC 1542).
pub const MIN_MESSAGE_LEN: usize = 300;

mod field {
    use core::ops::Range;
    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const HOPS: usize = 3;
    pub const XID: Range<usize> = 4..8;
    pub const SECS: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const SIADDR: Range<usize> = 20..24;
    pub const GIADDR: Range<usize> = 24..28;
    pub const CHADDR: Range<usize> = 28..44;
    pub const COOKIE: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

/// Length of the fixed part: BOOTP header and magic cookie.
pub const HEADER_LEN: usize = field::OPTIONS;

/// Option codes (RFC 2132) used by this module.
pub mod option {
    /// Padding.
    pub const PAD: u8 = 0;
    /// Subnet mask.
    pub const SUBNET_MASK: u8 = 1;
    /// Routers, in order of preference.
    pub const ROUTER: u8 = 3;
    /// Domain name servers, in order of preference.
    pub const DNS_SERVERS: u8 = 6;
    /// Host name of the client.
    pub const HOST_NAME: u8 = 12;
    /// Requested IP address.
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time, seconds.
    pub const LEASE_TIME: u8 = 51;
    /// DHCP message type.
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier.
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list.
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    /// Renewal (T1) time, seconds.
    pub const RENEWAL_TIME: u8 = 58;
    /// Rebinding (T2) time, seconds.
    pub const REBINDING_TIME: u8 = 59;
    /// Client identifier.
    pub const CLIENT_ID: u8 = 61;
    /// End of the options.
    pub const END: u8 = 255;
}

/// The BOOTP operation (`op` field).
const BOOTREQUEST: u8 = 1;
const BOOTREPLY: u8 = 2;
/// The broadcast bit of the `flags` field.
const FLAG_BROADCAST: u16 = 0x8000;

/// The DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Client looks for servers.
    Discover,
    /// Server offers an address.
    Offer,
    /// Client requests an offered address, or renews / rebinds its lease.
    Request,
    /// Client found the address in use.
    Decline,
    /// Server commits the lease.
    Ack,
    /// Server refuses the request.
    Nak,
    /// Client gives the address up.
    Release,
    /// Client asks for configuration only.
    Inform,
}

impl MessageType {
    /// Decode option 53's value; `None` for an unknown type.
    pub const fn from_u8(v: u8) -> Option<MessageType> {
        Some(match v {
            1 => MessageType::Discover,
            2 => MessageType::Offer,
            3 => MessageType::Request,
            4 => MessageType::Decline,
            5 => MessageType::Ack,
            6 => MessageType::Nak,
            7 => MessageType::Release,
            8 => MessageType::Inform,
            _ => return None,
        })
    }

    /// The value of option 53.
    pub const fn to_u8(self) -> u8 {
        match self {
            MessageType::Discover => 1,
            MessageType::Offer => 2,
            MessageType::Request => 3,
            MessageType::Decline => 4,
            MessageType::Ack => 5,
            MessageType::Nak => 6,
            MessageType::Release => 7,
            MessageType::Inform => 8,
        }
    }

    /// True for the messages a server sends (carried in BOOTREPLY).
    pub const fn is_reply(self) -> bool {
        matches!(
            self,
            MessageType::Offer | MessageType::Ack | MessageType::Nak
        )
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageType::Discover => "DHCPDISCOVER",
            MessageType::Offer => "DHCPOFFER",
            MessageType::Request => "DHCPREQUEST",
            MessageType::Decline => "DHCPDECLINE",
            MessageType::Ack => "DHCPACK",
            MessageType::Nak => "DHCPNAK",
            MessageType::Release => "DHCPRELEASE",
            MessageType::Inform => "DHCPINFORM",
        })
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

/// Four bytes of the fixed part at a constant offset.
#[inline(always)]
fn quad(h: &[u8; HEADER_LEN], at: usize) -> [u8; 4] {
    [h[at], h[at + 1], h[at + 2], h[at + 3]]
}

/// A zero-copy view of a DHCP message (the UDP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it (for emitting into a buffer sized with
    /// [`Repr::buffer_len`]); accessors panic on a buffer shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer: `Truncated` when shorter than header and cookie.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Truncated` when the buffer cannot hold the fixed header and the magic cookie.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// `op`: 1 for BOOTREQUEST, 2 for BOOTREPLY.
    pub fn opcode(&self) -> u8 {
        self.buffer.as_ref()[field::OP]
    }

    /// Hardware type (1: Ethernet).
    pub fn hardware_type(&self) -> u8 {
        self.buffer.as_ref()[field::HTYPE]
    }

    /// Hardware address length (6 for Ethernet).
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Relay hops.
    pub fn hops(&self) -> u8 {
        self.buffer.as_ref()[field::HOPS]
    }

    /// Transaction id chosen by the client.
    pub fn transaction_id(&self) -> u32 {
        be32(self.buffer.as_ref(), field::XID.start)
    }

    /// Seconds since the client began acquiring or renewing.
    pub fn secs(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SECS.start)
    }

    /// The `flags` field (only the broadcast bit is defined).
    pub fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// `ciaddr`: the client's current address (renewing, rebinding).
    pub fn client_ip(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::CIADDR.start)
    }

    /// `yiaddr`: the address offered or assigned to the client.
    pub fn your_ip(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::YIADDR.start)
    }

    /// `siaddr`: next server to use in bootstrap.
    pub fn server_ip(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::SIADDR.start)
    }

    /// `giaddr`: relay agent address.
    pub fn relay_agent_ip(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), field::GIADDR.start)
    }

    /// The first six bytes of `chaddr` (an Ethernet client's MAC address).
    pub fn client_hardware_addr(&self) -> EthernetAddress {
        let b = self.buffer.as_ref();
        EthernetAddress([b[28], b[29], b[30], b[31], b[32], b[33]])
    }

    /// The four bytes where the magic cookie belongs.
    pub fn magic_cookie(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[236], b[237], b[238], b[239]]
    }

    /// The option bytes after the cookie (up to the end of the buffer).
    pub fn options(&self) -> OptionIter<'_> {
        let b = self.buffer.as_ref();
        OptionIter::new(b.get(field::OPTIONS..).unwrap_or(&[]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Set `op`.
    pub fn set_opcode(&mut self, v: u8) {
        self.bytes_mut()[field::OP] = v;
    }

    /// Set the transaction id.
    pub fn set_transaction_id(&mut self, v: u32) {
        self.bytes_mut()[field::XID].copy_from_slice(&v.to_be_bytes());
    }

    /// Set `secs`.
    pub fn set_secs(&mut self, v: u16) {
        self.bytes_mut()[field::SECS].copy_from_slice(&v.to_be_bytes());
    }

    /// Set `flags`.
    pub fn set_flags(&mut self, v: u16) {
        self.bytes_mut()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }

    /// Set `ciaddr`.
    pub fn set_client_ip(&mut self, v: Ipv4Addr) {
        self.bytes_mut()[field::CIADDR].copy_from_slice(&v.octets());
    }

    /// Set `yiaddr`.
    pub fn set_your_ip(&mut self, v: Ipv4Addr) {
        self.bytes_mut()[field::YIADDR].copy_from_slice(&v.octets());
    }

    /// Set `siaddr`.
    pub fn set_server_ip(&mut self, v: Ipv4Addr) {
        self.bytes_mut()[field::SIADDR].copy_from_slice(&v.octets());
    }

    /// Set `giaddr`.
    pub fn set_relay_agent_ip(&mut self, v: Ipv4Addr) {
        self.bytes_mut()[field::GIADDR].copy_from_slice(&v.octets());
    }

    /// Set htype/hlen to Ethernet and `chaddr` to `mac` (zero padded).
    pub fn set_client_hardware_addr(&mut self, mac: EthernetAddress) {
        let b = self.bytes_mut();
        b[field::HTYPE] = 1;
        b[field::HLEN] = 6;
        b[field::CHADDR].fill(0);
        b[field::CHADDR.start..field::CHADDR.start + 6].copy_from_slice(&mac.0);
    }
}

/// Iterator over the options of a message: `(code, data)` pairs, pad skipped, stopping at the
/// end option. Yields `Err(Malformed)` once (then stops) when an option overruns the buffer.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> OptionIter<'a> {
    /// Iterate over raw option bytes.
    pub fn new(data: &'a [u8]) -> Self {
        OptionIter {
            data,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<(u8, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Some(&code) = self.data.get(self.pos) else {
                self.done = true;
                return None;
            };
            match code {
                option::PAD => self.pos += 1,
                option::END => {
                    self.done = true;
                    return None;
                }
                _ => {
                    let Some(&len) = self.data.get(self.pos + 1) else {
                        self.done = true;
                        return Some(Err(Error::Malformed));
                    };
                    let start = self.pos + 2;
                    let end = start + usize::from(len);
                    let Some(value) = self.data.get(start..end) else {
                        self.done = true;
                        return Some(Err(Error::Malformed));
                    };
                    self.pos = end;
                    return Some(Ok((code, value)));
                }
            }
        }
    }
}

/// A decoded DHCP message with the options of the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Option 53; decides `op` (requests are BOOTREQUEST, offers/acks/naks BOOTREPLY).
    pub message_type: MessageType,
    /// `xid`.
    pub transaction_id: u32,
    /// `secs`.
    pub secs: u16,
    /// The broadcast flag: the client cannot receive unicast before it has an address.
    pub broadcast: bool,
    /// `chaddr` (Ethernet).
    pub client_hardware_addr: EthernetAddress,
    /// `ciaddr`.
    pub client_ip: Ipv4Addr,
    /// `yiaddr`.
    pub your_ip: Ipv4Addr,
    /// `siaddr`.
    pub server_ip: Ipv4Addr,
    /// `giaddr`.
    pub relay_agent_ip: Ipv4Addr,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3 (first router only).
    pub router: Option<Ipv4Addr>,
    /// Option 6, at most [`MAX_DNS_SERVERS`], in order; `None` after the last.
    pub dns_servers: [Option<Ipv4Addr>; MAX_DNS_SERVERS],
    /// Option 51, seconds (`u32::MAX`: infinite).
    pub lease_duration: Option<u32>,
    /// Option 58 (T1), seconds.
    pub renew_duration: Option<u32>,
    /// Option 59 (T2), seconds.
    pub rebind_duration: Option<u32>,
    /// Option 54.
    pub server_identifier: Option<Ipv4Addr>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 55: the option codes the client asks for.
    pub parameter_request_list: Option<&'a [u8]>,
    /// Option 12 (1 to 255 bytes).
    pub host_name: Option<&'a [u8]>,
    /// Option 61 (type byte and identifier, at least 2 bytes).
    pub client_identifier: Option<&'a [u8]>,
}

impl<'a> Repr<'a> {
    /// A message of type `message_type` with every other field zero or absent.
    #[inline(never)]
    pub const fn new(
        message_type: MessageType,
        transaction_id: u32,
        mac: EthernetAddress,
    ) -> Repr<'a> {
        Repr {
            message_type,
            transaction_id,
            secs: 0,
            broadcast: false,
            client_hardware_addr: mac,
            client_ip: Ipv4Addr::UNSPECIFIED,
            your_ip: Ipv4Addr::UNSPECIFIED,
            server_ip: Ipv4Addr::UNSPECIFIED,
            relay_agent_ip: Ipv4Addr::UNSPECIFIED,
            subnet_mask: None,
            router: None,
            dns_servers: [None; MAX_DNS_SERVERS],
            lease_duration: None,
            renew_duration: None,
            rebind_duration: None,
            server_identifier: None,
            requested_ip: None,
            parameter_request_list: None,
            host_name: None,
            client_identifier: None,
        }
    }

    /// Decode and validate a message (see the module documentation for the rules).
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>> {
        let m = Parsed::parse(packet.buffer)?;
        let h = m.header;
        let c = field::CHADDR.start;
        let mac = [h[c], h[c + 1], h[c + 2], h[c + 3], h[c + 4], h[c + 5]];
        let mut repr = Repr::new(m.message_type, m.transaction_id(), EthernetAddress(mac));
        repr.secs = u16::from_be_bytes([h[field::SECS.start], h[field::SECS.start + 1]]);
        repr.broadcast = h[field::FLAGS.start] & (FLAG_BROADCAST >> 8) as u8 != 0;
        repr.client_ip = Ipv4Addr::from(quad(h, field::CIADDR.start));
        repr.your_ip = m.your_ip();
        repr.server_ip = Ipv4Addr::from(quad(h, field::SIADDR.start));
        repr.relay_agent_ip = Ipv4Addr::from(quad(h, field::GIADDR.start));
        repr.subnet_mask = m.addr(known::SUBNET_MASK);
        repr.router = m.addr(known::ROUTER);
        repr.dns_servers = m.dns_servers();
        repr.lease_duration = m.secs(known::LEASE_TIME);
        repr.renew_duration = m.secs(known::RENEWAL_TIME);
        repr.rebind_duration = m.secs(known::REBINDING_TIME);
        repr.server_identifier = m.addr(known::SERVER_ID);
        repr.requested_ip = m.addr(known::REQUESTED_IP);
        repr.parameter_request_list = m.options[known::PARAMETER_REQUEST_LIST];
        repr.host_name = m.options[known::HOST_NAME];
        repr.client_identifier = m.options[known::CLIENT_ID];
        Ok(repr)
    }

    /// Bytes of the options `emit` writes, end option included.
    fn options_len(&self) -> usize {
        let mut n = 3 + 1; // message type, end
        let addr_opt = |o: Option<Ipv4Addr>| if o.is_some() { 6 } else { 0 };
        let secs_opt = |o: Option<u32>| if o.is_some() { 6 } else { 0 };
        let bytes_opt = |o: Option<&[u8]>| o.map_or(0, |d| 2 + d.len().min(255));
        n += addr_opt(self.subnet_mask) + addr_opt(self.router);
        let dns = self.dns_servers.iter().flatten().count();
        if dns > 0 {
            n += 2 + 4 * dns;
        }
        n += secs_opt(self.lease_duration)
            + secs_opt(self.renew_duration)
            + secs_opt(self.rebind_duration);
        n += addr_opt(self.server_identifier) + addr_opt(self.requested_ip);
        n += bytes_opt(self.parameter_request_list)
            + bytes_opt(self.host_name)
            + bytes_opt(self.client_identifier);
        n
    }

    /// Bytes `emit` writes: header, cookie, options, padded to [`MIN_MESSAGE_LEN`].
    pub fn buffer_len(&self) -> usize {
        (HEADER_LEN + self.options_len()).max(MIN_MESSAGE_LEN)
    }

    /// Write the message into `packet`, which must hold [`buffer_len`](Self::buffer_len)
    /// bytes (anything after them is left alone). Byte options longer than 255 bytes are cut
    /// to 255.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let len = self.buffer_len();
        let buf = &mut packet.buffer.as_mut()[..len];
        buf.fill(0);
        // The fixed part as an array: constant offsets, no bounds checks.
        let Some((h, options)) = buf.split_first_chunk_mut::<HEADER_LEN>() else {
            return;
        };
        let op = if self.message_type.is_reply() {
            BOOTREPLY
        } else {
            BOOTREQUEST
        };
        let flags = if self.broadcast { FLAG_BROADCAST } else { 0 };
        // Whole-array stores: slice copies stay calls at opt-level "z".
        let [x0, x1, x2, x3] = self.transaction_id.to_be_bytes();
        let [s0, s1] = self.secs.to_be_bytes();
        let [f0, f1] = flags.to_be_bytes();
        let [c0, c1, c2, c3] = self.client_ip.octets();
        let [y0, y1, y2, y3] = self.your_ip.octets();
        let [v0, v1, v2, v3] = self.server_ip.octets();
        let [g0, g1, g2, g3] = self.relay_agent_ip.octets();
        let [m0, m1, m2, m3, m4, m5] = self.client_hardware_addr.0;
        if let Some(fixed) = h.first_chunk_mut::<{ field::CHADDR.start + 6 }>() {
            *fixed = [
                op, 1, 6, 0, x0, x1, x2, x3, s0, s1, f0, f1, c0, c1, c2, c3, y0, y1, y2, y3, v0,
                v1, v2, v3, g0, g1, g2, g3, m0, m1, m2, m3, m4, m5,
            ];
        }
        if let Some(cookie) = h.last_chunk_mut::<4>() {
            *cookie = MAGIC_COOKIE;
        }
        let mut w = OptionWriter {
            buf: options,
            pos: 0,
        };
        w.put(option::MESSAGE_TYPE, &[self.message_type.to_u8()]);
        if let Some(id) = self.client_identifier {
            w.put(option::CLIENT_ID, id);
        }
        if let Some(a) = self.requested_ip {
            w.put(option::REQUESTED_IP, &a.octets());
        }
        if let Some(a) = self.server_identifier {
            w.put(option::SERVER_ID, &a.octets());
        }
        if let Some(h) = self.host_name {
            w.put(option::HOST_NAME, h);
        }
        if let Some(l) = self.parameter_request_list {
            w.put(option::PARAMETER_REQUEST_LIST, l);
        }
        if let Some(a) = self.subnet_mask {
            w.put(option::SUBNET_MASK, &a.octets());
        }
        if let Some(a) = self.router {
            w.put(option::ROUTER, &a.octets());
        }
        let dns = self.dns_servers.iter().flatten().count();
        if dns > 0 {
            let mut list = [0u8; 4 * MAX_DNS_SERVERS];
            for (chunk, a) in list
                .chunks_exact_mut(4)
                .zip(self.dns_servers.iter().flatten())
            {
                chunk.copy_from_slice(&a.octets());
            }
            w.put(option::DNS_SERVERS, &list[..4 * dns]);
        }
        for (code, v) in [
            (option::LEASE_TIME, self.lease_duration),
            (option::RENEWAL_TIME, self.renew_duration),
            (option::REBINDING_TIME, self.rebind_duration),
        ] {
            if let Some(v) = v {
                w.put(code, &v.to_be_bytes());
            }
        }
        w.end();
    }
}

/// Slots of the options [`Parsed`] keeps, in the order of `KNOWN`.
pub(crate) mod known {
    pub const MESSAGE_TYPE: usize = 0;
    pub const SUBNET_MASK: usize = 1;
    pub const ROUTER: usize = 2;
    pub const DNS_SERVERS: usize = 3;
    pub const LEASE_TIME: usize = 4;
    pub const RENEWAL_TIME: usize = 5;
    pub const REBINDING_TIME: usize = 6;
    pub const SERVER_ID: usize = 7;
    pub const REQUESTED_IP: usize = 8;
    pub const PARAMETER_REQUEST_LIST: usize = 9;
    pub const HOST_NAME: usize = 10;
    pub const CLIENT_ID: usize = 11;
    pub const COUNT: usize = 12;
}

/// The options of the module table with their length rules, in [`known`] order:
/// (code, shortest, longest, low length bits that must be zero). Lists of addresses are a
/// non-empty multiple of 4; a client identifier is a type byte and at least one byte more.
const KNOWN: [(u8, u8, u8, u8); known::COUNT] = [
    (option::MESSAGE_TYPE, 1, 1, 0),
    (option::SUBNET_MASK, 4, 4, 0),
    (option::ROUTER, 4, 255, 3),
    (option::DNS_SERVERS, 4, 255, 3),
    (option::LEASE_TIME, 4, 4, 0),
    (option::RENEWAL_TIME, 4, 4, 0),
    (option::REBINDING_TIME, 4, 4, 0),
    (option::SERVER_ID, 4, 4, 0),
    (option::REQUESTED_IP, 4, 4, 0),
    (option::PARAMETER_REQUEST_LIST, 1, 255, 0),
    (option::HOST_NAME, 1, 255, 0),
    (option::CLIENT_ID, 2, 255, 0),
];

/// A validated message: the fixed part and the value of the first occurrence of each option
/// of the module table (every occurrence length-checked). What [`Repr::parse`] decodes, and
/// all the client reads, without building a whole [`Repr`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parsed<'a> {
    /// The fixed part.
    pub header: &'a [u8; HEADER_LEN],
    /// Option 53.
    pub message_type: MessageType,
    /// Values of the options, in [`known`] order.
    pub options: [Option<&'a [u8]>; known::COUNT],
}

impl<'a> Parsed<'a> {
    /// Validate `bytes` by the rules of the module documentation.
    #[inline(never)]
    pub fn parse(bytes: &'a [u8]) -> Result<Parsed<'a>> {
        let (header, rest) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(Error::Truncated)?;
        if header[field::HTYPE] != 1 || header[field::HLEN] != 6 {
            return Err(Error::Unsupported);
        }
        if quad(header, field::COOKIE.start) != MAGIC_COOKIE {
            return Err(Error::Malformed);
        }
        let mut options = [None; known::COUNT];
        for item in OptionIter::new(rest) {
            let (code, data) = item?;
            let Some(i) = KNOWN.iter().position(|k| k.0 == code) else {
                continue;
            };
            let (_, min, max, mask) = KNOWN[i];
            let len = data.len();
            if len < usize::from(min) || len > usize::from(max) || len & usize::from(mask) != 0 {
                return Err(Error::Malformed);
            }
            if let Some(slot @ None) = options.get_mut(i) {
                if i == known::MESSAGE_TYPE
                    && data
                        .first()
                        .and_then(|&t| MessageType::from_u8(t))
                        .is_none()
                {
                    return Err(Error::Unsupported);
                }
                *slot = Some(data);
            }
        }
        // Without option 53 this is plain BOOTP, which the stack does not speak.
        let message_type = options[known::MESSAGE_TYPE]
            .and_then(|t| MessageType::from_u8(*t.first()?))
            .ok_or(Error::Unsupported)?;
        let expected_op = if message_type.is_reply() {
            BOOTREPLY
        } else {
            BOOTREQUEST
        };
        if header[field::OP] != expected_op {
            return Err(Error::Malformed);
        }
        Ok(Parsed {
            header,
            message_type,
            options,
        })
    }

    /// `xid`.
    pub fn transaction_id(&self) -> u32 {
        u32::from_be_bytes(quad(self.header, field::XID.start))
    }

    /// `yiaddr`.
    pub fn your_ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(quad(self.header, field::YIADDR.start))
    }

    /// True when `chaddr` starts with `mac`.
    #[cfg(any(test, feature = "dhcpv4"))]
    pub fn is_for(&self, mac: EthernetAddress) -> bool {
        self.header
            .get(field::CHADDR.start..field::CHADDR.start + 6)
            == Some(&mac.0[..])
    }

    /// The first address of option slot `i` (a single address or a list).
    #[inline(never)]
    pub fn addr(&self, i: usize) -> Option<Ipv4Addr> {
        let a = self.options.get(i).copied().flatten()?.first_chunk::<4>()?;
        Some(Ipv4Addr::from(*a))
    }

    /// The seconds of option slot `i`.
    pub fn secs(&self, i: usize) -> Option<u32> {
        self.addr(i).map(Ipv4Addr::to_bits)
    }

    /// The first [`MAX_DNS_SERVERS`] addresses of option 6.
    pub fn dns_servers(&self) -> [Option<Ipv4Addr>; MAX_DNS_SERVERS] {
        let mut out = [None; MAX_DNS_SERVERS];
        let list = self.options[known::DNS_SERVERS].unwrap_or(&[]);
        for (slot, a) in out.iter_mut().zip(list.as_chunks::<4>().0) {
            *slot = Some(Ipv4Addr::from(*a));
        }
        out
    }
}

/// Writes options into a buffer sized by `options_len`.
struct OptionWriter<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl OptionWriter<'_> {
    #[inline(never)]
    fn put(&mut self, code: u8, data: &[u8]) {
        let data = &data[..data.len().min(255)];
        let end = self.pos + 2 + data.len();
        if let Some(out) = self.buf.get_mut(self.pos..end) {
            out[0] = code;
            out[1] = data.len() as u8;
            out[2..].copy_from_slice(data);
            self.pos = end;
        }
    }

    fn end(&mut self) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = option::END;
            self.pos += 1;
        }
    }
}

impl fmt::Display for Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} xid={:#010x} chaddr={}",
            self.message_type, self.transaction_id, self.client_hardware_addr
        )?;
        if !self.your_ip.is_unspecified() {
            write!(f, " yiaddr={}", self.your_ip)?;
        }
        if let Some(s) = self.server_identifier {
            write!(f, " server={s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::vec::Vec;

    const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

    fn full_repr() -> Repr<'static> {
        let mut r = Repr::new(MessageType::Ack, 0x1234_5678, MAC);
        r.your_ip = Ipv4Addr::new(192, 0, 2, 50);
        r.server_ip = Ipv4Addr::new(192, 0, 2, 1);
        r.subnet_mask = Some(Ipv4Addr::new(255, 255, 255, 0));
        r.router = Some(Ipv4Addr::new(192, 0, 2, 1));
        r.dns_servers = [
            Some(Ipv4Addr::new(192, 0, 2, 1)),
            Some(Ipv4Addr::new(198, 51, 100, 1)),
            None,
        ];
        r.lease_duration = Some(120);
        r.renew_duration = Some(60);
        r.rebind_duration = Some(105);
        r.server_identifier = Some(Ipv4Addr::new(192, 0, 2, 1));
        r.host_name = Some(b"stack");
        r
    }

    #[test]
    fn emit_then_parse_round_trips() {
        let mut reprs = Vec::new();
        reprs.push(full_repr());
        let mut req = Repr::new(MessageType::Request, 7, MAC);
        req.broadcast = true;
        req.requested_ip = Some(Ipv4Addr::new(192, 0, 2, 50));
        req.server_identifier = Some(Ipv4Addr::new(192, 0, 2, 1));
        req.parameter_request_list = Some(&[1, 3, 6, 51, 58, 59]);
        req.client_identifier = Some(&[1, 2, 0, 0, 0, 0, 2]);
        req.host_name = Some(b"device");
        reprs.push(req);
        reprs.push(Repr::new(MessageType::Discover, 9, MAC));
        reprs.push(Repr::new(MessageType::Nak, 9, MAC));
        for r in reprs {
            let mut buf = [0xaau8; 600];
            let len = r.buffer_len();
            assert!(len >= MIN_MESSAGE_LEN);
            r.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let p = Packet::new_checked(&buf[..len]).unwrap();
            assert_eq!(Repr::parse(&p).unwrap(), r);
            assert_eq!(buf[len], 0xaa, "emit stays within buffer_len");
        }
    }

    // Captured from dnsmasq 2.90 (Debian 12) inside a network namespace made for the purpose
    // (`ip netns add`, a TAP `tap0` with 192.0.2.1/24 on the kernel side), dnsmasq run there
    // with `--interface=tap0 --bind-interfaces --dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m
    // --dhcp-option=option:router,192.0.2.1 --dhcp-option=option:dns-server,192.0.2.1
    // --dhcp-option=58,10 --dhcp-option=59,20 --dhcp-authoritative --local=/example/
    // --local-ttl=60 --addn-hosts=hosts`, and host-services started there with `--tap tap0
    // --dhcp --resolve device.example --resolve nope.example --pcap cap.pcap`; the UDP payloads
    // were extracted from the pcap with a few lines of Python (`struct`, no copying by hand).

    /// dnsmasq's DHCPOFFER (xid 0xc3ed964a, 192.0.2.56, lease 120 s, T1 10 s, T2 20 s).
    pub(crate) const DNSMASQ_OFFER: &str = "\
        02010600c3ed964a0000000000000000c0000238c00002010000000002000000000200000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000638253633501023604c00002013304000000783a040000000a3b0400\
        0000140104ffffff001c04c00002ff0604c00002010304c0000201ff0000000000000000";

    /// dnsmasq's DHCPACK to the REQUEST for that offer (`secs` = 3).
    pub(crate) const DNSMASQ_ACK: &str = "\
        02010600c3ed964a0003000000000000c0000238c00002010000000002000000000200000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        00000000000000000000000000000000638253633501053604c00002013304000000783a040000000a3b0400\
        0000140104ffffff001c04c00002ff0604c00002010304c0000201ff0000000000000000";

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|c| u8::from_str_radix(core::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn captured_dnsmasq_messages_parse() {
        for (text, kind) in [
            (DNSMASQ_OFFER, MessageType::Offer),
            (DNSMASQ_ACK, MessageType::Ack),
        ] {
            let bytes = hex(text);
            let p = Packet::new_checked(&bytes[..]).unwrap();
            let r = Repr::parse(&p).unwrap();
            assert_eq!(r.message_type, kind);
            assert_eq!(r.transaction_id, 0xc3ed_964a);
            assert_eq!(r.your_ip, Ipv4Addr::new(192, 0, 2, 56));
            assert_eq!(r.server_identifier, Some(Ipv4Addr::new(192, 0, 2, 1)));
            assert_eq!(r.lease_duration, Some(120));
            assert_eq!(r.renew_duration, Some(10));
            assert_eq!(r.rebind_duration, Some(20));
            assert_eq!(r.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
            assert_eq!(r.router, Some(Ipv4Addr::new(192, 0, 2, 1)));
            assert_eq!(
                r.dns_servers,
                [Some(Ipv4Addr::new(192, 0, 2, 1)), None, None]
            );
            assert_eq!(r.client_hardware_addr, MAC);
            assert!(!r.broadcast);
            // Re-emitting gives the same options (dnsmasq's order differs, and it sends option
            // 28, broadcast address, which the Repr does not keep).
            let mut again = std::vec![0u8; r.buffer_len()];
            r.emit(&mut Packet::new_unchecked(&mut again[..]));
            let back = Packet::new_checked(&again[..]).unwrap();
            assert_eq!(Repr::parse(&back).unwrap(), r);
        }
    }

    fn with_options(options: &[u8]) -> Vec<u8> {
        let mut r = Repr::new(MessageType::Offer, 1, MAC);
        r.your_ip = Ipv4Addr::new(192, 0, 2, 50);
        let mut buf = std::vec![0u8; HEADER_LEN];
        let mut full = std::vec![0u8; r.buffer_len()];
        r.emit(&mut Packet::new_unchecked(&mut full[..]));
        buf.copy_from_slice(&full[..HEADER_LEN]);
        buf.extend_from_slice(options);
        buf
    }

    #[test]
    fn options_are_checked() {
        let parse = |opts: &[u8]| {
            let b = with_options(opts);
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()).map(|r| r.lease_duration)
        };
        // Unknown options and pads are skipped; end is optional at the end of the buffer.
        assert_eq!(
            parse(&[0, 0, 53, 1, 2, 200, 3, 1, 2, 3, 51, 4, 0, 0, 0, 9]),
            Ok(Some(9))
        );
        // Overrunning option.
        assert_eq!(parse(&[53, 1, 2, 51, 9, 0, 0]), Err(Error::Malformed));
        // Length byte missing.
        assert_eq!(parse(&[53, 1, 2, 51]), Err(Error::Malformed));
        // Wrong fixed length.
        assert_eq!(
            parse(&[53, 1, 2, 1, 3, 255, 255, 255]),
            Err(Error::Malformed)
        );
        assert_eq!(parse(&[53, 2, 2, 2]), Err(Error::Malformed));
        assert_eq!(
            parse(&[53, 1, 2, 6, 5, 1, 2, 3, 4, 5]),
            Err(Error::Malformed)
        );
        // No message type: BOOTP.
        assert_eq!(parse(&[51, 4, 0, 0, 0, 9, 255]), Err(Error::Unsupported));
        assert_eq!(parse(&[53, 1, 99, 255]), Err(Error::Unsupported));
        // A request type in a BOOTREPLY.
        assert_eq!(parse(&[53, 1, 3, 255]), Err(Error::Malformed));
        // Options after the end option are not read.
        assert_eq!(parse(&[53, 1, 2, 255, 51, 9]), Ok(None));
        // Every occurrence is checked, the first one wins.
        assert_eq!(
            parse(&[53, 1, 2, 51, 4, 0, 0, 0, 9, 51, 2, 0, 0]),
            Err(Error::Malformed)
        );
        assert_eq!(
            parse(&[53, 1, 2, 51, 4, 0, 0, 0, 9, 51, 4, 0, 0, 0, 7, 53, 1, 99]),
            Ok(Some(9))
        );
        assert_eq!(parse(&[53, 1, 2, 61, 1, 1]), Err(Error::Malformed));
        assert_eq!(parse(&[53, 1, 2, 12, 0]), Err(Error::Malformed));
        assert_eq!(parse(&[53, 1, 2, 3, 0]), Err(Error::Malformed));
        // More DNS servers than kept.
        let b = with_options(&[
            53, 1, 2, 6, 16, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
        ]);
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.dns_servers[2], Some(Ipv4Addr::new(3, 3, 3, 3)));
        // Bad cookie, bad hardware, truncated.
        let mut b = with_options(&[53, 1, 2, 255]);
        b[236] = 0;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Malformed)
        );
        let mut b = with_options(&[53, 1, 2, 255]);
        b[1] = 6;
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Err(Error::Unsupported)
        );
        assert_eq!(Packet::new_checked(&b[..239]).err(), Some(Error::Truncated));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = Repr::parse(&p);
                for _ in p.options() {}
            }
        }

        #[test]
        fn parse_never_panics_on_options(opts in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let b = with_options(&opts);
            let _ = Repr::parse(&Packet::new_checked(&b[..]).unwrap());
        }
    }
}
