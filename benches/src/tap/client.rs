//! The Linux side: `std::net` clients run inside the namespace. Every blocking call has a
//! timeout and every loop a count, so a stuck server fails the run instead of hanging it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Longest a single connect, read or write may block.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    Ok(s)
}

/// Sends `bytes` to a discard server, closes the sending side and waits for the server's
/// close (so every byte reached the server application). Returns the time from before
/// `connect` to the end of stream.
pub fn discard(addr: SocketAddr, bytes: u64) -> Result<Duration, String> {
    let data = vec![0x5au8; 64 * 1024];
    let start = Instant::now();
    let mut s = connect(addr)?;
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(data.len() as u64) as usize;
        let k = s
            .write(&data[..n])
            .map_err(|e| format!("write after {sent} bytes: {e}"))?;
        if k == 0 {
            return Err(format!("write returned 0 after {sent} bytes"));
        }
        sent += k as u64;
    }
    s.shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => Ok(start.elapsed()),
        Ok(_) => Err("discard server sent data".into()),
        Err(e) => Err(format!("waiting for the server's FIN: {e}")),
    }
}

/// Reads `bytes` from a chargen server. Returns the time from before `connect` to the last
/// byte.
pub fn chargen(addr: SocketAddr, bytes: u64) -> Result<Duration, String> {
    let mut buf = vec![0u8; 64 * 1024];
    let start = Instant::now();
    let mut s = connect(addr)?;
    let mut got = 0u64;
    while got < bytes {
        match s.read(&mut buf) {
            Ok(0) => return Err(format!("end of stream after {got} bytes")),
            Ok(n) => got += n as u64,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read after {got} bytes: {e}")),
        }
    }
    let elapsed = start.elapsed();
    drop(s);
    Ok(elapsed)
}

/// `count` round trips of `size` bytes to an echo server on one connection (Nagle off),
/// after `warmup` unmeasured ones. Returns each round trip's time.
pub fn latency(
    addr: SocketAddr,
    count: usize,
    warmup: usize,
    size: usize,
) -> Result<Vec<Duration>, String> {
    let mut s = connect(addr)?;
    s.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let out: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut back = vec![0u8; size];
    let mut times = Vec::with_capacity(count);
    for i in 0..warmup + count {
        let t = Instant::now();
        s.write_all(&out)
            .map_err(|e| format!("write (round trip {i}): {e}"))?;
        s.read_exact(&mut back)
            .map_err(|e| format!("read (round trip {i}): {e}"))?;
        if i >= warmup {
            times.push(t.elapsed());
        }
        if back != out {
            return Err(format!("round trip {i}: echo differs"));
        }
    }
    Ok(times)
}

/// `count` connections to an accept-and-close server, one after another: connect, read until
/// the server's FIN, close. Returns the total time and the connections that failed (at most
/// `count / 100 + 1` failures are tolerated before giving up).
pub fn accept_close(addr: SocketAddr, count: usize) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let mut failures = 0;
    let mut buf = [0u8; 64];
    for i in 0..count {
        let r = connect(addr).and_then(|mut s| match s.read(&mut buf) {
            Ok(0) => Ok(()),
            Ok(_) => Err("server sent data".to_string()),
            Err(e) => Err(format!("read: {e}")),
        });
        if let Err(e) = r {
            failures += 1;
            eprintln!("tap-bench client: connection {i}: {e}");
            if failures > count / 100 + 1 {
                return Err(format!("{failures} connections failed, last: {e}"));
            }
        }
    }
    Ok((start.elapsed(), failures))
}
