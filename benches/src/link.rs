//! A zero-overhead in-memory Ethernet link: two fixed rings of frame buffers, one per
//! direction, and a [`Port`] view that is both an `embassy_net_driver::Driver` (our stack) and
//! a `smoltcp::phy::Device` (smoltcp). A frame is written once by the sender's transmit token
//! straight into the ring and read in place by the receiver's receive token.

use core::task::Context;

use embassy_net_driver as ed;
use smoltcp::phy as sp;

/// Largest Ethernet frame carried (1500-byte MTU plus the 14-byte header).
pub const FRAME: usize = 1514;

/// A ring of frames for one direction of the link.
#[derive(Debug)]
pub struct Ring {
    bufs: Vec<[u8; FRAME]>,
    lens: Vec<usize>,
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring holding at most `capacity` frames.
    pub fn new(capacity: usize) -> Self {
        Ring {
            bufs: vec![[0; FRAME]; capacity],
            lens: vec![0; capacity],
            head: 0,
            len: 0,
        }
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether no more frames fit.
    pub fn is_full(&self) -> bool {
        self.len == self.bufs.len()
    }

    fn push_with<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
        assert!(!self.is_full(), "transmit token handed out on a full ring");
        let cap = self.bufs.len();
        let i = (self.head + self.len) % cap;
        let len = len.min(FRAME);
        self.lens[i] = len;
        self.len += 1;
        f(&mut self.bufs[i][..len])
    }

    fn pop_with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        assert!(
            !self.is_empty(),
            "receive token handed out on an empty ring"
        );
        let i = self.head;
        self.head = (self.head + 1) % self.bufs.len();
        self.len -= 1;
        let len = self.lens[i];
        f(&mut self.bufs[i][..len])
    }
}

/// One end of the link for the duration of a poll: frames are received from `rx` and sent
/// into `tx` (the peer's `rx`).
#[derive(Debug)]
pub struct Port<'a> {
    /// This end's hardware address.
    pub mac: [u8; 6],
    /// Frames arriving at this end.
    pub rx: &'a mut Ring,
    /// Frames leaving this end.
    pub tx: &'a mut Ring,
}

/// Receive token of a [`Port`].
#[derive(Debug)]
pub struct RxTok<'a>(&'a mut Ring);

/// Transmit token of a [`Port`].
#[derive(Debug)]
pub struct TxTok<'a>(&'a mut Ring);

impl ed::RxToken for RxTok<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.0.pop_with(f)
    }
}

impl ed::TxToken for TxTok<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.0.push_with(len, f)
    }
}

impl ed::Driver for Port<'_> {
    type RxToken<'b>
        = RxTok<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TxTok<'b>
    where
        Self: 'b;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.rx.is_empty() || self.tx.is_full() {
            return None;
        }
        Some((RxTok(self.rx), TxTok(self.tx)))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Self::TxToken<'_>> {
        if self.tx.is_full() {
            return None;
        }
        Some(TxTok(self.tx))
    }

    fn link_state(&mut self, _cx: &mut Context) -> ed::LinkState {
        ed::LinkState::Up
    }

    fn capabilities(&self) -> ed::Capabilities {
        let mut c = ed::Capabilities::default();
        c.max_transmission_unit = FRAME;
        c
    }

    fn hardware_address(&self) -> ed::HardwareAddress {
        ed::HardwareAddress::Ethernet(self.mac)
    }
}

impl sp::RxToken for RxTok<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        self.0.pop_with(|b| f(b))
    }
}

impl sp::TxToken for TxTok<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        self.0.push_with(len, f)
    }
}

impl sp::Device for Port<'_> {
    type RxToken<'b>
        = RxTok<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = TxTok<'b>
    where
        Self: 'b;

    fn receive(
        &mut self,
        _timestamp: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.rx.is_empty() || self.tx.is_full() {
            return None;
        }
        Some((RxTok(self.rx), TxTok(self.tx)))
    }

    fn transmit(&mut self, _timestamp: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        if self.tx.is_full() {
            return None;
        }
        Some(TxTok(self.tx))
    }

    fn capabilities(&self) -> sp::DeviceCapabilities {
        let mut c = sp::DeviceCapabilities::default();
        c.medium = sp::Medium::Ethernet;
        c.max_transmission_unit = FRAME;
        // Default checksum capabilities: computed and verified in software, as ours are.
        c
    }
}
