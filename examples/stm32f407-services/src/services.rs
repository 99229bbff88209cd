//! The services the firmware runs on top of the stack, polled after every `Net::poll`.
//!
//! Each service owns its socket handle and buffer and reports whether it did work (so the
//! main loop polls the stack again before sleeping). The board has no console, so failures
//! are counted, not printed: a debugger reads the counters.

use core::net::SocketAddrV4;

use stack_runtime::{UdpError, UdpHandle};
use static_cell::ConstStaticCell;

use crate::net::Net;

/// The echo port (RFC 862).
pub const ECHO_PORT: u16 = 7;

/// Largest datagram the echo service copies out of the stack: the socket's receive buffer
/// (the profile's `udp.rx_buffer`) holds no larger one.
const DATAGRAM_MAX: usize = crate::net::UDP_RX_BUFFER;

static ECHO_BUFFER: ConstStaticCell<[u8; DATAGRAM_MAX]> = ConstStaticCell::new([0; DATAGRAM_MAX]);

/// Every service of the firmware.
#[derive(Debug)]
pub struct Services {
    udp_echo: UdpEcho,
}

impl Services {
    /// Binds every service's sockets.
    pub fn start(net: &mut Net) -> Result<Services, UdpError> {
        Ok(Services {
            udp_echo: UdpEcho::bind(net, ECHO_PORT)?,
        })
    }

    /// Runs every service once; true if any did work.
    pub fn poll(&mut self, net: &mut Net) -> bool {
        self.udp_echo.poll(net)
    }
}

/// UDP echo: every datagram goes back to its sender unchanged.
#[derive(Debug)]
pub struct UdpEcho {
    socket: UdpHandle,
    buffer: &'static mut [u8; DATAGRAM_MAX],
    /// A received datagram whose echo did not fit the transmit buffer yet: sent after the next
    /// poll drained it, before anything else is read, so none is lost here.
    pending: Option<(usize, SocketAddrV4)>,
    /// Datagrams echoed.
    pub replies: u32,
    /// Datagrams that could never be echoed (no route back, too large).
    pub unsent: u32,
    /// Receive errors other than "nothing waiting" and "truncated".
    pub receive_errors: u32,
}

impl UdpEcho {
    /// Binds the echo socket to `port`.
    pub fn bind(net: &mut Net, port: u16) -> Result<UdpEcho, UdpError> {
        Ok(UdpEcho {
            socket: net.udp_bind(port)?,
            buffer: ECHO_BUFFER.take(),
            pending: None,
            replies: 0,
            unsent: 0,
            receive_errors: 0,
        })
    }

    /// Echoes every datagram waiting; true if any was echoed.
    pub fn poll(&mut self, net: &mut Net) -> bool {
        let mut echoed = false;
        loop {
            let (len, from) = match self.pending.take() {
                Some(datagram) => datagram,
                None => match net.udp_recv_from(self.socket, &mut self.buffer[..]) {
                    Ok(datagram) => datagram,
                    Err(UdpError::WouldBlock) => return echoed,
                    // Larger than the buffer: counted by the stack (`udp_recv_truncated`).
                    Err(UdpError::Truncated) => continue,
                    Err(_) => {
                        self.receive_errors = self.receive_errors.wrapping_add(1);
                        return echoed;
                    }
                },
            };
            match net.udp_send_to(self.socket, &self.buffer[..len], from) {
                Ok(()) => {
                    echoed = true;
                    self.replies = self.replies.wrapping_add(1);
                }
                Err(UdpError::BufferFull) => {
                    self.pending = Some((len, from));
                    return echoed;
                }
                Err(_) => self.unsent = self.unsent.wrapping_add(1),
            }
        }
    }
}
