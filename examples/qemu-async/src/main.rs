//! qemu-async: stack-runtime's async API under embassy-executor on QEMU's `mps2-an386`
//! machine (Cortex-M4F, LAN9118 Ethernet). The board half of "executor-agnostic": the same
//! `AsyncStack`, `TcpSocket` and `UdpSocket` the host example drives with a `block_on` run
//! here as embassy tasks, woken by the NIC's interrupt and by a SysTick alarm.
//!
//! * Address: 192.0.2.2/24, gateway 192.0.2.1, MAC 02:00:00:00:00:02 (static).
//! * Tasks: the runner ([`AsyncStack::run`] with the board's NIC and a [`Clock`] on SysTick),
//!   a TCP echo server on port 7 (`embedded_io_async::{Read, Write}`) and a UDP echo server
//!   on port 7. The stack answers ICMP echo itself.
//! * Console: UART0. Once it serves, it prints
//!   `qemu-async: listening on 192.0.2.2 (mac 02:00:00:00:00:02)`; tests wait for it.
//! * Memory: every buffer is a `static` placed with `static_cell`; no heap.
//! * Idle: embassy's thread executor sleeps (WFE) when no task is ready; the NIC interrupt
//!   and the SysTick alarm wake it.
#![no_std]
#![no_main]

use core::future::poll_fn;
use core::net::Ipv4Addr;
use core::task::Poll;

use embassy_executor::{Executor, Spawner};
use embedded_io_async::{Read, Write};
use qemu_mps2_an386::alarm::Alarm;
use qemu_mps2_an386::{Board, Lan9118, clock, entry, error, info, println};
use stack_runtime::asynch::{AsyncStack, Clock, SocketWakers, TcpSocket, UdpSocket, WakerStorage};
use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, Duration, Instant, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage,
    TcpListener, TcpListenerSlot, TcpSlot, TcpStorage, UdpSlot,
};
use static_cell::{ConstStaticCell, StaticCell};

/// The firmware's MAC address (locally administered, unicast).
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// The interface address.
const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Its prefix length.
const PREFIX_LEN: u8 = 24;
/// The default gateway.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The echo port (RFC 862), TCP and UDP.
const ECHO_PORT: u16 = 7;

/// Packet buffers for what the stack builds itself, and slots in the transmit queue (TCP data
/// adds `TCP_SEGMENTS` buffers to the pool).
const PACKETS: usize = 8;
/// Bytes per packet buffer: a full 1514-byte frame, rounded up.
const PACKET_SIZE: usize = 1536;
/// ARP cache entries.
const ARP_ENTRIES: usize = 4;
/// Datagrams reassembled at once.
const REASSEMBLY_SLOTS: usize = 1;
/// Largest reassembled datagram, IPv4 header included.
const REASSEMBLY_SLOT_SIZE: usize = 4096;
/// Frames taken from the NIC per poll: one, so the tasks drain the socket buffers between
/// frames (the NIC's receive FIFO holds the rest).
const RX_BURST: usize = 1;
/// UDP sockets (the echo server).
const UDP_SOCKETS: usize = 1;
/// Most bytes of received payload the UDP socket keeps queued, and its largest datagram (the
/// datagrams wait in the packet buffers).
const UDP_BUFFER: usize = 4096;
/// TCP connection slots: the echo connection and one more (a closing one, a new one).
const TCP_SOCKETS: usize = 2;
/// TCP listening ports.
const TCP_LISTENERS: usize = 1;
/// Packet buffers TCP data may hold, shared by the connections.
const TCP_SEGMENTS: usize = 64;
/// TCP payload bytes per packet buffer (one MSS).
const TCP_SEGMENT_SIZE: usize = 1460;
/// How often the TCP echo server looks for a new connection (the poll API's accept has no
/// waker).
const ACCEPT_INTERVAL: Duration = Duration::from_millis(5);

static PACKET_BYTES: ConstStaticCell<[u8; (PACKETS + TCP_SEGMENTS) * PACKET_SIZE]> =
    ConstStaticCell::new([0; (PACKETS + TCP_SEGMENTS) * PACKET_SIZE]);
static TX_QUEUE: ConstStaticCell<[PendingSlot; PACKETS]> =
    ConstStaticCell::new([PendingSlot::EMPTY; PACKETS]);
static ARP_CACHE: ConstStaticCell<[ArpEntry; ARP_ENTRIES]> =
    ConstStaticCell::new([ArpEntry::EMPTY; ARP_ENTRIES]);
static REASSEMBLY: ConstStaticCell<[ReassemblySlot; REASSEMBLY_SLOTS]> =
    ConstStaticCell::new([ReassemblySlot::EMPTY; REASSEMBLY_SLOTS]);
static REASSEMBLY_BYTES: ConstStaticCell<[u8; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE]> =
    ConstStaticCell::new([0; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE]);
static UDP: StaticCell<[UdpSlot; UDP_SOCKETS]> = StaticCell::new();
static TCP_SLOTS: ConstStaticCell<[TcpSlot; TCP_SOCKETS]> =
    ConstStaticCell::new([TcpSlot::EMPTY; TCP_SOCKETS]);
static TCP_LISTENER_SLOTS: ConstStaticCell<[TcpListenerSlot; TCP_LISTENERS]> =
    ConstStaticCell::new([TcpListenerSlot::EMPTY; TCP_LISTENERS]);
static TCP_QUOTAS: ConstStaticCell<[SocketQuota; TCP_SOCKETS]> =
    ConstStaticCell::new([SocketQuota::new(0, 0, 0); TCP_SOCKETS]);
static TCP_WAKERS: ConstStaticCell<[SocketWakers; TCP_SOCKETS]> =
    ConstStaticCell::new([SocketWakers::EMPTY; TCP_SOCKETS]);
static UDP_WAKERS: ConstStaticCell<[SocketWakers; UDP_SOCKETS]> =
    ConstStaticCell::new([SocketWakers::EMPTY; UDP_SOCKETS]);
static STACK: StaticCell<AsyncStack<'static>> = StaticCell::new();
static NIC: StaticCell<Lan9118> = StaticCell::new();
static CLOCK: StaticCell<BoardClock> = StaticCell::new();
static EXECUTOR: StaticCell<Executor> = StaticCell::new();

/// The stack's storage, taken from the statics above (once: a second call panics).
fn storage() -> StackStorage<'static> {
    let udp = UDP.init([const { UdpSlot::new(UDP_BUFFER, UDP_BUFFER) }; UDP_SOCKETS]);
    StackStorage {
        packets: PACKET_BYTES.take(),
        packet_size: PACKET_SIZE,
        tx_queue: TX_QUEUE.take(),
        arp: ARP_CACHE.take(),
        reassembly: REASSEMBLY.take(),
        reassembly_bytes: REASSEMBLY_BYTES.take(),
        udp,
        tcp: TcpStorage {
            sockets: TCP_SLOTS.take(),
            listeners: TCP_LISTENER_SLOTS.take(),
            quotas: TCP_QUOTAS.take(),
        },
    }
}

/// The runner's clock: the board's counter, and its SysTick alarm for deadlines.
struct BoardClock {
    alarm: Alarm,
}

impl Clock for BoardClock {
    fn now(&self) -> Instant {
        clock::now()
    }

    fn wake_at(&self, at: Instant, waker: &core::task::Waker) {
        self.alarm.wake_at(at, waker);
    }
}

/// Waits until `at` on the board's alarm.
async fn sleep_until(clock: &BoardClock, at: Instant) {
    poll_fn(|cx| {
        if clock::now() >= at {
            Poll::Ready(())
        } else {
            clock.alarm.wake_at(at, cx.waker());
            Poll::Pending
        }
    })
    .await;
}

/// The runner: polls the stack whenever the NIC, a socket or a deadline asks.
#[embassy_executor::task]
async fn net_task(
    stack: &'static AsyncStack<'static>,
    nic: &'static mut Lan9118,
    clock: &'static BoardClock,
) -> ! {
    match stack.run(nic, clock).await {}
}

/// The TCP echo server: one connection at a time, every byte read written back.
#[embassy_executor::task]
async fn tcp_echo(
    stack: &'static AsyncStack<'static>,
    listener: TcpListener,
    clock: &'static BoardClock,
) -> ! {
    let mut buf = [0u8; 2 * TCP_SEGMENT_SIZE];
    loop {
        let handle = loop {
            if let Some(handle) = stack.with_stack(|s| s.tcp_accept(listener)) {
                break handle;
            }
            sleep_until(clock, clock::now() + ACCEPT_INTERVAL).await;
        };
        let mut socket = TcpSocket::from_handle(stack, handle);
        loop {
            match Read::read(&mut socket, &mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if let Err(e) = Write::write_all(&mut socket, &buf[..n]).await {
                        error!("tcp echo: write: {e}");
                        break;
                    }
                }
                Err(e) => {
                    error!("tcp echo: read: {e}");
                    break;
                }
            }
        }
        // Dropping the socket closes it: a FIN follows the echoed data.
    }
}

/// The UDP echo server: every datagram goes back to its sender.
#[embassy_executor::task]
async fn udp_echo(mut socket: UdpSocket<'static, 'static>) -> ! {
    let mut buf = [0u8; UDP_BUFFER];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if let Err(e) = socket.send_to(&buf[..n], from).await {
                    error!("udp echo: send: {e}");
                }
            }
            Err(e) => error!("udp echo: receive: {e}"),
        }
    }
}

/// Starts the services on the executor.
fn start(spawner: Spawner, board: Board) {
    let (nic, alarm) = board.split();
    info!("qemu-async: LAN9118 id {:#010x}", nic.id_rev());
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(ADDRESS, PREFIX_LEN),
        gateway: Some(GATEWAY),
        rx_burst: RX_BURST,
        ..StackConfig::default()
    };
    let stack = Stack::new(config, storage(), EthernetAddress(MAC));
    let wakers = WakerStorage {
        tcp: TCP_WAKERS.take(),
        udp: UDP_WAKERS.take(),
        dns: &mut [],
    };
    let stack = STACK.init(AsyncStack::new(stack, wakers));
    let clock = CLOCK.init(BoardClock { alarm });
    let listener = match stack.with_stack(|s| s.tcp_listen(ECHO_PORT)) {
        Ok(listener) => listener,
        Err(e) => panic!("cannot listen on TCP port {ECHO_PORT}: {e}"),
    };
    let udp = match UdpSocket::bind(stack, ECHO_PORT) {
        Ok(socket) => socket,
        Err(e) => panic!("cannot bind UDP port {ECHO_PORT}: {e}"),
    };
    spawner.must_spawn(net_task(stack, NIC.init(nic), clock));
    spawner.must_spawn(tcp_echo(stack, listener, clock));
    spawner.must_spawn(udp_echo(udp));
    println!(
        "qemu-async: listening on {ADDRESS} (mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x})",
        MAC[0], MAC[1], MAC[2], MAC[3], MAC[4], MAC[5]
    );
}

#[entry]
fn main() -> ! {
    let board = match Board::init(MAC) {
        Ok(board) => board,
        Err(error) => panic!("cannot start the board: {error}"),
    };
    EXECUTOR
        .init(Executor::new())
        .run(|spawner| start(spawner, board))
}
