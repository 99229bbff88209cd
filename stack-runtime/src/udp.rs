//! UDP sockets from a fixed pool of caller-owned slots.
//!
//! Each [`UdpSlot`] owns a receive and a transmit [`DatagramRing`] over byte slices the caller
//! provides, so a socket holds whole datagrams with their addresses. The socket table here only
//! knows about ports and buffers; the interface ([`crate::Stack`]) moves datagrams between the
//! rings and the wire.

use core::fmt;

use crate::ring::DatagramRing;

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
    /// The transmit buffer cannot take this datagram now; poll the stack and try again.
    BufferFull,
    /// The datagram can never be sent: larger than the socket's transmit buffer or than an
    /// IPv4 datagram can be.
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
            UdpError::BufferFull => "transmit buffer full",
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

/// One UDP socket: a bound port and its receive and transmit datagram rings.
#[derive(Debug)]
pub struct UdpSlot<'a> {
    pub(crate) port: u16,
    pub(crate) bound: bool,
    pub(crate) rx: DatagramRing<'a>,
    pub(crate) tx: DatagramRing<'a>,
    /// Bytes of the head transmit datagram already sent as fragments (resumes after the driver
    /// ran out of transmit buffers).
    pub(crate) tx_sent: usize,
    /// IPv4 identification of the head transmit datagram while it is being fragmented.
    pub(crate) tx_ident: u16,
}

impl<'a> UdpSlot<'a> {
    /// A socket slot that buffers received datagrams in `rx` and outgoing ones in `tx`. Each
    /// datagram costs 12 bytes of metadata in its ring (plus the 8-byte UDP header in `tx`).
    pub const fn new(rx: &'a mut [u8], tx: &'a mut [u8]) -> Self {
        UdpSlot {
            port: 0,
            bound: false,
            rx: DatagramRing::new(rx),
            tx: DatagramRing::new(tx),
            tx_sent: 0,
            tx_ident: 0,
        }
    }

    /// A slot without buffers (it can be bound but never holds a datagram); a placeholder for
    /// arrays built before their buffers exist.
    pub const EMPTY: UdpSlot<'a> = UdpSlot::new(&mut [], &mut []);

    /// Same as [`UdpSlot::EMPTY`].
    pub const fn empty() -> UdpSlot<'a> {
        UdpSlot::new(&mut [], &mut [])
    }

    /// The bound local port, if the slot is in use.
    pub fn local_port(&self) -> Option<u16> {
        self.bound.then_some(self.port)
    }

    /// Number of received datagrams waiting.
    pub fn rx_queued(&self) -> usize {
        self.rx.len()
    }

    /// Number of datagrams waiting to be sent.
    pub fn tx_queued(&self) -> usize {
        self.tx.len()
    }

    fn reset(&mut self) {
        self.bound = false;
        self.port = 0;
        self.rx.clear();
        self.tx.clear();
        self.tx_sent = 0;
    }
}

/// The fixed table of UDP sockets.
#[derive(Debug)]
pub(crate) struct SocketTable<'a> {
    pub(crate) slots: &'a mut [UdpSlot<'a>],
    next_ephemeral: u16,
}

impl<'a> SocketTable<'a> {
    pub(crate) fn new(slots: &'a mut [UdpSlot<'a>]) -> Self {
        for s in slots.iter_mut() {
            s.reset();
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
        slot.reset();
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

    pub(crate) fn get(&mut self, h: UdpHandle) -> Result<&mut UdpSlot<'a>, UdpError> {
        match self.slots.get_mut(h.0) {
            Some(s) if s.bound => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }

    pub(crate) fn close(&mut self, h: UdpHandle) {
        if let Some(s) = self.slots.get_mut(h.0) {
            s.reset();
        }
    }

    pub(crate) fn find_port(&mut self, port: u16) -> Option<&mut UdpSlot<'a>> {
        self.slots.iter_mut().find(|s| s.bound && s.port == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_rules() {
        let (mut a, mut b, mut c, mut d) = ([0u8; 64], [0u8; 64], [0u8; 64], [0u8; 64]);
        let mut slots = [UdpSlot::new(&mut a, &mut b), UdpSlot::new(&mut c, &mut d)];
        let mut t = SocketTable::new(&mut slots);
        let h = t.bind(7).unwrap();
        assert_eq!(t.bind(7), Err(UdpError::AddrInUse));
        let e = t.bind(0).unwrap();
        assert_eq!(t.get(e).unwrap().local_port(), Some(EPHEMERAL_FIRST));
        assert_eq!(t.bind(8), Err(UdpError::NoSlot));
        assert_eq!(t.bind(0), Err(UdpError::NoSlot));
        t.close(h);
        assert_eq!(t.get(h).err(), Some(UdpError::InvalidHandle));
        let h2 = t.bind(7).unwrap();
        assert_eq!(h2, h);
        assert!(t.find_port(7).is_some());
        assert!(t.find_port(9).is_none());
        assert_eq!(t.in_use(), 2);
        let _ = UdpSlot::empty();
        let _unused: [UdpSlot<'static>; 2] = [UdpSlot::EMPTY; 2];
    }
}
