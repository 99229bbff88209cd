//! The services the firmware runs on top of the stack, polled after every `Net::poll`: UDP echo
//! (RFC 862, port 7), and over TCP echo (RFC 862, port 7), discard (RFC 863, port 9) and
//! character generator (RFC 864, port 19).
//!
//! Everything is non-blocking: each call moves what can move now and reports whether anything
//! did (so the main loop polls the stack again before sleeping). TCP connections are accepted
//! into a fixed set of [`CONNECTIONS`] slots; while they are all busy, new connections wait in
//! their listener's backlog. When a discard connection ends, the console gets the line
//! `discard: connection closed after N bytes` (the end-to-end tests check N).

use core::ops::Range;

use qemu_mps2_an386::{println, warn};
use stack_runtime::{TcpError, TcpHandle, TcpListener, UdpError};
use static_cell::ConstStaticCell;

use crate::net::{self, Net};

#[path = "../../shared/udp_echo.rs"]
mod udp_echo;

pub use udp_echo::UdpEcho;

/// The echo port (RFC 862), UDP and TCP.
pub const ECHO_PORT: u16 = 7;
/// The discard port (RFC 863), TCP.
pub const DISCARD_PORT: u16 = 9;
/// The character generator port (RFC 864), TCP.
pub const CHARGEN_PORT: u16 = 19;

/// Largest datagram the UDP echo service copies out of the stack: the socket's receive buffer.
const DATAGRAM_MAX: usize = net::UDP_RX_BUFFER;

/// TCP connections served at once: half the profile's connection slots, so that as many
/// again can be closing (LAST-ACK) or wait in a listener's backlog.
pub const CONNECTIONS: usize = net::TCP_SOCKETS / 2;

/// Bytes an echo connection holds between reading them and the send buffer taking them: one
/// segment.
const ECHO_CHUNK: usize = net::TCP_SEGMENT_SIZE;

/// Bytes discard reads and chargen writes per call.
const SCRATCH: usize = 2048;

/// Length of an RFC 864 line: 72 characters, then CR LF.
const CHARGEN_LINE: u64 = 74;

/// The UDP echo service's datagram buffer.
static DATAGRAM: ConstStaticCell<[u8; DATAGRAM_MAX]> = ConstStaticCell::new([0; DATAGRAM_MAX]);
/// One echo buffer per connection slot.
static ECHO_BUFFERS: ConstStaticCell<[[u8; ECHO_CHUNK]; CONNECTIONS]> =
    ConstStaticCell::new([[0; ECHO_CHUNK]; CONNECTIONS]);
/// Discard's and chargen's working buffer, shared: the connections are served one at a time.
static SCRATCH_BUFFER: ConstStaticCell<[u8; SCRATCH]> = ConstStaticCell::new([0; SCRATCH]);

/// Why the services could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// Binding the UDP echo socket failed.
    Udp(UdpError),
    /// Listening on a TCP port failed.
    Tcp(u16, TcpError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Udp(error) => write!(f, "UDP echo: {error}"),
            StartError::Tcp(port, error) => write!(f, "TCP port {port}: {error}"),
        }
    }
}

/// Every service of the firmware.
#[derive(Debug)]
pub struct Services {
    udp_echo: UdpEcho,
    tcp: TcpServices,
}

impl Services {
    /// Binds and listens on every service's port.
    pub fn start(net: &mut Net) -> Result<Services, StartError> {
        Ok(Services {
            udp_echo: UdpEcho::bind(net, ECHO_PORT, DATAGRAM.take()).map_err(StartError::Udp)?,
            tcp: TcpServices::listen(net)?,
        })
    }

    /// Runs every service once; true if any did work.
    pub fn poll(&mut self, net: &mut Net) -> bool {
        let udp = self.udp_echo.poll(net);
        let tcp = self.tcp.poll(net);
        udp || tcp
    }
}

/// The TCP service a connection gets, by the port it came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// Everything received is sent back.
    Echo,
    /// Everything received is counted and dropped.
    Discard,
    /// The RFC 864 pattern is sent until the peer closes; what it sends is dropped.
    Chargen,
}

/// One accepted connection.
#[derive(Debug)]
struct Connection {
    handle: TcpHandle,
    service: Service,
    /// Echo: the bytes of the slot's echo buffer read but not yet taken by the send buffer.
    pending: Range<usize>,
    /// Discard: bytes received. Chargen: bytes sent (the position in the pattern). Echo: bytes
    /// echoed.
    bytes: u64,
}

/// How a connection ended, from the application's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The peer closed its direction and everything was read (and, for echo, sent back).
    Closed,
    /// The connection failed (reset, timed out…).
    Failed(TcpError),
}

/// TCP echo, discard and chargen: their listeners and the connections they accepted.
#[derive(Debug)]
pub struct TcpServices {
    listeners: [(TcpListener, Service); 3],
    connections: [Option<Connection>; CONNECTIONS],
    echo_buffers: &'static mut [[u8; ECHO_CHUNK]; CONNECTIONS],
    scratch: &'static mut [u8; SCRATCH],
    /// Connections accepted, all services together.
    pub accepted: u32,
}

impl TcpServices {
    /// Listens on the echo, discard and chargen ports.
    pub fn listen(net: &mut Net) -> Result<TcpServices, StartError> {
        let mut listen = |port: u16| net.tcp_listen(port).map_err(|e| StartError::Tcp(port, e));
        let listeners = [
            (listen(ECHO_PORT)?, Service::Echo),
            (listen(DISCARD_PORT)?, Service::Discard),
            (listen(CHARGEN_PORT)?, Service::Chargen),
        ];
        Ok(TcpServices {
            listeners,
            connections: [const { None }; CONNECTIONS],
            echo_buffers: ECHO_BUFFERS.take(),
            scratch: SCRATCH_BUFFER.take(),
            accepted: 0,
        })
    }

    /// Accepts into free slots, serves every connection once, and gives back the handles of
    /// those that ended; true if anything moved.
    pub fn poll(&mut self, net: &mut Net) -> bool {
        let mut worked = self.accept(net);
        for (slot, echo_buffer) in self
            .connections
            .iter_mut()
            .zip(self.echo_buffers.iter_mut())
        {
            let Some(connection) = slot else { continue };
            let (moved, end) = match connection.service {
                Service::Echo => echo(net, connection, echo_buffer),
                Service::Discard => discard(net, connection, self.scratch),
                Service::Chargen => chargen(net, connection, self.scratch),
            };
            worked |= moved;
            let Some(end) = end else { continue };
            match (connection.service, end) {
                (Service::Discard, End::Closed) => println!(
                    "discard: connection closed after {} bytes",
                    connection.bytes
                ),
                (Service::Discard, End::Failed(error)) => println!(
                    "discard: connection failed after {} bytes: {error}",
                    connection.bytes
                ),
                (_, End::Closed) => {}
                (service, End::Failed(error)) => {
                    warn!(
                        "{service:?}: connection failed after {} bytes: {error}",
                        connection.bytes
                    );
                }
            }
            // A FIN follows whatever is still queued; the stack frees the slot once the peer
            // acknowledged it.
            net.tcp_close(connection.handle);
            *slot = None;
            worked = true;
        }
        worked
    }

    /// Takes established connections from the listeners while a slot is free.
    fn accept(&mut self, net: &mut Net) -> bool {
        let mut accepted = false;
        for &(listener, service) in &self.listeners {
            for slot in self.connections.iter_mut().filter(|slot| slot.is_none()) {
                let Some(handle) = net.tcp_accept(listener) else {
                    break;
                };
                // Echo and chargen answer at once rather than waiting for a full segment.
                net.tcp_set_nodelay(handle, true);
                *slot = Some(Connection {
                    handle,
                    service,
                    pending: 0..0,
                    bytes: 0,
                });
                self.accepted = self.accepted.wrapping_add(1);
                accepted = true;
            }
        }
        accepted
    }
}

/// Classifies a `tcp_recv` result that brought no data: `None` to wait (would block), or how
/// the connection ended.
fn recv_end(result: Result<usize, TcpError>) -> Option<End> {
    match result {
        Ok(0) => Some(End::Closed),
        Ok(_) | Err(TcpError::WouldBlock) => None,
        Err(error) => Some(End::Failed(error)),
    }
}

/// Echo: sends back what was read before reading more, so at most one buffer is held per
/// connection; the end of the peer's stream ends the connection once everything went back.
fn echo(net: &mut Net, c: &mut Connection, buffer: &mut [u8]) -> (bool, Option<End>) {
    let mut moved = false;
    loop {
        while !c.pending.is_empty() {
            match net.tcp_send(c.handle, &buffer[c.pending.clone()]) {
                Ok(n) => {
                    c.pending.start += n;
                    c.bytes += n as u64;
                    moved = true;
                }
                Err(TcpError::WouldBlock) => return (moved, None),
                Err(error) => return (moved, Some(End::Failed(error))),
            }
        }
        match net.tcp_recv(c.handle, buffer) {
            Ok(n) if n > 0 => {
                c.pending = 0..n;
                moved = true;
            }
            result => return (moved, recv_end(result)),
        }
    }
}

/// Discard: reads and counts everything.
fn discard(net: &mut Net, c: &mut Connection, scratch: &mut [u8]) -> (bool, Option<End>) {
    let mut moved = false;
    loop {
        match net.tcp_recv(c.handle, scratch) {
            Ok(n) if n > 0 => {
                c.bytes += n as u64;
                moved = true;
            }
            result => return (moved, recv_end(result)),
        }
    }
}

/// The byte at `position` of the RFC 864 stream: lines of 72 printable ASCII characters (32
/// to 126), each line starting one character further into the 95 than the one before, ended by
/// CR LF.
pub fn chargen_byte(position: u64) -> u8 {
    let line = position / CHARGEN_LINE;
    match position % CHARGEN_LINE {
        72 => b'\r',
        73 => b'\n',
        column => 32 + ((line + column) % 95) as u8,
    }
}

/// Chargen: drops what the peer sends, and fills the send buffer with the pattern; the end of
/// the peer's stream (or a reset) ends the connection.
fn chargen(net: &mut Net, c: &mut Connection, scratch: &mut [u8]) -> (bool, Option<End>) {
    let mut moved = false;
    loop {
        match net.tcp_recv(c.handle, scratch) {
            Ok(n) if n > 0 => moved = true,
            result => match recv_end(result) {
                Some(end) => return (moved, Some(end)),
                None => break,
            },
        }
    }
    while net.tcp_can_send(c.handle) {
        for (i, byte) in scratch.iter_mut().enumerate() {
            *byte = chargen_byte(c.bytes + i as u64);
        }
        match net.tcp_send(c.handle, scratch) {
            Ok(n) => {
                c.bytes += n as u64;
                moved = true;
                if n < scratch.len() {
                    break;
                }
            }
            Err(TcpError::WouldBlock) => break,
            Err(error) => return (moved, Some(End::Failed(error))),
        }
    }
    (moved, None)
}
