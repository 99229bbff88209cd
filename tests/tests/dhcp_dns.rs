//! End-to-end tests of the DHCPv4 client and the DNS resolver against real servers: dnsmasq
//! serving DHCP and DNS on the TAP of a fresh network namespace, and a small Python DNS server
//! (tests/scripts/dns_malformed.py) answering with hostile messages. `host-services --dhcp`
//! takes its address from the server and `--resolve NAME` looks names up; the tests read its
//! output lines and its statistics.
//!
//! ```text
//!  namespace sg-<pid>-<n>
//!  dnsmasq on tap0 (192.0.2.1): DHCP 192.0.2.50-60, lease 2 min, T1 5 s, T2 10 s;
//!                               DNS from an --addn-hosts file (device.example = 198.51.100.7)
//!        ▲
//!        │ TAP
//!        ▼
//!  host-services --dhcp --resolve …
//! ```
//!
//! dnsmasq's shortest lease is 2 minutes, so renewal is driven by short T1/T2 options (58, 59).
//! The conflict-detection test adds a station holding the first address dnsmasq offers
//! (tests/scripts/dhcp_arp_conflict.py answering ARP on the TAP).
//! Every file lives in a temporary directory; dnsmasq and the script are killed, and the
//! namespace removed, when their guards drop, also when a test fails. Every wait is bounded.
//!
//! Needs root, `ip`, `dnsmasq` (package dnsmasq-base) and `python3` (`cargo xtask deps`), and
//! `host-services` built beside the tests (`cargo build -p host-services`).

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use stackgen_tests::{KERNEL_IP, Netns, Statistics, TAP, host_services_binary, ping};

/// The address dnsmasq's hosts file gives `device.example`.
const DEVICE_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// How long host-services may take to get its first lease.
const BIND_TIMEOUT: Duration = Duration::from_secs(30);

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "sg-dhcp-dns-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lines a child prints on one of its pipes, read on a thread.
fn line_channel(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

/// A process in the namespace whose output lines the test waits for. Killed on drop.
struct Process {
    what: &'static str,
    child: Option<Child>,
    lines: Receiver<String>,
    transcript: Vec<String>,
}

impl Process {
    /// Runs `program args` in `ns`, reading its standard output and error line by line.
    fn start(what: &'static str, ns: &Netns, program: &str, args: &[String]) -> Process {
        let mut command = ns.command(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what} ({program}): {error}"));
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        // Both pipes feed one stream of lines (dnsmasq logs to standard error).
        for rx in [line_channel(stdout), line_channel(stderr)] {
            let sender = sender.clone();
            thread::spawn(move || {
                for line in rx {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Process {
            what,
            child: Some(child),
            lines,
            transcript: Vec::new(),
        }
    }

    /// Waits up to `timeout` for a line matching `pred` (lines before it are kept in the
    /// transcript); panics with everything printed so far when none comes.
    fn wait_for(&mut self, timeout: Duration, why: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => {
                    self.kill();
                    panic!(
                        "{}: no line {why} within {timeout:?}; it printed:\n{}",
                        self.what,
                        self.transcript.join("\n")
                    );
                }
            }
        }
    }

    /// Stops with SIGINT, waits (bounded) for exit status 0, and returns the statistics printed.
    fn stop(mut self) -> Statistics {
        let mut child = self.child.take().expect("running");
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not stop after SIGINT", self.what);
            }
            thread::sleep(Duration::from_millis(10));
        };
        let drain_until = Instant::now() + Duration::from_secs(5);
        while let Ok(line) = self
            .lines
            .recv_timeout(drain_until.saturating_duration_since(Instant::now()))
        {
            self.transcript.push(line);
        }
        assert!(
            status.success(),
            "{} exited with {status}:\n{}",
            self.what,
            self.transcript.join("\n")
        );
        Statistics::parse(&self.transcript).unwrap_or_else(|| {
            panic!(
                "{} printed no statistics:\n{}",
                self.what,
                self.transcript.join("\n")
            )
        })
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// dnsmasq on the namespace's tap0 only, every file in `dir`.
struct Dnsmasq<'d> {
    /// The directory of its files outlives it.
    _dir: &'d TempDir,
    process: Option<Process>,
}

impl<'d> Dnsmasq<'d> {
    /// Starts dnsmasq handing out `first..=last` (and answering DNS) and waits until it is
    /// ready.
    fn start(ns: &Netns, dir: &'d TempDir, first: u8, last: u8) -> Dnsmasq<'d> {
        Dnsmasq::start_with(ns, dir, first, last, &[])
    }

    /// As [`Dnsmasq::start`], with `extra` options.
    fn start_with(
        ns: &Netns,
        dir: &'d TempDir,
        first: u8,
        last: u8,
        extra: &[&str],
    ) -> Dnsmasq<'d> {
        let hosts = dir.path("hosts");
        std::fs::write(&hosts, format!("{DEVICE_IP} device.example\n")).expect("write hosts");
        let path = |name: &str| dir.path(name).display().to_string();
        let args: Vec<String> = [
            "--no-daemon".to_string(),
            "--conf-file=/dev/null".to_string(),
            format!("--interface={TAP}"),
            "--bind-interfaces".to_string(),
            "--except-interface=lo".to_string(),
            format!("--dhcp-range=192.0.2.{first},192.0.2.{last},255.255.255.0,2m"),
            // NAK requests for addresses outside the range (the "withdrawn range" test).
            "--dhcp-authoritative".to_string(),
            format!("--dhcp-option=option:router,{KERNEL_IP}"),
            format!("--dhcp-option=option:dns-server,{KERNEL_IP}"),
            // T1 and T2: dnsmasq's shortest lease is 2 minutes, renewal comes much sooner.
            "--dhcp-option=58,5".to_string(),
            "--dhcp-option=59,10".to_string(),
            format!("--addn-hosts={}", hosts.display()),
            "--no-hosts".to_string(),
            "--no-resolv".to_string(),
            // Names under example. not in the hosts file are NXDOMAIN (not REFUSED), and
            // hosts-file answers carry a TTL of 60 s (dnsmasq's default is 0: never cached).
            "--local=/example/".to_string(),
            "--local-ttl=60".to_string(),
            "--port=53".to_string(),
            format!("--pid-file={}", path("dnsmasq.pid")),
            format!("--dhcp-leasefile={}", path("leases")),
            "--log-facility=-".to_string(),
            "--log-dhcp".to_string(),
        ]
        .into_iter()
        .chain(extra.iter().map(|e| e.to_string()))
        .collect();
        let mut process = Process::start("dnsmasq", ns, "dnsmasq", &args);
        process.wait_for(
            Duration::from_secs(10),
            "saying it read the hosts file",
            |l| l.contains("read ") && l.contains(" names"),
        );
        Dnsmasq {
            _dir: dir,
            process: Some(process),
        }
    }

    /// Kills dnsmasq (its lease file stays).
    fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }
}

impl Drop for Dnsmasq<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `host-services --tap tap0 <args>` in `ns` and waits for its "listening" line.
fn host_services(ns: &Netns, args: &[&str]) -> Process {
    let binary = host_services_binary();
    let mut all: Vec<String> = vec!["--tap".into(), TAP.into()];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut p = Process::start(
        "host-services",
        ns,
        binary.to_str().expect("UTF-8 path"),
        &all,
    );
    p.wait_for(BIND_TIMEOUT, "\"listening\"", |l| {
        l.starts_with("host-services: listening on")
    });
    p
}

/// The address in a "bound A.B.C.D/24 via …" line.
fn bound_address(line: &str) -> Ipv4Addr {
    line.split_whitespace()
        .nth(2)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

#[test]
fn a_lease_is_obtained_renewed_kept_across_a_restart_and_replaced_when_withdrawn() {
    let ns = Netns::new();
    let dir = TempDir::new();
    let mut dnsmasq = Dnsmasq::start(&ns, &dir, 50, 60);
    let mut services = host_services(&ns, &["--dhcp"]);
    let bound = services
        .transcript
        .iter()
        .find(|l| l.starts_with("host-services: bound "))
        .cloned()
        .expect("a bound line before the listening line");
    assert!(
        bound.ends_with(&format!("/24 via {KERNEL_IP} (dns {KERNEL_IP})")),
        "{bound}"
    );
    let first = bound_address(&bound);
    assert!((50..=60).contains(&first.octets()[3]), "{bound}");

    // The address works: the kernel's pings are answered.
    let (sent, received) = ping(
        &ns,
        first,
        56,
        3,
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
    assert_eq!((sent, received), (3, 3), "pings to the leased address");

    // Renewal at T1 (5 s).
    services.wait_for(Duration::from_secs(15), "\"renewed\"", |l| {
        l.starts_with(&format!("host-services: renewed {first}/24"))
    });

    // dnsmasq restarts with the same configuration and lease file: the lease survives.
    dnsmasq.kill();
    drop(dnsmasq);
    let mut dnsmasq = Dnsmasq::start(&ns, &dir, 50, 60);
    services.wait_for(
        Duration::from_secs(20),
        "\"renewed\" after the restart",
        |l| l.starts_with(&format!("host-services: renewed {first}/24")),
    );

    // The range is withdrawn: the next renewal is NAKed and a new address is leased.
    dnsmasq.kill();
    drop(dnsmasq);
    let _dnsmasq = Dnsmasq::start(&ns, &dir, 70, 80);
    services.wait_for(Duration::from_secs(20), "\"lease lost\"", |l| {
        l == "host-services: lease lost"
    });
    let rebound = services.wait_for(Duration::from_secs(30), "\"bound\" again", |l| {
        l.starts_with("host-services: bound ")
    });
    let second = bound_address(&rebound);
    assert!((70..=80).contains(&second.octets()[3]), "{rebound}");
    let (_, received) = ping(
        &ns,
        second,
        56,
        2,
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
    assert_eq!(received, 2, "pings to the new address");

    let stats = services.stop();
    assert!(stats.get("dhcp_bound") >= 2, "{}", stats.non_zero());
    assert!(stats.get("dhcp_renewed") >= 2, "{}", stats.non_zero());
    assert!(stats.get("dhcp_nak_rx") >= 1, "{}", stats.non_zero());
    assert!(stats.get("dhcp_lost") >= 1, "{}", stats.non_zero());
    assert_eq!(stats.get("dhcp_malformed"), 0, "{}", stats.non_zero());
}

#[test]
fn names_from_dnsmasq_resolve_are_cached_and_nxdomain_is_an_error() {
    let ns = Netns::new();
    let dir = TempDir::new();
    let _dnsmasq = Dnsmasq::start(&ns, &dir, 50, 60);
    let mut services = host_services(
        &ns,
        &[
            "--dhcp",
            "--resolve",
            "device.example",
            "--resolve",
            "DEVICE.example",
            "--resolve",
            "nope.example",
        ],
    );
    let timeout = Duration::from_secs(20);
    for name in ["device.example", "DEVICE.example"] {
        let expected = format!("host-services: resolved {name} to {DEVICE_IP}");
        services.wait_for(timeout, &format!("{expected:?}"), |l| l == expected);
    }
    let nx = services.wait_for(timeout, "about nope.example", |l| {
        l.starts_with("host-services: resolve nope.example")
    });
    assert!(nx.contains("failed: NXDOMAIN"), "{nx}");
    let stats = services.stop();
    // device.example once (the second lookup is a cache hit, names compare case-blind),
    // nope.example once.
    assert_eq!(stats.get("dns_queries_tx"), 2, "{}", stats.non_zero());
    assert_eq!(stats.get("dns_cache_hits"), 1, "{}", stats.non_zero());
    assert_eq!(stats.get("dns_nxdomain"), 1, "{}", stats.non_zero());
    assert_eq!(stats.get("dns_responses_rx"), 2, "{}", stats.non_zero());
}

/// The hostile DNS server script.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dns_malformed.py")
}

#[test]
fn malformed_dns_answers_are_rejected_counted_and_survived() {
    let ns = Netns::new();
    let mut server = Process::start(
        "dns_malformed.py",
        &ns,
        "python3",
        &[
            script().display().to_string(),
            "--bind".into(),
            KERNEL_IP.to_string(),
        ],
    );
    server.wait_for(Duration::from_secs(10), "\"ready\"", |l| l == "ready");
    // (name, expected error text, counter)
    let cases = [
        (
            "loop.example",
            "compression pointer loop",
            "dns_pointer_loop",
        ),
        (
            "forward.example",
            "forward compression pointer",
            "dns_forward_pointer",
        ),
        (
            "long.example",
            "name longer than 255 bytes",
            "dns_name_too_long",
        ),
        (
            "label.example",
            "label longer than 63 bytes",
            "dns_label_too_long",
        ),
        (
            "overrun.example",
            "record count overruns the message",
            "dns_count_overrun",
        ),
        ("cut.example", "message truncated", "dns_truncated"),
        ("tc.example", "truncated answer (TC bit)", "dns_tc_flag"),
    ];
    let mut args = vec![
        "--ipv4".to_string(),
        "192.0.2.2/24".to_string(),
        "--dns-server".to_string(),
        KERNEL_IP.to_string(),
    ];
    for (name, ..) in &cases {
        args.push("--resolve".into());
        args.push(name.to_string());
    }
    // After all that, a good answer still gets through.
    args.push("--resolve".into());
    args.push("good.example".into());
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut services = host_services(&ns, &arg_refs);
    for (name, error, _) in &cases {
        let line = services.wait_for(Duration::from_secs(15), &format!("about {name}"), |l| {
            l.starts_with(&format!("host-services: resolve {name} "))
        });
        assert!(line.ends_with(error), "{line}");
    }
    let expected = format!("host-services: resolved good.example to {DEVICE_IP}");
    services.wait_for(Duration::from_secs(15), "for good.example", |l| {
        l == expected
    });
    let stats = services.stop();
    for (name, _, counter) in &cases {
        // Each lookup tries the one server twice (two rounds), and each answer is rejected.
        assert_eq!(stats.get(counter), 2, "{name}: {}", stats.non_zero());
    }
    assert_eq!(stats.get("dns_failures"), cases.len() as u64);
    drop(server);
}

#[test]
fn an_address_in_use_is_declined_and_another_one_leased() {
    let ns = Netns::new();
    let dir = TempDir::new();
    // dnsmasq offers 192.0.2.50 to the stack's MAC first and, with --no-ping, does not check
    // it itself; a script answers ARP for it like the station holding it would.
    let held = "192.0.2.50";
    let mut station = Process::start(
        "dhcp_arp_conflict.py",
        &ns,
        "python3",
        &[
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("scripts/dhcp_arp_conflict.py")
                .display()
                .to_string(),
            "--interface".into(),
            TAP.into(),
            "--address".into(),
            held.into(),
            "--mac".into(),
            "02:00:00:00:00:50".into(),
        ],
    );
    station.wait_for(Duration::from_secs(10), "\"ready\"", |l| l == "ready");
    let static_lease = format!("--dhcp-host=02:00:00:00:00:02,{held}");
    let _dnsmasq = Dnsmasq::start_with(&ns, &dir, 50, 60, &["--no-ping", &static_lease]);
    // Probing (up to 7 s), the decline, 10 s hold-off, then a new lease probed again.
    let services = host_services(&ns, &["--dhcp", "--dhcp-conflict-detection"]);
    let bound = services
        .transcript
        .iter()
        .find(|l| l.starts_with("host-services: bound "))
        .cloned()
        .expect("a bound line");
    let address = bound_address(&bound);
    assert_ne!(address.to_string(), held, "{bound}");
    station.wait_for(Duration::from_secs(1), "answering the probe", |l| {
        l == "answered 02:00:00:00:00:02"
    });
    let stats = services.stop();
    assert_eq!(stats.get("dhcp_conflicts"), 1, "{}", stats.non_zero());
    assert_eq!(stats.get("dhcp_decline_tx"), 1, "{}", stats.non_zero());
    assert_eq!(stats.get("dhcp_bound"), 1, "{}", stats.non_zero());
}
