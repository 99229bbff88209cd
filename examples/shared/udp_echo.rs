//! UDP echo (RFC 862) over a generated stack's `Net`, shared by the firmware examples.
//!
//! The firmware examples are workspaces of their own and each has its own generated `Net`
//! (`crate::net::Net`, from its `#[stack_config]` module), so they include this file with
//! `#[path = "../../shared/udp_echo.rs"] mod udp_echo;` instead of depending on a crate.

use core::net::SocketAddrV4;

use stack_runtime::{UdpError, UdpHandle};

use crate::net::Net;

/// UDP echo: every datagram goes back to its sender unchanged.
#[derive(Debug)]
pub struct UdpEcho {
    socket: UdpHandle,
    /// Where a datagram is copied to; a larger one is dropped (counted by the stack as
    /// `udp_recv_truncated`).
    buffer: &'static mut [u8],
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
    /// Binds the echo socket to `port`; datagrams are copied through `buffer`.
    pub fn bind(net: &mut Net, port: u16, buffer: &'static mut [u8]) -> Result<UdpEcho, UdpError> {
        Ok(UdpEcho {
            socket: net.udp_bind(port)?,
            buffer,
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
                None => match net.udp_recv_from(self.socket, self.buffer) {
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
