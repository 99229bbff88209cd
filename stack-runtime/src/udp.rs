//! UDP sockets from a fixed pool of caller-owned slots.
//!
//! A [`UdpSlot`] holds a bound port, its limits and the handles of the packet-pool buffers its
//! received datagrams wait in. The socket table here only knows about ports and queues; the
//! interface ([`crate::Stack`]) copies datagrams between the pool and the wire.

use core::fmt;

use crate::pool::{PacketBuf, PacketPool};

/// The first port handed out for `bind(0)` (the IANA dynamic range).
pub const EPHEMERAL_FIRST: u16 = 49152;

/// Why a UDP socket operation failed (`#[non_exhaustive]`: match with a wildcard arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UdpError {
    /// Nothing to receive now; poll the stack and try again.
    WouldBlock,
    /// Every socket slot is in use.
    NoSlot,
    /// Another socket is bound to this port.
    AddrInUse,
    /// No packet buffer or transmit-queue slot is free for this datagram now (socket data
    /// leaves [`FRAME_RESERVE`](crate::pool::FRAME_RESERVE) buffers to the stack); poll the
    /// stack (which sends queued frames and frees their buffers) and try again.
    BufferFull,
    /// The datagram can never be sent: larger than the socket's largest datagram
    /// (`UdpSlot::new`'s `tx_max`), than the packet pool or the transmit queue could ever hold
    /// as fragments, or than an IPv4 datagram can be.
    TooLarge,
    /// No route to the destination: it is off-link and there is no gateway (or it is an
    /// unusable address such as 0.0.0.0).
    NoRoute,
    /// The stack has no IPv4 address yet.
    Unaddressed,
    /// The datagram did not fit the receive buffer passed in; it was consumed and the first
    /// `buf.len()` bytes were copied.
    Truncated,
    /// The handle does not name a bound socket (it was closed).
    InvalidHandle,
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UdpError::WouldBlock => "no datagram available",
            UdpError::NoSlot => "no free UDP socket slot",
            UdpError::AddrInUse => "port already bound",
            UdpError::BufferFull => "no packet buffer free",
            UdpError::TooLarge => "datagram too large",
            UdpError::NoRoute => "no route to destination",
            UdpError::Unaddressed => "no IPv4 address configured",
            UdpError::Truncated => "datagram truncated to the receive buffer",
            UdpError::InvalidHandle => "socket handle not bound",
        })
    }
}

impl core::error::Error for UdpError {}

/// Names a bound UDP socket (its slot index). Stale after `udp_close`: operations then return
/// [`UdpError::InvalidHandle`] until the slot is bound again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpHandle(pub(crate) usize);

impl UdpHandle {
    /// The slot index this handle names.
    pub fn index(&self) -> usize {
        self.0
    }
}

/// Packet-pool buffers one socket may hold received data in: the length of its queue of
/// buffer handles. A datagram takes one buffer per `packet_size` bytes (less 8 bytes of
/// bookkeeping in the first), so this bounds both the datagrams waiting and, with
/// `packet_size`, the largest datagram a socket can receive (8 × 1536-byte buffers: 12 KiB).
pub const RX_QUEUE: usize = 8;

/// One UDP socket: a bound port, its limits, and the received datagrams waiting in packet-pool
/// buffers (in arrival order).
///
/// The socket owns no byte buffers: a received datagram is copied once, into buffers of the
/// stack's shared packet pool, and sent datagrams are built straight into pool buffers and
/// queued for transmission, as lwIP does with pbufs. Only the limits are per socket.
#[derive(Debug)]
pub struct UdpSlot {
    pub(crate) port: u16,
    pub(crate) bound: bool,
    /// Buffers of the received datagrams, oldest first; `rx[..rx_bufs]` are queued, the
    /// next ones may hold a datagram being copied in (not yet committed).
    pub(crate) rx: [Option<PacketBuf>; RX_QUEUE],
    pub(crate) rx_bufs: u8,
    pub(crate) rx_datagrams: u8,
    /// Payload bytes of the queued datagrams.
    pub(crate) rx_bytes: u32,
    /// Most payload bytes queued at once (`udp.rx_buffer`).
    pub(crate) rx_limit: u32,
    /// Largest datagram payload this socket may send (`udp.tx_buffer`).
    pub(crate) tx_max: u32,
}

impl UdpSlot {
    /// A socket slot that queues at most `rx_buffer` bytes of received payload (and at most
    /// [`RX_QUEUE`] packet buffers) and sends datagrams of at most `tx_max` payload bytes.
    /// Limits beyond `u32::MAX` are clamped.
    pub const fn new(rx_buffer: usize, tx_max: usize) -> Self {
        // Through u64: on 32-bit targets usize cannot exceed u32::MAX at all.
        const fn clamp(v: usize) -> u32 {
            if v as u64 > u32::MAX as u64 {
                u32::MAX
            } else {
                v as u32
            }
        }
        UdpSlot {
            port: 0,
            bound: false,
            rx: [const { None }; RX_QUEUE],
            rx_bufs: 0,
            rx_datagrams: 0,
            rx_bytes: 0,
            rx_limit: clamp(rx_buffer),
            tx_max: clamp(tx_max),
        }
    }

    /// A slot with zero limits (it can be bound, receives only empty datagrams and sends
    /// only empty ones); a placeholder for arrays built before their limits are known.
    pub const EMPTY: UdpSlot = UdpSlot::new(0, 0);

    /// Same as [`UdpSlot::EMPTY`].
    pub const fn empty() -> UdpSlot {
        UdpSlot::EMPTY
    }

    /// The bound local port, if the slot is in use.
    pub fn local_port(&self) -> Option<u16> {
        self.bound.then_some(self.port)
    }

    /// Number of received datagrams waiting.
    pub fn rx_queued(&self) -> usize {
        usize::from(self.rx_datagrams)
    }

    /// Payload bytes of the received datagrams waiting.
    pub fn rx_queued_bytes(&self) -> usize {
        self.rx_bytes as usize
    }

    /// True when a datagram of `bytes` payload in `bufs` buffers fits the socket's limits.
    pub(crate) fn rx_room(&self, bufs: usize, bytes: usize) -> bool {
        usize::from(self.rx_bufs) + bufs <= RX_QUEUE
            && self.rx_bytes as usize + bytes <= self.rx_limit as usize
    }

    /// Queue the `bufs` buffers staged after the queued ones as one datagram of `bytes`.
    pub(crate) fn commit_rx(&mut self, bufs: usize, bytes: usize) {
        self.rx_bufs += bufs as u8;
        self.rx_datagrams += 1;
        self.rx_bytes += bytes as u32;
    }

    /// Free every buffer from index `from` on (queued or staged).
    pub(crate) fn free_rx_from(&mut self, from: usize, pool: &mut PacketPool<'_>) {
        for entry in self.rx.iter_mut().skip(from) {
            if let Some(buf) = entry.take() {
                pool.free(buf);
            }
        }
    }

    /// Remove the oldest datagram, `bufs` buffers holding `bytes` of payload.
    pub(crate) fn pop_rx(&mut self, bufs: usize, bytes: usize, pool: &mut PacketPool<'_>) {
        for i in 0..RX_QUEUE {
            if i < bufs
                && let Some(buf) = self.rx[i].take()
            {
                pool.free(buf);
            }
            self.rx[i] = self.rx.get_mut(i + bufs).and_then(Option::take);
        }
        self.rx_bufs = self.rx_bufs.saturating_sub(bufs as u8);
        self.rx_datagrams = self.rx_datagrams.saturating_sub(1);
        self.rx_bytes = self.rx_bytes.saturating_sub(bytes as u32);
    }

    /// Unbind, returning every buffer to `pool`.
    fn reset(&mut self, pool: &mut PacketPool<'_>) {
        self.free_rx_from(0, pool);
        self.bound = false;
        self.port = 0;
        self.rx_bufs = 0;
        self.rx_datagrams = 0;
        self.rx_bytes = 0;
    }
}

/// The fixed table of UDP sockets.
#[derive(Debug)]
pub(crate) struct SocketTable<'a> {
    pub(crate) slots: &'a mut [UdpSlot],
    next_ephemeral: u16,
}

impl<'a> SocketTable<'a> {
    pub(crate) fn new(slots: &'a mut [UdpSlot]) -> Self {
        for s in slots.iter_mut() {
            // Storage reused from an earlier stack may hold handles of that stack's pool:
            // forget them (they are not ours to free).
            // In place (the limits stay): no slot-sized temporary to copy.
            s.rx = [const { None }; RX_QUEUE];
            s.port = 0;
            s.bound = false;
            s.rx_bufs = 0;
            s.rx_datagrams = 0;
            s.rx_bytes = 0;
        }
        SocketTable {
            slots,
            next_ephemeral: EPHEMERAL_FIRST,
        }
    }

    pub(crate) fn in_use(&self) -> usize {
        self.slots.iter().filter(|s| s.bound).count()
    }

    fn port_in_use(&self, port: u16) -> bool {
        self.slots.iter().any(|s| s.bound && s.port == port)
    }

    pub(crate) fn bind(&mut self, port: u16) -> Result<UdpHandle, UdpError> {
        let port = if port == 0 {
            self.ephemeral()?
        } else if self.port_in_use(port) {
            return Err(UdpError::AddrInUse);
        } else {
            port
        };
        let (i, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| !s.bound)
            .ok_or(UdpError::NoSlot)?;
        slot.bound = true;
        slot.port = port;
        Ok(UdpHandle(i))
    }

    fn ephemeral(&mut self) -> Result<u16, UdpError> {
        if self.slots.iter().all(|s| s.bound) {
            return Err(UdpError::NoSlot);
        }
        // At most as many ports are taken as there are slots, so this terminates quickly.
        for _ in 0..=self.slots.len() {
            let p = self.next_ephemeral;
            self.next_ephemeral = if p == u16::MAX {
                EPHEMERAL_FIRST
            } else {
                p + 1
            };
            if !self.port_in_use(p) {
                return Ok(p);
            }
        }
        Err(UdpError::AddrInUse)
    }

    pub(crate) fn get(&mut self, h: UdpHandle) -> Result<&mut UdpSlot, UdpError> {
        match self.slots.get_mut(h.0) {
            Some(s) if s.bound => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }

    /// Unbind `h`, returning its buffers to `pool`.
    pub(crate) fn close(&mut self, h: UdpHandle, pool: &mut PacketPool<'_>) {
        if let Some(s) = self.slots.get_mut(h.0) {
            s.reset(pool);
        }
    }

    pub(crate) fn find_port(&mut self, port: u16) -> Option<&mut UdpSlot> {
        self.slots.iter_mut().find(|s| s.bound && s.port == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_rules() {
        let mut bytes = [0u8; 4 * 64];
        let mut pool = PacketPool::new(&mut bytes, 64);
        let mut slots = [UdpSlot::new(64, 64), UdpSlot::new(64, 64)];
        let mut t = SocketTable::new(&mut slots);
        let h = t.bind(7).unwrap();
        assert_eq!(t.bind(7), Err(UdpError::AddrInUse));
        let e = t.bind(0).unwrap();
        assert_eq!(t.get(e).unwrap().local_port(), Some(EPHEMERAL_FIRST));
        assert_eq!(t.bind(8), Err(UdpError::NoSlot));
        assert_eq!(t.bind(0), Err(UdpError::NoSlot));
        t.close(h, &mut pool);
        assert_eq!(t.get(h).err(), Some(UdpError::InvalidHandle));
        let h2 = t.bind(7).unwrap();
        assert_eq!(h2, h);
        assert!(t.find_port(7).is_some());
        assert!(t.find_port(9).is_none());
        assert_eq!(t.in_use(), 2);
        let _ = UdpSlot::empty();
        let _unused: [UdpSlot; 2] = [UdpSlot::EMPTY; 2];
    }
}
