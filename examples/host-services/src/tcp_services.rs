//! The TCP services of host-services: echo (RFC 862) on port 7, discard (RFC 863) on port 9,
//! which counts the bytes it throws away, and character generator (RFC 864) on port 19; and,
//! with `--connect ADDR:PORT --send-bytes N`, one active connection that sends N bytes of a
//! known pattern (byte i is `i % 251`) to a server and closes.
//!
//! The counters are printed with the statistics: `tcp_discard_bytes`, `tcp_echo_bytes`,
//! `tcp_chargen_bytes`, and with `--connect` `tcp_connect_sent` and `tcp_connect_done` (1 when
//! the server closed its side after receiving everything).

use std::net::SocketAddrV4;

use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::time::Instant;
use stack_runtime::{
    Stack, TcpError, TcpHandle, TcpListener, TcpListenerSlot, TcpSlot, TcpState, TcpStorage,
};

/// TCP socket slots (connections, TIME-WAIT included).
pub const TCP_SOCKETS: usize = 8;
/// Listening ports (echo, discard, chargen, one spare).
const TCP_LISTENERS: usize = 4;
/// Packet buffers TCP data may hold at once (across connections), on top of the stack's own:
/// `main` adds them to the packet pool.
pub const TCP_SEGMENTS: usize = 192;
/// The TCP ports served.
const ECHO_PORT: u16 = 7;
const DISCARD_PORT: u16 = 9;
const CHARGEN_PORT: u16 = 19;

/// The command-line flags of the TCP client.
#[derive(Debug, Clone, clap::Args)]
pub struct TcpArgs {
    /// Open a TCP connection to ADDR:PORT once the address is configured and send
    /// `--send-bytes` bytes (byte i is i % 251), then close.
    #[arg(long, value_name = "ADDR:PORT")]
    pub connect: Option<SocketAddrV4>,
    /// Bytes to send on the `--connect` connection.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub send_bytes: u64,
}

/// The fixed arrays TCP runs from.
pub struct TcpMemory {
    sockets: Vec<TcpSlot>,
    listeners: [TcpListenerSlot; TCP_LISTENERS],
    quotas: [SocketQuota; TCP_SOCKETS],
}

impl TcpMemory {
    /// Zeroed arrays (on the heap of this host program; firmware would use statics).
    pub fn new() -> TcpMemory {
        TcpMemory {
            sockets: (0..TCP_SOCKETS).map(|_| TcpSlot::new()).collect(),
            listeners: [TcpListenerSlot::EMPTY; TCP_LISTENERS],
            quotas: [SocketQuota::default(); TCP_SOCKETS],
        }
    }

    /// The storage to put in `StackStorage::tcp`.
    pub fn storage(&mut self) -> TcpStorage<'_> {
        TcpStorage {
            sockets: &mut self.sockets,
            listeners: &mut self.listeners,
            quotas: &mut self.quotas,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Echo,
    Discard,
    Chargen,
}

#[derive(Debug)]
struct Conn {
    handle: TcpHandle,
    kind: Kind,
    /// Echo: bytes received but not yet accepted by the send buffer.
    pending: Vec<u8>,
    /// Chargen: position in the pattern.
    position: u64,
}

/// The client connection of `--connect`.
#[derive(Debug)]
struct Client {
    target: SocketAddrV4,
    total: u64,
    sent: u64,
    handle: Option<TcpHandle>,
    result: Option<String>,
}

/// The TCP services and their counters.
#[derive(Debug)]
pub struct TcpServices {
    listeners: Vec<(TcpListener, Kind)>,
    conns: Vec<Conn>,
    client: Option<Client>,
    buf: Vec<u8>,
    /// Bytes received by discard.
    pub discard_bytes: u64,
    /// Bytes echoed (accepted by the send buffer).
    pub echo_bytes: u64,
    /// Bytes sent by chargen.
    pub chargen_bytes: u64,
}

impl TcpServices {
    /// Listen on the service ports and remember the client's target.
    pub fn new(stack: &mut Stack<'_>, args: &TcpArgs) -> Result<TcpServices, String> {
        let mut listeners = Vec::new();
        for (port, kind) in [
            (ECHO_PORT, Kind::Echo),
            (DISCARD_PORT, Kind::Discard),
            (CHARGEN_PORT, Kind::Chargen),
        ] {
            let l = stack
                .tcp_listen(port)
                .map_err(|error| format!("cannot listen on TCP port {port}: {error}"))?;
            listeners.push((l, kind));
        }
        Ok(TcpServices {
            listeners,
            conns: Vec::new(),
            client: args.connect.map(|target| Client {
                target,
                total: args.send_bytes,
                sent: 0,
                handle: None,
                result: None,
            }),
            buf: vec![0; 64 * 1024],
            discard_bytes: 0,
            echo_bytes: 0,
            chargen_bytes: 0,
        })
    }

    /// Serve every connection once. Returns whether anything moved (poll again at once).
    pub fn step(&mut self, stack: &mut Stack<'_>, now: Instant) -> bool {
        let mut worked = false;
        for &(l, kind) in &self.listeners {
            while let Some(handle) = stack.tcp_accept(l) {
                stack.tcp_set_nodelay(handle, true);
                self.conns.push(Conn {
                    handle,
                    kind,
                    pending: Vec::new(),
                    position: 0,
                });
                worked = true;
            }
        }
        let buf = &mut self.buf;
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            let (moved, finished) = match c.kind {
                Kind::Discard => discard(stack, c, buf, &mut self.discard_bytes),
                Kind::Echo => echo(stack, c, buf, &mut self.echo_bytes),
                Kind::Chargen => chargen(stack, c, buf, &mut self.chargen_bytes),
            };
            worked |= moved;
            if finished {
                stack.tcp_close(c.handle);
                self.conns.swap_remove(i);
            } else {
                i += 1;
            }
        }
        if let Some(client) = self.client.as_mut() {
            worked |= client_step(stack, client, buf, now);
        }
        worked
    }

    /// Print the counters as `name: value` lines.
    pub fn print(&self) {
        println!("tcp_discard_bytes: {}", self.discard_bytes);
        println!("tcp_echo_bytes: {}", self.echo_bytes);
        println!("tcp_chargen_bytes: {}", self.chargen_bytes);
        if let Some(c) = &self.client {
            println!("tcp_connect_sent: {}", c.sent);
            let done = c.result.as_deref() == Some("done");
            println!("tcp_connect_done: {}", u8::from(done));
            if let Some(error) = c.result.as_deref().filter(|_| !done) {
                eprintln!("host-services: TCP client: {error}");
            }
        }
    }
}

/// Whether the connection is over from the application's side: end of stream or an error.
fn ended(r: &Result<usize, TcpError>) -> bool {
    matches!(r, Ok(0)) || matches!(r, Err(e) if *e != TcpError::WouldBlock)
}

fn discard(stack: &mut Stack<'_>, c: &mut Conn, buf: &mut [u8], count: &mut u64) -> (bool, bool) {
    let mut moved = false;
    loop {
        let r = stack.tcp_recv(c.handle, buf);
        match r {
            Ok(n) if n > 0 => {
                *count += n as u64;
                moved = true;
            }
            _ => return (moved, ended(&r)),
        }
    }
}

fn echo(stack: &mut Stack<'_>, c: &mut Conn, buf: &mut [u8], count: &mut u64) -> (bool, bool) {
    let mut moved = false;
    loop {
        if !c.pending.is_empty() {
            match stack.tcp_send(c.handle, &c.pending) {
                Ok(n) => {
                    c.pending.drain(..n);
                    *count += n as u64;
                    moved |= n > 0;
                }
                Err(TcpError::WouldBlock) => return (moved, false),
                Err(_) => return (moved, true),
            }
            if !c.pending.is_empty() {
                return (moved, false);
            }
        }
        let r = stack.tcp_recv(c.handle, buf);
        match r {
            Ok(n) if n > 0 => {
                c.pending.extend_from_slice(&buf[..n]);
                moved = true;
            }
            _ => return (moved, ended(&r)),
        }
    }
}

/// The RFC 864 pattern: lines of 72 printable characters (32..=126), each starting one
/// character later than the one before, ended by CR LF.
fn chargen_byte(position: u64) -> u8 {
    let line = position / 74;
    let column = position % 74;
    match column {
        72 => b'\r',
        73 => b'\n',
        _ => 32 + ((line + column) % 95) as u8,
    }
}

fn chargen(stack: &mut Stack<'_>, c: &mut Conn, buf: &mut [u8], count: &mut u64) -> (bool, bool) {
    // Whatever the client sends is read and dropped.
    let r = stack.tcp_recv(c.handle, buf);
    if ended(&r) {
        return (true, true);
    }
    let mut moved = matches!(r, Ok(n) if n > 0);
    let chunk = &mut buf[..8 * 1024];
    for (i, b) in chunk.iter_mut().enumerate() {
        *b = chargen_byte(c.position + i as u64);
    }
    match stack.tcp_send(c.handle, chunk) {
        Ok(n) => {
            c.position += n as u64;
            *count += n as u64;
            moved |= n > 0;
            (moved, false)
        }
        Err(TcpError::WouldBlock) => (moved, false),
        Err(_) => (moved, true),
    }
}

fn client_step(stack: &mut Stack<'_>, c: &mut Client, buf: &mut [u8], now: Instant) -> bool {
    if c.result.is_some() {
        return false;
    }
    let Some(h) = c.handle else {
        match stack.tcp_connect(c.target, 0, now) {
            Ok(h) => {
                c.handle = Some(h);
                return true;
            }
            Err(TcpError::Unaddressed) => return false,
            Err(e) => {
                c.result = Some(format!("error {e}"));
                return false;
            }
        }
    };
    let mut moved = false;
    let state = stack.tcp_state(h);
    if let Some(e) = stack.tcp_error(h) {
        c.result = Some(format!("error {e}"));
        stack.tcp_close(h);
        return true;
    }
    if state == TcpState::Established && c.sent < c.total {
        let chunk = &mut buf[..16 * 1024];
        let left = (c.total - c.sent).min(chunk.len() as u64) as usize;
        for (i, b) in chunk[..left].iter_mut().enumerate() {
            *b = ((c.sent + i as u64) % 251) as u8;
        }
        if let Ok(n) = stack.tcp_send(h, &chunk[..left]) {
            c.sent += n as u64;
            moved |= n > 0;
        }
        if c.sent == c.total {
            // Everything queued: close our side (the FIN follows the data).
            stack.tcp_shutdown(h);
        }
    }
    // Drain anything the server sends; the end of its stream ends the client.
    match stack.tcp_recv(h, buf) {
        Ok(n) if n > 0 => moved = true,
        Ok(_) if c.sent == c.total => {
            c.result = Some("done".to_string());
            stack.tcp_close(h);
            moved = true;
        }
        _ => {}
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::chargen_byte;

    #[test]
    fn chargen_follows_rfc_864() {
        let first: Vec<u8> = (0..74).map(chargen_byte).collect();
        assert_eq!(&first[..3], b" !\"");
        assert_eq!(&first[72..], b"\r\n");
        assert_eq!(chargen_byte(74), b'!');
    }
}
