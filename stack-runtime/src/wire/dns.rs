//! DNS messages (RFC 1035): header, questions and resource records, with name compression.
//!
//! [`Packet`] is the zero-copy view of the 12-byte header; [`Message::parse`] validates a
//! whole response once (every name of every section, every count) and then hands out its
//! [`Question`]s and [`Record`]s. [`QueryRepr`] emits a query. Names are decoded into a
//! [`Name`]: the uncompressed wire form, lower-cased, at most 255 bytes.
//!
//! Everything from the wire is hostile. Parsing never panics, never loops, and rejects, each
//! with its own [`ParseError`] so the resolver can count it:
//!
//! * compression pointers that point forwards ([`ParseError::ForwardPointer`]) or back into
//!   the labels of the same run they end, which would repeat forever
//!   ([`ParseError::PointerLoop`]): a pointer must point strictly before the first byte of the
//!   run of labels it ends, so every hop goes backwards and a name takes at most
//!   [`MAX_POINTER_HOPS`] hops;
//! * names longer than 255 bytes ([`ParseError::NameTooLong`]) and label lengths over 63 (the
//!   reserved `01`/`10` label types included: [`ParseError::LabelTooLong`]);
//! * section counts that promise more records than the message holds
//!   ([`ParseError::CountOverrun`]), and records cut off mid-way ([`ParseError::Truncated`]);
//! * responses with the TC bit ([`ParseError::TruncatedFlag`]): the answer is incomplete and
//!   this stack has no DNS over TCP.
//!
//! `From<ParseError> for Error` maps them onto the four [`Error`] kinds of the wire module.

use core::fmt;
use core::net::Ipv4Addr;

use super::Error;

/// The UDP port of DNS servers.
pub const SERVER_PORT: u16 = 53;
/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// Longest name in wire form, length bytes and root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most compression pointers followed in one name. Every pointer must go backwards, so this is
/// a second, independent bound.
pub const MAX_POINTER_HOPS: usize = 32;

/// Resource record types used by the resolver.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Canonical name (alias).
    pub const CNAME: u16 = 5;
    /// IPv6 address (parsed and skipped until IPv6 lands).
    pub const AAAA: u16 = 28;
}

/// The Internet class.
pub const CLASS_IN: u16 = 1;

/// Why a DNS message was rejected. Finer than [`Error`], so each cause gets its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// Shorter than the header, or a record or name runs past the end of the message.
    Truncated,
    /// A section count promises more records than the message holds.
    CountOverrun,
    /// A compression pointer points into the labels it ends (or at itself): an endless name.
    PointerLoop,
    /// A compression pointer points forwards.
    ForwardPointer,
    /// A name longer than 255 bytes.
    NameTooLong,
    /// A label longer than 63 bytes (or of a reserved label type).
    LabelTooLong,
    /// The TC (truncation) bit is set: the server could not fit the answer in a datagram.
    TruncatedFlag,
    /// A field with an impossible value (an A record that is not 4 bytes, a query where a
    /// response belongs).
    Malformed,
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        match e {
            ParseError::Truncated | ParseError::CountOverrun | ParseError::TruncatedFlag => {
                Error::Truncated
            }
            _ => Error::Malformed,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Truncated => "message truncated",
            ParseError::CountOverrun => "record count overruns the message",
            ParseError::PointerLoop => "compression pointer loop",
            ParseError::ForwardPointer => "forward compression pointer",
            ParseError::NameTooLong => "name longer than 255 bytes",
            ParseError::LabelTooLong => "label longer than 63 bytes",
            ParseError::TruncatedFlag => "truncated response (TC bit)",
            ParseError::Malformed => "malformed message",
        })
    }
}

impl core::error::Error for ParseError {}

/// The response code of a DNS header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// No error.
    NoError,
    /// The server could not interpret the query.
    FormErr,
    /// The server failed.
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// Query kind not implemented.
    NotImp,
    /// The server refuses to answer.
    Refused,
    /// Any other code.
    Other(u8),
}

impl From<u8> for Rcode {
    fn from(v: u8) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            v => Rcode::Other(v),
        }
    }
}

mod field {
    use core::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
    pub const NSCOUNT: Range<usize> = 8..10;
    pub const ARCOUNT: Range<usize> = 10..12;
}

const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// A zero-copy view of a DNS message header (and the message after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking; accessors panic below [`HEADER_LEN`] bytes.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a received buffer: `Truncated` when shorter than the header.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, ParseError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        Ok(Packet { buffer })
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Query id.
    pub fn id(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ID.start)
    }

    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, rcode).
    pub fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// QR: a response.
    pub fn is_response(&self) -> bool {
        self.flags() & FLAG_QR != 0
    }

    /// The opcode (0: standard query).
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }

    /// AA: authoritative answer.
    pub fn authoritative(&self) -> bool {
        self.flags() & FLAG_AA != 0
    }

    /// TC: the message was truncated.
    pub fn truncated(&self) -> bool {
        self.flags() & FLAG_TC != 0
    }

    /// RD: recursion desired.
    pub fn recursion_desired(&self) -> bool {
        self.flags() & FLAG_RD != 0
    }

    /// RA: recursion available.
    pub fn recursion_available(&self) -> bool {
        self.flags() & FLAG_RA != 0
    }

    /// The response code.
    pub fn rcode(&self) -> Rcode {
        Rcode::from((self.flags() & 0xf) as u8)
    }

    /// Number of questions.
    pub fn question_count(&self) -> u16 {
        be16(self.buffer.as_ref(), field::QDCOUNT.start)
    }

    /// Number of answer records.
    pub fn answer_count(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ANCOUNT.start)
    }

    /// Number of authority records.
    pub fn authority_count(&self) -> u16 {
        be16(self.buffer.as_ref(), field::NSCOUNT.start)
    }

    /// Number of additional records.
    pub fn additional_count(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ARCOUNT.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the id.
    pub fn set_id(&mut self, v: u16) {
        self.buffer.as_mut()[field::ID].copy_from_slice(&v.to_be_bytes());
    }

    /// Set the flags word.
    pub fn set_flags(&mut self, v: u16) {
        self.buffer.as_mut()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }

    /// Set the four section counts.
    pub fn set_counts(&mut self, qd: u16, an: u16, ns: u16, ar: u16) {
        let b = self.buffer.as_mut();
        b[field::QDCOUNT].copy_from_slice(&qd.to_be_bytes());
        b[field::ANCOUNT].copy_from_slice(&an.to_be_bytes());
        b[field::NSCOUNT].copy_from_slice(&ns.to_be_bytes());
        b[field::ARCOUNT].copy_from_slice(&ar.to_be_bytes());
    }
}

/// Why a textual name cannot be queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// Empty name, or an empty label (`a..b`).
    EmptyLabel,
    /// A label over 63 bytes.
    LabelTooLong,
    /// Over 255 bytes in wire form.
    NameTooLong,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::EmptyLabel => "empty label in name",
            NameError::LabelTooLong => "label longer than 63 bytes",
            NameError::NameTooLong => "name longer than 255 bytes",
        })
    }
}

impl core::error::Error for NameError {}

/// A domain name in uncompressed wire form (length-prefixed labels and the root label),
/// ASCII lower-cased so that `==` is the case-insensitive comparison of RFC 1035 §2.3.3.
/// Bytes past the wire form are not part of the name (`==` and hashing ignore them).
#[derive(Clone, Copy)]
pub struct Name {
    bytes: [u8; MAX_NAME_LEN],
    len: u8,
}

impl Name {
    /// The root name (a single zero byte).
    pub const ROOT: Name = {
        let bytes = [0u8; MAX_NAME_LEN];
        Name { bytes, len: 1 }
    };

    /// Parse `device.example` (a trailing dot is allowed).
    pub fn from_text(text: &str) -> Result<Name, NameError> {
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        let mut name = Name::ROOT;
        let mut pos = 0usize;
        for label in text.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel);
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong);
            }
            // Room for this label and the root byte.
            if pos + 1 + label.len() + 1 > MAX_NAME_LEN {
                return Err(NameError::NameTooLong);
            }
            name.bytes[pos] = label.len() as u8;
            for (o, b) in name.bytes[pos + 1..].iter_mut().zip(label.bytes()) {
                *o = b.to_ascii_lowercase();
            }
            pos += 1 + label.len();
        }
        name.bytes[pos] = 0;
        name.len = (pos + 1) as u8;
        Ok(name)
    }

    /// The wire form, root label included.
    pub fn as_wire(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Length of the wire form.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_wire() == other.as_wire()
    }
}

impl Eq for Name {}

impl core::hash::Hash for Name {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_wire().hash(state);
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.as_wire();
        let mut pos = 0;
        let mut first = true;
        while let Some(&l) = w.get(pos) {
            if l == 0 {
                break;
            }
            if !first {
                f.write_str(".")?;
            }
            first = false;
            for &b in w.get(pos + 1..pos + 1 + usize::from(l)).unwrap_or(&[]) {
                if b.is_ascii_graphic() && b != b'.' {
                    write!(f, "{}", b as char)?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
            pos += 1 + usize::from(l);
        }
        if first {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

/// Decode the (possibly compressed) name at `offset` of `msg`. Returns the name and the offset
/// just after it in the original position (after the first pointer, if any).
pub fn read_name(msg: &[u8], offset: usize) -> Result<(Name, usize), ParseError> {
    let mut name = Name::ROOT;
    let end = read_name_into(msg, offset, &mut name)?;
    Ok((name, end))
}

/// [`read_name`] into a caller's `name` (no 256-byte return value to copy). On error `name`
/// holds garbage.
#[inline(never)]
fn read_name_into(msg: &[u8], offset: usize, name: &mut Name) -> Result<usize, ParseError> {
    let mut out = 0usize;
    let mut pos = offset;
    // Start of the run of labels being read: a pointer must point strictly before it.
    let mut run_start = offset;
    let mut end = 0;
    let mut hops = 0usize;
    loop {
        let &len = msg.get(pos).ok_or(ParseError::Truncated)?;
        let l = usize::from(len);
        if len >= 0xc0 {
            let &low = msg.get(pos + 1).ok_or(ParseError::Truncated)?;
            let target = ((l & 0x3f) << 8) | usize::from(low);
            if end == 0 {
                end = pos + 2;
            }
            if target > pos {
                return Err(ParseError::ForwardPointer);
            }
            hops += 1;
            if target >= run_start || hops > MAX_POINTER_HOPS {
                return Err(ParseError::PointerLoop);
            }
            pos = target;
            run_start = target;
        } else if l > MAX_LABEL_LEN {
            // 0x40 and 0x80: label lengths 64..=191, reserved label types.
            return Err(ParseError::LabelTooLong);
        } else {
            // This label, plus the root label that must still follow (or is this one).
            let Some(o) = name.bytes.get_mut(out..out + 1 + l + usize::from(l != 0)) else {
                return Err(ParseError::NameTooLong);
            };
            let label = msg.get(pos..pos + 1 + l).ok_or(ParseError::Truncated)?;
            for (o, b) in o.iter_mut().zip(label) {
                *o = b.to_ascii_lowercase();
            }
            out += 1 + l;
            pos += 1 + l;
            if l == 0 {
                name.len = out as u8;
                return Ok(if end == 0 { pos } else { end });
            }
        }
    }
}

/// A question: name, type and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The record type asked for.
    pub qtype: u16,
    /// The class (1: IN).
    pub qclass: u16,
}

/// The data of a resource record, for the types the resolver reads.
// A CNAME target is a whole `Name` (256 bytes): records are short-lived values on the stack,
// never stored in arrays, so the size difference costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordData<'a> {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address (kept as bytes until IPv6 lands).
    Aaaa([u8; 16]),
    /// An alias target.
    Cname(Name),
    /// Any other type, raw.
    Other(&'a [u8]),
}

/// A resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The owner name.
    pub name: Name,
    /// The type.
    pub rtype: u16,
    /// The class.
    pub class: u16,
    /// Time to live, seconds (RFC 2181 §8: values with the top bit set are read as 0).
    pub ttl: u32,
    /// The data.
    pub data: RecordData<'a>,
}

/// A validated DNS response (or query): header, then the records on demand.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    packet: Packet<&'a [u8]>,
    /// Offset of the first answer record.
    answers_at: usize,
}

impl<'a> Message<'a> {
    /// Validate the whole message: header, every question and record of all four sections.
    /// A response with the TC bit is rejected ([`ParseError::TruncatedFlag`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let scan = scan(bytes, &Name::ROOT)?;
        Ok(Message {
            packet: Packet::new_unchecked(bytes),
            answers_at: scan.answers_at,
        })
    }

    /// The header view.
    pub fn header(&self) -> &Packet<&'a [u8]> {
        &self.packet
    }

    /// The first question, if any.
    pub fn question(&self) -> Option<Question> {
        if self.packet.question_count() == 0 {
            return None;
        }
        read_question(self.packet.buffer, HEADER_LEN)
            .ok()
            .map(|(q, _)| q)
    }

    /// The answer section.
    pub fn answers(&self) -> Records<'a> {
        Records {
            msg: self.packet.buffer,
            pos: self.answers_at,
            left: self.packet.answer_count(),
        }
    }
}

/// Iterator over the records of the answer section of a validated [`Message`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        match read_record(self.msg, self.pos) {
            Ok((r, next)) => {
                self.pos = next;
                Some(r)
            }
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }
}

/// What one pass over a response found (see [`scan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The header's flags word.
    pub flags: u16,
    /// Offset of the first answer record.
    pub answers_at: usize,
    /// The first question asks for the A record of the name scanned for.
    pub question_matches: bool,
    /// That name's A record (CNAMEs in the answer section followed): address and TTL.
    pub found: Option<(Ipv4Addr, u32)>,
}

/// Validate a whole message as [`Message::parse`] does and, in the same pass, find what the
/// resolver wants to know about `qname`: whether the first question is its A query, and its
/// address, following CNAME records in the answer section in order.
pub(crate) fn scan(msg: &[u8], qname: &Name) -> Result<Scan, ParseError> {
    let (h, _) = msg
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(ParseError::Truncated)?;
    let flags = u16::from_be_bytes([h[2], h[3]]);
    if flags & FLAG_TC != 0 {
        return Err(ParseError::TruncatedFlag);
    }
    let count = |at: usize| usize::from(u16::from_be_bytes([h[at], h[at + 1]]));
    let questions = count(4);
    let answers = questions + count(6);
    let all = answers + count(8) + count(10);
    // The smallest question is 5 bytes (root name, type, class), the smallest record 11:
    // counts that cannot fit are rejected before reading anything (at most 2.5 MB: no
    // overflow even with a 32-bit usize).
    if HEADER_LEN + 5 * questions + 11 * (all - questions) > msg.len() {
        return Err(ParseError::CountOverrun);
    }
    let mut scan = Scan {
        flags,
        answers_at: HEADER_LEN,
        question_matches: false,
        found: None,
    };
    let mut name = Name::ROOT;
    let mut target = *qname;
    let mut pos = HEADER_LEN;
    for i in 0..all {
        pos = record_name(msg, pos, &mut name)?;
        if i < questions {
            let [t0, t1, _, _] = *fixed::<4>(msg, pos)?;
            pos += 4;
            if i == 0 {
                scan.question_matches = name == *qname && u16::from_be_bytes([t0, t1]) == rtype::A;
            }
            scan.answers_at = pos;
            continue;
        }
        let follow = i < answers && scan.found.is_none() && name == target;
        // `name` is free again: it receives a CNAME's target.
        let r = record_at(msg, pos, &mut name)?;
        pos = r.end;
        if !follow {
            continue;
        }
        match r.data {
            Data::A(a) => scan.found = Some((a, r.ttl)),
            Data::Cname => target = name,
            Data::Aaaa | Data::Other => {}
        }
    }
    Ok(scan)
}

/// `N` bytes at `pos`, or `Truncated`.
fn fixed<const N: usize>(msg: &[u8], pos: usize) -> Result<&[u8; N], ParseError> {
    msg.get(pos..)
        .and_then(|m| m.first_chunk::<N>())
        .ok_or(ParseError::Truncated)
}

/// A name that cannot even begin is a count overrun: the count promised a record that is not
/// there. A name cut off mid-way is a truncated record.
fn record_name(msg: &[u8], pos: usize, name: &mut Name) -> Result<usize, ParseError> {
    if pos >= msg.len() {
        return Err(ParseError::CountOverrun);
    }
    read_name_into(msg, pos, name)
}

fn read_question(msg: &[u8], pos: usize) -> Result<(Question, usize), ParseError> {
    let mut name = Name::ROOT;
    let pos = record_name(msg, pos, &mut name)?;
    let &[t0, t1, c0, c1] = fixed::<4>(msg, pos)?;
    Ok((
        Question {
            name,
            qtype: u16::from_be_bytes([t0, t1]),
            qclass: u16::from_be_bytes([c0, c1]),
        },
        pos + 4,
    ))
}

/// The kind of a record's data, as [`record_at`] validated it.
#[derive(Clone, Copy)]
enum Data {
    A(Ipv4Addr),
    Aaaa,
    /// The target was read into the caller's name.
    Cname,
    Other,
}

/// A record's fixed fields after the owner name, its data validated.
struct RecordAt {
    rtype: u16,
    class: u16,
    ttl: u32,
    data: Data,
    /// Offset of the record data.
    start: usize,
    /// Offset just after the record.
    end: usize,
}

/// The record whose fixed fields start at `pos` (after the owner name): A and AAAA data of
/// class IN must be 4 and 16 bytes, a CNAME target (read into `cname`) must end exactly where
/// the data ends.
#[inline(never)]
fn record_at(msg: &[u8], pos: usize, cname: &mut Name) -> Result<RecordAt, ParseError> {
    let &[t0, t1, c0, c1, l0, l1, l2, l3, r0, r1] = fixed::<10>(msg, pos)?;
    let rtype = u16::from_be_bytes([t0, t1]);
    let class = u16::from_be_bytes([c0, c1]);
    let ttl = u32::from_be_bytes([l0, l1, l2, l3]);
    let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
    let start = pos + 10;
    let end = start + usize::from(u16::from_be_bytes([r0, r1]));
    let rdata = msg.get(start..end).ok_or(ParseError::Truncated)?;
    let data = match (rtype, class, rdata) {
        (rtype::A, CLASS_IN, &[a, b, c, d]) => Data::A(Ipv4Addr::new(a, b, c, d)),
        (rtype::AAAA, CLASS_IN, d) if d.len() == 16 => Data::Aaaa,
        (rtype::A | rtype::AAAA, CLASS_IN, _) => return Err(ParseError::Malformed),
        (rtype::CNAME, _, _) => {
            // The target may be compressed, so it is read from the whole message.
            if read_name_into(msg, start, cname)? != end {
                return Err(ParseError::Malformed);
            }
            Data::Cname
        }
        _ => Data::Other,
    };
    Ok(RecordAt {
        rtype,
        class,
        ttl,
        data,
        start,
        end,
    })
}

fn read_record(msg: &[u8], pos: usize) -> Result<(Record<'_>, usize), ParseError> {
    let mut name = Name::ROOT;
    let pos = record_name(msg, pos, &mut name)?;
    let mut target = Name::ROOT;
    let r = record_at(msg, pos, &mut target)?;
    let data = match r.data {
        Data::A(a) => RecordData::A(a),
        Data::Cname => RecordData::Cname(target),
        Data::Aaaa | Data::Other => {
            let rdata = msg.get(r.start..r.end).unwrap_or(&[]);
            match <[u8; 16]>::try_from(rdata) {
                Ok(a) if matches!(r.data, Data::Aaaa) => RecordData::Aaaa(a),
                _ => RecordData::Other(rdata),
            }
        }
    };
    Ok((
        Record {
            name,
            rtype: r.rtype,
            class: r.class,
            ttl: r.ttl,
            data,
        },
        r.end,
    ))
}

/// A standard query for one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryRepr<'n> {
    /// Query id (random, to match the response).
    pub id: u16,
    /// Ask the server to recurse.
    pub recursion_desired: bool,
    /// The name.
    pub name: &'n Name,
    /// The type (e.g. [`rtype::A`]).
    pub qtype: u16,
}

impl QueryRepr<'_> {
    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.name.len() + 4
    }

    /// Write the query into the first [`buffer_len`](Self::buffer_len) bytes of `buf`.
    /// A shorter `buf` gets nothing past its end.
    pub fn emit(&self, buf: &mut [u8]) {
        let Some((header, rest)) = buf.split_first_chunk_mut::<HEADER_LEN>() else {
            return;
        };
        let id = self.id.to_be_bytes();
        let flags = (if self.recursion_desired { FLAG_RD } else { 0 }).to_be_bytes();
        // One question, no records.
        *header = [id[0], id[1], flags[0], flags[1], 0, 1, 0, 0, 0, 0, 0, 0];
        let wire = self.name.as_wire();
        let Some((name, tail)) = rest.split_at_mut_checked(wire.len()) else {
            return;
        };
        name.copy_from_slice(wire);
        if let Some(tail) = tail.first_chunk_mut::<4>() {
            let (t, c) = (self.qtype.to_be_bytes(), CLASS_IN.to_be_bytes());
            *tail = [t[0], t[1], c[0], c[1]];
        }
    }
}

/// Builds responses byte by byte for the tests of this crate.
#[cfg(test)]
pub(crate) mod test_util {
    use std::vec::Vec;

    /// A response to `id` for `name` with `answers` as (ttl, address), rcode `rcode`; answer
    /// owner names compressed to the question name.
    pub(crate) fn response(id: u16, name: &str, answers: &[(u32, [u8; 4])], rcode: u8) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&(0x8180u16 | u16::from(rcode)).to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&(answers.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        for (ttl, a) in answers {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&[0, 4]);
            m.extend_from_slice(a);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::response;
    use super::*;
    use std::vec::Vec;

    fn hex(s: &str) -> Vec<u8> {
        crate::wire::dhcpv4::tests::hex(s)
    }

    #[test]
    fn names_from_text() {
        let n = Name::from_text("Device.Example.").unwrap();
        assert_eq!(n.as_wire(), b"\x06device\x07example\x00");
        assert_eq!(std::format!("{n}"), "device.example");
        assert_eq!(Name::from_text(""), Err(NameError::EmptyLabel));
        assert_eq!(Name::from_text("a..b"), Err(NameError::EmptyLabel));
        let long_label = "a".repeat(64);
        assert_eq!(Name::from_text(&long_label), Err(NameError::LabelTooLong));
        // 4 × (1 + 63) = 256 > 255.
        let l = "b".repeat(63);
        let long = std::format!("{l}.{l}.{l}.{l}");
        assert_eq!(Name::from_text(&long), Err(NameError::NameTooLong));
        let ok = std::format!("{l}.{l}.{l}.{}", "c".repeat(61));
        assert_eq!(Name::from_text(&ok).unwrap().len(), 255);
    }

    #[test]
    fn query_emit_and_parse_round_trip() {
        let name = Name::from_text("device.example").unwrap();
        let q = QueryRepr {
            id: 0xbeef,
            recursion_desired: true,
            name: &name,
            qtype: rtype::A,
        };
        let mut buf = [0u8; 64];
        q.emit(&mut buf);
        let m = Message::parse(&buf[..q.buffer_len()]).unwrap();
        assert_eq!(m.header().id(), 0xbeef);
        assert!(m.header().recursion_desired() && !m.header().is_response());
        let question = m.question().unwrap();
        assert_eq!(
            (question.name, question.qtype, question.qclass),
            (name, 1, 1)
        );
    }

    #[test]
    fn responses_parse() {
        let r = response(7, "device.example", &[(300, [198, 51, 100, 7])], 0);
        let m = Message::parse(&r).unwrap();
        assert_eq!(m.header().rcode(), Rcode::NoError);
        let answers: Vec<_> = m.answers().collect();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].name, Name::from_text("device.example").unwrap());
        assert_eq!(answers[0].ttl, 300);
        assert_eq!(
            answers[0].data,
            RecordData::A(Ipv4Addr::new(198, 51, 100, 7))
        );
        let nx = response(7, "nope.example", &[], 3);
        assert_eq!(
            Message::parse(&nx).unwrap().header().rcode(),
            Rcode::NxDomain
        );
    }

    /// dnsmasq 2.90's answer to an A query for `device.example` from its `--addn-hosts` file
    /// (a line `198.51.100.7 device.example`, `--local-ttl=60`), captured in the namespace
    /// described in `wire::dhcpv4`'s tests (host-services `--resolve device.example --pcap`).
    const DNSMASQ_ANSWER: &str = "\
        7b2a8580000100010000000006646576696365076578616d706c650000010001c00c000100010000003c0004\
        c6336407";
    /// Its NXDOMAIN answer for `nope.example` (`--local=/example/`).
    const DNSMASQ_NXDOMAIN: &str = "301981830001000000000000046e6f7065076578616d706c650000010001";

    #[test]
    fn captured_dnsmasq_answers_parse() {
        let bytes = hex(DNSMASQ_ANSWER);
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.header().id(), 0x7b2a);
        assert!(m.header().is_response() && m.header().authoritative());
        let q = m.question().unwrap();
        assert_eq!(q.name, Name::from_text("device.example").unwrap());
        let a: Vec<_> = m.answers().collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].data, RecordData::A(Ipv4Addr::new(198, 51, 100, 7)));
        assert_eq!(a[0].ttl, 60);
        let bytes = hex(DNSMASQ_NXDOMAIN);
        let m = Message::parse(&bytes).unwrap();
        assert_eq!(m.header().rcode(), Rcode::NxDomain);
        assert_eq!(
            m.question().unwrap().name,
            Name::from_text("nope.example").unwrap()
        );
        assert_eq!(m.answers().count(), 0);
    }

    fn header(qd: u16, an: u16) -> Vec<u8> {
        let mut m = std::vec![0x12, 0x34, 0x81, 0x80];
        m.extend_from_slice(&qd.to_be_bytes());
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m
    }

    #[test]
    fn malformed_messages_are_rejected_by_cause() {
        // Pointer to itself.
        let mut m = header(1, 0);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::PointerLoop));
        // A label, then a pointer back to that label: an endless name.
        let mut m = header(1, 0);
        m.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::PointerLoop));
        // Two names pointing at each other: the first pointer points forwards.
        let mut m = header(1, 1);
        m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::ForwardPointer));
        // Forward pointer.
        let mut m = header(1, 0);
        m.extend_from_slice(&[0xc0, 20, 0, 1, 0, 1, 0, 0, 0]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::ForwardPointer));
        // A 256-byte name: 4 labels of 63 bytes and one of 3 (4 × 64 + 4 + 1 root > 255).
        let mut m = header(1, 0);
        for _ in 0..4 {
            m.push(63);
            m.extend_from_slice(&[b'x'; 63]);
        }
        m.extend_from_slice(&[3, b'a', b'b', b'c', 0, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::NameTooLong));
        // A name of exactly 255 bytes is fine.
        let mut m = header(1, 0);
        for _ in 0..3 {
            m.push(63);
            m.extend_from_slice(&[b'x'; 63]);
        }
        m.push(61);
        m.extend_from_slice(&[b'y'; 61]);
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(Message::parse(&m).is_ok());
        // A 64-byte label.
        let mut m = header(1, 0);
        m.push(64);
        m.extend_from_slice(&[b'x'; 64]);
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::LabelTooLong));
        // Counts overrun the message.
        let r = response(7, "device.example", &[(300, [198, 51, 100, 7])], 0);
        let mut m = r.clone();
        m[7] = 5;
        assert_eq!(Message::parse(&m).err(), Some(ParseError::CountOverrun));
        let mut m = r.clone();
        m[5] = 200;
        assert_eq!(Message::parse(&m).err(), Some(ParseError::CountOverrun));
        let mut m = r.clone();
        m[11] = 1;
        assert_eq!(Message::parse(&m).err(), Some(ParseError::CountOverrun));
        // Message cut off mid-record, and shorter than a header.
        assert_eq!(
            Message::parse(&r[..r.len() - 2]).err(),
            Some(ParseError::Truncated)
        );
        assert_eq!(Message::parse(&r[..11]).err(), Some(ParseError::Truncated));
        // TC bit.
        let mut m = r.clone();
        m[2] |= 0x02;
        assert_eq!(Message::parse(&m).err(), Some(ParseError::TruncatedFlag));
        // An A record of 5 bytes.
        let mut m = r.clone();
        let n = m.len();
        m[n - 5] = 5;
        m.push(0);
        assert_eq!(Message::parse(&m).err(), Some(ParseError::Malformed));
    }

    #[test]
    fn aaaa_and_cname_records_are_read() {
        let mut m = header(1, 3);
        m.extend_from_slice(b"\x03www\x07example\x00\x00\x01\x00\x01");
        // www CNAME device.example (compressed to "example").
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 9]);
        m.extend_from_slice(b"\x06device\xc0\x10");
        // device.example AAAA and A.
        let device = 12 + 17 + 12;
        m.extend_from_slice(&[0xc0, device as u8, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
        m.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        m.extend_from_slice(&[0xc0, device as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&[198, 51, 100, 7]);
        let msg = Message::parse(&m).unwrap();
        let a: Vec<_> = msg.answers().collect();
        let device_name = Name::from_text("device.example").unwrap();
        assert_eq!(a[0].data, RecordData::Cname(device_name));
        assert!(matches!(a[1].data, RecordData::Aaaa(_)));
        assert_eq!(a[2].name, device_name);
        assert_eq!(a[2].data, RecordData::A(Ipv4Addr::new(198, 51, 100, 7)));
    }

    #[test]
    fn scan_follows_cnames_to_the_address_of_the_question() {
        let mut m = header(1, 3);
        m.extend_from_slice(b"\x03WWW\x07example\x00\x00\x01\x00\x01");
        // Another name's A record first: not followed.
        m.extend_from_slice(b"\x05other\xc0\x10\x00\x01\x00\x01\x00\x00\x00\x09\x00\x04");
        m.extend_from_slice(&[192, 0, 2, 9]);
        // www CNAME device.example, then device.example A.
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 9]);
        let device = m.len();
        m.extend_from_slice(b"\x06device\xc0\x10");
        m.extend_from_slice(&[0xc0, device as u8, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
        m.extend_from_slice(&[198, 51, 100, 7]);
        let www = Name::from_text("www.example").unwrap();
        let s = scan(&m, &www).unwrap();
        assert!(s.question_matches, "case-insensitive");
        assert_eq!(s.found, Some((Ipv4Addr::new(198, 51, 100, 7), 30)));
        assert_eq!(s.answers_at, 12 + 17);
        assert_eq!(s.flags, 0x8180);
        // Asked for another name: its own A record, and the question is not its own.
        let other = Name::from_text("other.example").unwrap();
        let s = scan(&m, &other).unwrap();
        assert!(!s.question_matches);
        assert_eq!(s.found, Some((Ipv4Addr::new(192, 0, 2, 9), 9)));
        let nobody = Name::from_text("nobody.example").unwrap();
        assert_eq!(scan(&m, &nobody).unwrap().found, None);
        // Rejected like `Message::parse`.
        let mut bad = m.clone();
        bad[7] = 4;
        assert_eq!(scan(&bad, &www), Err(ParseError::CountOverrun));
        assert_eq!(
            Message::parse(&bad).map(|_| ()),
            Err(ParseError::CountOverrun)
        );
    }

    #[test]
    fn names_compare_by_their_wire_form_only() {
        // A long name, then a short one, decoded into the same buffer.
        let long = b"\x09somewhere\x04deep\x07example\x00";
        let short = b"\x01a\x07example\x00";
        let mut name = Name::ROOT;
        assert_eq!(read_name_into(long, 0, &mut name), Ok(long.len()));
        assert_eq!(read_name_into(short, 0, &mut name), Ok(short.len()));
        let fresh = Name::from_text("a.example").unwrap();
        assert_eq!(name, fresh);
        let hash = |n: &Name| {
            use core::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            n.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&name), hash(&fresh));
        assert_ne!(name, Name::from_text("b.example").unwrap());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            if let Ok(m) = Message::parse(&data) {
                let _ = m.question();
                for _ in m.answers() {}
            }
            for off in 0..data.len().min(40) {
                let _ = read_name(&data, off);
            }
        }

        #[test]
        fn parse_never_panics_after_a_valid_header(
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            qd in 0u16..4, an in 0u16..6,
        ) {
            let mut m = header(qd, an);
            m.extend_from_slice(&tail);
            if let Ok(m) = Message::parse(&m) {
                let _ = m.question();
                for _ in m.answers() {}
            }
        }
    }
}
