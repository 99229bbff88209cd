//! stm32f407-services: stack-runtime firmware for an STM32F407VG board with an RMII
//! Ethernet PHY (STM32F4-DISCOVERY on the STM32F4DIS-BB base board, or the same wiring; see
//! `boards/stm32f407/README.md`). The stack answers ICMP echo itself, and a UDP echo service
//! (RFC 862) listens on port 7.
//!
//! * Address: 192.0.2.2/24, gateway 192.0.2.1, MAC 02:00:00:00:00:02 (static).
//! * Memory: every buffer is a `static` in SRAM, placed with `static_cell`, sized like
//!   `profiles/stm32f407.toml`; there is no heap. The Ethernet DMA ring has the profile's
//!   12 receive and 8 transmit buffers (`[buffers]`); frames are processed in place in the
//!   receive buffers, so the stack's own pool holds what it builds itself (ARP, echo
//!   replies, ICMP errors): 8 buffers of 1536 bytes. 10 ARP entries, 1 reassembly slot of
//!   1500 bytes, 4 UDP sockets with 2 KiB receive and transmit buffers.
//! * Main loop: poll the stack, let every service run, read the link state once a second
//!   (re-announcing the address with a gratuitous ARP when the link comes up), and sleep
//!   (WFI) until the Ethernet DMA interrupts or the stack's next deadline.
//!
//! Build: `cargo build --release` here; flash and run: `cargo run --release` (probe-rs).
#![no_std]
#![no_main]

mod services;

use core::net::Ipv4Addr;

use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, Duration, Instant, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage,
    UdpSlot,
};
use static_cell::{ConstStaticCell, StaticCell};
use stm32f407::{Board, Config, Link, PacketQueue, entry};

use crate::services::Services;

/// The firmware's MAC address (locally administered, unicast).
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// The interface address.
const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Its prefix length.
const PREFIX_LEN: u8 = 24;
/// The default gateway.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Receive descriptors and buffers of the Ethernet DMA (the profile's `rx_count`).
const DMA_RX: usize = 12;
/// Transmit descriptors and buffers of the Ethernet DMA (the profile's `tx_count`).
const DMA_TX: usize = 8;
/// Packet buffers for what the stack builds itself, and slots in its transmit queue.
const PACKETS: usize = 8;
/// Bytes per packet buffer: a full 1514-byte frame, rounded up (the profile's `size`).
const PACKET_SIZE: usize = 1536;
/// ARP cache entries.
const ARP_ENTRIES: usize = 10;
/// Datagrams reassembled at once.
const REASSEMBLY_SLOTS: usize = 1;
/// Largest reassembled datagram, IPv4 header included.
const REASSEMBLY_SLOT_SIZE: usize = 1500;
/// UDP sockets.
const UDP_SOCKETS: usize = 4;
/// Receive and transmit buffer of each UDP socket.
pub(crate) const UDP_BUFFER: usize = 2048;
/// How often the PHY's link state is read.
const LINK_CHECK_INTERVAL: Duration = Duration::from_millis(1000);

static DMA_QUEUE: ConstStaticCell<PacketQueue<DMA_TX, DMA_RX>> =
    ConstStaticCell::new(PacketQueue::new());
static PACKET_BYTES: ConstStaticCell<[u8; PACKETS * PACKET_SIZE]> =
    ConstStaticCell::new([0; PACKETS * PACKET_SIZE]);
static TX_QUEUE: ConstStaticCell<[PendingSlot; PACKETS]> =
    ConstStaticCell::new([PendingSlot::EMPTY; PACKETS]);
static ARP_CACHE: ConstStaticCell<[ArpEntry; ARP_ENTRIES]> =
    ConstStaticCell::new([ArpEntry::EMPTY; ARP_ENTRIES]);
static REASSEMBLY: ConstStaticCell<[ReassemblySlot; REASSEMBLY_SLOTS]> =
    ConstStaticCell::new([ReassemblySlot::EMPTY; REASSEMBLY_SLOTS]);
static REASSEMBLY_BYTES: ConstStaticCell<[u8; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE]> =
    ConstStaticCell::new([0; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE]);
static UDP_RX: ConstStaticCell<[[u8; UDP_BUFFER]; UDP_SOCKETS]> =
    ConstStaticCell::new([[0; UDP_BUFFER]; UDP_SOCKETS]);
static UDP_TX: ConstStaticCell<[[u8; UDP_BUFFER]; UDP_SOCKETS]> =
    ConstStaticCell::new([[0; UDP_BUFFER]; UDP_SOCKETS]);
static UDP: StaticCell<[UdpSlot<'static>; UDP_SOCKETS]> = StaticCell::new();
static STACK: StaticCell<Stack<'static>> = StaticCell::new();
static BOARD: StaticCell<Board> = StaticCell::new();

/// The stack's storage, taken from the statics above (once: a second call panics).
fn storage() -> StackStorage<'static> {
    let mut buffers = UDP_RX.take().iter_mut().zip(UDP_TX.take().iter_mut());
    let udp = UDP.init(core::array::from_fn(|_| match buffers.next() {
        Some((rx, tx)) => UdpSlot::new(rx, tx),
        None => UdpSlot::EMPTY,
    }));
    StackStorage {
        packets: PACKET_BYTES.take(),
        packet_size: PACKET_SIZE,
        tx_queue: TX_QUEUE.take(),
        arp: ARP_CACHE.take(),
        reassembly: REASSEMBLY.take(),
        reassembly_bytes: REASSEMBLY_BYTES.take(),
        udp,
        tcp: stack_runtime::TcpStorage::none(),
    }
}

/// Reads the link state when [`LINK_CHECK_INTERVAL`] has passed, and re-announces the
/// address when the link came up (the gratuitous ARP of the first poll is lost when the
/// cable was out at boot).
#[derive(Debug)]
struct LinkWatch {
    link: Link,
    next_check: Instant,
}

impl LinkWatch {
    /// Checks the link if it is time; true if the address is to be announced (the stack
    /// must be polled again before sleeping).
    fn poll(&mut self, board: &mut Board, stack: &mut Stack<'_>, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + LINK_CHECK_INTERVAL;
        let link = board.link();
        let came_up = link == Link::Up && self.link != Link::Up;
        self.link = link;
        if came_up {
            // Setting the address anew is how the stack is told to announce it again.
            let cidr = stack.ipv4();
            let gateway = stack.gateway();
            stack.set_ipv4(None, gateway);
            stack.set_ipv4(cidr, gateway);
        }
        came_up
    }
}

#[entry]
fn main() -> ! {
    let config = Config {
        mac_address: MAC,
        phy_address: None,
    };
    let board = match Board::init(config, DMA_QUEUE.take()) {
        Ok(board) => BOARD.init(board),
        Err(_) => panic!("the board was already initialised"),
    };
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(ADDRESS, PREFIX_LEN),
        gateway: Some(GATEWAY),
        ..StackConfig::default()
    };
    let stack = STACK.init(Stack::new(config, storage(), EthernetAddress(MAC)));
    let Ok(mut services) = Services::start(stack) else {
        panic!("cannot bind the echo socket");
    };
    let mut link = LinkWatch {
        link: Link::Down,
        next_check: Instant::ZERO,
    };
    loop {
        let now = board.now();
        let next = stack.poll(&mut board.nic, now);
        let announce = link.poll(board, stack, now);
        if services.poll(stack) || announce {
            // Replies or an announcement are queued: let the stack send them before sleeping.
            continue;
        }
        board.sleep_until(next);
    }
}
