//! TCP data in the interface's packet pool, with a cap, per-socket limits and optional
//! reservations.
//!
//! TCP keeps no buffers of its own (like lwIP's pbufs): each socket's [`SendQueue`] (data
//! written by the application, kept until acknowledged, retransmitted straight from the buffer)
//! and its [`RecvQueue`] (received data, in order and out of order, until the application reads
//! it) hold buffers of the one [`PacketPool`] that also carries ARP, ICMP, UDP, DHCP/DNS and
//! TCP control frames. Each buffer stores up to [`SegmentPool::buffer_size`] payload bytes from
//! offset 0 (one MSS: a 1536-byte packet buffer holds one 1460-byte segment), and in its last
//! [`META_BYTES`] bytes what its queue needs to know of it (the next buffer of the chain, the
//! bytes held, the sequence number of the first): the tail that the Ethernet, IPv4 and TCP
//! headers leave unused when the buffer holds payload only.
//!
//! [`SegmentPool`] is the bookkeeping (it owns no byte): who may take a packet buffer for TCP
//! data. [`Segments`] pairs it with the packet pool for the operations that allocate, read or
//! write (the stack builds one from its two disjoint fields at each call).
//!
//! * **The cap** ([`SegmentPool::capacity`], `tcp.segments` in a profile, lwIP's
//!   `MEMP_NUM_TCP_SEG`): the most packet buffers TCP data may hold at once, across all
//!   connections.
//! * **The frame reserve** ([`FRAME_RESERVE`] buffers): TCP data never takes the packet pool's
//!   last buffers, so a RST, a SYN-ACK, an ARP request or reply, an echo reply or a DNS query can
//!   always be built while every connection holds all it may. Without it, full windows could
//!   leave no buffer for the ARP request their own retransmissions wait on: a deadlock.
//! * **Per-socket limits** ([`SocketQuota`]): a socket's send buffer and receive window are
//!   limits checked at allocation, not memory set aside, which is what lets 8 sockets with
//!   5,840-byte windows share a 20-buffer pool.
//! * **Shared mode** (the default, `reserved = 0`): a socket gets a buffer when it is under its
//!   limit, TCP is under the cap and the packet pool has more free buffers than the frame
//!   reserve.
//! * **Reserved mode** (per socket, `reserved > 0`): the first `reserved` buffers a socket holds
//!   are guaranteed against other sockets: shared allocations never take the buffers that
//!   reservations still need. The sum of reservations may not exceed the cap. (Frames are
//!   short-lived: one may hold a reserved buffer until it is sent.)
//!
//! Handles ([`SegmentBuf`]) work like [`crate::pool::PacketBuf`]: neither `Clone` nor `Copy`,
//! consumed by [`Segments::free`], so double free and use after free do not compile. The pool
//! counts buffers in use, the high-water mark, refusals for exhaustion (cap, frame reserve or
//! empty packet pool) and refusals for a socket's limit ([`SegmentPoolStats`]).
//!
//! ```
//! # use stack_runtime::pool::PacketPool;
//! # use stack_runtime::tcp::segment_pool::{SegmentPool, Segments, SendQueue, SocketQuota};
//! # use stack_runtime::wire::tcp::SeqNumber;
//! let mut bytes = [0u8; 6 * 128];
//! let mut packets = PacketPool::new(&mut bytes, 128);
//! let mut quotas = [SocketQuota::new(3, 3, 0), SocketQuota::new(3, 3, 1)];
//! // 100 payload bytes per buffer, at most 4 buffers for TCP, 2 always left for frames.
//! let mut pool = SegmentPool::new(&mut quotas, 100, 4, 2);
//! let mut segs = Segments::new(&mut pool, &mut packets);
//! let mut sendq = SendQueue::new(0, SeqNumber(1000));
//! assert_eq!(sendq.write(&mut segs, &[7; 250]), 250); // 3 packet buffers
//! // Retransmit 1100..1200 straight from the pool:
//! assert_eq!(sendq.segment(&segs, SeqNumber(1100), 1460).unwrap(), &[7; 100]);
//! sendq.ack(&mut segs, SeqNumber(1250));
//! assert_eq!(pool.stats().in_use, 0);
//! assert_eq!(packets.stats().in_use, 0);
//! ```
//!
//! ```compile_fail,E0382
//! # use stack_runtime::pool::PacketPool;
//! # use stack_runtime::tcp::segment_pool::{QueueKind, SegmentPool, Segments, SocketQuota};
//! # use stack_runtime::wire::tcp::SeqNumber;
//! let mut bytes = [0u8; 4 * 100];
//! let mut packets = PacketPool::new(&mut bytes, 100);
//! let mut quotas = [SocketQuota::new(3, 3, 0)];
//! let mut pool = SegmentPool::new(&mut quotas, 100, 4, 0);
//! let mut segs = Segments::new(&mut pool, &mut packets);
//! let buf = segs.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
//! segs.free(buf);
//! segs.free(buf); // error[E0382]: use of moved value: `buf`
//! ```
//!
//! # Worst-case RAM
//!
//! Everything is fixed at build time, so the worst case under any load is the static size:
//!
//! * the buffers: none of TCP's own; TCP data uses at most `min(cap, packet buffers −
//!   FRAME_RESERVE)` packet buffers;
//! * the bookkeeping: about 40 bytes on a 32-bit MCU;
//! * per socket: one [`SocketQuota`] (10 bytes) and two queues of 16 bytes, whatever the
//!   window: a queue is a chain through its buffers, each of which keeps its link, length and
//!   sequence number in its last [`META_BYTES`] bytes, past the payload (see [`SendQueue`] and
//!   [`RecvQueue`]).
//!
//! Under load the cap or the pool can be exhausted, never exceeded: a socket that cannot get a
//! buffer sees a full send buffer (the application waits) or drops an out-of-order segment (the
//! peer retransmits). Reservations move no bytes: they only decide who may take the last
//! buffers.

use core::cell::Cell;

use super::seq_ge;
use crate::pool::PacketPool;
use crate::wire::tcp::SeqNumber;

/// The most buffers TCP may hold (buffer numbers are one byte, as in the packet pool).
pub const MAX_SEGMENTS: usize = crate::pool::MAX_BUFFERS;

/// Packet buffers TCP data never takes: the pool's frame reserve, shared with UDP.
pub use crate::pool::FRAME_RESERVE;

/// Bytes at the end of every packet buffer that TCP data holds, where its queue keeps what it
/// needs per buffer, so that a connection slot does not grow with the window: the next buffer
/// of the chain (one byte), the bytes held (two) and the sequence number of the first (four;
/// the last two are used by receive queues). A packet buffer has room for them: TCP payload
/// per buffer is at most the buffer minus the 54 bytes of Ethernet, IPv4 and TCP headers, and
/// [`Segments::new`] cuts the payload size to leave them free in any case.
pub const META_BYTES: usize = 7;
const META_NEXT: usize = 0;
const META_LEN: usize = 1;
const META_SEQ: usize = 3;
const _: () =
    assert!(META_LEN == META_NEXT + 1 && META_SEQ == META_LEN + 2 && META_SEQ + 4 == META_BYTES);
/// The link a receive queue writes after its last buffer (queues bound every walk by their
/// buffer count rather than look for it, so buffer number 255 stays usable; a send queue does
/// not even write it).
pub(crate) const NO_BUFFER: u8 = u8::MAX;

/// Which of a socket's queues a buffer belongs to (each has its own limit).
///
/// The discriminants start at 1 so that `Option<SegmentBuf>::None` (the niche in `kind`) is
/// stored as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum QueueKind {
    /// Data written by the application, not yet acknowledged by the peer.
    Send = 1,
    /// Data received from the peer (in order or not), not yet read by the application.
    Recv = 2,
}

/// One socket's limits and current use of the pool. The caller owns a slice of these (one
/// per socket slot) and hands it to [`SegmentPool::new`]; the socket's index in it is its id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketQuota {
    /// Most buffers the send queue may hold (the send buffer, in buffers).
    pub send_limit: u16,
    /// Most buffers the receive queue may hold (the receive window, in buffers).
    pub recv_limit: u16,
    /// Buffers guaranteed to this socket (reserved mode); 0 for shared only.
    pub reserved: u16,
    send_in_use: u16,
    recv_in_use: u16,
}

impl SocketQuota {
    /// A quota with the given limits and reservation, nothing in use.
    pub const fn new(send_limit: u16, recv_limit: u16, reserved: u16) -> SocketQuota {
        SocketQuota {
            send_limit,
            recv_limit,
            reserved,
            send_in_use: 0,
            recv_in_use: 0,
        }
    }

    /// Buffers the send queue holds.
    pub fn send_in_use(&self) -> u16 {
        self.send_in_use
    }

    /// Buffers the receive queue holds.
    pub fn recv_in_use(&self) -> u16 {
        self.recv_in_use
    }

    fn total(&self) -> u16 {
        self.send_in_use.saturating_add(self.recv_in_use)
    }

    /// Reserved buffers not yet taken.
    fn unused_reservation(&self) -> usize {
        usize::from(self.reserved.saturating_sub(self.total()))
    }
}

/// Usage statistics of a [`SegmentPool`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentPoolStats {
    /// The cap: most packet buffers TCP data may hold at once.
    pub capacity: u32,
    /// Packet buffers TCP data holds now.
    pub in_use: u32,
    /// Most packet buffers TCP data ever held at once.
    pub high_water: u32,
    /// Allocations refused because TCP reached its cap, the packet pool had no buffer left
    /// above the frame reserve, or (for this socket) the free buffers were all promised to
    /// other sockets' reservations.
    pub alloc_failures: u32,
    /// Allocations refused because the socket reached its send or receive limit.
    pub limit_refusals: u32,
    /// Sum of every socket's reservation.
    pub reserved: u32,
}

/// Why an allocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// The socket id is not in the quota slice.
    NoSuchSocket,
    /// The socket holds as many buffers as its limit for this queue allows.
    SocketLimit,
    /// No buffer is free for this socket (cap reached, frame reserve, reservations of others).
    PoolExhausted,
}

/// Why [`SegmentPool::set_quota`] refused a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaError {
    /// The socket id is not in the quota slice.
    NoSuchSocket,
    /// The socket still holds buffers; free them first.
    InUse,
    /// The reservations would exceed the cap.
    OverReserved,
}

/// A handle to one packet buffer holding TCP data: the only way to reach its bytes. It records
/// the owning socket and queue, the sequence number of its first byte and which bytes of the
/// buffer are valid. Not `Clone`; consumed by [`Segments::free`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a SegmentBuf must be returned with Segments::free, or its buffer leaks"]
pub struct SegmentBuf {
    /// Packet buffer number (at most [`MAX_SEGMENTS`] = 256 buffers: fits a byte).
    index: u8,
    owner: u16,
    kind: QueueKind,
    /// Offset of the first valid byte in the buffer.
    start: u16,
    /// Number of valid bytes from `start`.
    len: u16,
    /// Sequence number of the first valid byte.
    seq: SeqNumber,
}

impl SegmentBuf {
    /// Sequence number of the first byte held.
    pub fn seq(&self) -> SeqNumber {
        self.seq
    }

    /// Sequence number just past the last byte held.
    pub fn end_seq(&self) -> SeqNumber {
        self.seq + usize::from(self.len)
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when the buffer holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The socket that owns the buffer.
    pub fn owner(&self) -> usize {
        usize::from(self.owner)
    }

    /// The queue the buffer belongs to.
    pub fn kind(&self) -> QueueKind {
        self.kind
    }
}

/// Who may take packet buffers for TCP data: the cap, the frame reserve, every socket's
/// quota and reservation, and the statistics. It owns no byte; see [`Segments`].
#[derive(Debug)]
pub struct SegmentPool<'a> {
    sockets: &'a mut [SocketQuota],
    /// Payload bytes per buffer.
    size: usize,
    /// Most buffers TCP data may hold.
    cap: usize,
    /// Packet buffers left for frames.
    frame_reserve: usize,
    /// Sum over sockets of their reserved buffers not yet taken: buffers that shared
    /// allocations must leave alone.
    reserved_unused: usize,
    stats: SegmentPoolStats,
}

impl<'a> SegmentPool<'a> {
    /// Bookkeeping for the sockets of `sockets`: `size` payload bytes per packet buffer (at
    /// most 65,535; [`Segments::new`] cuts it to what a packet buffer holds before its
    /// [`META_BYTES`] of metadata), at most `cap` buffers for TCP data
    /// (at most [`MAX_SEGMENTS`]), always leaving `frame_reserve` packet buffers free for
    /// frames. Quotas whose reservations would exceed the cap have their reservation cleared
    /// (see [`SegmentPool::set_quota`] to be told).
    pub fn new(
        sockets: &'a mut [SocketQuota],
        size: usize,
        cap: usize,
        frame_reserve: usize,
    ) -> Self {
        let size = size.min(usize::from(u16::MAX));
        let cap = cap.min(MAX_SEGMENTS);
        let mut reserved = 0usize;
        for q in sockets.iter_mut() {
            q.send_in_use = 0;
            q.recv_in_use = 0;
            if reserved + usize::from(q.reserved) > cap {
                q.reserved = 0;
            }
            reserved += usize::from(q.reserved);
        }
        SegmentPool {
            sockets,
            size,
            cap,
            frame_reserve,
            reserved_unused: reserved,
            stats: SegmentPoolStats {
                capacity: cap as u32,
                reserved: reserved as u32,
                ..SegmentPoolStats::default()
            },
        }
    }

    /// Payload bytes per buffer.
    pub fn buffer_size(&self) -> usize {
        self.size
    }

    /// The cap: most buffers TCP data may hold at once.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Packet buffers TCP data never takes.
    pub fn frame_reserve(&self) -> usize {
        self.frame_reserve
    }

    /// Buffers TCP could still take from `packets` now: under the cap and above the frame
    /// reserve (those promised to reservations included).
    pub fn free_count(&self, packets: &PacketPool<'_>) -> usize {
        let below_cap = self.cap.saturating_sub(self.stats.in_use as usize);
        below_cap.min(packets.available().saturating_sub(self.frame_reserve))
    }

    /// The pool's statistics.
    pub fn stats(&self) -> SegmentPoolStats {
        self.stats
    }

    /// A socket's quota and use.
    pub fn quota(&self, socket: usize) -> Option<&SocketQuota> {
        self.sockets.get(socket)
    }

    /// Change a socket's limits and reservation (while it holds no buffer). A reservation made
    /// while other sockets hold most of the cap is honoured as soon as they free buffers:
    /// from then on, shared allocations can no longer take the buffers it needs.
    pub fn set_quota(
        &mut self,
        socket: usize,
        send_limit: u16,
        recv_limit: u16,
        reserved: u16,
    ) -> Result<(), QuotaError> {
        let old = *self.sockets.get(socket).ok_or(QuotaError::NoSuchSocket)?;
        if old.total() != 0 {
            return Err(QuotaError::InUse);
        }
        let others = (self.stats.reserved as usize).saturating_sub(usize::from(old.reserved));
        if others + usize::from(reserved) > self.cap {
            return Err(QuotaError::OverReserved);
        }
        self.sockets[socket] = SocketQuota::new(send_limit, recv_limit, reserved);
        self.stats.reserved = (others + usize::from(reserved)) as u32;
        self.reserved_unused = self
            .reserved_unused
            .saturating_sub(usize::from(old.reserved))
            .saturating_add(usize::from(reserved));
        Ok(())
    }

    /// Take a packet buffer for `socket`'s `kind` queue, if every rule allows it.
    fn alloc_index(
        &mut self,
        packets: &mut PacketPool<'_>,
        socket: usize,
        kind: QueueKind,
    ) -> Result<u8, AllocError> {
        if socket > usize::from(u16::MAX) {
            return Err(AllocError::NoSuchSocket);
        }
        let q = *self.sockets.get(socket).ok_or(AllocError::NoSuchSocket)?;
        let (in_use, limit) = match kind {
            QueueKind::Send => (q.send_in_use, q.send_limit),
            QueueKind::Recv => (q.recv_in_use, q.recv_limit),
        };
        if in_use >= limit {
            self.stats.limit_refusals = self.stats.limit_refusals.saturating_add(1);
            return Err(AllocError::SocketLimit);
        }
        let from_reservation = q.unused_reservation() > 0;
        // Buffers this allocation must leave: reservations it does not draw on, and (in the
        // packet pool) the frame reserve.
        let promised = if from_reservation {
            0
        } else {
            self.reserved_unused
        };
        let total = self.stats.in_use as usize;
        let index = if total + promised >= self.cap
            || packets.available() <= self.frame_reserve + promised
        {
            None
        } else {
            packets.alloc_index()
        };
        let Some(index) = index else {
            self.stats.alloc_failures = self.stats.alloc_failures.saturating_add(1);
            return Err(AllocError::PoolExhausted);
        };
        if from_reservation {
            self.reserved_unused -= 1;
        }
        let q = &mut self.sockets[socket];
        match kind {
            QueueKind::Send => q.send_in_use += 1,
            QueueKind::Recv => q.recv_in_use += 1,
        }
        self.stats.in_use += 1;
        self.stats.high_water = self.stats.high_water.max(self.stats.in_use);
        Ok(index)
    }

    /// Return packet buffer `index` of `owner`'s `kind` queue. A buffer not allocated is left
    /// alone.
    fn release(&mut self, packets: &mut PacketPool<'_>, index: u8, owner: usize, kind: QueueKind) {
        if !packets.free_index(index) {
            return;
        }
        self.stats.in_use = self.stats.in_use.saturating_sub(1);
        if let Some(q) = self.sockets.get_mut(owner) {
            match kind {
                QueueKind::Send => q.send_in_use = q.send_in_use.saturating_sub(1),
                QueueKind::Recv => q.recv_in_use = q.recv_in_use.saturating_sub(1),
            }
            if q.total() < q.reserved {
                self.reserved_unused += 1;
            }
        }
    }
}

/// The TCP bookkeeping and the packet pool together: what the send and receive queues
/// allocate, read and write through. Built for the duration of one call from the stack's two
/// (disjoint) fields.
#[derive(Debug)]
pub struct Segments<'v, 'a> {
    pool: &'v mut SegmentPool<'a>,
    packets: &'v mut PacketPool<'a>,
}

impl<'v, 'a> Segments<'v, 'a> {
    /// `pool`'s rules over the buffers of `packets`. The payload per buffer is cut to what a
    /// packet buffer holds before its metadata tail ([`META_BYTES`]).
    pub fn new(pool: &'v mut SegmentPool<'a>, packets: &'v mut PacketPool<'a>) -> Self {
        pool.size = pool
            .size
            .min(packets.buffer_size().saturating_sub(META_BYTES));
        Segments { pool, packets }
    }

    /// Payload bytes per buffer.
    pub fn buffer_size(&self) -> usize {
        self.pool.size
    }

    /// Buffers a shared allocation could get now (see [`SegmentPool::free_count`]).
    pub fn free_count(&self) -> usize {
        self.pool.free_count(self.packets)
    }

    /// The bookkeeping's statistics.
    pub fn stats(&self) -> SegmentPoolStats {
        self.pool.stats
    }

    /// A socket's quota and use.
    pub fn quota(&self, socket: usize) -> Option<&SocketQuota> {
        self.pool.quota(socket)
    }

    /// Allocate an empty buffer for `socket`'s `kind` queue, its first byte to be sequence
    /// number `seq`.
    pub fn alloc(
        &mut self,
        socket: usize,
        kind: QueueKind,
        seq: SeqNumber,
    ) -> Result<SegmentBuf, AllocError> {
        let index = self.pool.alloc_index(self.packets, socket, kind)?;
        Ok(SegmentBuf {
            index,
            owner: socket as u16,
            kind,
            start: 0,
            len: 0,
            seq,
        })
    }

    /// Take a packet buffer for `socket`'s `kind` queue and return its number (for a queue
    /// that keeps numbers rather than handles, and returns it with [`Segments::release`]).
    pub(crate) fn alloc_index(&mut self, socket: usize, kind: QueueKind) -> Result<u8, AllocError> {
        self.pool.alloc_index(self.packets, socket, kind)
    }

    /// Return a buffer. Consumes the handle.
    pub fn free(&mut self, buf: SegmentBuf) {
        self.release(buf.index, usize::from(buf.owner), buf.kind);
    }

    /// Return buffer `index` of `owner`'s `kind` queue (a queue that keeps buffer numbers
    /// rather than handles). A buffer not allocated is left alone.
    pub(crate) fn release(&mut self, index: u8, owner: usize, kind: QueueKind) {
        self.pool.release(self.packets, index, owner, kind);
    }

    /// The payload part of buffer `index` (its first `buffer_size()` bytes; empty when out of
    /// range).
    pub(crate) fn buffer_bytes(&self, index: u8) -> &[u8] {
        let b = self.packets.buffer_at(index);
        b.get(..self.pool.size).unwrap_or(b)
    }

    /// Copy as much of `data` as fits into buffer `index` from offset `at`; returns the
    /// number of bytes copied.
    pub(crate) fn write_at(&mut self, index: u8, at: usize, data: &[u8]) -> usize {
        let size = self.pool.size;
        let b = self.packets.buffer_at_mut(index);
        let Some(room) = b.get_mut(at..size.min(b.len()).max(at)) else {
            return 0;
        };
        let n = data.len().min(room.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        n
    }

    /// The metadata tail of buffer `index`: its last [`META_BYTES`] bytes (`None` when out of
    /// range).
    fn meta(&self, index: u8) -> Option<&[u8; META_BYTES]> {
        self.packets.buffer_tail(index)
    }

    /// The metadata tail of buffer `index`, mutable.
    fn meta_mut(&mut self, index: u8) -> Option<&mut [u8; META_BYTES]> {
        self.packets.buffer_tail_mut(index)
    }

    /// The buffer after `index` in its queue's chain ([`NO_BUFFER`] after the last; queues
    /// bound every walk by their buffer count, so buffer number 255 is usable too).
    pub(crate) fn next_buffer(&self, index: u8) -> u8 {
        self.meta(index).map_or(NO_BUFFER, |m| m[META_NEXT])
    }

    /// Link buffer `next` after `index`.
    pub(crate) fn set_next_buffer(&mut self, index: u8, next: u8) {
        if let Some(m) = self.meta_mut(index) {
            m[META_NEXT] = next;
        }
    }

    /// Bytes held in buffer `index` (receive queues; from the queue's start offset).
    #[cfg(test)]
    pub(crate) fn data_len(&self, index: u8) -> u16 {
        self.span(index).1
    }

    /// Record the bytes held in buffer `index`.
    pub(crate) fn set_data_len(&mut self, index: u8, len: u16) {
        if let Some(m) = self.meta_mut(index) {
            [m[META_LEN], m[META_LEN + 1]] = len.to_le_bytes();
        }
    }

    /// Sequence number of the first byte held in buffer `index` and the bytes held (receive
    /// queues), in one read of its metadata.
    pub(crate) fn span(&self, index: u8) -> (SeqNumber, u16) {
        match self.meta(index) {
            Some(&[_, l0, l1, s0, s1, s2, s3]) => (
                SeqNumber(u32::from_le_bytes([s0, s1, s2, s3])),
                u16::from_le_bytes([l0, l1]),
            ),
            None => (SeqNumber(0), 0),
        }
    }

    /// The next buffer, the first sequence number and the bytes held of buffer `index`, in
    /// one read of its metadata.
    pub(crate) fn link(&self, index: u8) -> (u8, SeqNumber, u16) {
        match self.meta(index) {
            Some(&[next, l0, l1, s0, s1, s2, s3]) => (
                next,
                SeqNumber(u32::from_le_bytes([s0, s1, s2, s3])),
                u16::from_le_bytes([l0, l1]),
            ),
            None => (NO_BUFFER, SeqNumber(0), 0),
        }
    }

    /// Sequence number of the first byte held in buffer `index` (receive queues).
    pub(crate) fn first_seq(&self, index: u8) -> SeqNumber {
        self.span(index).0
    }

    /// Record the bytes held in buffer `index`, the first being sequence number `seq`, and the
    /// buffer after it, in one write of its metadata.
    pub(crate) fn set_span(&mut self, index: u8, seq: SeqNumber, len: u16, next: u8) {
        if let Some(m) = self.meta_mut(index) {
            let [l0, l1] = len.to_le_bytes();
            let [s0, s1, s2, s3] = seq.0.to_le_bytes();
            *m = [next, l0, l1, s0, s1, s2, s3];
        }
    }

    /// Record the sequence number of the first byte held in buffer `index`.
    pub(crate) fn set_first_seq(&mut self, index: u8, seq: SeqNumber) {
        if let Some(m) = self.meta_mut(index) {
            [
                m[META_SEQ],
                m[META_SEQ + 1],
                m[META_SEQ + 2],
                m[META_SEQ + 3],
            ] = seq.0.to_le_bytes();
        }
    }

    /// The bytes held in `buf`.
    pub fn bytes(&self, buf: &SegmentBuf) -> &[u8] {
        let start = usize::from(buf.start);
        self.buffer_bytes(buf.index)
            .get(start..start + usize::from(buf.len))
            .unwrap_or(&[])
    }

    /// Room left after the bytes held in `buf`.
    pub fn room(&self, buf: &SegmentBuf) -> usize {
        self.pool
            .size
            .saturating_sub(usize::from(buf.start) + usize::from(buf.len))
    }

    /// Append as much of `data` as fits to `buf`; returns the number of bytes taken.
    pub fn append(&mut self, buf: &mut SegmentBuf, data: &[u8]) -> usize {
        let at = usize::from(buf.start) + usize::from(buf.len);
        let n = self.write_at(buf.index, at, data);
        buf.len += n as u16;
        n
    }

    /// Drop the first `n` bytes held in `buf` (acknowledged or read), advancing its sequence
    /// number.
    pub fn consume(&self, buf: &mut SegmentBuf, n: usize) {
        let n = n.min(usize::from(buf.len));
        buf.start += n as u16;
        buf.len -= n as u16;
        buf.seq += n;
    }
}

// ------------------------------------------------------------------------------ queues

/// Pool buffers one queue holds at most: its buffer count is a byte (and the packet pool has
/// at most [`crate::pool::MAX_BUFFERS`] buffers, two of them the frame reserve), so this bound
/// never binds; the socket's limits and the cap do.
pub const MAX_QUEUE_BUFFERS: usize = u8::MAX as usize;

/// A socket's send queue: the stream from SND.UNA to the last byte written, in a chain of
/// pool buffers. Retransmission reads the stored bytes by sequence number
/// ([`SendQueue::segment`]) without copying them.
///
/// The stream is contiguous and `write` fills the newest buffer before it takes another, so
/// every buffer but the newest is full: the queue keeps the first and last buffer numbers,
/// the count and the offset of SND.UNA in the oldest buffer, and finds any byte by arithmetic
/// and a walk along the chain (each buffer names the next in its metadata tail, see
/// [`META_BYTES`]), from the last buffer a lookup reached when that is not past the one
/// wanted. Its size does not depend on the window: 20 bytes.
#[derive(Debug)]
pub struct SendQueue {
    /// The owning socket's index in the quota table.
    socket: u16,
    /// Pool buffer number of the oldest buffer (valid when `count > 0`).
    head: u8,
    /// Pool buffer number of the newest buffer (valid when `count > 0`).
    tail: u8,
    /// Buffers in the chain.
    count: u8,
    /// Offset of the byte at SND.UNA in the oldest buffer.
    head_off: u16,
    /// The last buffer a lookup reached: its position from the oldest and its number (valid
    /// while its position is below `count`). Segments go out in sequence order, so the next
    /// lookup starts from here rather than walk the chain from the oldest buffer again.
    cursor: Cell<[u8; 2]>,
    una: SeqNumber,
    end: SeqNumber,
}

impl SendQueue {
    /// An empty queue for `socket` whose first byte will be sequence number `snd_una`
    /// (ISS + 1).
    pub const fn new(socket: u16, snd_una: SeqNumber) -> Self {
        SendQueue {
            socket,
            head: 0,
            tail: 0,
            count: 0,
            head_off: 0,
            cursor: Cell::new([0; 2]),
            una: snd_una,
            end: snd_una,
        }
    }

    /// Sequence number of the oldest byte held (SND.UNA).
    pub fn una(&self) -> SeqNumber {
        self.una
    }

    /// Sequence number just past the newest byte written.
    pub fn end(&self) -> SeqNumber {
        self.end
    }

    /// Bytes held (unacknowledged, sent or not).
    pub fn len(&self) -> usize {
        self.end - self.una
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Buffers held.
    pub fn buffers(&self) -> usize {
        usize::from(self.count)
    }

    /// The pool buffer `i` buffers after the oldest (`None` past the newest).
    fn buffer(&self, pool: &Segments<'_, '_>, i: usize) -> Option<u8> {
        let count = usize::from(self.count);
        if i >= count {
            return None;
        }
        if i + 1 == count {
            return Some(self.tail);
        }
        let [at, buf] = self.cursor.get();
        let (mut pos, mut index) = if usize::from(at) <= i && usize::from(at) < count {
            (usize::from(at), buf)
        } else {
            (0, self.head)
        };
        while pos < i {
            index = pool.next_buffer(index);
            pos += 1;
        }
        self.cursor.set([pos as u8, index]);
        Some(index)
    }

    /// Queue as much of `data` as the socket's limit and the pool allow: first into the room
    /// left in the newest buffer, then into new buffers. Returns the bytes taken (0 when the
    /// send buffer is full).
    pub fn write(&mut self, pool: &mut Segments<'_, '_>, data: &[u8]) -> usize {
        let size = pool.buffer_size();
        let mut taken = 0;
        if self.count > 0 {
            // Bytes in the newest buffer: what the full ones before it do not hold.
            let used = (self.len() + usize::from(self.head_off))
                .saturating_sub((usize::from(self.count) - 1) * size);
            taken += pool.write_at(self.tail, used, data);
        }
        while taken < data.len() && usize::from(self.count) < MAX_QUEUE_BUFFERS {
            let Ok(index) = pool.alloc_index(usize::from(self.socket), QueueKind::Send) else {
                break;
            };
            let n = pool.write_at(index, 0, data.get(taken..).unwrap_or(&[]));
            if n == 0 {
                pool.release(index, usize::from(self.socket), QueueKind::Send);
                break;
            }
            taken += n;
            // Its own link stays unwritten until a buffer follows: walks stop at `count`.
            if self.count == 0 {
                self.head = index;
                self.cursor.set([0, index]);
            } else {
                pool.set_next_buffer(self.tail, index);
            }
            self.tail = index;
            self.count += 1;
        }
        self.end += taken;
        taken
    }

    /// The peer acknowledged everything before `ack`: free the buffers it covers entirely and
    /// trim the one it covers partly. An `ack` beyond the queued data (one that also covers
    /// our FIN) releases everything; an old `ack` (before SND.UNA) changes nothing. Returns
    /// the bytes released.
    pub fn ack(&mut self, pool: &mut Segments<'_, '_>, ack: SeqNumber) -> usize {
        if seq_ge(self.una, ack) {
            return 0;
        }
        let ack = ack.min(self.end);
        let released = ack - self.una;
        let size = pool.buffer_size().max(1);
        // Offset of `ack` from the start of the oldest buffer; the buffers it passes are
        // entirely acknowledged (the newest, maybe partly filled, only when `ack` is the end).
        let at = released + usize::from(self.head_off);
        let whole = if ack == self.end {
            usize::from(self.count)
        } else {
            (at / size).min(usize::from(self.count))
        };
        for _ in 0..whole {
            let index = self.head;
            self.head = pool.next_buffer(index);
            pool.release(index, usize::from(self.socket), QueueKind::Send);
            self.count -= 1;
        }
        self.head_off = if self.count == 0 {
            0
        } else {
            (at - whole * size) as u16
        };
        // The cursor's buffer moved `whole` places closer to the oldest, or was freed.
        let [pos, buf] = self.cursor.get();
        self.cursor.set(match usize::from(pos).checked_sub(whole) {
            Some(pos) => [pos as u8, buf],
            None => [0, self.head],
        });
        self.una = ack;
        released
    }

    /// The stored bytes from `seq` on, up to `max_len` and to the end of the buffer holding
    /// `seq`: what a (re)transmission starting at `seq` sends, borrowed from the pool without a
    /// copy. `None` when `seq` is not held. A segment never spans two buffers, so with buffers
    /// of one MSS each segment is one buffer.
    pub fn segment<'p>(
        &self,
        pool: &'p Segments<'_, '_>,
        seq: SeqNumber,
        max_len: usize,
    ) -> Option<&'p [u8]> {
        let off = seq.checked_sub(self.una)?;
        let held = self.len().checked_sub(off).filter(|&h| h > 0)?;
        let size = pool.buffer_size().max(1);
        let at = off + usize::from(self.head_off);
        let (i, in_buf) = (at / size, at % size);
        let n = (size - in_buf).min(held).min(max_len);
        pool.buffer_bytes(self.buffer(pool, i)?)
            .get(in_buf..in_buf + n)
    }

    /// Free every buffer (abort or close), leaving the queue empty at its current end.
    pub fn clear(&mut self, pool: &mut Segments<'_, '_>) {
        let mut index = self.head;
        for _ in 0..self.count {
            let next = pool.next_buffer(index);
            pool.release(index, usize::from(self.socket), QueueKind::Send);
            index = next;
        }
        self.count = 0;
        self.head_off = 0;
        self.una = self.end;
    }
}

/// What [`RecvQueue::insert`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvStored {
    /// New bytes stored.
    pub stored: usize,
    /// Out-of-order data from this sequence number up was evicted to make room for in-order
    /// data (reneging, RFC 2018 §8): the assembler must forget it too.
    pub reneged_from: Option<SeqNumber>,
}

/// A socket's receive queue: received bytes not yet read by the application, in order and out
/// of order, in a chain of pool buffers sorted by sequence number. The
/// [`super::assembler::Assembler`] decides what is acknowledged; this queue only stores the
/// bytes.
///
/// Each buffer keeps in its metadata tail ([`META_BYTES`]) the next buffer of the chain, the
/// length of the bytes it holds and the sequence number of the first, so the queue itself is
/// the head of the chain, the count, the read position and the number of readable bytes: 16
/// bytes whatever the window. Bytes are stored from offset 0 of a buffer, and only the oldest
/// buffer is ever read partly (reading drops its first bytes), so one offset, `head_start`,
/// serves the whole queue: the buffer being read always begins at the read position, and
/// nothing is ever stored before it.
#[derive(Debug)]
pub struct RecvQueue {
    /// The owning socket's index in the quota table.
    socket: u16,
    /// Pool buffer number of the buffer with the lowest sequence numbers (valid when
    /// `count > 0`).
    head: u8,
    /// Pool buffer number of the buffer with the highest sequence numbers (valid when
    /// `count > 0`): in-order data usually goes there.
    tail: u8,
    /// Buffers in the chain (ascending by sequence number, disjoint).
    count: u8,
    /// Offset of the first byte held in the head buffer (0 for every other buffer).
    head_start: u16,
    /// Next sequence number the application reads.
    read: SeqNumber,
    /// Bytes contiguous from `read` (kept up to date by `insert` and `read`).
    ready: u32,
}

impl RecvQueue {
    /// An empty queue for `socket`; the application's next byte is `rcv_nxt` (IRS + 1).
    pub const fn new(socket: u16, rcv_nxt: SeqNumber) -> Self {
        RecvQueue {
            socket,
            head: 0,
            tail: 0,
            count: 0,
            head_start: 0,
            read: rcv_nxt,
            ready: 0,
        }
    }

    /// Offset of the first byte held in buffer `index` of the chain.
    fn start_of(&self, index: u8) -> usize {
        if index == self.head {
            usize::from(self.head_start)
        } else {
            0
        }
    }

    /// Sequence number just past the bytes of buffer `index`.
    fn end_of(pool: &Segments<'_, '_>, index: u8) -> SeqNumber {
        let (seq, len) = pool.span(index);
        seq + usize::from(len)
    }

    /// The buffer after `index`, the `pos`-th of the chain (`None` after the last).
    fn after(&self, pool: &Segments<'_, '_>, index: u8, pos: usize) -> Option<u8> {
        (pos + 1 < usize::from(self.count)).then(|| pool.next_buffer(index))
    }

    /// Append as much of `data` as fits to buffer `index`, which holds `len` bytes; returns the
    /// bytes taken.
    fn append(&self, pool: &mut Segments<'_, '_>, index: u8, len: u16, data: &[u8]) -> usize {
        let at = self.start_of(index) + usize::from(len);
        if at >= pool.buffer_size() {
            return 0;
        }
        let n = pool.write_at(index, at, data);
        pool.set_data_len(index, len + n as u16);
        n
    }

    /// `n` bytes were stored at the readable end: count them, and the buffers from `next` (the
    /// `pos`-th) on that they join to the readable stream.
    fn grow_ready(
        &mut self,
        pool: &Segments<'_, '_>,
        n: usize,
        mut next: Option<u8>,
        mut pos: usize,
    ) {
        self.ready = self.ready.saturating_add(n as u32);
        while let Some(b) = next {
            let (seq, len) = pool.span(b);
            if seq != self.read + self.readable() {
                break;
            }
            self.ready = self.ready.saturating_add(u32::from(len));
            next = self.after(pool, b, pos);
            pos += 1;
        }
    }

    /// Next sequence number the application will read.
    pub fn read_seq(&self) -> SeqNumber {
        self.read
    }

    /// Buffers held.
    pub fn buffers(&self) -> usize {
        usize::from(self.count)
    }

    /// Bytes readable now (contiguous from [`RecvQueue::read_seq`]).
    pub fn readable(&self) -> usize {
        self.ready as usize
    }

    /// Store the bytes of a segment starting at `seq` (already trimmed to the receive window
    /// by the state machine). Bytes already held or already read are skipped.
    ///
    /// When the socket's limit or the pool runs out, the rest is dropped (the peer
    /// retransmits it), with one exception that keeps the connection from deadlocking: data
    /// that continues the in-order stream (it would advance RCV.NXT) evicts the highest
    /// out-of-order buffers to make room. Evicting SACKed data is *reneging*, which RFC 2018
    /// §8 permits; [`RecvStored::reneged_from`] tells the state machine to forget it in the
    /// assembler too ([`super::assembler::Assembler::truncate_from`]).
    pub fn insert(
        &mut self,
        pool: &mut Segments<'_, '_>,
        seq: SeqNumber,
        data: &[u8],
    ) -> RecvStored {
        let mut result = RecvStored::default();
        if data.len() > i32::MAX as usize {
            return result;
        }
        let end = seq + data.len();
        // Skip what was already read.
        let mut cur = seq.max(self.read);
        // The walk: `next` is the `pos`-th buffer of the chain (the first not entirely before
        // `cur`), `prev` the one before it.
        // The first sequence number and length of `prev` when already read (used once: its
        // length changes as data is appended).
        let mut prev_span = None;
        let (mut prev, mut next, mut pos) = if self.count == 0 {
            (None, None, 0)
        } else if let (t_seq, t_len) = pool.span(self.tail)
            && seq_ge(cur, t_seq + usize::from(t_len))
        {
            // At or beyond the end of everything held (in-order data, usually): no walk.
            prev_span = Some((t_seq, t_len));
            (Some(self.tail), None, usize::from(self.count))
        } else {
            (None, Some(self.head), 0usize)
        };
        while cur < end {
            // Skip buffers entirely before `cur`.
            while let Some(n) = next
                && seq_ge(cur, Self::end_of(pool, n))
            {
                prev = Some(n);
                next = self.after(pool, n, pos);
                pos += 1;
            }
            if let Some(n) = next
                && seq_ge(cur, pool.first_seq(n))
            {
                // `cur` is inside buffer `n`: skip to its end.
                cur = Self::end_of(pool, n);
                continue;
            }
            let piece_end = next.map_or(end, |n| pool.first_seq(n).min(end));
            let (from, to) = (cur - seq, piece_end - seq);
            let piece = data.get(from..to).unwrap_or(&[]);
            // Fill the room left in the buffer that ends exactly here, so that small segments
            // do not each take a whole buffer.
            let in_order = cur == self.read + self.readable();
            if let Some(p) = prev
                && let (p_seq, p_len) = prev_span.take().unwrap_or_else(|| pool.span(p))
                && p_seq + usize::from(p_len) == cur
            {
                let n = self.append(pool, p, p_len, piece);
                cur += n;
                result.stored += n;
                if n > 0 {
                    if in_order {
                        self.grow_ready(pool, n, next, pos);
                    }
                    continue;
                }
            }
            let got = loop {
                let got = if usize::from(self.count) < MAX_QUEUE_BUFFERS {
                    pool.alloc_index(usize::from(self.socket), QueueKind::Recv)
                        .ok()
                } else {
                    None
                };
                if got.is_some() || !in_order || usize::from(self.count) <= pos {
                    break got;
                }
                // Make room: evict the highest out-of-order buffer (at `pos` or above).
                let evicted = self.pop_last(pool);
                result.reneged_from = Some(pool.first_seq(evicted));
                pool.release(evicted, usize::from(self.socket), QueueKind::Recv);
                if usize::from(self.count) == pos {
                    next = None;
                }
            };
            let Some(index) = got else {
                break;
            };
            let n = pool.write_at(index, 0, piece);
            if n == 0 {
                pool.release(index, usize::from(self.socket), QueueKind::Recv);
                break;
            }
            // Link it between `prev` and `next`.
            pool.set_span(index, cur, n as u16, next.unwrap_or(NO_BUFFER));
            match prev {
                Some(p) => pool.set_next_buffer(p, index),
                None => {
                    self.head = index;
                    self.head_start = 0;
                }
            }
            if next.is_none() {
                self.tail = index;
            }
            self.count += 1;
            prev = Some(index);
            pos += 1;
            cur += n;
            result.stored += n;
            if in_order {
                self.grow_ready(pool, n, next, pos);
            }
        }
        result
    }

    /// Unlink the last buffer of the (non-empty) chain and return its number.
    fn pop_last(&mut self, pool: &Segments<'_, '_>) -> u8 {
        let count = usize::from(self.count);
        let mut before = self.head;
        for _ in 0..count.saturating_sub(2) {
            before = pool.next_buffer(before);
        }
        let last = if count >= 2 {
            pool.next_buffer(before)
        } else {
            self.head
        };
        self.count = self.count.saturating_sub(1);
        if self.count == 0 {
            self.head_start = 0;
        } else {
            self.tail = before;
        }
        last
    }

    /// Copy in-order bytes into `out`, freeing the buffers read entirely. Returns the bytes
    /// copied.
    pub fn read(&mut self, pool: &mut Segments<'_, '_>, out: &mut [u8]) -> usize {
        let mut copied = 0;
        while copied < out.len() && self.count > 0 {
            let index = self.head;
            let (next, seq, len) = pool.link(index);
            if seq != self.read {
                break;
            }
            let start = usize::from(self.head_start);
            let bytes = pool
                .buffer_bytes(index)
                .get(start..start + usize::from(len))
                .unwrap_or(&[]);
            let n = bytes.len().min(out.len() - copied);
            if let (Some(dst), Some(src)) = (out.get_mut(copied..copied + n), bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            copied += n;
            self.read += n;
            if n == usize::from(len) {
                // Read entirely: the next buffer becomes the head.
                self.head = next;
                pool.release(index, usize::from(self.socket), QueueKind::Recv);
                self.count -= 1;
                self.head_start = 0;
            } else {
                // Read partly: `out` is full.
                self.head_start += n as u16;
                pool.set_data_len(index, len - n as u16);
                pool.set_first_seq(index, self.read);
                break;
            }
        }
        self.ready = self.ready.saturating_sub(copied as u32);
        copied
    }

    /// True when at least one byte is readable now (`readable() > 0`).
    pub fn has_readable(&self) -> bool {
        self.ready > 0
    }

    /// Free every buffer (abort or close).
    pub fn clear(&mut self, pool: &mut Segments<'_, '_>) {
        let mut index = self.head;
        for _ in 0..self.count {
            let next = pool.next_buffer(index);
            pool.release(index, usize::from(self.socket), QueueKind::Recv);
            index = next;
        }
        self.count = 0;
        self.head_start = 0;
        self.ready = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::PacketPool;
    use std::vec::Vec;

    #[test]
    fn alloc_free_counts_high_water_and_failures() {
        let mut bytes = [0u8; 3 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(10, 10, 0)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 3, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let a = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        let b = pool.alloc(0, QueueKind::Recv, SeqNumber(0)).unwrap();
        let c = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        assert_eq!(
            pool.alloc(0, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        assert_eq!(pool.quota(0).unwrap().send_in_use(), 2);
        assert_eq!(pool.quota(0).unwrap().recv_in_use(), 1);
        pool.free(a);
        pool.free(b);
        pool.free(c);
        let s = pool.stats();
        assert_eq!(
            (s.capacity, s.in_use, s.high_water, s.alloc_failures),
            (3, 0, 3, 1)
        );
        assert_eq!(pool.quota(0).unwrap().send_in_use(), 0);
        assert_eq!(
            pool.alloc(5, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::NoSuchSocket)
        );
    }

    #[test]
    fn tcp_never_takes_the_frame_reserve() {
        let mut bytes = [0u8; 6 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(8, 8, 0)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 6, 2);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut held = Vec::new();
        while let Ok(b) = pool.alloc(0, QueueKind::Send, SeqNumber(0)) {
            held.push(b);
        }
        // 6 buffers, 2 kept for frames.
        assert_eq!(held.len(), 4);
        assert_eq!(pool.free_count(), 0);
        assert_eq!(pool.stats().alloc_failures, 1);
        // A frame still gets a packet buffer, and TCP does not get the last one either.
        let frame = pool
            .packets
            .alloc()
            .expect("the reserve is free for frames");
        assert_eq!(
            pool.alloc(0, QueueKind::Recv, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        pool.packets.free(frame);
        // Other users of the packet pool eat into what TCP may take, never the reverse.
        for b in held.drain(..2) {
            pool.free(b);
        }
        let a = pool.packets.alloc().unwrap();
        let b = pool.packets.alloc().unwrap();
        assert_eq!(pool.free_count(), 0);
        assert_eq!(
            pool.alloc(0, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        pool.packets.free(a);
        pool.packets.free(b);
        for b in held {
            pool.free(b);
        }
        assert_eq!(pool.stats().in_use, 0);
        assert_eq!(pool.packets.stats().in_use, 0);
    }

    #[test]
    fn the_cap_bounds_tcp_across_sockets_and_is_counted() {
        let mut bytes = [0u8; 10 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(8, 8, 0), SocketQuota::new(8, 8, 0)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        // Cap 3 of a 10-buffer pool.
        let mut ledger = SegmentPool::new(&mut q, 10, 3, 2);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let a = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        let b = pool.alloc(1, QueueKind::Recv, SeqNumber(0)).unwrap();
        let c = pool.alloc(1, QueueKind::Send, SeqNumber(0)).unwrap();
        assert_eq!(pool.free_count(), 0);
        assert_eq!(
            pool.alloc(0, QueueKind::Recv, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        let s = pool.stats();
        assert_eq!((s.capacity, s.in_use, s.high_water), (3, 3, 3));
        assert_eq!((s.alloc_failures, s.limit_refusals), (1, 0));
        assert_eq!(pool.packets.available(), 7);
        pool.free(b);
        let d = pool.alloc(0, QueueKind::Recv, SeqNumber(0)).unwrap();
        for x in [a, c, d] {
            pool.free(x);
        }
        assert_eq!(pool.packets.stats().in_use, 0);
    }

    #[test]
    fn payload_stays_within_the_buffer_size() {
        // 100-byte packet buffers holding 60 bytes of payload each.
        let mut bytes = [0u8; 4 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(4, 0, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 60, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut sq = SendQueue::new(0, SeqNumber(0));
        assert_eq!(sq.write(&mut pool, &[5; 150]), 150);
        assert_eq!(sq.buffers(), 3);
        assert_eq!(sq.segment(&pool, SeqNumber(0), 1460).unwrap().len(), 60);
        assert_eq!(sq.segment(&pool, SeqNumber(120), 1460).unwrap(), &[5; 30]);
        sq.clear(&mut pool);
        assert_eq!(pool.packets.stats().in_use, 0);
    }

    #[test]
    fn per_socket_limits_are_checked_at_allocation() {
        let mut bytes = [0u8; 8 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(2, 1, 0)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let a = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        let b = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        assert_eq!(
            pool.alloc(0, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::SocketLimit)
        );
        let c = pool.alloc(0, QueueKind::Recv, SeqNumber(0)).unwrap();
        assert_eq!(
            pool.alloc(0, QueueKind::Recv, SeqNumber(0)),
            Err(AllocError::SocketLimit)
        );
        assert_eq!(pool.stats().limit_refusals, 2);
        assert_eq!(pool.stats().alloc_failures, 0);
        for x in [a, b, c] {
            pool.free(x);
        }
    }

    #[test]
    fn shared_mode_lets_one_socket_use_the_pool_and_starve_others() {
        let mut bytes = [0u8; 4 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(8, 8, 0), SocketQuota::new(8, 8, 0)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let held: Vec<_> = (0..4)
            .map(|_| pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap())
            .collect();
        assert_eq!(
            pool.alloc(1, QueueKind::Recv, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        for b in held {
            pool.free(b);
        }
    }

    #[test]
    fn reserved_mode_guarantees_reserved_buffers() {
        let mut bytes = [0u8; 6 * (10 + META_BYTES)];
        // Socket 1 reserves 2 of the 6 buffers.
        let mut q = [SocketQuota::new(8, 8, 0), SocketQuota::new(8, 8, 2)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 6, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        assert_eq!(pool.stats().reserved, 2);
        let mut hog = Vec::new();
        while let Ok(b) = pool.alloc(0, QueueKind::Send, SeqNumber(0)) {
            hog.push(b);
        }
        // The hog got only the 4 shared buffers.
        assert_eq!(hog.len(), 4);
        assert_eq!(pool.free_count(), 2);
        let r1 = pool.alloc(1, QueueKind::Recv, SeqNumber(0)).unwrap();
        let r2 = pool.alloc(1, QueueKind::Send, SeqNumber(0)).unwrap();
        // Beyond its reservation, socket 1 shares like everybody else: nothing left.
        assert_eq!(
            pool.alloc(1, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        // When socket 1 frees one, it is held for socket 1 again, not for the hog.
        pool.free(r1);
        assert_eq!(
            pool.alloc(0, QueueKind::Send, SeqNumber(0)),
            Err(AllocError::PoolExhausted)
        );
        // When the hog frees, socket 1 can go beyond its reservation.
        pool.free(hog.pop().unwrap());
        let r3 = pool.alloc(1, QueueKind::Send, SeqNumber(0)).unwrap();
        let r4 = pool.alloc(1, QueueKind::Send, SeqNumber(0)).unwrap();
        assert_eq!(pool.free_count(), 0);
        for b in hog.into_iter().chain([r2, r3, r4]) {
            pool.free(b);
        }
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn set_quota_checks_reservations_and_use() {
        let mut bytes = [0u8; 4 * (10 + META_BYTES)];
        let mut q = [SocketQuota::default(), SocketQuota::default()];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        assert_eq!(pool.pool.set_quota(0, 4, 4, 3), Ok(()));
        assert_eq!(
            pool.pool.set_quota(1, 4, 4, 2),
            Err(QuotaError::OverReserved)
        );
        assert_eq!(pool.pool.set_quota(1, 4, 4, 1), Ok(()));
        assert_eq!(
            pool.pool.set_quota(2, 4, 4, 1),
            Err(QuotaError::NoSuchSocket)
        );
        let b = pool.alloc(0, QueueKind::Send, SeqNumber(0)).unwrap();
        assert_eq!(pool.pool.set_quota(0, 4, 4, 0), Err(QuotaError::InUse));
        pool.free(b);
        assert_eq!(pool.pool.set_quota(0, 4, 4, 0), Ok(()));
        assert_eq!(pool.stats().reserved, 1);
        // Over-reserving quotas handed to `new` lose their reservation.
        let mut bytes = [0u8; 2 * (10 + META_BYTES)];
        let mut q = [SocketQuota::new(1, 1, 2), SocketQuota::new(1, 1, 2)];
        let mut packets = PacketPool::new(&mut bytes, 10 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 10, 2, 0);
        let pool = Segments::new(&mut ledger, &mut packets);
        assert_eq!(pool.stats().reserved, 2);
    }

    #[test]
    fn send_queue_fills_tail_then_new_buffers_up_to_the_limit() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(3, 0, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut sq = SendQueue::new(0, SeqNumber(500));
        assert_eq!(sq.write(&mut pool, &[1; 50]), 50);
        assert_eq!(sq.write(&mut pool, &[2; 100]), 100);
        assert_eq!(sq.buffers(), 2);
        // Limit 3 buffers = 300 bytes.
        assert_eq!(sq.write(&mut pool, &[3; 500]), 150);
        assert_eq!(sq.write(&mut pool, &[3; 1]), 0);
        assert_eq!(sq.len(), 300);
        assert_eq!(sq.end(), SeqNumber(800));
        assert_eq!(pool.stats().limit_refusals, 2);
    }

    #[test]
    fn send_queue_retransmits_from_the_stored_buffer_without_copying() {
        let mut bytes = [0u8; 4 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(4, 0, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut sq = SendQueue::new(0, SeqNumber(0));
        let data: Vec<u8> = (0..250u32).map(|i| i as u8).collect();
        sq.write(&mut pool, &data);
        let seg = sq.segment(&pool, SeqNumber(100), 1460).unwrap();
        assert_eq!(seg, &data[100..200]);
        // The slice is the buffer itself, not a copy.
        let buf = pool.buffer_bytes(sq.buffer(&pool, 1).unwrap());
        assert!(core::ptr::eq(seg, buf));
        assert_eq!(
            sq.segment(&pool, SeqNumber(150), 20).unwrap(),
            &data[150..170]
        );
        assert_eq!(
            sq.segment(&pool, SeqNumber(240), 1460).unwrap(),
            &data[240..250]
        );
        assert_eq!(sq.segment(&pool, SeqNumber(250), 1460), None);
    }

    #[test]
    fn send_queue_ack_frees_covered_buffers_and_trims_partial() {
        let mut bytes = [0u8; 4 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(4, 0, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut sq = SendQueue::new(0, SeqNumber(0));
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        sq.write(&mut pool, &data);
        assert_eq!(sq.ack(&mut pool, SeqNumber(150)), 150);
        assert_eq!(pool.stats().in_use, 2);
        assert_eq!(
            sq.segment(&pool, SeqNumber(150), 1000).unwrap(),
            &data[150..200]
        );
        assert_eq!(sq.segment(&pool, SeqNumber(120), 1000), None);
        // Old ACKs change nothing; one that also covers a FIN releases everything.
        assert_eq!(sq.ack(&mut pool, SeqNumber(100)), 0);
        assert_eq!(sq.ack(&mut pool, SeqNumber(301)), 150);
        assert_eq!(sq.una(), SeqNumber(300));
        assert!(sq.is_empty());
        assert_eq!(pool.stats().in_use, 0);
        // The queue keeps working after being emptied (ring wrap of its slots).
        for round in 0..10u8 {
            assert_eq!(sq.write(&mut pool, &[round; 180]), 180);
            let end = sq.end();
            sq.ack(&mut pool, end);
        }
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn send_queue_across_sequence_wrap() {
        let mut bytes = [0u8; 4 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(4, 0, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let start = SeqNumber(u32::MAX - 120);
        let mut sq = SendQueue::new(0, start);
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        sq.write(&mut pool, &data);
        assert_eq!(
            sq.segment(&pool, SeqNumber(5), 50).unwrap(),
            &data[126..176]
        );
        assert_eq!(sq.ack(&mut pool, SeqNumber(10)), 131);
        assert_eq!(
            sq.segment(&pool, SeqNumber(10), 1000).unwrap(),
            &data[131..200]
        );
        sq.clear(&mut pool);
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn recv_queue_stores_out_of_order_and_reads_in_order() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 8, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut rq = RecvQueue::new(0, SeqNumber(1000));
        let data: Vec<u8> = (0..400u32).map(|i| (i * 3) as u8).collect();
        assert_eq!(
            rq.insert(&mut pool, SeqNumber(1200), &data[200..300])
                .stored,
            100
        );
        assert_eq!(rq.readable(), 0);
        let mut out = [0u8; 400];
        assert_eq!(rq.read(&mut pool, &mut out), 0);
        // Overlapping retransmission: only the new bytes are stored.
        assert_eq!(
            rq.insert(&mut pool, SeqNumber(1150), &data[150..350])
                .stored,
            100
        );
        assert_eq!(
            rq.insert(&mut pool, SeqNumber(1000), &data[0..150]).stored,
            150
        );
        assert_eq!(rq.readable(), 350);
        assert_eq!(rq.read(&mut pool, &mut out[..120]), 120);
        assert_eq!(rq.read(&mut pool, &mut out[120..]), 230);
        assert_eq!(&out[..350], &data[..350]);
        // Already-read data is not stored again.
        assert_eq!(
            rq.insert(&mut pool, SeqNumber(1000), &data[..350]).stored,
            0
        );
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn in_order_stream_fills_buffers_then_stops_at_the_limit() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 2, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let start = SeqNumber(u32::MAX - 120);
        let mut rq = RecvQueue::new(0, start);
        let data: Vec<u8> = (0..210u32).map(|i| (i * 7 % 251) as u8).collect();
        // Each segment continues the newest buffer: 70 + 70 bytes share buffers, the third
        // gets the 60 bytes left under the 2-buffer limit.
        assert_eq!(rq.insert(&mut pool, start, &data[..70]).stored, 70);
        assert_eq!(rq.insert(&mut pool, start + 70, &data[70..140]).stored, 70);
        assert_eq!(rq.buffers(), 2);
        assert_eq!(rq.insert(&mut pool, start + 140, &data[140..]).stored, 60);
        assert_eq!(pool.stats().limit_refusals, 1);
        assert_eq!(rq.readable(), 200);
        let mut out = [0u8; 300];
        assert_eq!(rq.read(&mut pool, &mut out[..130]), 130);
        // Reading freed the first buffer: the stream continues into a new one.
        assert_eq!(rq.insert(&mut pool, start + 200, &data[200..]).stored, 10);
        assert_eq!(rq.read(&mut pool, &mut out[130..]), 80);
        assert_eq!(&out[..210], &data[..]);
        rq.clear(&mut pool);
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn recv_queue_respects_receive_limit_and_wraps() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 2, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let start = SeqNumber(u32::MAX - 50);
        let mut rq = RecvQueue::new(0, start);
        let data = [9u8; 300];
        assert_eq!(rq.insert(&mut pool, start, &data).stored, 200);
        assert_eq!(pool.stats().limit_refusals, 1);
        let mut out = [0u8; 300];
        assert_eq!(rq.read(&mut pool, &mut out), 200);
        assert_eq!(rq.read_seq(), start + 200);
        rq.insert(&mut pool, start + 250, &data[..10]);
        rq.clear(&mut pool);
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn rfc2018_8_in_order_data_evicts_out_of_order_buffers_when_full() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 2, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut rq = RecvQueue::new(0, SeqNumber(0));
        rq.insert(&mut pool, SeqNumber(200), &[2; 10]);
        rq.insert(&mut pool, SeqNumber(400), &[4; 10]);
        // Out-of-order data does not evict.
        let r = rq.insert(&mut pool, SeqNumber(300), &[3; 10]);
        assert_eq!(
            r,
            RecvStored {
                stored: 0,
                reneged_from: None
            }
        );
        // In-order data does, from the top.
        let r = rq.insert(&mut pool, SeqNumber(0), &[1; 100]);
        assert_eq!(
            r,
            RecvStored {
                stored: 100,
                reneged_from: Some(SeqNumber(400))
            }
        );
        let mut out = [0u8; 200];
        assert_eq!(rq.read(&mut pool, &mut out), 100);
        let mut asm = crate::tcp::assembler::Assembler::<4>::new(SeqNumber(0));
        asm.insert(SeqNumber(200), 10).unwrap();
        asm.insert(SeqNumber(400), 10).unwrap();
        asm.truncate_from(r.reneged_from.unwrap());
        assert_eq!(asm.ranges().count(), 1);
    }

    #[test]
    fn recv_queue_packs_small_segments_into_one_buffer() {
        let mut bytes = [0u8; 4 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 4, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 4, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut rq = RecvQueue::new(0, SeqNumber(0));
        for i in 0..10u32 {
            let r = rq.insert(&mut pool, SeqNumber(i * 10), &[i as u8; 10]);
            assert_eq!(r.stored, 10);
        }
        assert_eq!(rq.buffers(), 1);
        // Out of order too: a segment continuing a stored range joins its buffer.
        rq.insert(&mut pool, SeqNumber(300), &[1; 10]);
        rq.insert(&mut pool, SeqNumber(310), &[2; 10]);
        assert_eq!(rq.buffers(), 2);
        rq.insert(&mut pool, SeqNumber(100), &[3; 150]);
        assert_eq!(rq.readable(), 250);
        let mut out = [0u8; 400];
        assert_eq!(rq.read(&mut pool, &mut out), 250);
        assert_eq!(&out[..3], &[0, 0, 0]);
        assert_eq!(&out[245..250], &[3; 5]);
        rq.clear(&mut pool);
        assert_eq!(pool.stats().in_use, 0);
    }

    #[test]
    fn handle_is_small() {
        assert!(core::mem::size_of::<Option<SegmentBuf>>() <= 16);
        assert!(core::mem::size_of::<SocketQuota>() <= 10);
        // A few cursors, whatever the window: the per-buffer state is in the buffers.
        assert!(core::mem::size_of::<RecvQueue>() <= 16);
        assert!(core::mem::size_of::<SendQueue>() <= 20);
    }

    #[test]
    fn a_partly_read_buffer_keeps_its_offset_while_others_come_and_go() {
        let mut bytes = [0u8; 8 * (100 + META_BYTES)];
        let mut q = [SocketQuota::new(0, 8, 0)];
        let mut packets = PacketPool::new(&mut bytes, 100 + META_BYTES);
        let mut ledger = SegmentPool::new(&mut q, 100, 8, 0);
        let mut pool = Segments::new(&mut ledger, &mut packets);
        let mut rq = RecvQueue::new(0, SeqNumber(0));
        let data: Vec<u8> = (0..500u32).map(|i| (i * 7 + 3) as u8).collect();
        rq.insert(&mut pool, SeqNumber(0), &data[..250]);
        let mut out = [0u8; 500];
        // Read into the second buffer: the first is freed, the second read partly.
        assert_eq!(rq.read(&mut pool, &mut out[..130]), 130);
        // Out-of-order data above, then the gap: the partly read entry stays first.
        rq.insert(&mut pool, SeqNumber(400), &data[400..500]);
        rq.insert(&mut pool, SeqNumber(250), &data[250..400]);
        assert_eq!(rq.read(&mut pool, &mut out[130..135]), 5);
        assert_eq!(rq.read(&mut pool, &mut out[135..]), 365);
        assert_eq!(&out[..], &data[..]);
        assert_eq!(pool.stats().in_use, 0);
    }

    /// Drive `sq` with writes (`true`, n bytes) and acknowledgements (`false`, n bytes) and
    /// check it against a byte model after every step: its length, the buffers it holds, and
    /// every byte readable by sequence number. With `capacity`, every write must take exactly
    /// what fits (`capacity` less the queued bytes and the acknowledged start of the oldest
    /// buffer). Written bytes step by `stride`.
    fn send_queue_against_model(
        pool: &mut Segments<'_, '_>,
        sq: &mut SendQueue,
        ops: &[(bool, usize)],
        capacity: Option<usize>,
        stride: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut model: Vec<u8> = Vec::new(); // bytes from SND.UNA
        let mut next_byte = 0u8;
        for &(write, n) in ops {
            if write {
                let data: Vec<u8> = (0..n)
                    .map(|i| next_byte.wrapping_add((i * stride) as u8))
                    .collect();
                let room = capacity.map(|c| c - usize::from(sq.head_off) - model.len());
                let took = sq.write(pool, &data);
                if let Some(room) = room {
                    proptest::prop_assert_eq!(took, n.min(room));
                }
                model.extend_from_slice(&data[..took]);
                next_byte = next_byte.wrapping_add((took * stride) as u8);
            } else {
                let k = n.min(model.len());
                proptest::prop_assert_eq!(sq.ack(pool, sq.una() + k), k);
                model.drain(..k);
            }
            proptest::prop_assert_eq!(sq.len(), model.len());
            proptest::prop_assert_eq!(pool.stats().in_use as usize, sq.buffers());
            let mut off = 0;
            while off < model.len() {
                let seg = sq.segment(pool, sq.una() + off, 1460).unwrap();
                proptest::prop_assert!(!seg.is_empty());
                proptest::prop_assert_eq!(seg, &model[off..off + seg.len()]);
                off += seg.len();
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn send_queue_stream_matches_model(
            start in proptest::num::u32::ANY,
            ops in proptest::collection::vec((proptest::bool::ANY, 0usize..250), 0..60),
        ) {
            let mut bytes = [0u8; 6 * (64 + META_BYTES)];
            let mut q = [SocketQuota::new(5, 0, 0)];
            let mut packets = PacketPool::new(&mut bytes, 64 + META_BYTES);
            let mut ledger = SegmentPool::new(&mut q, 64, 6, 0);
            let mut pool = Segments::new(&mut ledger, &mut packets);
            let mut sq = SendQueue::new(0, SeqNumber(start));
            send_queue_against_model(&mut pool, &mut sq, &ops, None, 1)?;
        }

        #[test]
        fn recv_chain_matches_a_byte_model(
            start in proptest::num::u32::ANY,
            ops in proptest::collection::vec((0usize..4, 0usize..600, 1usize..200), 0..60),
        ) {
            // Ample limits, so nothing is dropped: every byte must be stored exactly once,
            // whatever the order, the overlaps and the partial reads.
            const STREAM: usize = 600;
            const SIZE: usize = 50;
            let stream: Vec<u8> = (0..STREAM as u32).map(|i| (i * 29 + 7) as u8).collect();
            let mut bytes = [0u8; 80 * (SIZE + META_BYTES)];
            let mut q = [SocketQuota::new(0, 80, 0)];
            let mut packets = PacketPool::new(&mut bytes, SIZE + META_BYTES);
            let mut ledger = SegmentPool::new(&mut q, SIZE, 80, 0);
            let mut pool = Segments::new(&mut ledger, &mut packets);
            let mut rq = RecvQueue::new(0, SeqNumber(start));
            let mut held = [false; STREAM]; // received, not yet read
            let mut read = 0usize;
            for (kind, a, b) in ops {
                if kind < 3 {
                    let (off, end) = (a, (a + b).min(STREAM));
                    let fresh = (off.max(read)..end).filter(|&i| !held[i]).count();
                    let r = rq.insert(&mut pool, SeqNumber(start) + off, &stream[off..end]);
                    proptest::prop_assert_eq!(r.stored, fresh);
                    proptest::prop_assert_eq!(r.reneged_from, None);
                    for h in held.iter_mut().take(end).skip(off.max(read)) {
                        *h = true;
                    }
                } else {
                    let mut out = [0u8; 200];
                    let n = rq.read(&mut pool, &mut out[..b]);
                    proptest::prop_assert_eq!(&out[..n], &stream[read..read + n]);
                    for h in &mut held[read..read + n] {
                        *h = false;
                    }
                    read += n;
                }
                let ready = held[read..].iter().take_while(|&&h| h).count();
                proptest::prop_assert_eq!(rq.readable(), ready);
                proptest::prop_assert_eq!(rq.has_readable(), ready > 0);
                proptest::prop_assert_eq!(rq.read_seq(), SeqNumber(start) + read);
                proptest::prop_assert_eq!(pool.stats().in_use as usize, rq.buffers());
                // The chain: ascending, disjoint, every buffer holding the stream's bytes at
                // its sequence number, together exactly the bytes held.
                let mut index = rq.head;
                let mut covered = 0;
                let mut last_end: Option<SeqNumber> = None;
                for pos in 0..rq.buffers() {
                    let seq = pool.first_seq(index);
                    let len = usize::from(pool.data_len(index));
                    let at = seq - SeqNumber(start);
                    proptest::prop_assert!(len > 0 && at + len <= STREAM);
                    if let Some(e) = last_end {
                        proptest::prop_assert!(seq_ge(seq, e));
                    }
                    let from = rq.start_of(index);
                    proptest::prop_assert_eq!(
                        &pool.buffer_bytes(index)[from..from + len],
                        &stream[at..at + len]
                    );
                    proptest::prop_assert!(held[at..at + len].iter().all(|&h| h));
                    covered += len;
                    last_end = Some(seq + len);
                    if let Some(next) = rq.after(&pool, index, pos) {
                        index = next;
                    }
                }
                proptest::prop_assert_eq!(covered, held.iter().filter(|&&h| h).count());
            }
            rq.clear(&mut pool);
            proptest::prop_assert_eq!(pool.stats().in_use, 0);
            proptest::prop_assert_eq!(pool.packets.stats().in_use, 0);
        }

        #[test]
        fn send_queue_beyond_32_buffers_matches_model(
            ops in proptest::collection::vec((proptest::bool::ANY, 0usize..3000), 0..40),
        ) {
            // A 64-buffer send buffer (more than the old fixed array held).
            let mut bytes = [0u8; 70 * (40 + META_BYTES)];
            let mut q = [SocketQuota::new(64, 0, 0)];
            let mut packets = PacketPool::new(&mut bytes, 40 + META_BYTES);
            let mut ledger = SegmentPool::new(&mut q, 40, 70, 0);
            let mut pool = Segments::new(&mut ledger, &mut packets);
            let mut sq = SendQueue::new(0, SeqNumber(u32::MAX - 1000));
            send_queue_against_model(&mut pool, &mut sq, &ops, Some(64 * 40), 3)?;
            sq.clear(&mut pool);
            proptest::prop_assert_eq!(pool.packets.stats().in_use, 0);
        }

        #[test]
        fn recv_queue_delivers_the_stream_once(
            start in proptest::num::u32::ANY,
            segs in proptest::collection::vec((0usize..300, 1usize..80), 0..40),
        ) {
            let stream: Vec<u8> = (0..400u32).map(|i| (i * 13 + 1) as u8).collect();
            let mut bytes = [0u8; 16 * (50 + META_BYTES)];
            let mut q = [SocketQuota::new(0, 16, 0)];
            let mut packets = PacketPool::new(&mut bytes, 50 + META_BYTES);
            let mut ledger = SegmentPool::new(&mut q, 50, 16, 0);
            let mut pool = Segments::new(&mut ledger, &mut packets);
            let mut rq = RecvQueue::new(0, SeqNumber(start));
            let mut got = Vec::new();
            for (off, len) in segs.into_iter().chain([(0, 400); 12]) {
                let end = (off + len).min(400);
                rq.insert(&mut pool, SeqNumber(start) + off, &stream[off..end]);
                let mut out = [0u8; 64];
                loop {
                    let n = rq.read(&mut pool, &mut out);
                    if n == 0 { break; }
                    got.extend_from_slice(&out[..n]);
                }
                proptest::prop_assert_eq!(&got[..], &stream[..got.len()]);
            }
            proptest::prop_assert_eq!(got.len(), 400, "in-order data always gets through");
            proptest::prop_assert_eq!(pool.stats().in_use as usize, rq.buffers());
        }
    }
}
