//! Benchmark 1 of issue 8: bulk TCP in memory, stack-runtime side by side with smoltcp.
//!
//! ```text
//! bulk_tcp [--mb N] [--runs R] [--windows 4,32] [--only ours|smoltcp|floor] [--verify]
//!          [--callgrind-mb M]
//! ```
//!
//! Without `--only`, runs every stack for every window `R` times (median MB/s) and prints a
//! Markdown table. With `--callgrind-mb M` it also re-runs itself under
//! `valgrind --tool=callgrind` (one `--only` run of `M` MB per stack and window, collecting
//! only inside the measured transfer function) and adds instructions per byte. The children
//! run with glibc's `rep movsb` memcpy turned off (`GLIBC_TUNABLES`), since callgrind counts
//! each of its iterations as an instruction.

use std::process::{Command, ExitCode};
use std::time::Instant;

use stackgen_benches::{BulkParams, MSS, floor, ours, pattern, theirs};

/// Command-line options.
struct Opts {
    mb: usize,
    runs: usize,
    windows: Vec<usize>,
    only: Option<String>,
    verify: bool,
    callgrind_mb: Option<usize>,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        mb: 256,
        runs: 5,
        windows: vec![4, 32],
        only: None,
        verify: false,
        callgrind_mb: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--mb" => o.mb = val()?.parse().map_err(|e| format!("--mb: {e}"))?,
            "--runs" => o.runs = val()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--windows" => {
                o.windows = val()?
                    .split(',')
                    .map(|w| w.parse().map_err(|e| format!("--windows: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--only" => o.only = Some(val()?),
            "--verify" => o.verify = true,
            "--callgrind-mb" => {
                o.callgrind_mb = Some(val()?.parse().map_err(|e| format!("--callgrind-mb: {e}"))?)
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(o)
}

/// Run `stack` once on `params`; returns seconds taken.
fn run_once(stack: &str, params: &BulkParams, pat: &[u8]) -> Result<f64, String> {
    let t = Instant::now();
    match stack {
        "ours" | "smoltcp" => {
            let out = if stack == "ours" {
                ours::bulk_ours(params, pat)
            } else {
                theirs::bulk_smoltcp(params, pat)
            };
            if out.received != params.bytes || !out.intact {
                return Err(format!(
                    "{stack}: transfer incomplete or corrupted: {out:?}"
                ));
            }
        }
        "floor" => {
            std::hint::black_box(floor::bulk_floor(params, pat));
        }
        _ => return Err(format!("unknown stack {stack}")),
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Instructions inside the measured function, counted by callgrind in a child process.
fn callgrind(stack: &str, window: usize, mb: usize) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let func = match stack {
        "ours" => "*ours::transfer*",
        "smoltcp" => "*theirs::transfer_smoltcp*",
        _ => "*floor::bulk_floor*",
    };
    let out_file = std::env::temp_dir().join(format!("bulk_tcp.callgrind.{stack}.{window}"));
    let out = Command::new("valgrind")
        // Callgrind counts every iteration of `rep movsb` as one instruction, so glibc's
        // ERMS memcpy (used above ~2 KB) would charge about one instruction per byte copied
        // to whichever stack copies in large chunks. Force the vector loops for every size.
        .env(
            "GLIBC_TUNABLES",
            "glibc.cpu.x86_rep_movsb_threshold=1000000000:glibc.cpu.x86_rep_stosb_threshold=1000000000",
        )
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={func}"))
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(&exe)
        .args(["--only", stack, "--runs", "1", "--mb"])
        .arg(mb.to_string())
        .args(["--windows", &window.to_string()])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("valgrind failed:\n{stderr}"));
    }
    stderr
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("Collected :")?;
            rest.trim().parse().ok()
        })
        .ok_or_else(|| format!("no `Collected :` line in callgrind output:\n{stderr}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bulk_tcp: {e}");
            return ExitCode::from(2);
        }
    };
    let pat = pattern();
    let bytes = o.mb << 20;
    if let Some(stack) = &o.only {
        for &w in &o.windows {
            let params = BulkParams {
                bytes,
                window_segments: w,
                verify: o.verify,
            };
            for _ in 0..o.runs {
                if let Err(e) = run_once(stack, &params, &pat) {
                    eprintln!("bulk_tcp: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    println!(
        "Bulk TCP in memory: {} MB one way, MSS {MSS}, median of {} runs{}",
        o.mb,
        o.runs,
        o.callgrind_mb
            .map(|m| format!("; instructions per byte from callgrind over {m} MB"))
            .unwrap_or_default()
    );
    println!();
    println!(
        "| window / send buffer | stack | MB/s | instr/byte | MB/s vs smoltcp | instr/byte vs floor |"
    );
    println!("|---|---|---|---|---|---|");
    for &w in &o.windows {
        let params = BulkParams {
            bytes,
            window_segments: w,
            verify: o.verify,
        };
        const STACKS: [&str; 3] = ["ours", "smoltcp", "floor"];
        // Runs interleaved (ours, smoltcp, floor, ours, ...) so that load from other
        // processes on a shared machine hits every stack alike.
        let mut secs: [Vec<f64>; 3] = Default::default();
        for _ in 0..o.runs.max(1) {
            for (i, stack) in STACKS.iter().enumerate() {
                match run_once(stack, &params, &pat) {
                    Ok(s) => secs[i].push(s),
                    Err(e) => {
                        eprintln!("bulk_tcp: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
        }
        let mut rows = Vec::new();
        for (stack, secs) in STACKS.into_iter().zip(secs) {
            let mbps = bytes as f64 / (1 << 20) as f64 / median(secs);
            let ipb = match o.callgrind_mb {
                Some(m) => match callgrind(stack, w, m) {
                    Ok(n) => Some(n as f64 / (m << 20) as f64),
                    Err(e) => {
                        eprintln!("bulk_tcp: {e}");
                        return ExitCode::FAILURE;
                    }
                },
                None => None,
            };
            rows.push((stack, mbps, ipb));
        }
        let (smol_mbps, floor_ipb) = (rows[1].1, rows[2].2);
        for (stack, mbps, ipb) in rows {
            let fmt = |v: Option<f64>, digits: usize| {
                v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
            };
            let vs_smol = (stack != "floor").then(|| mbps / smol_mbps);
            let vs_floor = ipb.zip(floor_ipb).map(|(a, b)| a / b);
            println!(
                "| {} B ({w} × MSS) | {stack} | {mbps:.0} | {} | {} | {} |",
                w * MSS,
                fmt(ipb, 2),
                fmt(vs_smol, 2),
                fmt(vs_floor, 2),
            );
        }
    }
    ExitCode::SUCCESS
}
