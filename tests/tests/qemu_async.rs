//! End-to-end tests of the async API under embassy-executor on the QEMU board: the
//! `qemu-async` firmware (stack-runtime's `AsyncStack`, `TcpSocket` and `UdpSocket` as embassy
//! tasks on the `qemu-mps2-an386` board crate) boots in `qemu-system-arm -M mps2-an386`, whose
//! LAN9118 is attached to `tap0` inside a fresh network namespace (kernel 192.0.2.1/24,
//! firmware 192.0.2.2/24), and the kernel's `ping`, UDP and TCP sockets talk to it.
//!
//! Needs root (or CAP_NET_ADMIN), `ip`, `ping` and `qemu-system-arm` (`cargo xtask deps`), and
//! the firmware built for thumbv7em-none-eabihf in release, which `cargo xtask test` does
//! before the tests run:
//!
//! ```sh
//! cd examples/qemu-async && cargo build --release --locked --target-dir ../../target/firmware
//! ```
//!
//! The tests find the ELF at `<target dir>/firmware/thumbv7em-none-eabihf/release/qemu-async`
//! (the target dir of this test executable), or at `$STACKGEN_QEMU_ASYNC_FIRMWARE` if set.
//! QEMU is killed at the end of every test (also when it fails), before its namespace is
//! removed. The QEMU harness is `stackgen_tests::qemu`, shared with `qemu_board.rs`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use stackgen_tests::qemu::{Firmware, Qemu, echo_random_datagrams};
use stackgen_tests::{Netns, Rng, STACK_IP, echo_addr, ping};

/// The firmware these tests boot.
const FIRMWARE: Firmware = Firmware {
    name: "qemu-async",
    env_var: "STACKGEN_QEMU_ASYNC_FIRMWARE",
    ready_line: "qemu-async: listening on 192.0.2.2",
};

#[test]
fn qemu_async_firmware_answers_20_pings() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let (transmitted, received) = ping(
        &ns,
        STACK_IP,
        56,
        20,
        Duration::from_millis(20),
        Duration::from_secs(2),
    );
    if (transmitted, received) != (20, 20) {
        qemu.fail(&format!(
            "{received} of {transmitted} echo requests were answered"
        ));
    }
    qemu.stop();
}

#[test]
fn qemu_async_firmware_echoes_50_udp_datagrams_byte_for_byte() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    echo_random_datagrams(&ns, &mut qemu, 0x5eed_a5c0, 50, Duration::from_secs(60));
    qemu.stop();
}

/// Bytes sent through the TCP echo server.
const TCP_BYTES: usize = 1 << 20;
/// The bound on the whole TCP transfer.
const TCP_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn qemu_async_firmware_echoes_1_mib_over_tcp_byte_for_byte() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let stream = ns.run(|| {
        TcpStream::connect_timeout(&echo_addr().into(), Duration::from_secs(10))
            .expect("connect to the TCP echo server")
    });
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut data = vec![0u8; TCP_BYTES];
    Rng::new(0x5eed_a5c1).fill(&mut data);
    let mut writer = stream.try_clone().expect("clone the stream");
    let sent = data.clone();
    // The writer runs beside the reader: the echo server's window fills otherwise.
    let sender = thread::spawn(move || -> std::io::Result<()> {
        for chunk in sent.chunks(4096) {
            writer.write_all(chunk)?;
        }
        writer.shutdown(Shutdown::Write)
    });
    let started = Instant::now();
    let mut reader = stream;
    let mut received = Vec::with_capacity(TCP_BYTES);
    let mut buf = vec![0u8; 65536];
    let outcome = loop {
        if started.elapsed() > TCP_TIMEOUT {
            break Err(format!("the transfer took more than {TCP_TIMEOUT:?}"));
        }
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(error) => break Err(format!("read failed ({error})")),
        }
    };
    let elapsed = started.elapsed();
    let _ = reader.shutdown(Shutdown::Both);
    let sent = sender.join().expect("the writer thread panicked");
    if let Err(why) = outcome {
        qemu.fail(&format!(
            "TCP echo: {why} after {} of {TCP_BYTES} bytes",
            received.len()
        ));
    }
    if let Err(error) = sent {
        qemu.fail(&format!("TCP echo: write failed ({error})"));
    }
    if received.len() != TCP_BYTES {
        qemu.fail(&format!(
            "TCP echo: {} bytes came back for {TCP_BYTES}",
            received.len()
        ));
    }
    if let Some(at) = received.iter().zip(&data).position(|(a, b)| a != b) {
        qemu.fail(&format!("TCP echo: byte {at} differs"));
    }
    eprintln!("1 MiB echoed in {elapsed:?}");
    qemu.stop();
}
