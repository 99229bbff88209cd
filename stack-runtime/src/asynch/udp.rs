//! Async UDP: [`UdpSocket`] over the poll API's `udp_*` calls, and `embedded_nal_async`'s
//! `UdpStack` for `&AsyncStack`.

use core::future::poll_fn;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::task::Poll;

use super::{AsyncStack, Dir, Error, Inner, v4};
use crate::{Stack, UdpError, UdpHandle};

/// Readiness of side `dir` of UDP slot `i`, packed in a word: the bound port and, for
/// receive, the datagrams queued on the socket; for send, the packet buffers and transmit-queue
/// slots free (a send refused with `BufferFull` can go once a queued frame was sent and its
/// buffer freed, which changes them).
pub(super) fn readiness_of_slot(stack: &Stack<'_>, i: usize, dir: Dir) -> u64 {
    let Some(s) = stack.sockets.slots.get(i) else {
        return 0;
    };
    let port = s.local_port().map_or(0, |p| u64::from(p) + 1);
    let ready = match dir {
        Dir::Rx => s.rx_queued(),
        Dir::Tx => {
            let queue_free = stack.queue.capacity() - stack.queue.in_use();
            stack.pool.available() << 16 | (queue_free & 0xffff)
        }
    };
    port << 32 | (ready as u64 & 0xffff_ffff)
}

/// A UDP socket used from async code. Dropping it closes the socket.
#[derive(Debug)]
pub struct UdpSocket<'s, 'a> {
    stack: &'s AsyncStack<'a>,
    handle: UdpHandle,
}

impl<'s, 'a> UdpSocket<'s, 'a> {
    /// Bind a socket to `port` (0: an ephemeral port).
    pub fn bind(stack: &'s AsyncStack<'a>, port: u16) -> Result<Self, Error> {
        let mut inner = stack.inner();
        let handle = inner.stack.udp_bind(port).map_err(Error::Udp)?;
        if handle.index() >= inner.wakers.udp.len() {
            inner.stack.udp_close(handle);
            return Err(Error::NoWakerSlot);
        }
        Ok(UdpSocket { stack, handle })
    }

    /// The poll-API handle of this socket.
    pub fn handle(&self) -> UdpHandle {
        self.handle
    }

    /// The local address: the interface address (unspecified while there is none) and the
    /// bound port.
    pub fn local_addr(&self) -> SocketAddrV4 {
        let inner = self.stack.inner();
        let ip = inner
            .stack
            .ipv4()
            .map_or(Ipv4Addr::UNSPECIFIED, |c| c.address);
        let port = inner.stack.udp_local_port(self.handle).unwrap_or(0);
        SocketAddrV4::new(ip, port)
    }

    /// Queue `payload` for `to` (built into packet buffers), waiting while no buffer or
    /// transmit-queue slot is free for it. The runner sends it.
    pub async fn send_to(&mut self, payload: &[u8], to: SocketAddrV4) -> Result<(), Error> {
        let handle = self.handle;
        poll_fn(|cx| {
            let mut inner = self.stack.inner();
            match inner.stack.udp_send_to(handle, payload, to) {
                Ok(()) => {
                    inner.wake_runner();
                    Poll::Ready(Ok(()))
                }
                Err(UdpError::BufferFull) => {
                    let Inner {
                        stack: s, wakers, ..
                    } = &mut *inner;
                    let seen = readiness_of_slot(s, handle.index(), Dir::Tx);
                    Inner::park(wakers.udp, handle.index(), Dir::Tx, cx.waker(), seen);
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(Error::Udp(e))),
            }
        })
        .await
    }

    /// Wait for a datagram: its length and sender. A datagram larger than `buf` is consumed
    /// and reported as [`UdpError::Truncated`].
    pub async fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, SocketAddrV4), Error> {
        let handle = self.handle;
        poll_fn(|cx| {
            let mut inner = self.stack.inner();
            match inner.stack.udp_recv_from(handle, buf) {
                Err(UdpError::WouldBlock) => {
                    let Inner {
                        stack: s, wakers, ..
                    } = &mut *inner;
                    let seen = readiness_of_slot(s, handle.index(), Dir::Rx);
                    Inner::park(wakers.udp, handle.index(), Dir::Rx, cx.waker(), seen);
                    Poll::Pending
                }
                r => Poll::Ready(r.map_err(Error::Udp)),
            }
        })
        .await
    }
}

impl Drop for UdpSocket<'_, '_> {
    fn drop(&mut self) {
        self.stack.inner().stack.udp_close(self.handle);
    }
}

impl embedded_io_async::ErrorType for UdpSocket<'_, '_> {
    type Error = Error;
}

impl embedded_nal_async::UnconnectedUdp for UdpSocket<'_, '_> {
    type Error = Error;

    /// `local` only selects the socket; the stack has one address, which is always used.
    async fn send(
        &mut self,
        _local: SocketAddr,
        remote: SocketAddr,
        data: &[u8],
    ) -> Result<(), Error> {
        self.send_to(data, v4(remote)?).await
    }

    async fn receive_into(
        &mut self,
        buffer: &mut [u8],
    ) -> Result<(usize, SocketAddr, SocketAddr), Error> {
        let (n, from) = self.recv_from(buffer).await?;
        Ok((n, SocketAddr::V4(self.local_addr()), SocketAddr::V4(from)))
    }
}

/// A UDP socket that talks to one remote address only (from `UdpStack::connect`): datagrams
/// from anyone else are dropped on receive.
#[derive(Debug)]
pub struct ConnectedUdpSocket<'s, 'a> {
    socket: UdpSocket<'s, 'a>,
    remote: SocketAddrV4,
}

impl<'s, 'a> ConnectedUdpSocket<'s, 'a> {
    /// The underlying socket.
    pub fn socket(&mut self) -> &mut UdpSocket<'s, 'a> {
        &mut self.socket
    }

    /// The one remote address.
    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }
}

impl embedded_io_async::ErrorType for ConnectedUdpSocket<'_, '_> {
    type Error = Error;
}

impl embedded_nal_async::ConnectedUdp for ConnectedUdpSocket<'_, '_> {
    type Error = Error;

    async fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.socket.send_to(data, self.remote).await
    }

    async fn receive_into(&mut self, buffer: &mut [u8]) -> Result<usize, Error> {
        loop {
            let (n, from) = self.socket.recv_from(buffer).await?;
            if from == self.remote {
                return Ok(n);
            }
        }
    }
}

impl<'s, 'a> embedded_nal_async::UdpStack for &'s AsyncStack<'a> {
    type Error = Error;
    type Connected = ConnectedUdpSocket<'s, 'a>;
    type UniquelyBound = UdpSocket<'s, 'a>;
    type MultiplyBound = UdpSocket<'s, 'a>;

    async fn connect_from(
        &self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<(SocketAddr, Self::Connected), Error> {
        let remote = v4(remote)?;
        let socket = UdpSocket::bind(self, v4(local)?.port())?;
        let local = SocketAddr::V4(socket.local_addr());
        Ok((local, ConnectedUdpSocket { socket, remote }))
    }

    async fn bind_single(
        &self,
        local: SocketAddr,
    ) -> Result<(SocketAddr, UdpSocket<'s, 'a>), Error> {
        let socket = UdpSocket::bind(self, v4(local)?.port())?;
        Ok((SocketAddr::V4(socket.local_addr()), socket))
    }

    /// One socket per port; it receives datagrams to any address the stack accepts.
    async fn bind_multiple(&self, local: SocketAddr) -> Result<UdpSocket<'s, 'a>, Error> {
        UdpSocket::bind(self, v4(local)?.port())
    }
}
