//! End-to-end test of the async API: `http-fetch` (examples/http-fetch) takes its address from
//! dnsmasq by DHCP, resolves `files.example` through dnsmasq's DNS, and fetches a 200 KB file
//! with reqwless from a Python `http.server`, all in a fresh network namespace.
//!
//! ```text
//!  namespace sg-<pid>-<n>
//!  tap0 192.0.2.1: dnsmasq (DHCP 192.0.2.50-60, DNS files.example = 192.0.2.1)
//!                  python3 -m http.server 8080 --bind 192.0.2.1 (serves blob.bin)
//!        ▲
//!        │ TAP
//!        ▼
//!  http-fetch --tap tap0 --url http://files.example:8080/blob.bin
//! ```
//!
//! The test checks the status, the exact byte count and the FNV-1a checksum http-fetch prints.
//! Every file lives in a temporary directory; dnsmasq and the web server are killed, and the
//! namespace removed, when their guards drop, also when the test fails. Every wait is bounded.
//!
//! Needs root, `ip`, `dnsmasq` and `python3` (`cargo xtask deps`), and `http-fetch` built
//! beside the tests (`cargo build -p http-fetch`; `cargo xtask test` does it).

use std::fs::File;
use std::net::{SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stackgen_tests::{KERNEL_IP, Netns, Rng, TAP, example_binary, run_bounded};

/// The web server's port on the kernel side of the TAP.
const HTTP_PORT: u16 = 8080;
/// Size of the served file.
const BLOB_LEN: usize = 200 * 1024;
/// How long a server may take to get ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long http-fetch may run (DHCP, DNS, 200 KB over TCP); it gives up itself after
/// `--timeout`, shorter than this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(90);

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("sg-http-fetch-{}", std::process::id()));
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

/// A server process in the namespace, its output in a log file; killed on drop.
struct Server {
    what: &'static str,
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(what: &'static str, ns: &Netns, program: &str, args: &[String], log: PathBuf) -> Self {
        let out = File::create(&log).expect("create log");
        let err = out.try_clone().expect("clone log");
        let child = ns
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what} ({program}): {error}"));
        Server { what, child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until `ready` holds, failing with the server's log.
    fn wait_until(&mut self, why: &str, mut ready: impl FnMut(&Server) -> bool) {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !ready(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.what, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{}: not {why} within {READY_TIMEOUT:?}:\n{}",
                self.what,
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// FNV-1a, 64-bit, as http-fetch prints it.
fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn http_fetch_gets_the_file_by_dhcp_and_dns() {
    let ns = Netns::new();
    let dir = TempDir::new();
    // The file: 200 KB of seeded bytes.
    let www = dir.path("www");
    std::fs::create_dir_all(&www).expect("create www");
    let mut blob = vec![0u8; BLOB_LEN];
    Rng::new(7).fill(&mut blob);
    std::fs::write(www.join("blob.bin"), &blob).expect("write blob");

    // dnsmasq: DHCP and DNS on tap0 only, files.example = the kernel side of the TAP.
    let hosts = dir.path("hosts");
    std::fs::write(&hosts, format!("{KERNEL_IP} files.example\n")).expect("write hosts");
    let path = |name: &str| dir.path(name).display().to_string();
    let dnsmasq_args: Vec<String> = vec![
        "--no-daemon".into(),
        "--conf-file=/dev/null".into(),
        format!("--interface={TAP}"),
        "--bind-interfaces".into(),
        "--except-interface=lo".into(),
        "--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m".into(),
        format!("--dhcp-option=option:router,{KERNEL_IP}"),
        format!("--dhcp-option=option:dns-server,{KERNEL_IP}"),
        format!("--addn-hosts={}", hosts.display()),
        "--no-hosts".into(),
        "--no-resolv".into(),
        "--local=/example/".into(),
        "--port=53".into(),
        format!("--pid-file={}", path("dnsmasq.pid")),
        format!("--dhcp-leasefile={}", path("leases")),
        "--log-facility=-".into(),
        "--log-dhcp".into(),
    ];
    let mut dnsmasq = Server::start(
        "dnsmasq",
        &ns,
        "dnsmasq",
        &dnsmasq_args,
        dir.path("dnsmasq.log"),
    );
    dnsmasq.wait_until("reading the hosts file", |s| {
        s.log()
            .lines()
            .any(|l| l.contains("read ") && l.contains(" names"))
    });

    // The web server, bound to the TAP address inside the namespace only.
    let http_args: Vec<String> = vec![
        "-m".into(),
        "http.server".into(),
        HTTP_PORT.to_string(),
        "--bind".into(),
        KERNEL_IP.to_string(),
        "--directory".into(),
        www.display().to_string(),
    ];
    let mut http = Server::start(
        "http.server",
        &ns,
        "python3",
        &http_args,
        dir.path("http.log"),
    );
    let server_addr = SocketAddrV4::new(KERNEL_IP, HTTP_PORT);
    http.wait_until("accepting connections", |_| {
        ns.run(|| {
            TcpStream::connect_timeout(&server_addr.into(), Duration::from_millis(200)).is_ok()
        })
    });

    let binary = example_binary("http-fetch");
    let output = run_bounded(
        ns.command(binary.to_str().expect("UTF-8 path")).args([
            "--tap",
            TAP,
            "--url",
            &format!("http://files.example:{HTTP_PORT}/blob.bin"),
            "--timeout",
            "60",
        ]),
        FETCH_TIMEOUT,
    )
    .expect("http-fetch ran within its time bound");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = || {
        format!(
            "--- http-fetch stdout ---\n{stdout}\n--- stderr ---\n{stderr}\n--- dnsmasq ---\n{}\n\
             --- http.server ---\n{}",
            dnsmasq.log(),
            http.log()
        )
    };
    assert!(
        output.status.success(),
        "http-fetch failed ({}):\n{}",
        output.status,
        context()
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("http-fetch: bound 192.0.2.")),
        "no lease:\n{}",
        context()
    );
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("http-fetch: resolved files.example to {KERNEL_IP}")),
        "no DNS answer:\n{}",
        context()
    );
    let checksum = format!("http-fetch: checksum {:016x}", fnv1a(&blob));
    assert!(
        stdout.lines().any(|l| l == checksum),
        "expected {checksum:?}:\n{}",
        context()
    );
    assert_eq!(
        stdout.lines().last(),
        Some(format!("http-fetch: got 200 {BLOB_LEN} bytes").as_str()),
        "{}",
        context()
    );
}
