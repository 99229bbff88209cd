//! `stackgen run profiles/qemu-mps2-an386.toml --forward PORT:7`: the firmware is built, boots
//! in QEMU with user networking (`restrict=on`, the forward on 127.0.0.1 only), and its TCP
//! echo service answers through the forward byte for byte.
//!
//! Needs `qemu-system-arm` (`cargo xtask test` installs it) and the thumbv7em target; skipped
//! with a message when either is missing. No root: QEMU's user network lives in its process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod common;

use common::{repository, target_dir};

/// Building the firmware (usually already built) and booting it.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `stackgen run` and the QEMU it starts, in a process group of their own, killed on drop.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("cannot bind 127.0.0.1:0")
        .port()
}

#[test]
fn run_boots_the_qemu_firmware_and_forwards_tcp_echo() {
    if !have("qemu-system-arm", "--version") {
        println!("skipped: qemu-system-arm is not installed (cargo xtask test installs it)");
        return;
    }
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackgen"));
    command
        .current_dir(repository())
        .args(["run", "profiles/qemu-mps2-an386.toml", "--forward"])
        .arg(format!("{port}:7"))
        .arg("--target-dir")
        .arg(target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0);
    let mut running = Running {
        child: command.spawn().expect("cannot start stackgen run"),
    };
    let stdout = running.child.stdout.take().expect("piped stdout");
    let (lines, console) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut transcript = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match console.recv_timeout(left) {
            Ok(line) => {
                let ready = line.contains("listening on");
                transcript.push(line);
                if ready {
                    break;
                }
            }
            Err(_) => panic!(
                "no `listening on` line within {READY_TIMEOUT:?}; output:\n{}",
                transcript.join("\n")
            ),
        }
    }
    assert!(
        transcript.iter().any(|line| line.starts_with("firmware: ")),
        "stackgen run prints where the firmware is:\n{}",
        transcript.join("\n")
    );

    let address = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let mut stream = TcpStream::connect_timeout(&address.into(), Duration::from_secs(10))
        .expect("the forward accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let sent: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut received = Vec::with_capacity(sent.len());
    let mut buf = [0u8; 4096];
    for chunk in sent.chunks(1000) {
        stream.write_all(chunk).expect("write to the echo service");
        let want = received.len() + chunk.len();
        while received.len() < want {
            let n = stream.read(&mut buf).expect("echo reply");
            assert!(n > 0, "the echo service closed early");
            received.extend_from_slice(&buf[..n]);
        }
    }
    assert_eq!(received, sent, "echo through the forward is byte-exact");
    drop(running);
}
