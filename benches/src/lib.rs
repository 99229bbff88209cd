//! Benchmarks of stack-runtime side by side with smoltcp (issue 8). Benchmarks 2, 3 and 5
//! (against Linux over TAP) are in [`tap`]; benchmark 4 (footprint) is the firmware workspace
//! `benches/footprint/` and the `footprint` binary; `docs/benchmarks.md` has the results.
//!
//! Benchmark 1, bulk TCP in memory: a client stack and a server stack in one process, joined
//! by an in-memory frame link ([`link`]) with no syscalls, move a byte stream one way. The same
//! transfer runs on our stack ([`ours::bulk_ours`]) and on smoltcp ([`theirs::bulk_smoltcp`])
//! with the same MSS, receive window and send buffer; [`floor::bulk_floor`] is the floor: one
//! [`copy_and_checksum`](stack_runtime::wire::checksum::copy_and_checksum) pass over the same
//! bytes.
//!
//! Time inside the stacks is virtual (a counter that only jumps forward to the next timer
//! deadline when nothing else can progress), so the runs make no clock syscalls and are
//! deterministic, which is what lets callgrind count instructions reproducibly.

pub mod floor;
pub mod link;
pub mod ours;
pub mod tap;
pub mod theirs;

/// Maximum segment size used on both stacks (Ethernet MTU 1500 minus IPv4 and TCP headers).
pub const MSS: usize = 1460;

/// Length of the repeating test pattern (a prime, so the pattern never lines up with segment
/// or buffer boundaries).
pub const PATTERN_PERIOD: usize = 65521;

/// The largest chunk the applications hand to `send` or take from `recv` at once.
pub const CHUNK: usize = 16 * 1024;

/// One benchmark's knobs, the same for both stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkParams {
    /// Bytes moved from client to server.
    pub bytes: usize,
    /// Receive window and send buffer, in MSS-sized segments (4 → 5,840 bytes).
    pub window_segments: usize,
    /// Check every received byte against the pattern (the smoke test does; timing runs don't).
    pub verify: bool,
}

impl BulkParams {
    /// The receive window and send buffer in bytes.
    pub fn window_bytes(&self) -> usize {
        self.window_segments * MSS
    }
}

/// What one bulk transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Bytes the server application received.
    pub received: usize,
    /// Whether every byte matched the pattern (always true when not verifying).
    pub intact: bool,
    /// Iterations of the client/server poll loop.
    pub iterations: u64,
    /// Times the loop had nothing to do and jumped the virtual clock to a timer deadline.
    pub clock_jumps: u64,
    /// Virtual time at the end, in microseconds.
    pub virtual_micros: u64,
}

/// The source pattern: `PATTERN_PERIOD + CHUNK` bytes, so the slice starting at any stream
/// offset modulo the period is at least `CHUNK` long.
pub fn pattern() -> Vec<u8> {
    (0..PATTERN_PERIOD + CHUNK)
        .map(|i| {
            let i = i % PATTERN_PERIOD;
            (i ^ (i >> 7) ^ (i >> 13)) as u8
        })
        .collect()
}

/// Whether `data`, received at stream offset `offset`, matches the pattern.
pub fn matches_pattern(pattern: &[u8], offset: usize, data: &[u8]) -> bool {
    let mut off = offset;
    let mut rest = data;
    while !rest.is_empty() {
        let start = off % PATTERN_PERIOD;
        let n = rest.len().min(CHUNK);
        if pattern[start..start + n] != rest[..n] {
            return false;
        }
        rest = &rest[n..];
        off += n;
    }
    true
}
