//! Benchmarks 2, 3 and 5 of issue 8: our stack and smoltcp against the Linux kernel over a
//! TAP interface inside a network namespace.
//!
//! ```text
//! tap_bench [--only tap,latency,accept] [--mb N] [--runs R] [--windows 4,32]
//!           [--round-trips N] [--size B] [--conns N] [--stacks ours,smoltcp]
//!           [--cpu last|none|LIST]
//! tap_bench serve --stack ours|smoltcp --service discard|chargen|echo|accept --tap NAME
//!           --window SEGMENTS [--sockets N] [--max-seconds S]
//! tap_bench client --test discard|chargen|latency|accept --addr IP:PORT [--bytes N]
//!           [--count N] [--size B]
//! ```
//!
//! Without a subcommand (as root) it creates a namespace with a TAP interface (kernel side
//! 192.0.2.1/24), and for every measurement starts a fresh server (`serve`, the stack on the
//! TAP, 192.0.2.2) and a client (`client`, kernel sockets), both with `ip netns exec`; runs of
//! the two stacks are interleaved. Server and client run pinned to one CPU (`taskset -c`;
//! `--cpu last`, the default, is the highest-numbered CPU; `--cpu none` does not pin): on the
//! VM this was written on, a wakeup across CPUs costs about 25 µs more than one on the same
//! CPU, and whether the scheduler put the two on one CPU or two decided the results (latency
//! p50 12 µs or 38-50 µs, for either stack). It prints Markdown tables. The namespace is removed when
//! the program ends, also on failure. Not root: it says so and exits successfully, running
//! nothing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use stackgen_benches::MSS;
use stackgen_benches::tap::{self, READY, ServerParams, Service, client};

/// The TAP interface inside the namespace.
const TAP: &str = "tap0";
/// The kernel's address on it.
const KERNEL_CIDR: &str = "192.0.2.1/24";
/// Socket slots on both stacks.
const SOCKETS: usize = 8;
/// How long a server may take to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("client") => run_client(&args[1..]),
        _ => orchestrate(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tap_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs of a subcommand.
fn flags(args: &[String]) -> Result<Vec<(String, String)>, String> {
    args.chunks(2)
        .map(|c| match c {
            [k, v] if k.starts_with("--") => Ok((k[2..].to_string(), v.clone())),
            _ => Err(format!("expected --flag value pairs, got {c:?}")),
        })
        .collect()
}

fn get<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn num<T: std::str::FromStr>(f: &[(String, String)], name: &str, default: T) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    get(f, name).map_or(Ok(default), |v| {
        v.parse().map_err(|e| format!("--{name} {v}: {e}"))
    })
}

fn serve(args: &[String]) -> Result<(), String> {
    let f = flags(args)?;
    let service = get(&f, "service")
        .and_then(Service::parse)
        .ok_or("--service discard|chargen|echo|accept")?;
    let params = ServerParams {
        tap: get(&f, "tap").unwrap_or(TAP).to_string(),
        service,
        window_segments: num(&f, "window", 4)?,
        sockets: num(&f, "sockets", SOCKETS)?,
        max_time: Duration::from_secs(num(&f, "max-seconds", 600)?),
    };
    match get(&f, "stack") {
        Some("ours") => tap::ours::serve(&params),
        Some("smoltcp") => tap::theirs::serve(&params),
        _ => Err("--stack ours|smoltcp".into()),
    }
}

fn run_client(args: &[String]) -> Result<(), String> {
    let f = flags(args)?;
    let addr: SocketAddr = get(&f, "addr")
        .ok_or("--addr")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let bytes: u64 = num(&f, "bytes", 1 << 20)?;
    let count: usize = num(&f, "count", 10_000)?;
    let size: usize = num(&f, "size", 64)?;
    match get(&f, "test") {
        Some("discard") => println!("result {}", client::discard(addr, bytes)?.as_secs_f64()),
        Some("chargen") => println!("result {}", client::chargen(addr, bytes)?.as_secs_f64()),
        Some("latency") => {
            let times = client::latency(addr, count, count / 100, size)?;
            let micros: Vec<String> = times
                .iter()
                .map(|t| format!("{:.1}", t.as_secs_f64() * 1e6))
                .collect();
            println!("result {}", micros.join(","));
        }
        Some("accept") => {
            let (t, failed) = client::accept_close(addr, count)?;
            println!("result {} {failed}", t.as_secs_f64());
        }
        _ => return Err("--test discard|chargen|latency|accept".into()),
    }
    Ok(())
}

/// Orchestrator options.
struct Opts {
    only: Option<String>,
    mb: u64,
    runs: usize,
    windows: Vec<usize>,
    round_trips: usize,
    size: usize,
    conns: usize,
    stacks: Vec<String>,
    cpu: String,
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let f = flags(args)?;
    let list = |name: &str, default: &str| -> Vec<String> {
        get(&f, name)
            .unwrap_or(default)
            .split(',')
            .map(str::to_string)
            .collect()
    };
    let windows = list("windows", "4,32")
        .iter()
        .map(|w| w.parse().map_err(|e| format!("--windows: {e}")))
        .collect::<Result<Vec<usize>, _>>()?;
    if let Some(w) = windows.iter().find(|&&w| w == 0 || w > 44) {
        return Err(format!(
            "--windows {w}: 1 to 44 segments (64,240 B, the largest window without window \
             scaling, which the benchmarks leave off)"
        ));
    }
    for (k, _) in &f {
        if ![
            "only",
            "mb",
            "runs",
            "windows",
            "round-trips",
            "size",
            "conns",
            "stacks",
            "cpu",
        ]
        .contains(&k.as_str())
        {
            return Err(format!("unknown flag --{k}"));
        }
    }
    Ok(Opts {
        only: get(&f, "only").map(str::to_string),
        mb: num(&f, "mb", 1024)?,
        runs: num(&f, "runs", 5)?,
        windows,
        round_trips: num(&f, "round-trips", 10_000)?,
        size: num(&f, "size", 64)?,
        conns: num(&f, "conns", 10_000)?,
        stacks: list("stacks", "ours,smoltcp"),
        cpu: get(&f, "cpu").unwrap_or("last").to_string(),
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn orchestrate(args: &[String]) -> Result<(), String> {
    let o = parse_opts(args)?;
    if !is_root() {
        eprintln!(
            "tap_bench: skipped: the TAP benchmarks create a network namespace and a TAP \
             interface, which needs root"
        );
        println!("TAP benchmarks skipped (not root).");
        return Ok(());
    }
    let cpu = match o.cpu.as_str() {
        "none" => None,
        "last" => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Some((n - 1).to_string())
        }
        list => Some(list.to_string()),
    };
    if let Some(cpu) = &cpu {
        eprintln!("tap_bench: servers and clients pinned to CPU {cpu} (taskset)");
    }
    let ns = Netns::new(cpu)?;
    let want = |name: &str| {
        o.only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|n| n == name))
    };
    if want("tap") {
        bulk(&ns, &o)?;
    }
    if want("latency") {
        latency(&ns, &o)?;
    }
    if want("accept") {
        accept(&ns, &o)?;
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The stack's address and a service's port.
fn addr(service: Service) -> String {
    format!("192.0.2.2:{}", service.port())
}

fn bulk(ns: &Netns, o: &Opts) -> Result<(), String> {
    let bytes = o.mb << 20;
    println!(
        "### Bulk TCP against Linux over TAP ({} MiB per transfer, median of {} runs)\n",
        o.mb, o.runs
    );
    println!(
        "| window / send buffer | direction | stack | Mbit/s (median) | runs (Mbit/s) | vs smoltcp \
         | server CPU s/GiB (median) | vs smoltcp |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &w in &o.windows {
        for service in [Service::Discard, Service::Chargen] {
            // Per stack: (Mbit/s, server CPU seconds per GiB) of each run.
            let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); o.stacks.len()];
            for run in 0..o.runs {
                for (i, stack) in o.stacks.iter().enumerate() {
                    let server = ns.server(stack, service, w)?;
                    let out = ns.client(&[
                        "--test",
                        service.name(),
                        "--addr",
                        &addr(service),
                        "--bytes",
                        &bytes.to_string(),
                    ])?;
                    let cpu = server.cpu_seconds()? / (bytes as f64 / f64::from(1u32 << 30));
                    let secs: f64 = out
                        .parse()
                        .map_err(|e| format!("client said {out:?}: {e}"))?;
                    let mbits = bytes as f64 * 8.0 / secs / 1e6;
                    eprintln!(
                        "tap_bench: {} window {w} run {run} {stack}: {mbits:.0} Mbit/s, \
                         server CPU {cpu:.2} s/GiB",
                        service.name()
                    );
                    results[i].push((mbits, cpu));
                }
            }
            let medians: Vec<(f64, f64)> = results
                .iter()
                .map(|r| {
                    let mut m: Vec<f64> = r.iter().map(|x| x.0).collect();
                    let mut c: Vec<f64> = r.iter().map(|x| x.1).collect();
                    (median(&mut m), median(&mut c))
                })
                .collect();
            let reference = o
                .stacks
                .iter()
                .position(|s| s == "smoltcp")
                .map(|i| medians[i]);
            for (i, stack) in o.stacks.iter().enumerate() {
                let runs: Vec<String> = results[i].iter().map(|m| format!("{:.0}", m.0)).collect();
                let (mbits, cpu) = medians[i];
                println!(
                    "| {} B ({w} × MSS) | {} | {stack} | {mbits:.0} | {} | {} | {cpu:.2} | {} |",
                    w * MSS,
                    match service {
                        Service::Discard => "Linux → stack (discard)",
                        _ => "stack → Linux (chargen)",
                    },
                    runs.join(", "),
                    reference.map_or("-".into(), |r| format!("{:.2}", mbits / r.0)),
                    reference.map_or("-".into(), |r| format!("{:.2}", cpu / r.1)),
                );
            }
        }
    }
    println!();
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Element-wise median over runs of fixed-size rows.
fn median_rows<const N: usize>(runs: &[[f64; N]]) -> [f64; N] {
    core::array::from_fn(|k| {
        let mut column: Vec<f64> = runs.iter().map(|r| r[k]).collect();
        median(&mut column)
    })
}

fn latency(ns: &Netns, o: &Opts) -> Result<(), String> {
    println!(
        "### Request/response latency over TAP ({} round trips of {} bytes per run, window \
         4 × MSS, median of {} runs)\n",
        o.round_trips, o.size, o.runs
    );
    println!(
        "| stack | p50 µs | p90 µs | p99 µs | max µs | p50 vs smoltcp | p99 vs smoltcp \
         | server CPU µs per round trip |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // Per stack, per run: p50, p90, p99, max, server CPU per round trip.
    let mut runs: Vec<Vec<[f64; 5]>> = vec![Vec::new(); o.stacks.len()];
    for run in 0..o.runs {
        for (i, stack) in o.stacks.iter().enumerate() {
            let server = ns.server(stack, Service::Echo, 4)?;
            let out = ns.client(&[
                "--test",
                "latency",
                "--addr",
                &addr(Service::Echo),
                "--count",
                &o.round_trips.to_string(),
                "--size",
                &o.size.to_string(),
            ])?;
            // The client also makes `count / 100` unmeasured warm-up round trips.
            let trips = o.round_trips + o.round_trips / 100;
            let cpu = server.cpu_seconds()? * 1e6 / trips as f64;
            let mut v = out
                .split(',')
                .map(|x| {
                    x.parse::<f64>()
                        .map_err(|e| format!("client said {x:?}: {e}"))
                })
                .collect::<Result<Vec<f64>, _>>()?;
            v.sort_by(f64::total_cmp);
            let row = [
                percentile(&v, 0.5),
                percentile(&v, 0.9),
                percentile(&v, 0.99),
                v[v.len() - 1],
                cpu,
            ];
            eprintln!(
                "tap_bench: latency run {run} {stack}: p50 {:.1} µs p99 {:.1} µs, server CPU \
                 {cpu:.1} µs per round trip",
                row[0], row[2]
            );
            runs[i].push(row);
        }
    }
    let rows: Vec<[f64; 5]> = runs.iter().map(|r| median_rows(r)).collect();
    let reference = o
        .stacks
        .iter()
        .position(|s| s == "smoltcp")
        .map(|i| rows[i]);
    for (stack, r) in o.stacks.iter().zip(&rows) {
        let vs = |k: usize| reference.map_or("-".into(), |x| format!("{:.2}", r[k] / x[k]));
        println!(
            "| {stack} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} | {:.1} |",
            r[0],
            r[1],
            r[2],
            r[3],
            vs(0),
            vs(2),
            r[4]
        );
    }
    println!();
    Ok(())
}

fn accept(ns: &Netns, o: &Opts) -> Result<(), String> {
    println!(
        "### Accept-and-close rate over TAP ({} connections per run, one at a time, {SOCKETS} \
         socket slots, median of {} runs)\n",
        o.conns, o.runs
    );
    println!(
        "| stack | connections/s | runs (connections/s) | failed (all runs) | vs smoltcp \
         | server CPU µs per connection |"
    );
    println!("|---|---|---|---|---|---|");
    // Per stack, per run: connections per second, failures, server CPU per connection.
    let mut runs: Vec<Vec<[f64; 3]>> = vec![Vec::new(); o.stacks.len()];
    for run in 0..o.runs {
        for (i, stack) in o.stacks.iter().enumerate() {
            let server = ns.server(stack, Service::AcceptClose, 4)?;
            let out = ns.client(&[
                "--test",
                "accept",
                "--addr",
                &addr(Service::AcceptClose),
                "--count",
                &o.conns.to_string(),
            ])?;
            let cpu = server.cpu_seconds()? * 1e6 / o.conns as f64;
            let mut it = out.split_whitespace();
            let secs: f64 = it
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("client said {out:?}"))?;
            let failed: usize = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let rate = (o.conns - failed) as f64 / secs;
            eprintln!(
                "tap_bench: accept run {run} {stack}: {rate:.0} connections/s, server CPU \
                 {cpu:.1} µs per connection"
            );
            runs[i].push([rate, failed as f64, cpu]);
        }
    }
    let rows: Vec<[f64; 3]> = runs.iter().map(|r| median_rows(r)).collect();
    let reference = o
        .stacks
        .iter()
        .position(|s| s == "smoltcp")
        .map(|i| rows[i][0]);
    for (i, stack) in o.stacks.iter().enumerate() {
        let [rate, _, cpu] = rows[i];
        let all: Vec<String> = runs[i].iter().map(|r| format!("{:.0}", r[0])).collect();
        let failed: f64 = runs[i].iter().map(|r| r[1]).sum();
        println!(
            "| {stack} | {rate:.0} | {} | {failed} | {} | {cpu:.1} |",
            all.join(", "),
            reference.map_or("-".into(), |r| format!("{:.2}", rate / r))
        );
    }
    println!();
    Ok(())
}

/// A network namespace with `lo` up and `tap0` (kernel side 192.0.2.1/24, up); removed with
/// everything in it when dropped, also when the benchmark fails or panics.
struct Netns {
    name: String,
    exe: String,
    /// The CPU list servers and clients are pinned to with `taskset -c`, if any.
    cpu: Option<String>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip (package iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    fn new(cpu: Option<String>) -> Result<Netns, String> {
        let name = format!("sg-bench-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let exe = std::env::current_exe()
            .map_err(|e| format!("current_exe: {e}"))?
            .to_string_lossy()
            .into_owned();
        let ns = Netns { name, exe, cpu };
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.ip(&["tuntap", "add", "dev", TAP, "mode", "tap"])?;
        ns.ip(&["addr", "add", KERNEL_CIDR, "dev", TAP])?;
        ns.ip(&["link", "set", TAP, "up"])?;
        Ok(ns)
    }

    fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    fn command(&self) -> Command {
        let mut c = match &self.cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpu, "ip"]);
                c
            }
            None => Command::new("ip"),
        };
        c.args(["netns", "exec", &self.name, &self.exe]);
        c
    }

    /// Starts a server and waits for its ready line.
    fn server(&self, stack: &str, service: Service, window: usize) -> Result<Server, String> {
        let mut child = self
            .command()
            .args(["serve", "--stack", stack, "--service", service.name()])
            .args(["--tap", TAP, "--window", &window.to_string()])
            .args(["--sockets", &SOCKETS.to_string(), "--max-seconds", "3600"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let server = Server(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.trim() == READY => Ok(server),
            Ok(line) => Err(format!("{stack} server said {line:?} instead of {READY:?}")),
            Err(_) => Err(format!("{stack} server not ready after {START_TIMEOUT:?}")),
        }
    }

    /// Runs a client and returns what follows `result ` on its output.
    fn client(&self, args: &[&str]) -> Result<String, String> {
        let mut child = self
            .command()
            .arg("client")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the client: {e}"))?;
        // The client's own I/O timeouts end it; this is the backstop.
        let deadline = Instant::now() + Duration::from_secs(3600);
        loop {
            match child.try_wait().map_err(|e| e.to_string())? {
                Some(_) => break,
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("client timed out".into());
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("client failed ({})", out.status));
        }
        text.lines()
            .find_map(|l| l.strip_prefix("result "))
            .map(str::to_string)
            .ok_or_else(|| format!("client printed no result: {text:?}"))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for args in [
            vec!["-n", &self.name, "tuntap", "del", "dev", TAP, "mode", "tap"],
            vec!["netns", "del", &self.name],
        ] {
            if let Err(e) = ip(&args) {
                eprintln!("tap_bench: cleanup: {e}");
            }
        }
    }
}

/// A running server, killed when dropped.
struct Server(Child);

impl Server {
    /// CPU time the server process has used so far, in seconds: the first field of
    /// `/proc/PID/schedstat` (time on a CPU in nanoseconds, user and kernel), or fields 14 and
    /// 15 of `/proc/PID/stat` (1/100 s ticks) on kernels without schedstat.
    fn cpu_seconds(&self) -> Result<f64, String> {
        let pid = self.0.id();
        if let Some(ns) = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        {
            return Ok(ns / 1e9);
        }
        let path = format!("/proc/{pid}/stat");
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        // The command name (field 2) is in parentheses and may contain spaces.
        let after = stat
            .rfind(')')
            .map(|i| &stat[i + 1..])
            .ok_or_else(|| format!("{path}: no ')'"))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let tick = |i: usize| -> Result<f64, String> {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .ok_or_else(|| format!("{path}: field {} missing", i + 3))
        };
        // `fields[0]` is field 3 (state): utime is field 14, stime field 15.
        Ok((tick(11)? + tick(12)?) / 100.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
