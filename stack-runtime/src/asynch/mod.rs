//! The async API (feature `async`): futures over the poll API, for any executor.
//!
//! Nothing here runs a protocol: every future calls the poll API of [`Stack`]
//! (`tcp_send`, `tcp_recv`, `udp_send_to`, `dns_result`…) and, when that says "not now"
//! (`WouldBlock`, `BufferFull`), parks its [`Waker`] in a slot of the socket and returns
//! `Pending`. [`AsyncStack::poll`] runs [`Stack::poll`] and then wakes the wakers of the
//! sockets whose readiness changed (state, data to read, room to write, error), so a task is
//! polled again only when it can make progress. It is Waker-based and executor-agnostic: the
//! same code runs under embassy-executor on a board and under a `block_on` on the host.
//!
//! * [`AsyncStack`]: the stack in a [`RefCell`] (single-core executors: the futures and the
//!   runner share it, never across threads), with the caller's [`WakerStorage`];
//! * [`AsyncStack::run`]: the runner future, polling the stack whenever the driver, a socket
//!   operation or a deadline ([`Clock`]) asks; or drive [`AsyncStack::poll`] from your own
//!   loop (the host example does);
//! * `TcpSocket` (feature `tcp`), `UdpSocket` (feature `udp`): `embedded-io-async` reads and
//!   writes, and the stack implements `embedded-nal-async`'s `TcpConnect`, `UdpStack` (on
//!   `&AsyncStack`) and `Dns` (feature `dns`), so HTTP and MQTT clients written against those
//!   traits run unchanged;
//! * [`Error`]: every failure, with its [`embedded_io_async::ErrorKind`].
//!
//! `examples/http-fetch` shows the whole path on the host: DHCP, a DNS lookup and an HTTP
//! fetch with reqwless, driven by a hand-written loop around [`AsyncStack::poll`].

use core::cell::{RefCell, RefMut};
use core::convert::Infallible;
use core::future::poll_fn;
use core::task::{Context, Poll, Waker};

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};

use crate::Stack;
use crate::time::Instant;

#[cfg(feature = "dns")]
mod dns;
#[cfg(feature = "tcp")]
mod tcp;
#[cfg(all(test, feature = "tcp", feature = "udp", feature = "dns"))]
mod tests;
#[cfg(feature = "udp")]
mod udp;

#[cfg(feature = "tcp")]
pub use tcp::TcpSocket;
#[cfg(feature = "udp")]
pub use udp::{ConnectedUdpSocket, UdpSocket};

/// The board's monotonic clock, as the runner needs it: the time now, and a way to be woken at
/// a deadline (a hardware timer's alarm, `embassy-time`'s queue, a host thread…). The stack
/// itself reads no clock.
pub trait Clock {
    /// The time now.
    fn now(&self) -> Instant;
    /// Wake `waker` at (or soon after) `at`. Waking early is harmless: the runner polls and
    /// asks again.
    fn wake_at(&self, at: Instant, waker: &Waker);
}

/// One waker per direction of a socket, with what the socket looked like when it was parked.
#[derive(Debug)]
struct Parked {
    waker: Waker,
    /// The socket's readiness when the task parked; a poll that changes it wakes the task.
    seen: u64,
}

/// The waker slots of one socket (or one DNS query slot): a receive-side and a send-side
/// task. Caller storage, one per socket slot of the stack (start from [`SocketWakers::EMPTY`]).
#[derive(Debug, Default)]
pub struct SocketWakers {
    rx: Option<Parked>,
    tx: Option<Parked>,
}

impl SocketWakers {
    /// No task parked.
    pub const EMPTY: SocketWakers = SocketWakers { rx: None, tx: None };

    fn slot(&mut self, dir: Dir) -> &mut Option<Parked> {
        match dir {
            Dir::Rx => &mut self.rx,
            Dir::Tx => &mut self.tx,
        }
    }

    /// Wake whatever is parked whose side's readiness is no longer what it saw (`rx`, `tx`:
    /// the readiness of each side now).
    fn wake_changed(&mut self, rx: u64, tx: u64) {
        for (p, now) in [(&mut self.rx, rx), (&mut self.tx, tx)] {
            if p.as_ref().is_some_and(|p| p.seen != now)
                && let Some(p) = p.take()
            {
                p.waker.wake();
            }
        }
    }

    /// Wake everything parked (the socket went away).
    fn wake_all(&mut self) {
        for p in [&mut self.rx, &mut self.tx] {
            if let Some(p) = p.take() {
                p.waker.wake();
            }
        }
    }
}

/// Which side of a socket a task waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Rx,
    Tx,
}

/// The waker slots the async layer needs, owned by the caller like the rest of the stack's
/// memory (no heap). `tcp` and `udp` have one entry per socket slot of the stack (fewer: the
/// sockets beyond them cannot be used from async code); `dns` one per concurrent async lookup.
#[derive(Debug)]
pub struct WakerStorage<'a> {
    /// One per TCP socket slot (`TcpStorage::sockets`).
    pub tcp: &'a mut [SocketWakers],
    /// One per UDP socket slot (`StackStorage::udp`).
    pub udp: &'a mut [SocketWakers],
    /// One per async DNS lookup running at once (at most the resolver's query slots).
    pub dns: &'a mut [SocketWakers],
}

/// What the runner and the futures share.
#[derive(Debug)]
pub(crate) struct Inner<'a> {
    pub(crate) stack: Stack<'a>,
    pub(crate) wakers: WakerStorage<'a>,
    /// The runner, woken when a socket operation left work for the next poll.
    runner: Option<Waker>,
    /// The time of the last poll: the clock of operations that need one (`tcp_connect`).
    pub(crate) now: Instant,
}

impl Inner<'_> {
    /// A socket operation queued work (data, a SYN, a FIN, a query): poll soon.
    pub(crate) fn wake_runner(&mut self) {
        if let Some(w) = self.runner.take() {
            w.wake();
        }
    }

    /// Park `waker` on side `dir` of slot `index` of `table` with readiness `seen`. A different
    /// task parked there before is woken (it re-parks itself when polled), so no task is lost.
    pub(crate) fn park(
        table: &mut [SocketWakers],
        index: usize,
        dir: Dir,
        waker: &Waker,
        seen: u64,
    ) {
        let Some(slot) = table.get_mut(index) else {
            // No waker slot for this socket: wake at once (busy-polls rather than hanging).
            waker.wake_by_ref();
            return;
        };
        let slot = slot.slot(dir);
        match slot {
            Some(p) if p.waker.will_wake(waker) => p.seen = seen,
            _ => {
                if let Some(old) = slot.replace(Parked {
                    waker: waker.clone(),
                    seen,
                }) {
                    old.waker.wake();
                }
            }
        }
    }

    /// After a poll: wake the tasks whose socket changed.
    fn wake_ready(&mut self) {
        #[cfg(feature = "tcp")]
        for i in 0..self.wakers.tcp.len() {
            let rx = tcp::readiness_of_slot(&self.stack, i, Dir::Rx);
            let tx = tcp::readiness_of_slot(&self.stack, i, Dir::Tx);
            self.wakers.tcp[i].wake_changed(rx, tx);
        }
        #[cfg(feature = "udp")]
        for i in 0..self.wakers.udp.len() {
            let rx = udp::readiness_of_slot(&self.stack, i, Dir::Rx);
            let tx = udp::readiness_of_slot(&self.stack, i, Dir::Tx);
            self.wakers.udp[i].wake_changed(rx, tx);
        }
        // A lookup's progress cannot be read without taking its result: its waiters look
        // again after every poll (lookups are rare and short).
        for w in self.wakers.dns.iter_mut() {
            w.wake_all();
        }
    }
}

/// The stack shared between async tasks and the runner (see the [module documentation](self)).
#[derive(Debug)]
pub struct AsyncStack<'a> {
    inner: RefCell<Inner<'a>>,
}

impl<'a> AsyncStack<'a> {
    /// Wrap `stack` (configured, DHCP and DNS enabled as wanted) with the waker slots
    /// `wakers`.
    pub fn new(stack: Stack<'a>, wakers: WakerStorage<'a>) -> Self {
        AsyncStack {
            inner: RefCell::new(Inner {
                stack,
                wakers,
                runner: None,
                now: Instant::ZERO,
            }),
        }
    }

    /// Borrow the inner state. Never held across an `await`.
    pub(crate) fn inner(&self) -> RefMut<'_, Inner<'a>> {
        self.inner.borrow_mut()
    }

    /// Run `f` on the poll-API stack (configuration, statistics, DHCP events, poll-API
    /// sockets next to async ones). The runner is woken afterwards, in case `f` queued work.
    ///
    /// # Panics
    /// When called from inside another `with_stack` (the stack is borrowed once at a time).
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack<'a>) -> R) -> R {
        let mut inner = self.inner();
        let r = f(&mut inner.stack);
        inner.wake_runner();
        r
    }

    /// Take the stack back (after the tasks using it are gone).
    pub fn into_inner(self) -> Stack<'a> {
        self.inner.into_inner().stack
    }

    /// One step of the runner: [`Stack::poll`] at `now`, then wake every task whose socket's
    /// readiness changed. Returns what [`Stack::poll`] returns: when to poll next. Call it from
    /// a superloop that also polls the application's futures, sleeping on the driver until the
    /// returned deadline; or let [`AsyncStack::run`] do it.
    pub fn poll<D: Driver>(&self, driver: &mut D, now: Instant) -> Option<Instant> {
        let mut inner = self.inner();
        inner.now = now;
        let next = inner.stack.poll(driver, now);
        inner.wake_ready();
        next
    }

    /// The runner: polls the stack whenever the driver has frames or transmit room (its wakers
    /// are registered with this task), a socket operation queued work, or the stack's next
    /// deadline passes (`clock.wake_at`). Never returns; run it as its own task, or `select`
    /// it with the application.
    pub async fn run<D: Driver, C: Clock>(&self, driver: &mut D, clock: &C) -> Infallible {
        poll_fn(|cx| {
            let now = clock.now();
            let mut driver = WakingDriver {
                inner: &mut *driver,
                waker: cx.waker(),
            };
            let next = self.poll(&mut driver, now);
            // A poll after this one must also follow new socket work.
            self.inner().runner = Some(cx.waker().clone());
            match next {
                // More to do at once: yield to the other tasks, then come back.
                Some(t) if t <= now => cx.waker().wake_by_ref(),
                Some(t) => clock.wake_at(t, cx.waker()),
                None => {}
            }
            Poll::Pending
        })
        .await
    }
}

/// A driver whose receive and transmit readiness wake `waker` (the runner) instead of the
/// no-op waker [`Stack::poll`] passes, so an interrupt-driven driver can wake the runner.
#[derive(Debug)]
pub struct WakingDriver<'d, 'w, D> {
    /// The driver.
    pub inner: &'d mut D,
    /// The task to wake when the driver is ready.
    pub waker: &'w Waker,
}

impl<D: Driver> Driver for WakingDriver<'_, '_, D> {
    type RxToken<'t>
        = D::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = D::TxToken<'t>
    where
        Self: 't;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.inner.receive(&mut Context::from_waker(self.waker))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(&mut Context::from_waker(self.waker))
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        self.inner.link_state(&mut Context::from_waker(self.waker))
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

/// Why an async operation failed. Each variant carries the poll API's own error;
/// [`embedded_io_async::Error::kind`] maps it to the ecosystem's [`ErrorKind`].
///
/// [`ErrorKind`]: embedded_io_async::ErrorKind
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// A TCP operation failed.
    #[cfg(feature = "tcp")]
    Tcp(crate::TcpError),
    /// A UDP operation failed.
    #[cfg(feature = "udp")]
    Udp(crate::UdpError),
    /// A DNS lookup failed.
    #[cfg(feature = "dns")]
    Dns(crate::dns::DnsError),
    /// An IPv6 address was given; the stack speaks IPv4 only.
    Ipv6Unsupported,
    /// No waker slot for the socket ([`WakerStorage`] is shorter than the socket table).
    NoWakerSlot,
    /// The operation is not implemented by this stack (reverse DNS lookups).
    Unsupported,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            #[cfg(feature = "tcp")]
            Error::Tcp(e) => write!(f, "TCP: {e}"),
            #[cfg(feature = "udp")]
            Error::Udp(e) => write!(f, "UDP: {e}"),
            #[cfg(feature = "dns")]
            Error::Dns(e) => write!(f, "DNS: {e}"),
            Error::Ipv6Unsupported => f.write_str("IPv6 is not supported"),
            Error::NoWakerSlot => f.write_str("no async waker slot for this socket"),
            Error::Unsupported => f.write_str("operation not supported"),
        }
    }
}

impl core::error::Error for Error {}

impl embedded_io_async::Error for Error {
    fn kind(&self) -> embedded_io_async::ErrorKind {
        use embedded_io_async::ErrorKind as K;
        match self {
            #[cfg(feature = "tcp")]
            Error::Tcp(e) => {
                use crate::TcpError as T;
                match e {
                    T::InvalidHandle | T::InvalidState => K::NotConnected,
                    T::WouldBlock => K::Other,
                    T::NoSlot => K::OutOfMemory,
                    T::AddressInUse => K::AddrInUse,
                    T::Unaddressed => K::AddrNotAvailable,
                    T::Refused => K::ConnectionRefused,
                    T::Reset => K::ConnectionReset,
                    T::TimedOut => K::TimedOut,
                    T::AddressLost => K::ConnectionAborted,
                }
            }
            #[cfg(feature = "udp")]
            Error::Udp(e) => {
                use crate::UdpError as U;
                match e {
                    U::NoSlot => K::OutOfMemory,
                    U::AddrInUse => K::AddrInUse,
                    U::TooLarge | U::Truncated => K::InvalidInput,
                    U::NoRoute | U::Unaddressed => K::AddrNotAvailable,
                    U::InvalidHandle => K::NotConnected,
                    _ => K::Other,
                }
            }
            #[cfg(feature = "dns")]
            Error::Dns(e) => {
                use crate::dns::DnsError as D;
                match e {
                    D::InvalidName(_) => K::InvalidInput,
                    D::NxDomain | D::NoAddress => K::NotFound,
                    D::NoSlot => K::OutOfMemory,
                    D::Unaddressed | D::NoServer => K::AddrNotAvailable,
                    D::NotEnabled => K::Unsupported,
                    D::Timeout => K::TimedOut,
                    D::Malformed(_) | D::Truncated => K::InvalidData,
                    _ => K::Other,
                }
            }
            Error::Ipv6Unsupported | Error::Unsupported => K::Unsupported,
            Error::NoWakerSlot => K::OutOfMemory,
        }
    }
}

/// The IPv4 address of `addr`, or [`Error::Ipv6Unsupported`].
#[cfg_attr(not(any(feature = "tcp", feature = "udp")), allow(dead_code))]
pub(crate) fn v4(addr: core::net::SocketAddr) -> Result<core::net::SocketAddrV4, Error> {
    match addr {
        core::net::SocketAddr::V4(a) => Ok(a),
        core::net::SocketAddr::V6(_) => Err(Error::Ipv6Unsupported),
    }
}
