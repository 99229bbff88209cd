//! stm32f407-services: stack-runtime firmware for an STM32F407VG board with an RMII
//! Ethernet PHY (STM32F4-DISCOVERY on the STM32F4DIS-BB base board, or the same wiring; see
//! `boards/stm32f407/README.md`). The stack answers ICMP echo itself, and a UDP echo service
//! (RFC 862) listens on port 7.
//!
//! * The stack comes from `profiles/stm32f407.toml`, the reference profile: `#[stack_config]`
//!   on [`net`] fills the module with every pool of the profile in `static` storage (SRAM, no
//!   heap), and [`net::init`] builds the stack over them and starts its DHCPv4 client and DNS
//!   resolver. The address comes from DHCP (`ipv4 = "dhcp"`).
//! * MAC address: the profile says `from-board`; this board has none of its own, so it is
//!   derived from the chip's 96-bit unique ID (locally administered, unicast).
//! * The Ethernet DMA ring has the profile's receive and transmit buffer counts
//!   (`[buffers]`), beside the stack's own packet pool.
//! * Main loop: poll the stack, let every service run, read the link state once a second
//!   (re-announcing the address with a gratuitous ARP when the link comes up), and sleep
//!   (WFI) until the Ethernet DMA interrupts or the stack's next deadline.
//!
//! Build: `cargo build --release` here; flash and run: `cargo run --release` (probe-rs).
#![no_std]
#![no_main]

mod services;

use stack_runtime::wire::EthernetAddress;
use stack_runtime::{Duration, Instant};
use stackgen_macros::stack_config;
use static_cell::{ConstStaticCell, StaticCell};
use stm32f407::{Board, Config, Link, PacketQueue, entry};

use crate::services::Services;

/// The stack of `profiles/stm32f407.toml`, generated at compile time: its pools, their sizes
/// as constants, `config()`, `init()` and `Net`.
#[stack_config(profile = "../../profiles/stm32f407.toml")]
mod net {}

/// How often the PHY's link state is read.
const LINK_CHECK_INTERVAL: Duration = Duration::from_millis(1000);

/// Frames the Ethernet DMA ring holds each way. The ring only stages frames: the stack copies
/// each received frame into its own packet buffers (`net::RX_BUFFERS` of them, where frames
/// wait for the application), so a deep ring would hold the same frames twice.
const DMA_FRAMES: usize = 4;

/// The Ethernet DMA's descriptors and buffers.
static DMA_QUEUE: ConstStaticCell<PacketQueue<DMA_FRAMES, DMA_FRAMES>> =
    ConstStaticCell::new(PacketQueue::new());
/// The board, in SRAM like every static (the call stack is in CCM).
static BOARD: StaticCell<Board> = StaticCell::new();

/// A locally administered unicast MAC address from the chip's unique ID: the 12 ID bytes
/// folded into the 5 bytes after the first, whose value (0x02) marks the address local.
fn mac_from_uid(uid: [u8; 12]) -> [u8; 6] {
    let mut mac = [0x02, 0, 0, 0, 0, 0];
    for (i, byte) in uid.into_iter().enumerate() {
        mac[1 + i % 5] ^= byte.rotate_left((i / 5) as u32);
    }
    mac
}

/// The secret seed of the stack's keyed hashes (TCP initial sequence numbers, SYN cookies,
/// ephemeral ports, DHCP transaction and DNS query ids).
///
/// Not a good one: the unique ID and the time the PHY took to come up (microseconds since
/// boot) are all this firmware can reach, since the board crate does not hand out the chip's
/// hardware RNG (`RNG`, clocked by the 48 MHz PLL Q output it already sets up). The seed
/// must come from that RNG before this firmware faces an untrusted network.
fn boot_seed(uid: [u8; 12], boot_micros: u64) -> [u8; 16] {
    stack_runtime::seed::from_identity(&uid, boot_micros)
}

/// Reads the link state when [`LINK_CHECK_INTERVAL`] has passed, and re-announces the
/// address when the link came up (the gratuitous ARP sent when the address was set is lost
/// when the cable was out).
#[derive(Debug)]
struct LinkWatch {
    link: Link,
    next_check: Instant,
}

impl LinkWatch {
    /// Checks the link if it is time; true if the address is to be announced (the stack
    /// must be polled again before sleeping).
    fn poll(&mut self, board: &mut Board, net: &mut net::Net, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + LINK_CHECK_INTERVAL;
        let link = board.link();
        let came_up = link == Link::Up && self.link != Link::Up;
        self.link = link;
        // Without a lease there is nothing to announce: the DHCP client keeps asking.
        let lease = net.dhcp_lease().filter(|_| came_up);
        if let Some(lease) = lease {
            // Setting the address anew is how the stack is told to announce it again.
            net.set_ipv4(None, lease.router);
            net.set_ipv4(Some(lease.address), lease.router);
        }
        lease.is_some()
    }
}

#[entry]
fn main() -> ! {
    let uid = embassy_stm32::uid::uid();
    let mac = mac_from_uid(uid);
    let config = Config {
        mac_address: mac,
        phy_address: None,
    };
    let board = match Board::init(config, DMA_QUEUE.take()) {
        Ok(board) => BOARD.init(board),
        Err(_) => panic!("the board was already initialised"),
    };
    let seed = boot_seed(uid, board.now().total_micros());
    let Some(mut net) = net::init(net::config(), EthernetAddress(mac), seed) else {
        panic!("the stack was already initialised");
    };
    let Ok(mut services) = Services::start(&mut net) else {
        panic!("cannot bind the echo socket");
    };
    let mut link = LinkWatch {
        link: Link::Down,
        next_check: Instant::ZERO,
    };
    loop {
        let now = board.now();
        let next = net.poll(&mut board.nic, now);
        let announce = link.poll(board, &mut net, now);
        if services.poll(&mut net) || announce {
            // Replies or an announcement are queued: let the stack send them before sleeping.
            continue;
        }
        board.sleep_until(next);
    }
}
