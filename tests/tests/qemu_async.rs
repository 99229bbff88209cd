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
//! removed. The QEMU harness is the one of `qemu_board.rs`, for another firmware.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use stackgen_tests::{KERNEL_IP, Netns, Rng, STACK_IP, TAP, echo_addr, ping};

/// The largest UDP payload (and ping payload) that fits one Ethernet frame at MTU 1500.
const MAX_UNFRAGMENTED: usize = 1472;
/// How long QEMU may take to boot the firmware to its "listening" line.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// The line the firmware prints once it serves.
const LISTENING: &str = "qemu-async: listening on 192.0.2.2";
/// The firmware's target and the profile it is built with.
const FIRMWARE_TARGET: &str = "thumbv7em-none-eabihf";

/// Where the firmware ELF is: `$STACKGEN_QEMU_ASYNC_FIRMWARE`, or
/// `<target>/firmware/thumbv7em-none-eabihf/release/qemu-async`, `<target>` being the target
/// directory this test executable was built in (`<target>/debug/deps/qemu_async-…`).
///
/// # Panics
/// When the ELF does not exist: the tests do not run cargo themselves.
fn firmware_elf() -> PathBuf {
    if let Some(path) = std::env::var_os("STACKGEN_QEMU_ASYNC_FIRMWARE") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("cannot locate the test executable");
    let target_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .and_then(|profile| profile.parent())
        .expect("the test executable is not inside <target>/<profile>/deps");
    let elf = target_dir
        .join("firmware")
        .join(FIRMWARE_TARGET)
        .join("release")
        .join("qemu-async");
    assert!(
        elf.is_file(),
        "{} does not exist: build it first: cargo xtask test (or: cd examples/qemu-async && \
         cargo build --release --locked --target-dir {})",
        elf.display(),
        target_dir.join("firmware").display()
    );
    elf
}

/// The firmware running in QEMU inside a test namespace; killed when dropped.
struct Qemu<'ns> {
    ns: &'ns Netns,
    child: Option<Child>,
    lines: Receiver<String>,
    /// Everything the firmware printed so far (its UART) and QEMU's own messages.
    transcript: Vec<String>,
}

impl<'ns> Qemu<'ns> {
    /// Starts QEMU with the firmware on `tap0` of `ns` and waits for the "listening" line.
    fn start(ns: &'ns Netns) -> Qemu<'ns> {
        let elf = firmware_elf();
        let netdev = format!("tap,id=n0,ifname={TAP},script=no,downscript=no");
        let mut command = ns.command("qemu-system-arm");
        command
            .args(["-M", "mps2-an386", "-nographic", "-kernel"])
            .arg(&elf)
            .args(["-netdev", &netdev, "-net", "nic,netdev=n0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // `ip netns exec` execs QEMU in place, so the child is QEMU itself.
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "cannot start qemu-system-arm in the namespace ({error}); install it \
                 (package qemu-system-arm) with `cargo xtask deps`"
            )
        });
        let (sender, lines) = mpsc::channel();
        let pipes: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout is piped")),
            Box::new(child.stderr.take().expect("stderr is piped")),
        ];
        for pipe in pipes {
            let sender = sender.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line.trim_end().to_string()).is_err() {
                        break;
                    }
                }
            });
        }
        let mut qemu = Qemu {
            ns,
            child: Some(child),
            lines,
            transcript: Vec::new(),
        };
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match qemu.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with(LISTENING);
                    qemu.transcript.push(line);
                    if ready {
                        return qemu;
                    }
                }
                Err(RecvTimeoutError::Timeout) => qemu.fail(&format!(
                    "the firmware printed no \"listening\" line within {BOOT_TIMEOUT:?}"
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    qemu.fail("QEMU exited before the firmware was listening")
                }
            }
        }
    }

    /// Kills QEMU and collects what it printed.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(_) => break,
            }
        }
    }

    /// Kills QEMU and panics with `why` and the console transcript.
    fn fail(&mut self, why: &str) -> ! {
        self.kill();
        panic!(
            "{why} (namespace {})\n--- console ---\n{}",
            self.ns.name(),
            self.transcript.join("\n")
        );
    }

    /// Kills QEMU and checks the firmware never panicked or faulted.
    fn stop(mut self) {
        self.kill();
        if self
            .transcript
            .iter()
            .any(|line| line.contains("PANIC") || line.contains("HARD FAULT"))
        {
            self.fail("the firmware panicked or faulted");
        }
    }
}

impl Drop for Qemu<'_> {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A kernel UDP socket inside `ns`, bound to the kernel's address and connected to `to`.
fn connected_socket(ns: &Netns, to: SocketAddrV4, timeout: Duration) -> UdpSocket {
    ns.run(|| {
        let socket = UdpSocket::bind(SocketAddrV4::new(KERNEL_IP, 0)).expect("bind in namespace");
        socket.connect(to).expect("connect");
        socket.set_read_timeout(Some(timeout)).expect("timeout");
        socket
    })
}

/// Sends `payload` to the echo service and checks that it comes back byte for byte.
fn echo(qemu: &mut Qemu<'_>, socket: &UdpSocket, what: &str, payload: &[u8], buf: &mut [u8]) {
    let result = socket.send(payload).and_then(|_| socket.recv(buf));
    match result {
        Ok(n) if n == payload.len() && buf[..n] == *payload => {}
        Ok(n) => qemu.fail(&format!(
            "{what} ({} bytes) came back as {n} different bytes",
            payload.len()
        )),
        Err(error) => qemu.fail(&format!(
            "{what} ({} bytes): no echo ({error})",
            payload.len()
        )),
    }
}

#[test]
fn qemu_async_firmware_answers_20_pings() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns);
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
    let mut qemu = Qemu::start(&ns);
    let socket = connected_socket(&ns, echo_addr(), Duration::from_secs(2));
    let mut rng = Rng::new(0x5eed_a5c0);
    let mut payload = vec![0u8; MAX_UNFRAGMENTED];
    let mut buf = vec![0u8; 65536];
    let started = Instant::now();
    for i in 0..50 {
        let len = rng.range(0, MAX_UNFRAGMENTED);
        rng.fill(&mut payload[..len]);
        echo(
            &mut qemu,
            &socket,
            &format!("datagram {i}"),
            &payload[..len],
            &mut buf,
        );
        if started.elapsed() > Duration::from_secs(60) {
            qemu.fail("50 echoes took more than 60 s");
        }
    }
    qemu.stop();
}

/// Bytes sent through the TCP echo server.
const TCP_BYTES: usize = 1 << 20;
/// The bound on the whole TCP transfer.
const TCP_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn qemu_async_firmware_echoes_1_mib_over_tcp_byte_for_byte() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns);
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
