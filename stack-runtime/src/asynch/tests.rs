//! Unit tests of the async API: two stacks joined by the in-memory driver, one used through
//! the async API (its futures polled only when their waker fired, so a missed wake fails the
//! test), the other through the poll API acting as server.

use std::boxed::Box;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::vec;
use std::vec::Vec;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use embedded_io_async::{Error as _, ErrorKind, Read, Write};
use embedded_nal_async::{AddrType, ConnectedUdp, Dns, TcpConnect, UdpStack};

use super::{AsyncStack, Error, SocketWakers, WakerStorage};
use crate::dns::{DnsCacheEntry, DnsConfig, DnsError, DnsQuerySlot, DnsStorage};
use crate::tcp::segment_pool::SocketQuota;
use crate::testing::FrameQueueDriver;
use crate::time::{Duration, Instant};
use crate::wire::{EthernetAddress, Ipv4Cidr};
use crate::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, TcpError,
    TcpListenerSlot, TcpSlot, TcpStorage, UdpSlot,
};

type Drv = FrameQueueDriver<32, 1514>;

const A_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

fn leak<T>(v: Vec<T>) -> &'static mut [T] {
    Box::leak(v.into_boxed_slice())
}

/// A stack at `ip` with 2 UDP sockets, 4 TCP sockets and 2 listeners, on leaked memory.
fn stack(ip: Ipv4Addr) -> (Stack<'static>, Box<Drv>) {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, ip.octets()[3]]);
    let udp = leak((0..2).map(|_| UdpSlot::new(4096, 4096)).collect());
    let storage = StackStorage {
        packets: leak(vec![0u8; 56 * 1514]),
        packet_size: 1514,
        tx_queue: leak((0..8).map(|_| PendingSlot::EMPTY).collect()),
        arp: leak(vec![ArpEntry::EMPTY; 4]),
        reassembly: leak(vec![ReassemblySlot::EMPTY; 1]),
        reassembly_bytes: leak(vec![0u8; 4096]),
        udp,
        tcp: TcpStorage {
            sockets: leak((0..4).map(|_| TcpSlot::new()).collect()),
            listeners: leak(vec![TcpListenerSlot::EMPTY; 2]),
            quotas: leak(vec![SocketQuota::default(); 4]),
        },
    };
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(ip, 24),
        seed: [ip.octets()[3]; 16],
        ..StackConfig::default()
    };
    let stack = Stack::new(config, storage, mac);
    (stack, Box::new(FrameQueueDriver::new(mac.0)))
}

fn wakers() -> WakerStorage<'static> {
    WakerStorage {
        tcp: leak((0..4).map(|_| SocketWakers::EMPTY).collect()),
        udp: leak((0..2).map(|_| SocketWakers::EMPTY).collect()),
        dns: leak((0..1).map(|_| SocketWakers::EMPTY).collect()),
    }
}

/// A waker that records that it fired.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `app` on the async stack `a` against the poll-API stack `b`: each round polls `app`
/// only if its waker fired, then both stacks (1 ms apart) with the wire between them, then
/// `server` on `b`. Panics after `rounds` rounds.
fn drive<T>(
    a: &AsyncStack<'static>,
    da: &mut Drv,
    b: &mut Stack<'static>,
    db: &mut Drv,
    app: impl Future<Output = T>,
    mut server: impl FnMut(&mut Stack<'static>),
    rounds: u64,
) -> T {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut app = pin!(app);
    for round in 0..rounds {
        if flag.0.swap(false, Ordering::SeqCst)
            && let Poll::Ready(v) = app.as_mut().poll(&mut cx)
        {
            return v;
        }
        let t = Instant::ZERO + Duration::from_millis(round);
        a.poll(da, t);
        da.forward_to(db);
        b.poll(db, t);
        server(b);
        b.poll(db, t);
        db.forward_to(da);
    }
    panic!("the async task did not finish within {rounds} rounds (a missed wake?)");
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn async_tcp_client_talks_to_poll_server() {
    let (sa, mut da) = stack(A_IP);
    let (mut b, mut db) = stack(B_IP);
    let a = AsyncStack::new(sa, wakers());
    let listener = b.tcp_listen(7).unwrap();
    // The server: echo everything (buffering without limit), close after the client's FIN.
    let mut conn = None;
    let mut backlog: Vec<u8> = Vec::new();
    let mut closed = false;
    let server = |b: &mut Stack<'static>| {
        if conn.is_none() {
            conn = b.tcp_accept(listener);
        }
        let Some(h) = conn else { return };
        let mut buf = [0u8; 2048];
        loop {
            match b.tcp_recv(h, &mut buf) {
                Ok(0) => {
                    if backlog.is_empty() && !closed {
                        b.tcp_close(h);
                        closed = true;
                    }
                    break;
                }
                Ok(n) => backlog.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        if !backlog.is_empty()
            && !closed
            && let Ok(n) = b.tcp_send(h, &backlog)
        {
            backlog.drain(..n);
        }
    };
    let data = pattern(20_000);
    let app = async {
        let remote = SocketAddr::V4(SocketAddrV4::new(B_IP, 7));
        let mut socket = TcpConnect::connect(&a, remote).await.unwrap();
        socket.write_all(&data).await.unwrap();
        socket.flush().await.unwrap();
        socket.shutdown();
        let mut got = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            let n = Read::read(&mut socket, &mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    };
    let got = drive(&a, &mut da, &mut b, &mut db, app, server, 20_000);
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echoed bytes differ");
    assert_eq!(a.with_stack(|s| s.stats().drops_total()), 0);
}

#[test]
fn async_tcp_connect_to_closed_port_is_refused() {
    let (sa, mut da) = stack(A_IP);
    let (mut b, mut db) = stack(B_IP);
    let a = AsyncStack::new(sa, wakers());
    let app = async {
        let remote = SocketAddr::V4(SocketAddrV4::new(B_IP, 81));
        TcpConnect::connect(&a, remote).await.map(|_| ())
    };
    let r = drive(&a, &mut da, &mut b, &mut db, app, |_| {}, 5_000);
    assert_eq!(r, Err(Error::Tcp(TcpError::Refused)));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionRefused);
    // The refused socket was dropped: its slot is free for the next connection.
    assert_eq!(a.with_stack(|s| s.stats().tcp_sockets_in_use), 0);
}

#[test]
fn async_udp_round_trip() {
    let (sa, mut da) = stack(A_IP);
    let (mut b, mut db) = stack(B_IP);
    let a = AsyncStack::new(sa, wakers());
    let echo = b.udp_bind(7).unwrap();
    let server = |b: &mut Stack<'static>| {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = b.udp_recv_from(echo, &mut buf) {
            buf[..n].reverse();
            b.udp_send_to(echo, &buf[..n], from).unwrap();
        }
    };
    let app = async {
        let stack = &a;
        let remote = SocketAddr::V4(SocketAddrV4::new(B_IP, 7));
        let (local, mut socket) = UdpStack::connect(&stack, remote).await.unwrap();
        assert_eq!(local.ip(), core::net::IpAddr::V4(A_IP));
        let mut replies = Vec::new();
        for i in 0..5u8 {
            socket.send(&[i, 1, 2, 3]).await.unwrap();
            let mut buf = [0u8; 64];
            let n = socket.receive_into(&mut buf).await.unwrap();
            replies.push(buf[..n].to_vec());
        }
        replies
    };
    let replies = drive(&a, &mut da, &mut b, &mut db, app, server, 2_000);
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r, &[3, 2, 1, i as u8]);
    }
}

/// A sender faster than the wire: each 3,000-byte datagram takes 3 of the 8 packet buffers,
/// so `send_to` finds none free (`BufferFull`) and must be woken when sent frames free theirs.
#[test]
fn async_udp_send_waits_for_packet_buffers() {
    let (sa, mut da) = stack(A_IP);
    let (mut b, mut db) = stack(B_IP);
    let a = AsyncStack::new(sa, wakers());
    let sink = b.udp_bind(9).unwrap();
    // The receiver may queue every datagram a poll brings (its packet buffers still bound it).
    b.sockets.slots[sink.index()].rx_limit = 64 * 1024;
    let received = core::cell::RefCell::new(Vec::new());
    let server = |b: &mut Stack<'static>| {
        let mut buf = [0u8; 4096];
        while let Ok((n, _)) = b.udp_recv_from(sink, &mut buf) {
            received.borrow_mut().push(buf[..n].to_vec());
        }
    };
    let app = async {
        let mut socket = super::UdpSocket::bind(&a, 0).unwrap();
        for i in 0..12u8 {
            let mut data = pattern(3000);
            data[0] = i;
            socket
                .send_to(&data, SocketAddrV4::new(B_IP, 9))
                .await
                .unwrap();
        }
        socket
    };
    let socket = drive(&a, &mut da, &mut b, &mut db, app, server, 2_000);
    for round in 0..100 {
        let t = Instant::ZERO + Duration::from_millis(3_000 + round);
        a.poll(&mut *da, t);
        da.forward_to(&mut db);
        b.poll(&mut *db, t);
        server(&mut b);
    }
    drop(socket);
    let received = received.borrow();
    let mut drops = Vec::new();
    b.stats().for_each_drop(|name, n| {
        if n > 0 {
            drops.push((name, n));
        }
    });
    a.inner().stack.stats().for_each_drop(|name, n| {
        if n > 0 {
            drops.push((name, n));
        }
    });
    assert_eq!(received.len(), 12, "{drops:?}");
    for (i, d) in received.iter().enumerate() {
        assert_eq!((d.len(), d[0]), (3000, i as u8));
        assert_eq!(&d[1..], &pattern(3000)[1..]);
    }
}

/// A DNS answer to `query` with one A record `addr` (or NXDOMAIN when `addr` is `None`).
fn dns_answer(query: &[u8], addr: Option<Ipv4Addr>) -> Vec<u8> {
    let mut m = query.to_vec();
    m[2] |= 0x80; // QR
    m[3] = 0x80; // RA, RCODE 0
    match addr {
        Some(addr) => {
            m[6..8].copy_from_slice(&1u16.to_be_bytes());
            m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(&addr.octets());
        }
        None => m[3] |= 3,
    }
    m
}

#[test]
fn async_dns_lookup_through_fake_server() {
    let (mut sa, mut da) = stack(A_IP);
    let (mut b, mut db) = stack(B_IP);
    let mut config = DnsConfig::new(5);
    config.servers[0] = Some(B_IP);
    sa.enable_dns(
        DnsStorage {
            queries: leak(vec![DnsQuerySlot::EMPTY; 2]),
            cache: leak(vec![DnsCacheEntry::EMPTY; 2]),
        },
        config,
    );
    let a = AsyncStack::new(sa, wakers());
    let server_sock = b.udp_bind(53).unwrap();
    let server = |b: &mut Stack<'static>| {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = b.udp_recv_from(server_sock, &mut buf) {
            let name_is_files = buf[12..n].windows(5).any(|w| w == b"files");
            let addr = name_is_files.then_some(Ipv4Addr::new(198, 51, 100, 9));
            b.udp_send_to(server_sock, &dns_answer(&buf[..n], addr), from)
                .unwrap();
        }
    };
    let app = async {
        let found = a.get_host_by_name("files.example", AddrType::IPv4).await;
        let missing = a
            .get_host_by_name("nothing.example", AddrType::Either)
            .await;
        let v6 = a.get_host_by_name("files.example", AddrType::IPv6).await;
        let literal = a.resolve("192.0.2.77").await;
        (found, missing, v6, literal)
    };
    let (found, missing, v6, literal) = drive(&a, &mut da, &mut b, &mut db, app, server, 2_000);
    assert_eq!(found, Ok(Ipv4Addr::new(198, 51, 100, 9).into()));
    assert_eq!(missing, Err(Error::Dns(DnsError::NxDomain)));
    assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(v6, Err(Error::Ipv6Unsupported));
    assert_eq!(literal, Ok(Ipv4Addr::new(192, 0, 2, 77)));
}

/// A driver whose wire leads to a poll-API stack running a UDP echo that reverses nothing:
/// each `receive` first carries our sent frames over, lets the peer answer, and brings its
/// frames back.
struct Link<'p> {
    own: Drv,
    peer: &'p core::cell::RefCell<(Stack<'static>, Box<Drv>, crate::UdpHandle)>,
    now: Instant,
}

impl embassy_net_driver::Driver for Link<'_> {
    type RxToken<'t>
        = <Drv as embassy_net_driver::Driver>::RxToken<'t>
    where
        Self: 't;
    type TxToken<'t>
        = <Drv as embassy_net_driver::Driver>::TxToken<'t>
    where
        Self: 't;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let mut peer = self.peer.borrow_mut();
        let (b, db, echo) = &mut *peer;
        self.own.forward_to(db);
        b.poll(&mut **db, self.now);
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = b.udp_recv_from(*echo, &mut buf) {
            b.udp_send_to(*echo, &buf[..n], from).unwrap();
        }
        b.poll(&mut **db, self.now);
        db.forward_to(&mut self.own);
        self.own.receive(cx)
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        self.own.transmit(cx)
    }

    fn link_state(&mut self, cx: &mut Context) -> embassy_net_driver::LinkState {
        self.own.link_state(cx)
    }

    fn capabilities(&self) -> embassy_net_driver::Capabilities {
        self.own.capabilities()
    }

    fn hardware_address(&self) -> embassy_net_driver::HardwareAddress {
        self.own.hardware_address()
    }
}

/// The runner future drives the stack by itself: an app task and [`AsyncStack::run`] polled
/// by one loop, each only when its waker fired; the clock wakes the runner at deadlines.
#[test]
fn runner_future_drives_the_stack() {
    use core::cell::{Cell, RefCell};

    /// A clock the test advances; `wake_at` wakes at once (the loop advances time anyway).
    struct TestClock(Cell<u64>);
    impl super::Clock for TestClock {
        fn now(&self) -> Instant {
            Instant::from_millis(self.0.get())
        }
        fn wake_at(&self, _at: Instant, waker: &Waker) {
            waker.wake_by_ref();
        }
    }

    let (sa, da) = stack(A_IP);
    let (mut b, db) = stack(B_IP);
    let a = AsyncStack::new(sa, wakers());
    let echo = b.udp_bind(7).unwrap();
    let peer = RefCell::new((b, db, echo));
    let mut link = Link {
        own: *da,
        peer: &peer,
        now: Instant::ZERO,
    };
    let clock = TestClock(Cell::new(0));
    let app = async {
        let mut socket = super::UdpSocket::bind(&a, 0).unwrap();
        socket
            .send_to(b"ping", SocketAddrV4::new(B_IP, 7))
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        (buf[..n].to_vec(), from)
    };
    let app_flag = Arc::new(Flag(AtomicBool::new(true)));
    let app_waker = Waker::from(Arc::clone(&app_flag));
    let run_flag = Arc::new(Flag(AtomicBool::new(true)));
    let run_waker = Waker::from(Arc::clone(&run_flag));
    let mut app = pin!(app);
    let mut result = None;
    {
        let mut runner = pin!(a.run(&mut link, &clock));
        for round in 0..1_000 {
            clock.0.set(round);
            if app_flag.0.swap(false, Ordering::SeqCst)
                && let Poll::Ready(v) = app.as_mut().poll(&mut Context::from_waker(&app_waker))
            {
                result = Some(v);
                break;
            }
            if run_flag.0.swap(false, Ordering::SeqCst) {
                let _ = runner.as_mut().poll(&mut Context::from_waker(&run_waker));
            }
        }
    }
    let (data, from) = result.expect("the app task finished");
    assert_eq!(data, b"ping");
    assert_eq!(from, SocketAddrV4::new(B_IP, 7));
}
