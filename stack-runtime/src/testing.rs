//! An in-memory [`Driver`] for tests: frames are injected into a receive queue and read back
//! from a transmit queue, one by one, so a test can drive the stack segment by segment.
//!
//! Available in this crate's tests and, with the `testing` cargo feature, to other crates.
//! Everything lives in fixed arrays (`N` frames of up to `MTU` bytes per direction).

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// A FIFO of up to `N` frames of up to `MTU` bytes.
#[derive(Debug, Clone)]
pub struct FrameQueue<const N: usize, const MTU: usize> {
    frames: [[u8; MTU]; N],
    lens: [usize; N],
    head: usize,
    count: usize,
    /// Frames refused because the queue was full.
    pub overflows: usize,
}

impl<const N: usize, const MTU: usize> FrameQueue<N, MTU> {
    /// An empty queue.
    pub const fn new() -> Self {
        FrameQueue {
            frames: [[0; MTU]; N],
            lens: [0; N],
            head: 0,
            count: 0,
            overflows: 0,
        }
    }

    /// Frames queued.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Append a frame (truncated to `MTU`); false, counted in `overflows`, when full.
    pub fn push(&mut self, frame: &[u8]) -> bool {
        match self.push_with(frame.len(), |b| b.copy_from_slice(&frame[..b.len()])) {
            Some(()) => true,
            None => false,
        }
    }

    fn push_with<R>(&mut self, len: usize, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        if self.count == N {
            self.overflows += 1;
            return None;
        }
        let i = (self.head + self.count) % N;
        let len = len.min(MTU);
        self.lens[i] = len;
        self.count += 1;
        Some(f(&mut self.frames[i][..len]))
    }

    /// Remove the oldest frame.
    pub fn pop(&mut self) -> Option<SentFrame<MTU>> {
        if self.count == 0 {
            return None;
        }
        let i = self.head;
        self.head = (self.head + 1) % N;
        self.count -= 1;
        Some(SentFrame {
            data: self.frames[i],
            len: self.lens[i],
        })
    }

    fn pop_with<R>(&mut self, f: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        if self.count == 0 {
            return None;
        }
        let i = self.head;
        self.head = (self.head + 1) % N;
        self.count -= 1;
        let len = self.lens[i];
        Some(f(&mut self.frames[i][..len]))
    }
}

impl<const N: usize, const MTU: usize> Default for FrameQueue<N, MTU> {
    fn default() -> Self {
        Self::new()
    }
}

/// A frame taken out of a [`FrameQueue`]; dereferences to its bytes.
#[derive(Debug, Clone)]
pub struct SentFrame<const MTU: usize> {
    data: [u8; MTU],
    len: usize,
}

impl<const MTU: usize> core::ops::Deref for SentFrame<MTU> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data[..self.len]
    }
}

/// The test driver: a receive queue the test fills with [`inject`](Self::inject) and a
/// transmit queue it drains with [`take_sent`](Self::take_sent).
///
/// `tx_limit` bounds how many frames the driver accepts before the test drains it, to simulate
/// a driver that is out of transmit buffers.
#[derive(Debug, Clone)]
pub struct FrameQueueDriver<const N: usize = 16, const MTU: usize = 1514> {
    mac: [u8; 6],
    /// Frames waiting to be received by the stack.
    pub rx: FrameQueue<N, MTU>,
    /// Frames the stack sent.
    pub tx: FrameQueue<N, MTU>,
    /// Most frames the transmit queue accepts (at most `N`).
    pub tx_limit: usize,
    /// Reported link state.
    pub link_up: bool,
}

impl<const N: usize, const MTU: usize> FrameQueueDriver<N, MTU> {
    /// A driver with hardware address `mac`, link up, empty queues.
    pub const fn new(mac: [u8; 6]) -> Self {
        FrameQueueDriver {
            mac,
            rx: FrameQueue::new(),
            tx: FrameQueue::new(),
            tx_limit: N,
            link_up: true,
        }
    }

    /// Queue `frame` for the stack to receive; false when the receive queue is full.
    pub fn inject(&mut self, frame: &[u8]) -> bool {
        self.rx.push(frame)
    }

    /// The oldest frame the stack sent, if any.
    pub fn take_sent(&mut self) -> Option<SentFrame<MTU>> {
        self.tx.pop()
    }

    /// Move every frame sent into the receive queue of `other` (a wire between two stacks).
    /// Returns how many were moved.
    pub fn forward_to<const M: usize>(&mut self, other: &mut FrameQueueDriver<M, MTU>) -> usize {
        let mut n = 0;
        while let Some(f) = self.tx.pop() {
            other.inject(&f);
            n += 1;
        }
        n
    }
}

/// Receive token of [`FrameQueueDriver`].
#[derive(Debug)]
pub struct TestRxToken<'a, const N: usize, const MTU: usize> {
    queue: &'a mut FrameQueue<N, MTU>,
}

/// Transmit token of [`FrameQueueDriver`].
#[derive(Debug)]
pub struct TestTxToken<'a, const N: usize, const MTU: usize> {
    queue: &'a mut FrameQueue<N, MTU>,
}

impl<const N: usize, const MTU: usize> RxToken for TestRxToken<'_, N, MTU> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut f = Some(f);
        match self.queue.pop_with(|b| (f.take().expect("called once"))(b)) {
            Some(r) => r,
            // Only reachable if a token outlives its frame; hand over an empty frame.
            None => (f.take().expect("not called"))(&mut []),
        }
    }
}

impl<const N: usize, const MTU: usize> TxToken for TestTxToken<'_, N, MTU> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut f = Some(f);
        match self
            .queue
            .push_with(len, |b| (f.take().expect("called once"))(b))
        {
            Some(r) => r,
            None => {
                let mut scratch = [0u8; MTU];
                (f.take().expect("not called"))(&mut scratch[..len.min(MTU)])
            }
        }
    }
}

impl<const N: usize, const MTU: usize> Driver for FrameQueueDriver<N, MTU> {
    type RxToken<'a>
        = TestRxToken<'a, N, MTU>
    where
        Self: 'a;
    type TxToken<'a>
        = TestTxToken<'a, N, MTU>
    where
        Self: 'a;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.rx.is_empty() {
            return None;
        }
        Some((
            TestRxToken {
                queue: &mut self.rx,
            },
            TestTxToken {
                queue: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Self::TxToken<'_>> {
        if self.tx.len() >= self.tx_limit.min(N) {
            return None;
        }
        Some(TestTxToken {
            queue: &mut self.tx,
        })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        if self.link_up {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::default();
        c.max_transmission_unit = MTU;
        c
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}
