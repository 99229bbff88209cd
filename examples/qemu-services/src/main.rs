//! qemu-services: stack-runtime firmware for QEMU's `mps2-an386` machine (Cortex-M4F with a
//! LAN9118 Ethernet controller). It does on the emulated NIC what `examples/host-services`
//! does on a Linux TAP: the stack answers ICMP echo itself, and a UDP echo service (RFC 862)
//! listens on port 7.
//!
//! * Address: 192.0.2.2/24, gateway 192.0.2.1, MAC 02:00:00:00:00:02 (static).
//! * Console: UART0 (QEMU's stdio with `-nographic`). Once it serves, it prints the line
//!   `qemu-services: listening on 192.0.2.2 (mac 02:00:00:00:00:02)`; tests wait for it.
//! * Memory: every buffer is a `static`, placed with `static_cell`, sized like a small
//!   profile; there is no heap. 8 packet buffers of 1536 bytes (the NIC's receive FIFO holds
//!   about 7 full frames, so more would buy nothing), 4 ARP entries, 1 reassembly slot of
//!   4 KiB, 2 UDP sockets with 4 KiB receive and transmit buffers.
//! * Main loop: poll the stack, let every service run, and sleep (WFI) until the NIC
//!   interrupts or the stack's next deadline. Services live in [`services`]; TCP echo,
//!   discard and chargen slot in there as more fields of [`services::Services`].
//!
//! Build and run: see `boards/qemu-mps2-an386/README.md` (`cargo build --release` here, then
//! `qemu-system-arm -M mps2-an386 -nographic -kernel <elf> -nic tap,…`).
#![no_std]
#![no_main]

mod services;

use core::net::Ipv4Addr;

use qemu_mps2_an386::{Board, clock, entry, info, println};
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, UdpSlot,
};
use static_cell::{ConstStaticCell, StaticCell};

use crate::services::Services;

/// The firmware's MAC address (locally administered, unicast).
const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// The interface address.
const ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Its prefix length.
const PREFIX_LEN: u8 = 24;
/// The default gateway.
const GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Packet buffers for what the stack builds itself (ARP, echo replies, ICMP errors), and
/// slots in the transmit queue.
const PACKETS: usize = 8;
/// Bytes per packet buffer: a full 1514-byte frame, rounded up.
const PACKET_SIZE: usize = 1536;
/// ARP cache entries.
const ARP_ENTRIES: usize = 4;
/// Datagrams reassembled at once.
const REASSEMBLY_SLOTS: usize = 1;
/// Largest reassembled datagram, IPv4 header included.
const REASSEMBLY_SLOT_SIZE: usize = 4096;
/// Frames the stack takes from the NIC per poll before the services run. One: the frames
/// wait in the NIC's receive FIFO (about 7 full frames) rather than in the small socket
/// buffers, which hold only two full-size datagrams each, so a burst is echoed, not dropped.
const RX_BURST: usize = 1;
/// UDP sockets.
const UDP_SOCKETS: usize = 2;
/// Receive and transmit buffer of each UDP socket.
const UDP_BUFFER: usize = 4096;

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

#[entry]
fn main() -> ! {
    let board = match Board::init(MAC) {
        Ok(board) => BOARD.init(board),
        Err(error) => panic!("cannot start the board: {error}"),
    };
    info!(
        "qemu-services: LAN9118 id {:#010x}, stack {} B, board {} B",
        board.nic.id_rev(),
        core::mem::size_of::<Stack<'static>>(),
        core::mem::size_of::<Board>()
    );
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(ADDRESS, PREFIX_LEN),
        gateway: Some(GATEWAY),
        rx_burst: RX_BURST,
        ..StackConfig::default()
    };
    let stack = STACK.init(Stack::new(config, storage(), EthernetAddress(MAC)));
    let mut services = match Services::start(stack) {
        Ok(services) => services,
        Err(error) => panic!("cannot start the services: {error}"),
    };
    println!(
        "qemu-services: listening on {ADDRESS} (mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x})",
        MAC[0], MAC[1], MAC[2], MAC[3], MAC[4], MAC[5]
    );
    loop {
        let next = stack.poll(&mut board.nic, clock::now());
        if services.poll(stack) {
            // Replies are queued: let the stack send them before sleeping.
            continue;
        }
        board.sleep_until(next);
    }
}
