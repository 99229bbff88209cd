//! Async TCP: [`TcpSocket`] over the poll API's `tcp_*` calls, and `TcpConnect` for
//! [`AsyncStack`].

use core::future::poll_fn;
use core::net::{SocketAddr, SocketAddrV4};
use core::task::Poll;

use super::{AsyncStack, Dir, Error, Inner};
use crate::{Stack, TcpError, TcpHandle, TcpState};

/// Readiness of side `dir` of TCP slot `i`, packed in a word that changes whenever anything
/// a task waiting on that side may care about does: slot generation, state, error, and for
/// receiving whether data is there and may still come, for sending whether we may send and
/// how much room the send queue has (which moves with the packet pool's use too).
pub(super) fn readiness_of_slot(stack: &Stack<'_>, i: usize, dir: Dir) -> u64 {
    let Some(s) = stack.tcp.sockets.get(i) else {
        return 0;
    };
    let error = s.error.map_or(0, |e| e as u64 + 1);
    let side = match dir {
        Dir::Rx => u64::from(s.can_recv()) | u64::from(s.may_recv()) << 1,
        Dir::Tx => {
            let room = s.send_room(&stack.tcp.pool, &stack.pool).min(0x7f_ffff) as u64;
            u64::from(s.may_send()) | room << 1
        }
    };
    let owned = u64::from(s.owned);
    u64::from(s.generation) << 48 | (s.state() as u64) << 40 | error << 32 | owned << 31 | side
}

/// A TCP connection used from async code: reads and writes implement
/// [`embedded_io_async::Read`] and [`embedded_io_async::Write`]. Dropping it closes the
/// connection ([`Stack::tcp_close`]: a FIN follows the queued data).
#[derive(Debug)]
pub struct TcpSocket<'s, 'a> {
    stack: &'s AsyncStack<'a>,
    handle: TcpHandle,
}

impl<'s, 'a> TcpSocket<'s, 'a> {
    /// Open a connection to `remote` from an ephemeral port and wait until it is established
    /// (or refused, reset, timed out).
    pub async fn connect(
        stack: &'s AsyncStack<'a>,
        remote: SocketAddrV4,
    ) -> Result<TcpSocket<'s, 'a>, Error> {
        let handle = {
            let mut inner = stack.inner();
            let now = inner.now;
            if inner.wakers.tcp.is_empty() {
                return Err(Error::NoWakerSlot);
            }
            let h = inner
                .stack
                .tcp_connect(remote, 0, now)
                .map_err(Error::Tcp)?;
            inner.wake_runner();
            h
        };
        // From here on, dropping the socket (a cancelled connect) closes the handle.
        let socket = TcpSocket { stack, handle };
        poll_fn(|cx| {
            let mut inner = stack.inner();
            let Inner {
                stack: s, wakers, ..
            } = &mut *inner;
            if let Some(e) = s.tcp_error(handle) {
                return Poll::Ready(Err(Error::Tcp(e)));
            }
            match s.tcp_state(handle) {
                TcpState::SynSent | TcpState::SynReceived => {
                    let i = handle.slot_index();
                    let seen = readiness_of_slot(s, i, Dir::Tx);
                    Inner::park(wakers.tcp, i, Dir::Tx, cx.waker(), seen);
                    Poll::Pending
                }
                TcpState::Closed => Poll::Ready(Err(Error::Tcp(TcpError::Refused))),
                _ => Poll::Ready(Ok(())),
            }
        })
        .await?;
        Ok(socket)
    }

    /// Use a connection opened with the poll API (e.g. from [`Stack::tcp_accept`]) from async
    /// code; the socket owns the handle from now on.
    pub fn from_handle(stack: &'s AsyncStack<'a>, handle: TcpHandle) -> Self {
        TcpSocket { stack, handle }
    }

    /// The poll-API handle of this connection.
    pub fn handle(&self) -> TcpHandle {
        self.handle
    }

    /// The connection state.
    pub fn state(&self) -> TcpState {
        self.stack.inner().stack.tcp_state(self.handle)
    }

    /// Read into `buf`: waits until data arrives; `Ok(0)` at the end of the stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let handle = self.handle;
        poll_fn(|cx| {
            let mut inner = self.stack.inner();
            match inner.stack.tcp_recv(handle, buf) {
                Ok(n) => {
                    // Reading opens the window: the runner may owe the peer an update.
                    inner.wake_runner();
                    Poll::Ready(Ok(n))
                }
                Err(TcpError::WouldBlock) => {
                    let Inner {
                        stack: s, wakers, ..
                    } = &mut *inner;
                    let i = handle.slot_index();
                    let seen = readiness_of_slot(s, i, Dir::Rx);
                    Inner::park(wakers.tcp, i, Dir::Rx, cx.waker(), seen);
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(Error::Tcp(e))),
            }
        })
        .await
    }

    /// Queue as much of `buf` as the send buffer takes (at least one byte): waits while it is
    /// full. The runner sends it.
    pub async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let handle = self.handle;
        poll_fn(|cx| {
            let mut inner = self.stack.inner();
            match inner.stack.tcp_send(handle, buf) {
                Ok(n) => {
                    inner.wake_runner();
                    Poll::Ready(Ok(n))
                }
                Err(TcpError::WouldBlock) => {
                    let Inner {
                        stack: s, wakers, ..
                    } = &mut *inner;
                    let i = handle.slot_index();
                    let seen = readiness_of_slot(s, i, Dir::Tx);
                    Inner::park(wakers.tcp, i, Dir::Tx, cx.waker(), seen);
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(Error::Tcp(e))),
            }
        })
        .await
    }

    /// Close our direction (a FIN follows the queued data) and keep reading what the peer
    /// still sends (half-close, [`Stack::tcp_shutdown`]).
    pub fn shutdown(&mut self) {
        let mut inner = self.stack.inner();
        inner.stack.tcp_shutdown(self.handle);
        inner.wake_runner();
    }

    /// Abort: a RST is sent and the connection is gone ([`Stack::tcp_abort`]).
    pub fn abort(self) {
        {
            let mut inner = self.stack.inner();
            let now = inner.now;
            inner.stack.tcp_abort(self.handle, now);
            inner.wake_runner();
        }
        // Drop then closes a handle that is already invalid: a no-op.
    }
}

impl Drop for TcpSocket<'_, '_> {
    fn drop(&mut self) {
        let mut inner = self.stack.inner();
        inner.stack.tcp_close(self.handle);
        inner.wake_runner();
    }
}

impl embedded_io_async::ErrorType for TcpSocket<'_, '_> {
    type Error = Error;
}

impl embedded_io_async::Read for TcpSocket<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        TcpSocket::read(self, buf).await
    }
}

impl embedded_io_async::Write for TcpSocket<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        TcpSocket::write(self, buf).await
    }

    /// The data is in the stack's send queue, which the runner drains (retransmitting as
    /// needed); flushing only makes sure the runner looks at it now.
    async fn flush(&mut self) -> Result<(), Error> {
        let mut inner = self.stack.inner();
        if let Some(e) = inner.stack.tcp_error(self.handle) {
            return Err(Error::Tcp(e));
        }
        inner.wake_runner();
        Ok(())
    }
}

impl<'a> embedded_nal_async::TcpConnect for AsyncStack<'a> {
    type Error = Error;
    type Connection<'c>
        = TcpSocket<'c, 'a>
    where
        Self: 'c;

    async fn connect<'c>(&'c self, remote: SocketAddr) -> Result<TcpSocket<'c, 'a>, Error> {
        TcpSocket::connect(self, super::v4(remote)?).await
    }
}
