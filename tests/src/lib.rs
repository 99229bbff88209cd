//! Helpers for the end-to-end tests: network namespaces that clean up after themselves, code run
//! inside them, and the example programs (`host-services`, `macro-echo`) started, stopped and
//! read back.
//!
//! Every test builds its own world:
//!
//! ```text
//!  test process (root namespace)          namespace sg-<pid>-<n>
//!  ─────────────────────────────          ─────────────────────────────────────────────────
//!  Netns::run(|| sockets…)  ── setns ──▶  kernel: tap0 192.0.2.1/24 ◀──TAP──▶ host-services
//!  Netns::command("ping")   ── ip netns exec ──▶                              192.0.2.2/24
//! ```
//!
//! so tests run in parallel, touch no interface of the machine, and only use the documentation
//! prefix 192.0.2.0/24. The namespace (and the TAP in it) is removed when the [`Netns`] guard
//! drops, also when the test panics; a [`HostServices`] borrows its namespace, so it is always
//! stopped (killed if need be) before the namespace goes.

pub mod qemu;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
pub use nix::sys::signal::Signal;

use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The kernel's address on the TAP inside every test namespace.
pub const KERNEL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The stack's address: what `host-services` is started with.
pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The prefix length of the test link.
pub const PREFIX_LEN: u8 = 24;
/// The TAP interface created in every test namespace.
pub const TAP: &str = "tap0";
/// The MAC address `host-services` is given in the tests (its default).
pub const STACK_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// How long `host-services` may take to print its "listening" line.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `host-services` may take to exit after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for one `ip` command.
const IP_TIMEOUT: Duration = Duration::from_secs(20);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace with `lo` up and a TAP interface `tap0` (kernel side 192.0.2.1/24, up),
/// removed with everything in it when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a uniquely named namespace (`sg-<pid>-<n>`) and its TAP interface.
    ///
    /// # Panics
    /// When the namespace cannot be created (the tests need root or `CAP_NET_ADMIN`, and the
    /// `ip` tool from iproute2) or any set-up step fails. A failure never lets a test pass.
    pub fn new() -> Netns {
        let name = format!(
            "sg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let output = run_bounded(Command::new("ip").args(["netns", "add", &name]), IP_TIMEOUT)
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run `ip netns add {name}`: {error}. The end-to-end tests need the \
                     `ip` tool (package iproute2: `cargo xtask deps`) and root / CAP_NET_ADMIN."
                )
            });
        if !output.status.success() {
            panic!(
                "`ip netns add {name}` failed ({}): {}\nThe end-to-end tests create network \
                 namespaces and TAP devices: they need root / CAP_NET_ADMIN (run `cargo xtask \
                 test` as root).",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        // From here on the guard exists, so a failing step still removes the namespace.
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["tuntap", "add", "dev", TAP, "mode", "tap"]);
        ns.ip(&[
            "addr",
            "add",
            &format!("{KERNEL_IP}/{PREFIX_LEN}"),
            "dev",
            TAP,
        ]);
        ns.ip(&["link", "set", TAP, "up"]);
        ns
    }

    /// The namespace's name, as `ip netns list` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> <args>` and panics with its error output if it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        let output = run_bounded(
            Command::new("ip").arg("-n").arg(&self.name).args(args),
            IP_TIMEOUT,
        )
        .unwrap_or_else(|error| panic!("cannot run `ip -n {} {args:?}`: {error}", self.name));
        assert!(
            output.status.success(),
            "`ip -n {} {}` failed ({}): {}",
            self.name,
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A command that runs `program` inside the namespace (`ip netns exec <ns> program`).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `f` on a thread that has entered the namespace, and returns its result.
    ///
    /// Sockets opened inside `f` belong to the namespace for their whole life, so `f` may return
    /// them and the test uses them from any thread: this is how a test talks to the stack through
    /// the kernel without spawning a program.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        thread::scope(|scope| {
            scope
                .spawn(|| {
                    let handle = File::open(&path)
                        .unwrap_or_else(|error| panic!("cannot open {path}: {error}"));
                    setns(&handle, CloneFlags::CLONE_NEWNET)
                        .unwrap_or_else(|error| panic!("setns({path}) failed: {error}"));
                    f()
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Reads one of the kernel's counters of the TAP interface (e.g. `tx_dropped`: frames the
    /// kernel could not queue for the program reading the TAP).
    pub fn tap_counter(&self, name: &str) -> u64 {
        let output = run_bounded(
            self.command("cat")
                .arg(format!("/sys/class/net/{TAP}/statistics/{name}")),
            IP_TIMEOUT,
        )
        .expect("cannot run cat in the namespace");
        assert!(output.status.success(), "cannot read counter {name}");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|error| panic!("counter {name} is not a number: {error}"))
    }

    /// Starts `host-services` in the namespace on `tap0` with address 192.0.2.2/24, gateway
    /// 192.0.2.1 and `extra` arguments, and waits for its "listening" line.
    pub fn start_host_services(&self, extra: &[&str]) -> HostServices<'_> {
        HostServices::start(self, "host-services", extra)
    }

    /// Starts the example binary `program` (built beside the tests, see [`example_binary`]) the
    /// way [`Netns::start_host_services`] starts `host-services`: same flags, and it must keep
    /// the same output contract (`<program>: listening on …`, statistics on SIGINT).
    pub fn start_example(&self, program: &str, extra: &[&str]) -> HostServices<'_> {
        HostServices::start(self, program, extra)
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Remove the TAP explicitly (it is persistent), then the namespace. Errors are reported
        // but never panic: this runs during unwinding too.
        let steps: [Vec<&str>; 2] = [
            vec!["-n", &self.name, "tuntap", "del", "dev", TAP, "mode", "tap"],
            vec!["netns", "del", &self.name],
        ];
        for args in steps {
            match run_bounded(Command::new("ip").args(&args), IP_TIMEOUT) {
                Ok(output) if output.status.success() => {}
                Ok(output) => eprintln!(
                    "cleanup: `ip {}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                Err(error) => eprintln!("cleanup: cannot run `ip {}`: {error}", args.join(" ")),
            }
        }
    }
}

/// Runs `command` with its output captured, killing it if it runs longer than `timeout`.
///
/// # Errors
/// When the program cannot be started, or `TimedOut` when it had to be killed.
pub fn run_bounded(command: &mut Command, timeout: Duration) -> std::io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{command:?} ran longer than {timeout:?} and was killed"),
            ));
        }
        thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: stdout
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default(),
        stderr: stderr
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default(),
    })
}

/// Reads a pipe to its end on a thread (so a chatty child never blocks on a full pipe).
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        out
    })
}

/// Where `host-services` was built: `<target>/debug/host-services`, found from this test
/// executable, which sits in `<target>/debug/deps/`.
///
/// # Panics
/// When the binary is missing: the tests do not call cargo themselves.
pub fn host_services_binary() -> PathBuf {
    example_binary("host-services")
}

/// Where the example binary `program` was built: `<target>/debug/<program>`, found from this
/// test executable, which sits in `<target>/debug/deps/`.
///
/// # Panics
/// When the binary is missing: the tests do not call cargo themselves.
pub fn example_binary(program: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("cannot locate the test executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable is not inside <target>/<profile>/deps");
    let binary = profile_dir.join(program);
    assert!(
        binary.is_file(),
        "{} does not exist: build it first: cargo build -p {program} \
         (`cargo xtask test` does this before running the tests)",
        binary.display()
    );
    binary
}

/// A running `host-services` inside a test namespace. Dropping it kills the process; call
/// [`HostServices::stop`] to stop it with SIGINT and read its statistics.
#[derive(Debug)]
pub struct HostServices<'ns> {
    ns: &'ns Netns,
    /// The program's name: its binary and the prefix of its "listening" line.
    program: String,
    child: Option<Child>,
    lines: Receiver<String>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
    /// Every line printed so far.
    transcript: Vec<String>,
}

impl<'ns> HostServices<'ns> {
    fn start(ns: &'ns Netns, program: &str, extra: &[&str]) -> HostServices<'ns> {
        let binary = example_binary(program);
        let ipv4 = format!("{STACK_IP}/{PREFIX_LEN}");
        let gateway = KERNEL_IP.to_string();
        let mut command = ns.command(binary.to_str().expect("target path is UTF-8"));
        command
            .args(["--tap", TAP, "--ipv4", &ipv4, "--gateway", &gateway])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // `ip netns exec` execs the program in place, so the child's pid is host-services'.
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().map(drain);
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut services = HostServices {
            ns,
            program: program.to_string(),
            child: Some(child),
            lines,
            stderr,
            transcript: Vec::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match services.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with(&format!("{program}: listening on"));
                    services.transcript.push(line);
                    if ready {
                        return services;
                    }
                }
                Err(RecvTimeoutError::Timeout) => services.fail(&format!(
                    "{program} printed no \"listening\" line within {START_TIMEOUT:?}"
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    services.fail(&format!("{program} exited before it was listening"))
                }
            }
        }
    }

    /// The namespace the program runs in.
    pub fn netns(&self) -> &'ns Netns {
        self.ns
    }

    /// The process id of the running program.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Kills the program and panics with `why`, what it printed and its error output.
    fn fail(&mut self, why: &str) -> ! {
        let status = self.kill();
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        while let Ok(line) = self.lines.try_recv() {
            self.transcript.push(line);
        }
        panic!(
            "{why} (exit: {status:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.transcript.join("\n"),
            String::from_utf8_lossy(&stderr)
        );
    }

    /// SIGKILL and reap, if still running.
    fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Stops the program with SIGINT (as Ctrl-C would), waits for it to exit, checks that it
    /// exited with status 0 and returns the statistics it printed.
    ///
    /// # Panics
    /// When the program does not exit in time, exits with an error, or prints no statistics.
    pub fn stop(self) -> Statistics {
        self.stop_with(Signal::SIGINT)
    }

    /// Like [`HostServices::stop`], with another signal (SIGTERM must behave the same).
    ///
    /// # Panics
    /// As [`HostServices::stop`].
    pub fn stop_with(mut self, signal: Signal) -> Statistics {
        let pid = self.pid();
        let program = self.program.clone();
        let pid = Pid::from_raw(i32::try_from(pid).expect("pid fits i32"));
        if let Err(error) = kill(pid, signal) {
            self.fail(&format!("cannot send {signal} to {program}: {error}"));
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            let child = self.child.as_mut().expect("running");
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => self.fail(&format!(
                    "{program} did not exit within {STOP_TIMEOUT:?} of {signal}"
                )),
                Err(error) => self.fail(&format!("waiting for {program}: {error}")),
            }
        };
        self.child = None;
        // The reader thread ends at end of file, which follows the exit promptly.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.transcript.push(line),
                Err(_) => break,
            }
        }
        if !status.success() {
            self.fail(&format!("{program} exited with {status} after {signal}"));
        }
        match Statistics::parse(&self.transcript) {
            Some(statistics) => statistics,
            None => self.fail(&format!("{program} printed no statistics after {signal}")),
        }
    }
}

impl Drop for HostServices<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The statistics `host-services` prints when it stops: after a line `statistics:`, one
/// `name: value` line per counter, the last one `drops_total: N`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Every counter by name.
    pub counters: BTreeMap<String, u64>,
}

impl Statistics {
    /// Parses the `name: value` lines that follow the `statistics:` line of `lines`. Returns
    /// `None` without a `statistics:` line or without `drops_total`.
    pub fn parse(lines: &[String]) -> Option<Statistics> {
        let start = lines.iter().position(|line| line.trim() == "statistics:")?;
        let mut counters = BTreeMap::new();
        for line in &lines[start + 1..] {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if let Ok(value) = value.trim().parse::<u64>() {
                counters.insert(name.trim().to_string(), value);
            }
        }
        counters
            .contains_key("drops_total")
            .then_some(Statistics { counters })
    }

    /// The counter `name`.
    ///
    /// # Panics
    /// When the program did not print that counter (a renamed counter must fail loudly).
    pub fn get(&self, name: &str) -> u64 {
        *self.counters.get(name).unwrap_or_else(|| {
            panic!(
                "host-services printed no counter {name:?}; it printed: {:?}",
                self.counters.keys().collect::<Vec<_>>()
            )
        })
    }

    /// The `drops_total` line: every frame, packet or datagram the stack dropped.
    pub fn drops_total(&self) -> u64 {
        self.get("drops_total")
    }

    /// Every non-zero counter, one `name: value` per line, for failure messages.
    pub fn non_zero(&self) -> String {
        self.counters
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs `ping` inside `ns`: `count` echo requests of `size` payload bytes to `to`, each waited
/// for at most `wait`. Returns (transmitted, received) from ping's summary line.
///
/// # Panics
/// When ping cannot be run (missing: install it with `cargo xtask deps`) or prints no summary.
pub fn ping(
    ns: &Netns,
    to: Ipv4Addr,
    size: usize,
    count: u32,
    interval: Duration,
    wait: Duration,
) -> (u32, u32) {
    let size = size.to_string();
    let count_arg = count.to_string();
    let interval = format!("{:.3}", interval.as_secs_f64());
    let wait_arg = format!("{:.3}", wait.as_secs_f64().max(0.001));
    let bound = wait * (count + 1) + Duration::from_secs(10);
    let output = run_bounded(
        ns.command("ping").args([
            "-n",
            "-q",
            "-c",
            &count_arg,
            "-s",
            &size,
            "-i",
            &interval,
            "-W",
            &wait_arg,
            &to.to_string(),
        ]),
        bound,
    )
    .unwrap_or_else(|error| {
        panic!("cannot run ping ({error}); install it (iputils-ping) with `cargo xtask deps`")
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout
        .lines()
        .find(|line| line.contains("packets transmitted"))
        .unwrap_or_else(|| {
            panic!(
                "ping printed no summary ({}):\n{stdout}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        });
    // "3 packets transmitted, 3 received, 0% packet loss, time 2003ms"
    let number = |word: &str| -> u32 {
        summary
            .split(',')
            .find(|part| part.contains(word))
            .and_then(|part| part.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("cannot read `{word}` in ping summary {summary:?}"))
    };
    (number("transmitted"), number("received"))
}

/// The stack's UDP echo service.
pub fn echo_addr() -> SocketAddrV4 {
    SocketAddrV4::new(STACK_IP, 7)
}

/// A small, seeded pseudo-random generator (SplitMix64), so every randomised test replays
/// exactly from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: usize, high: usize) -> usize {
        assert!(low <= high);
        low + (self.next_u64() % (high - low + 1) as u64) as usize
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_parsed_after_their_header() {
        let lines: Vec<String> = [
            "host-services: listening on 192.0.2.2",
            "noise: 3",
            "statistics:",
            "eth_truncated: 0",
            "ipv4_bad_checksum: 12",
            "drops_total: 12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let stats = Statistics::parse(&lines).unwrap();
        assert_eq!(stats.get("ipv4_bad_checksum"), 12);
        assert_eq!(stats.drops_total(), 12);
        assert!(!stats.counters.contains_key("noise"));
        assert_eq!(stats.non_zero(), "drops_total: 12\nipv4_bad_checksum: 12");
        assert!(Statistics::parse(&lines[..2]).is_none());
    }

    #[test]
    fn the_rng_replays_from_its_seed() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<usize> = (0..100).map(|_| a.range(1, 1472)).collect();
        let ys: Vec<usize> = (0..100).map(|_| b.range(1, 1472)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|&x| (1..=1472).contains(&x)));
        let mut buf = [0u8; 13];
        a.fill(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
    }
}
