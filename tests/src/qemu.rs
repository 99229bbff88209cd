//! Booting the QEMU board's firmware in a test namespace: `qemu-system-arm -M mps2-an386` with
//! the emulated LAN9118 on the namespace's `tap0`, its console captured, killed when dropped.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::{KERNEL_IP, Netns, Rng, TAP, echo_addr};

/// How long QEMU may take to boot the firmware to its "listening" line.
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// The target every firmware of the QEMU board is built for.
const FIRMWARE_TARGET: &str = "thumbv7em-none-eabihf";

/// One firmware of the QEMU board that the tests boot: which ELF, and what it prints when ready.
#[derive(Debug, Clone, Copy)]
pub struct Firmware {
    /// The binary's name (`examples/<name>`, and the ELF's file name).
    pub name: &'static str,
    /// An environment variable that, when set, names the ELF instead.
    pub env_var: &'static str,
    /// The start of the console line the firmware prints once it serves.
    pub ready_line: &'static str,
}

impl Firmware {
    /// Where the ELF is: `$<env_var>`, or
    /// `<target>/firmware/thumbv7em-none-eabihf/release/<name>`, `<target>` being the target
    /// directory this test executable was built in (`<target>/debug/deps/<test>-…`).
    ///
    /// # Panics
    /// When the ELF does not exist: the tests do not run cargo themselves.
    pub fn elf(&self) -> PathBuf {
        if let Some(path) = std::env::var_os(self.env_var) {
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
            .join(self.name);
        assert!(
            elf.is_file(),
            "{} does not exist: build it first: cargo xtask test (or: cd examples/{} && \
             cargo build --release --locked --target-dir {})",
            elf.display(),
            self.name,
            target_dir.join("firmware").display()
        );
        elf
    }
}

/// The firmware running in QEMU inside a test namespace; killed when dropped.
pub struct Qemu<'ns> {
    ns: &'ns Netns,
    child: Option<Child>,
    lines: Receiver<String>,
    /// Everything the firmware printed so far (its UART) and QEMU's own messages.
    transcript: Vec<String>,
    /// How many lines of `transcript` [`Qemu::wait_for_line`] has looked at.
    scanned: usize,
}

impl<'ns> Qemu<'ns> {
    /// Starts QEMU with `firmware` on `tap0` of `ns` and waits for its ready line.
    pub fn start(ns: &'ns Netns, firmware: &Firmware) -> Qemu<'ns> {
        let elf = firmware.elf();
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
            scanned: 0,
        };
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match qemu.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with(firmware.ready_line);
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

    /// Waits up to `timeout` for a console line starting with `prefix` that no earlier call
    /// returned (lines printed before the call count too), and returns it.
    ///
    /// # Panics
    /// When no such line comes in time or QEMU exits (killing QEMU, with the console transcript).
    pub fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(line) = self.transcript.get(self.scanned) {
                self.scanned += 1;
                if line.starts_with(prefix) {
                    return line.clone();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(RecvTimeoutError::Timeout) => self.fail(&format!(
                    "the firmware printed no line starting with {prefix:?} within {timeout:?}"
                )),
                Err(RecvTimeoutError::Disconnected) => self.fail(&format!(
                    "QEMU exited before the firmware printed a line starting with {prefix:?}"
                )),
            }
        }
    }

    /// Kills QEMU and collects what it printed.
    pub fn kill(&mut self) {
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
    pub fn fail(&mut self, why: &str) -> ! {
        self.kill();
        panic!(
            "{why} (namespace {})\n--- console ---\n{}",
            self.ns.name(),
            self.transcript.join("\n")
        );
    }

    /// Kills QEMU and checks the firmware never panicked or faulted.
    pub fn stop(mut self) {
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
pub fn connected_socket(ns: &Netns, to: SocketAddrV4, timeout: Duration) -> UdpSocket {
    ns.run(|| {
        let socket = UdpSocket::bind(SocketAddrV4::new(KERNEL_IP, 0)).expect("bind in namespace");
        socket.connect(to).expect("connect");
        socket.set_read_timeout(Some(timeout)).expect("timeout");
        socket
    })
}

/// Sends `payload` to the echo service and checks that it comes back byte for byte.
pub fn echo(qemu: &mut Qemu<'_>, socket: &UdpSocket, what: &str, payload: &[u8], buf: &mut [u8]) {
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

/// The largest UDP (or ICMP echo) payload that fits one 1500-byte IPv4 packet.
pub const MAX_UNFRAGMENTED: usize = 1472;

/// How long one echo may take; the first gets [`FIRST_ECHO_TIMEOUT`].
const ECHO_TIMEOUT: Duration = Duration::from_secs(2);

/// The first echo also waits for ARP in both directions, which with several QEMUs sharing two
/// cores (the test harness runs a binary's tests in parallel) can take longer than one
/// datagram's timeout.
const FIRST_ECHO_TIMEOUT: Duration = Duration::from_secs(10);

/// Echoes `count` datagrams of random lengths (0 to [`MAX_UNFRAGMENTED`] bytes, random
/// contents from `seed`) through the firmware's UDP echo service and checks each byte for byte;
/// fails when the whole run takes longer than `limit`.
pub fn echo_random_datagrams(
    ns: &Netns,
    qemu: &mut Qemu<'_>,
    seed: u64,
    count: usize,
    limit: Duration,
) {
    let socket = connected_socket(ns, echo_addr(), FIRST_ECHO_TIMEOUT);
    let mut rng = Rng::new(seed);
    let mut payload = vec![0u8; MAX_UNFRAGMENTED];
    let mut buf = vec![0u8; 65536];
    let started = Instant::now();
    for i in 0..count {
        let len = rng.range(0, MAX_UNFRAGMENTED);
        rng.fill(&mut payload[..len]);
        echo(
            qemu,
            &socket,
            &format!("datagram {i}"),
            &payload[..len],
            &mut buf,
        );
        if i == 0 {
            socket
                .set_read_timeout(Some(ECHO_TIMEOUT))
                .expect("timeout");
        }
        if started.elapsed() > limit {
            qemu.fail(&format!("{count} echoes took more than {limit:?}"));
        }
    }
}
