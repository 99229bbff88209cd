//! The services the firmware runs on top of the stack, polled after every `Net::poll`.
//!
//! Each service owns its socket handle and buffer and reports whether it did work (so the
//! main loop polls the stack again before sleeping). The board has no console, so failures
//! are counted, not printed: a debugger reads the counters.

use stack_runtime::UdpError;
use static_cell::ConstStaticCell;

use crate::net::Net;

#[path = "../../shared/udp_echo.rs"]
mod udp_echo;

pub use udp_echo::UdpEcho;

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
            udp_echo: UdpEcho::bind(net, ECHO_PORT, ECHO_BUFFER.take())?,
        })
    }

    /// Runs every service once; true if any did work.
    pub fn poll(&mut self, net: &mut Net) -> bool {
        self.udp_echo.poll(net)
    }
}
