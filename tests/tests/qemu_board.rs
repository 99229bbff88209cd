//! End-to-end tests of the QEMU board: the `qemu-services` firmware (stack-runtime on the
//! `qemu-mps2-an386` board crate, its stack generated from `profiles/qemu-mps2-an386.toml`)
//! boots in `qemu-system-arm -M mps2-an386`, whose emulated LAN9118 is attached to `tap0` inside
//! a fresh network namespace (kernel 192.0.2.1/24, firmware 192.0.2.2/24), and the kernel's
//! `ping`, UDP and TCP sockets talk to it: ICMP echo, UDP echo (7), TCP echo (7), discard (9)
//! and chargen (19).
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
//! Every TCP transfer is bounded in bytes and time; the discard test prints how long 10 MB took
//! (`cargo test -- --nocapture` shows it).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use stackgen_tests::qemu::{
    Firmware, MAX_UNFRAGMENTED, Qemu, connected_socket, echo, echo_random_datagrams,
};
use stackgen_tests::{Netns, Rng, STACK_IP, echo_addr, ping};

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
    echo_random_datagrams(&ns, &mut qemu, 0x5eed_00e0, 200, Duration::from_secs(120));
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

/// The TCP echo port (RFC 862).
const TCP_ECHO_PORT: u16 = 7;
/// The TCP discard port (RFC 863).
const DISCARD_PORT: u16 = 9;
/// The TCP character generator port (RFC 864).
const CHARGEN_PORT: u16 = 19;
/// How long one read or write on a TCP connection to the firmware may block.
const TCP_IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The console line the firmware prints when a discard connection ends cleanly.
const DISCARD_CLOSED: &str = "discard: connection closed after ";

/// A kernel TCP connection from inside `ns` to the firmware's `port`, with read and write
/// timeouts of [`TCP_IO_TIMEOUT`]. Fails the test (killing QEMU) when it cannot connect.
fn tcp_connect(qemu: &mut Qemu<'_>, ns: &Netns, port: u16) -> TcpStream {
    let to = SocketAddrV4::new(STACK_IP, port);
    let result = ns.run(|| TcpStream::connect_timeout(&to.into(), Duration::from_secs(5)));
    match result {
        Ok(stream) => {
            stream
                .set_read_timeout(Some(TCP_IO_TIMEOUT))
                .expect("read timeout");
            stream
                .set_write_timeout(Some(TCP_IO_TIMEOUT))
                .expect("write timeout");
            stream
        }
        Err(error) => qemu.fail(&format!("cannot connect to {to}: {error}")),
    }
}

/// Reads from `stream` until the end of the stream, at most `limit` bytes and until `deadline`;
/// returns what came, or why it stopped early.
fn read_to_end_bounded(
    stream: &mut TcpStream,
    limit: usize,
    deadline: Instant,
) -> Result<Vec<u8>, String> {
    let mut received = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if Instant::now() > deadline {
            return Err(format!(
                "no end of stream by the deadline ({} bytes read)",
                received.len()
            ));
        }
        match stream.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                if received.len() > limit {
                    return Err(format!("more than {limit} bytes came back"));
                }
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(format!(
                    "read failed after {} bytes: {error}",
                    received.len()
                ));
            }
        }
    }
}

/// The byte at `position` of the RFC 864 character generator stream: lines of the 72
/// characters starting at `32 + line % 95` of the 95 printable ASCII characters, each ended by
/// CR LF.
fn chargen_byte(position: usize) -> u8 {
    let (line, column) = (position / 74, position % 74);
    match column {
        72 => b'\r',
        73 => b'\n',
        _ => 32 + ((line + column) % 95) as u8,
    }
}

#[test]
fn chargen_pattern_is_rfc_864() {
    let line = |n: usize| -> Vec<u8> { (n * 74..(n + 1) * 74).map(chargen_byte).collect() };
    // Line 0 is the 72 characters from the space, line 1 from `!` (RFC 864's listing).
    assert_eq!(line(0)[..72], (32..104).collect::<Vec<u8>>());
    assert_eq!(
        &line(1)[..72],
        &b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh"[..]
    );
    assert_eq!(&line(1)[72..], b"\r\n");
    // Line 94 starts at `~` and wraps to the space; line 95 is line 0 again.
    assert_eq!(&line(94)[..3], b"~ !");
    assert_eq!(line(95), line(0));
}

#[test]
fn qemu_firmware_echoes_256_kib_over_tcp_byte_for_byte() {
    const LEN: usize = 256 * 1024;
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let mut stream = tcp_connect(&mut qemu, &ns, TCP_ECHO_PORT);
    let mut payload = vec![0u8; LEN];
    Rng::new(0x5eed_7c90).fill(&mut payload);
    let started = Instant::now();
    // Written on one thread and read on this one at the same time: the echo comes back while
    // the rest is still being sent, so neither side's buffers have to hold it all.
    let writer = {
        let mut stream = stream.try_clone().expect("clone the stream");
        let payload = payload.clone();
        thread::spawn(move || -> std::io::Result<()> {
            for chunk in payload.chunks(3000) {
                stream.write_all(chunk)?;
            }
            stream.shutdown(Shutdown::Write)
        })
    };
    let received = read_to_end_bounded(&mut stream, LEN, started + Duration::from_secs(90));
    let written = writer.join().expect("the writer thread panicked");
    let elapsed = started.elapsed();
    if let Err(error) = written {
        qemu.fail(&format!("writing {LEN} bytes to TCP echo failed: {error}"));
    }
    let received = match received {
        Ok(received) => received,
        Err(why) => qemu.fail(&format!("TCP echo of {LEN} bytes: {why}")),
    };
    if received != payload {
        let first = received
            .iter()
            .zip(&payload)
            .position(|(a, b)| a != b)
            .unwrap_or(received.len().min(LEN));
        qemu.fail(&format!(
            "TCP echo: {} bytes came back for {LEN}, first difference at byte {first}",
            received.len()
        ));
    }
    println!("TCP echo: {LEN} bytes sent and received back in {elapsed:.2?}");
    qemu.stop();
}

#[test]
fn qemu_firmware_discards_10_mb_and_counts_every_byte() {
    const LEN: usize = 10_000_000;
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let mut stream = tcp_connect(&mut qemu, &ns, DISCARD_PORT);
    let mut chunk = vec![0u8; 64 * 1024];
    Rng::new(0x5eed_d15c).fill(&mut chunk);
    let started = Instant::now();
    let mut sent = 0;
    while sent < LEN {
        if started.elapsed() > Duration::from_secs(120) {
            qemu.fail(&format!(
                "only {sent} of {LEN} bytes went to discard in 120 s"
            ));
        }
        let n = chunk.len().min(LEN - sent);
        if let Err(error) = stream.write_all(&chunk[..n]) {
            qemu.fail(&format!(
                "discard: write failed after {sent} bytes: {error}"
            ));
        }
        sent += n;
    }
    if let Err(error) = stream.shutdown(Shutdown::Write) {
        qemu.fail(&format!("discard: shutdown failed: {error}"));
    }
    // Discard sends nothing: the end of stream (its FIN, not a reset) must come once it read
    // everything.
    match read_to_end_bounded(&mut stream, 0, started + Duration::from_secs(150)) {
        Ok(_) => {}
        Err(why) => qemu.fail(&format!("discard did not close cleanly: {why}")),
    }
    let elapsed = started.elapsed();
    let line = qemu.wait_for_line(DISCARD_CLOSED, Duration::from_secs(10));
    let count = line[DISCARD_CLOSED.len()..].trim_end_matches(" bytes");
    if count != LEN.to_string() {
        qemu.fail(&format!(
            "discard counted {count} bytes, {LEN} were sent (console: {line:?})"
        ));
    }
    println!(
        "TCP discard: {LEN} bytes in {elapsed:.2?} ({:.2} Mbit/s), firmware counted {count}",
        LEN as f64 * 8.0 / elapsed.as_secs_f64() / 1e6
    );
    qemu.stop();
}

#[test]
fn qemu_firmware_chargen_sends_the_rfc_864_pattern() {
    const LEN: usize = 100_000;
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let mut stream = tcp_connect(&mut qemu, &ns, CHARGEN_PORT);
    let started = Instant::now();
    let mut received = vec![0u8; LEN];
    if let Err(error) = stream.read_exact(&mut received) {
        qemu.fail(&format!("chargen: reading {LEN} bytes failed: {error}"));
    }
    let elapsed = started.elapsed();
    // Then close our side: chargen closes its own once it sees our FIN, and what it had queued
    // until then must still follow the pattern.
    if let Err(error) = stream.shutdown(Shutdown::Write) {
        qemu.fail(&format!("chargen: shutdown failed: {error}"));
    }
    match read_to_end_bounded(
        &mut stream,
        10_000_000,
        Instant::now() + Duration::from_secs(30),
    ) {
        Ok(rest) => received.extend_from_slice(&rest),
        Err(why) => qemu.fail(&format!("chargen did not close after our FIN: {why}")),
    }
    if let Some(at) = (0..received.len()).find(|&i| received[i] != chargen_byte(i)) {
        let line = &received[at - at % 74..(at - at % 74 + 74).min(received.len())];
        qemu.fail(&format!(
            "chargen: byte {at} is {:?}, the pattern has {:?} (line {:?})",
            received[at] as char,
            chargen_byte(at) as char,
            String::from_utf8_lossy(line)
        ));
    }
    println!(
        "chargen: first {LEN} bytes in {elapsed:.2?}, {} in all before its FIN",
        received.len()
    );
    qemu.stop();
}

#[test]
fn qemu_firmware_serves_echo_discard_and_chargen_at_once() {
    // One connection to each service, all busy at the same time: they share the 16 packet
    // buffers the profile lets TCP data hold (4 + 4 for echo, 4 for discard, 4 for chargen) and
    // the NIC.
    const ECHO_LEN: usize = 64 * 1024;
    const DISCARD_LEN: usize = 1_000_000;
    const CHARGEN_LEN: usize = 50_000;
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns, &FIRMWARE);
    let echo_stream = tcp_connect(&mut qemu, &ns, TCP_ECHO_PORT);
    let discard_stream = tcp_connect(&mut qemu, &ns, DISCARD_PORT);
    let chargen_stream = tcp_connect(&mut qemu, &ns, CHARGEN_PORT);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut payload = vec![0u8; ECHO_LEN];
    Rng::new(0x5eed_a11e).fill(&mut payload);
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let echo = scope.spawn(|| {
            let mut reader = echo_stream.try_clone().map_err(|e| e.to_string())?;
            let writer = scope.spawn(|| -> std::io::Result<()> {
                let mut stream = &echo_stream;
                for chunk in payload.chunks(1000) {
                    stream.write_all(chunk)?;
                }
                stream.shutdown(Shutdown::Write)
            });
            let received = read_to_end_bounded(&mut reader, ECHO_LEN, deadline);
            match writer.join() {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(format!("echo: write failed: {error}")),
                Err(_) => return Err("echo: the writer panicked".to_string()),
            }
            let received = received.map_err(|why| format!("echo: {why}"))?;
            if received != payload {
                return Err(format!(
                    "echo: {} bytes came back for {ECHO_LEN}, not the same",
                    received.len()
                ));
            }
            Ok(())
        });
        let discard = scope.spawn(|| {
            let mut stream = &discard_stream;
            let chunk = vec![0x5a; 10_000];
            for sent in (0..DISCARD_LEN).step_by(chunk.len()) {
                if Instant::now() > deadline {
                    return Err(format!("discard: only {sent} bytes sent by the deadline"));
                }
                stream
                    .write_all(&chunk)
                    .map_err(|e| format!("discard: write failed after {sent} bytes: {e}"))?;
            }
            stream
                .shutdown(Shutdown::Write)
                .map_err(|e| format!("discard: shutdown failed: {e}"))?;
            let mut reader = discard_stream.try_clone().map_err(|e| e.to_string())?;
            read_to_end_bounded(&mut reader, 0, deadline)
                .map(|_| ())
                .map_err(|why| format!("discard did not close cleanly: {why}"))
        });
        let chargen = scope.spawn(|| {
            let mut stream = &chargen_stream;
            let mut received = vec![0u8; CHARGEN_LEN];
            stream
                .read_exact(&mut received)
                .map_err(|e| format!("chargen: read failed: {e}"))?;
            match (0..CHARGEN_LEN).find(|&i| received[i] != chargen_byte(i)) {
                Some(at) => Err(format!("chargen: byte {at} is not the pattern's")),
                None => Ok(()),
            }
        });
        [echo, discard, chargen]
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a client thread panicked".to_string()))
            })
            .collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if !failures.is_empty() {
        qemu.fail(&failures.join("; "));
    }
    // Chargen's connection is closed last, with data unread: a reset, which the firmware
    // takes like any other end.
    drop(chargen_stream);
    let line = qemu.wait_for_line(DISCARD_CLOSED, Duration::from_secs(10));
    if line != format!("{DISCARD_CLOSED}{DISCARD_LEN} bytes") {
        qemu.fail(&format!(
            "discard counted {line:?}, {DISCARD_LEN} bytes were sent"
        ));
    }
    qemu.stop();
}
