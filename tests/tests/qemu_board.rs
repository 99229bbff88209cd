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

use std::io::{BufRead, BufReader};
use std::net::{SocketAddrV4, UdpSocket};
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
const LISTENING: &str = "qemu-services: listening on 192.0.2.2";
/// The firmware's target and the profile it is built with.
const FIRMWARE_TARGET: &str = "thumbv7em-none-eabihf";

/// Where the firmware ELF is: `$STACKGEN_QEMU_FIRMWARE`, or
/// `<target>/firmware/thumbv7em-none-eabihf/release/qemu-services`, `<target>` being the target
/// directory this test executable was built in (`<target>/debug/deps/qemu_board-…`).
///
/// # Panics
/// When the ELF does not exist: the tests do not run cargo themselves.
fn firmware_elf() -> PathBuf {
    if let Some(path) = std::env::var_os("STACKGEN_QEMU_FIRMWARE") {
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
        .join("qemu-services");
    assert!(
        elf.is_file(),
        "{} does not exist: build it first: cargo xtask test (or: cd examples/qemu-services && \
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
fn qemu_firmware_answers_100_pings_from_0_to_1472_bytes() {
    let ns = Netns::new();
    let mut qemu = Qemu::start(&ns);
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
    let mut qemu = Qemu::start(&ns);
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
    let mut qemu = Qemu::start(&ns);
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
    let mut qemu = Qemu::start(&ns);
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
