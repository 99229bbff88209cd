//! qemu-services: stack-runtime firmware for QEMU's `mps2-an386` machine (Cortex-M4F with a
//! LAN9118 Ethernet controller). It does on the emulated NIC what `examples/host-services`
//! does on a Linux TAP: the stack answers ICMP echo itself, UDP echo (RFC 862) listens on port
//! 7, and TCP echo (7), discard (RFC 863, 9) and chargen (RFC 864, 19) accept connections.
//!
//! * The stack comes from `profiles/qemu-mps2-an386.toml`: `#[stack_config]` on [`net`] fills
//!   the module with every pool of the profile in `static` storage (no heap), sized as the
//!   profile says, and [`net::init`] builds the stack over them. Address, gateway and MAC are
//!   the profile's: 192.0.2.2/24, gateway 192.0.2.1, MAC 02:00:00:00:00:02.
//! * Console: UART0 (QEMU's stdio with `-nographic`). Once it serves, it prints the line
//!   `qemu-services: listening on 192.0.2.2 (mac 02:00:00:00:00:02)`; tests wait for it. When
//!   a discard connection ends it prints `discard: connection closed after N bytes`.
//! * Main loop: poll the stack, let every service run, and sleep (WFI) until the NIC
//!   interrupts or the stack's next deadline. Services live in [`services`].
//!
//! Build and run: see `boards/qemu-mps2-an386/README.md` (`cargo build --release` here, then
//! `qemu-system-arm -M mps2-an386 -nographic -kernel <elf> -nic tap,…`).
#![no_std]
#![no_main]

mod services;

use qemu_mps2_an386::{Board, clock, entry, info, println};
use stackgen_macros::stack_config;

use crate::services::Services;

/// The stack of `profiles/qemu-mps2-an386.toml`, generated at compile time: its pools, their
/// sizes as constants, `config()`, `init()` and `Net`.
#[stack_config(profile = "../../profiles/qemu-mps2-an386.toml")]
mod net {}

/// Frames the stack takes from the NIC per poll before the services run (no profile key: a
/// board choice). One: the frames wait in the NIC's receive FIFO (about 7 full frames) rather
/// than in the socket buffers, so a burst of UDP datagrams is echoed, not dropped.
const RX_BURST: usize = 1;

/// The secret seed of the stack's keyed hashes (TCP initial sequence numbers, SYN cookies,
/// ephemeral ports).
///
/// This board has no RNG, so the seed comes from what varies between boots: the NIC's
/// free-running 25 MHz counter (read after the console and the controller came up, whose
/// timing depends on the host running QEMU) and the MAC address, spread over 16 bytes by
/// SplitMix64. That is guessable and only fit for an emulator: a real board takes the seed from
/// its hardware RNG (the STM32F407's `RNG` peripheral, for instance).
fn boot_seed(mac: [u8; 6]) -> [u8; 16] {
    stack_runtime::seed::from_identity(&mac, clock::now().total_micros())
}

#[entry]
fn main() -> ! {
    let mac = net::HARDWARE_ADDR;
    let mut board = match Board::init(mac.0) {
        Ok(board) => board,
        Err(error) => panic!("cannot start the board: {error}"),
    };
    info!(
        "qemu-services: LAN9118 id {:#010x}, stack {} B, board {} B",
        board.nic.id_rev(),
        core::mem::size_of::<net::Net>(),
        core::mem::size_of::<Board>()
    );
    let mut config = net::config();
    config.stack.rx_burst = RX_BURST;
    let Some(mut stack) = net::init(config, mac, boot_seed(mac.0)) else {
        panic!("the stack was already initialised");
    };
    let mut services = match Services::start(&mut stack) {
        Ok(services) => services,
        Err(error) => panic!("cannot start the services: {error}"),
    };
    let address = config.stack.ipv4.map(|cidr| cidr.address);
    let m = mac.0;
    match address {
        Some(address) => println!(
            "qemu-services: listening on {address} (mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x})",
            m[0], m[1], m[2], m[3], m[4], m[5]
        ),
        None => panic!("the profile gives the interface no static IPv4 address"),
    }
    loop {
        let now = clock::now();
        let next = stack.poll(&mut board.nic, now);
        if services.poll(&mut stack) {
            // Replies are queued: let the stack send them before sleeping.
            continue;
        }
        board.sleep_until(next);
    }
}
