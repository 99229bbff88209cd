//! Benchmarks 2, 3 and 5: our stack and smoltcp as servers on a Linux TAP interface, the
//! Linux kernel as the client, inside a network namespace.
//!
//! The server side ([`ours::serve`], [`theirs::serve`]) runs one [`Service`] with explicit
//! sizes ([`ServerParams`]); the client side ([`client`]) is ordinary `std::net` code that
//! runs inside the namespace and reports one number. `benches/src/bin/tap_bench.rs` creates
//! the namespace and runs both as child processes (`ip netns exec`).

pub mod client;
pub mod ours;
pub mod theirs;

use std::time::Duration;

/// The stack's address on the TAP (the kernel side is 192.0.2.1/24).
pub const STACK_IP: [u8; 4] = [192, 0, 2, 2];
/// The stack's MAC address (the same for both stacks, so the kernel's ARP entry stays valid).
pub const STACK_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Longest sleep between two polls of a server when no timer is due sooner.
pub const MAX_SLEEP: Duration = Duration::from_millis(10);
/// The line a server prints on standard output once it serves.
pub const READY: &str = "tap-bench: ready";

/// What a server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Port 9: read and throw away everything; close after the peer's FIN.
    Discard,
    /// Port 19: send a constant pattern as fast as the window allows until the peer closes.
    Chargen,
    /// Port 7: send back every byte received.
    Echo,
    /// Port 10: close each connection as soon as it is accepted.
    AcceptClose,
}

impl Service {
    /// The TCP port the service listens on.
    pub fn port(self) -> u16 {
        match self {
            Service::Discard => 9,
            Service::Chargen => 19,
            Service::Echo => 7,
            Service::AcceptClose => 10,
        }
    }

    /// The service's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Service::Discard => "discard",
            Service::Chargen => "chargen",
            Service::Echo => "echo",
            Service::AcceptClose => "accept",
        }
    }

    /// Parses [`Service::name`].
    pub fn parse(name: &str) -> Option<Service> {
        [
            Service::Discard,
            Service::Chargen,
            Service::Echo,
            Service::AcceptClose,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Sizes and limits of one server, the same for both stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerParams {
    /// TAP interface to attach to (it must exist and be up).
    pub tap: String,
    /// The service to run.
    pub service: Service,
    /// Receive window and send buffer of each connection, in MSS-sized segments.
    pub window_segments: usize,
    /// TCP socket slots (TIME-WAIT included) on both stacks.
    pub sockets: usize,
    /// The server exits by itself after this long (it is normally killed sooner).
    pub max_time: Duration,
}

/// The chargen source: a constant pattern (no per-byte generation, so the application costs
/// the same on both stacks and the stack is what is measured).
pub fn chargen_pattern() -> Vec<u8> {
    (0..crate::CHUNK).map(|i| b' ' + (i % 95) as u8).collect()
}

/// Converts an optional stack deadline (in microseconds since the server started) into how
/// long to sleep from `now_micros`, at most [`MAX_SLEEP`].
pub fn sleep_for(deadline_micros: Option<u64>, now_micros: u64) -> Duration {
    match deadline_micros {
        Some(d) => Duration::from_micros(d.saturating_sub(now_micros)).min(MAX_SLEEP),
        None => MAX_SLEEP,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_round_trip_by_name() {
        for s in [
            Service::Discard,
            Service::Chargen,
            Service::Echo,
            Service::AcceptClose,
        ] {
            assert_eq!(Service::parse(s.name()), Some(s));
        }
        assert_eq!(Service::parse("nope"), None);
        assert_eq!(sleep_for(Some(5), 10), Duration::ZERO);
        assert_eq!(sleep_for(None, 10), MAX_SLEEP);
    }
}
