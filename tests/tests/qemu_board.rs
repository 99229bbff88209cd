//! End-to-end tests of the QEMU board: the `qemu-services` firmware (stack-runtime on the
//! `qemu-mps2-an386` board crate) boots in `qemu-system-arm -M mps2-an386`, whose emulated
//! LAN9118 is attached to `tap0` inside a fresh network namespace (kernel 192.0.2.1/24,
//! firmware 192.0.2.2/24), and the kernel's `ping` and UDP sockets talk to it.
//!
//! ```text
//!  test (namespace sg-<pid>-<n>)                      qemu-system-arm -M mps2-an386
//!  kernel: tap0 192.0.2.1/24 ◀── TAP (-netdev tap) ──▶ LAN9118 ─ qemu-services 192.0.2.2
//! ```
//!
//! Needs root (or CAP_NET_ADMIN), `ip`, `ping` and `qemu-system-arm` (`cargo xtask deps`), and
//! the firmware built for thumbv7em-none-eabihf in release, which `cargo xtask test` does
//! before the tests run:
//!
//! ```sh
//! cd examples/qemu-services && cargo build --release --locked --target-dir ../../target/firmware
//! ```
//!
//! The tests find the ELF at `<target dir>/firmware/thumbv7em-none-eabihf/release/qemu-services`
//! (the target dir of this test executable), or at `$STACKGEN_QEMU_FIRMWARE` if set. QEMU is
//! killed at the end of every test (also when it fails), before its namespace is removed.

use std::time::{Duration, Instant};

use stackgen_tests::qemu::{Firmware, Qemu, connected_socket, echo};
use stackgen_tests::{Netns, Rng, STACK_IP, echo_addr, ping};

/// The largest UDP payload (and ping payload) that fits one Ethernet frame at MTU 1500.
const MAX_UNFRAGMENTED: usize = 1472;

/// The firmware these tests boot.
const FIRMWARE: Firmware = Firmware {
    name: "qemu-services",
    env_var: "STACKGEN_QEMU_FIRMWARE",
    ready_line: "qemu-services: listening on 192.0.2.2",
};

#[test]
fn qemu_firmware_answers_100_pings_from_0_to_1472_bytes() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let mut lost = Vec::new();
    for i in 0..100 {
        let size = i * MAX_UNFRAGMENTED / 99; // 0, 14, 29, ..., 1472
        let (transmitted, received) = ping(
            &ns,
            STACK_IP,
            size,
            1,
            Duration::from_millis(10),
            Duration::from_secs(2),
        );
        assert_eq!(transmitted, 1);
        if received != 1 {
            lost.push(size);
        }
    }
    if !lost.is_empty() {
        qemu.fail(&format!(
            "echo requests of these payload sizes got no reply: {lost:?}"
        ));
    }
    qemu.stop();
}

#[test]
fn qemu_firmware_answers_a_burst_of_100_pings_10_ms_apart() {
    // One ping process, the pacing a user sees: every reply must come from the interrupt
    // waking the sleeping firmware, not from a timer.
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let (transmitted, received) = ping(
        &ns,
        STACK_IP,
        56,
        100,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    if (transmitted, received) != (100, 100) {
        qemu.fail(&format!(
            "{received} of {transmitted} echo requests were answered"
        ));
    }
    qemu.stop();
}

#[test]
fn qemu_firmware_echoes_200_udp_datagrams_byte_for_byte() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let socket = connected_socket(&ns, echo_addr(), Duration::from_secs(2));
    let mut rng = Rng::new(0x5eed_00e0);
    let mut payload = vec![0u8; MAX_UNFRAGMENTED];
    let mut buf = vec![0u8; 65536];
    let started = Instant::now();
    for i in 0..200 {
        let len = rng.range(0, MAX_UNFRAGMENTED);
        rng.fill(&mut payload[..len]);
        echo(
            &mut qemu,
            &socket,
            &format!("datagram {i}"),
            &payload[..len],
            &mut buf,
        );
        if started.elapsed() > Duration::from_secs(120) {
            qemu.fail("200 echoes took more than 120 s");
        }
    }
    qemu.stop();
}

#[test]
fn qemu_firmware_reassembles_and_echoes_fragmented_datagrams() {
    // The firmware has one 4 KiB reassembly slot and 4 KiB socket buffers: 4000 bytes of
    // payload arrive in 3 fragments and leave in 3.
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let socket = connected_socket(&ns, echo_addr(), Duration::from_secs(3));
    let mut rng = Rng::new(0x5eed_00e1);
    let mut buf = vec![0u8; 65536];
    for round in 0..3 {
        let mut payload = vec![0u8; 4000];
        rng.fill(&mut payload);
        echo(
            &mut qemu,
            &socket,
            &format!("fragmented datagram {round}"),
            &payload,
            &mut buf,
        );
    }
    qemu.stop();
}
