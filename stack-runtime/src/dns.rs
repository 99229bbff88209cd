//! The DNS resolver (RFC 1035): A lookups over UDP with retries across servers, a fixed-size
//! cache that honours TTLs, and a fixed number of concurrent queries.
//!
//! # Using it
//!
//! Hand the stack a [`DnsStorage`] (query slots and cache entries, arrays the caller owns) with
//! [`Stack::enable_dns`]. Then:
//!
//! 1. [`Stack::dns_query`]`("device.example")` returns a [`DnsQueryHandle`] at once; a cached,
//!    unexpired answer completes the query without any traffic;
//! 2. keep calling [`Stack::poll`]: it sends the query and its retransmissions and reads the
//!    answers;
//! 3. [`Stack::dns_result`]`(handle)` returns `Err(DnsError::WouldBlock)` while the query is in
//!    flight, then the address (`Ok`) or why there is none (`Err`), once: the slot is free
//!    again after that (a later call says [`DnsError::InvalidHandle`]).
//!
//! [`Stack::dns_cancel`] frees a slot whose answer is no longer wanted.
//!
//! # Behaviour
//!
//! * **Servers**: those of [`DnsConfig::servers`]; when it names none, those of the current
//!   DHCP lease. No server: [`DnsError::NoServer`].
//! * **Retries**: each attempt waits [`DnsConfig::timeout`]; attempt *k* goes to server
//!   *k mod n*, for `n ×` [`DnsConfig::rounds`] attempts in all. A SERVFAIL, REFUSED or
//!   malformed answer moves on to the next attempt at once. When all fail, the error is the
//!   last server error seen ([`DnsError::ServerFailure`], [`DnsError::Malformed`],
//!   [`DnsError::Truncated`]) or [`DnsError::Timeout`] when no server answered.
//! * **Answers**: the A record of the name asked for, following CNAME records in the answer
//!   section; AAAA records are parsed and skipped. NXDOMAIN is [`DnsError::NxDomain`]; a name
//!   without A record is [`DnsError::NoAddress`].
//! * **Matching**: every query has a random id and a random source port (49152–65535, never one
//!   an application socket holds), and a response must come from port 53 of a server in use,
//!   to that port, with that id and the same question. Anything else is counted in
//!   `dns_unmatched` and ignored.
//! * **Cache**: one address per name. A record's TTL is clamped to
//!   [`DnsConfig::min_ttl`]`..=`[`DnsConfig::max_ttl`] (defaults 0 s and 1 day); a TTL of 0
//!   after clamping is not cached (RFC 1035 §3.2.1). When the cache is full the least recently
//!   used entry goes. Negative answers are not cached.
//! * **Hostile answers**: see [`crate::wire::dns`]; each rejection is counted by cause
//!   (`dns_pointer_loop`, `dns_forward_pointer`, `dns_name_too_long`, `dns_label_too_long`,
//!   `dns_count_overrun`, `dns_truncated`, `dns_tc_flag`, `dns_malformed`).

use core::fmt;
use core::net::Ipv4Addr;

use crate::Stack;
use crate::stats::{bump, gauge};
use crate::time::{Duration, Instant};
use crate::wire::UdpPacket;
use crate::wire::dhcpv4::MAX_DNS_SERVERS;
use crate::wire::dns::{self, Name, NameError, ParseError, QueryRepr, Rcode};

/// Configured servers at most (also the most taken from a DHCP lease).
pub const MAX_SERVERS: usize = MAX_DNS_SERVERS;

/// The resolver's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsConfig {
    /// Servers to ask, in order; all `None`: use the DHCP lease's.
    pub servers: [Option<Ipv4Addr>; MAX_SERVERS],
    /// How long one attempt waits for an answer (default 2 s).
    pub timeout: Duration,
    /// How many times each server is tried (default 2).
    pub rounds: u8,
    /// Shortest time an answer is cached, seconds (default 0: as the server says).
    pub min_ttl: u32,
    /// Longest time an answer is cached, seconds (default 86 400).
    pub max_ttl: u32,
    /// Seed of the PRNG behind query ids and source ports (make it differ per device and
    /// boot: predictable ids make cache poisoning easier).
    pub seed: u64,
}

impl DnsConfig {
    /// Defaults, with servers from DHCP.
    pub const fn new(seed: u64) -> DnsConfig {
        DnsConfig {
            servers: [None; MAX_SERVERS],
            timeout: Duration::from_secs(2),
            rounds: 2,
            min_ttl: 0,
            max_ttl: 86_400,
            seed,
        }
    }
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig::new(0)
    }
}

/// Why a lookup failed or has no result yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsError {
    /// Still in flight: poll the stack and ask again.
    WouldBlock,
    /// The name cannot be queried.
    InvalidName(NameError),
    /// Every query slot is busy.
    NoSlot,
    /// No DNS server configured or learned from DHCP.
    NoServer,
    /// The interface has no address to send from.
    Unaddressed,
    /// The resolver is not enabled ([`Stack::enable_dns`]).
    NotEnabled,
    /// The handle names no query (already read, cancelled, or stale).
    InvalidHandle,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// The name exists but has no A record.
    NoAddress,
    /// The servers failed (SERVFAIL, REFUSED, other error codes).
    ServerFailure,
    /// The last answer was malformed (and rejected).
    Malformed(ParseError),
    /// The last answer had the TC bit: too large for UDP, and there is no DNS over TCP here.
    Truncated,
    /// No server answered.
    Timeout,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::WouldBlock => f.write_str("lookup in progress"),
            DnsError::InvalidName(e) => write!(f, "invalid name: {e}"),
            DnsError::NoSlot => f.write_str("no free DNS query slot"),
            DnsError::NoServer => f.write_str("no DNS server"),
            DnsError::Unaddressed => f.write_str("no IPv4 address configured"),
            DnsError::NotEnabled => f.write_str("DNS resolver not enabled"),
            DnsError::InvalidHandle => f.write_str("no such DNS query"),
            DnsError::NxDomain => f.write_str("NXDOMAIN: no such name"),
            DnsError::NoAddress => f.write_str("no A record for the name"),
            DnsError::ServerFailure => f.write_str("DNS server failure"),
            DnsError::Malformed(e) => write!(f, "malformed answer: {e}"),
            DnsError::Truncated => f.write_str("truncated answer (TC bit)"),
            DnsError::Timeout => f.write_str("no answer from any DNS server"),
        }
    }
}

impl core::error::Error for DnsError {}

/// Names a lookup started by [`Stack::dns_query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DnsQueryHandle {
    index: usize,
    generation: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryState {
    Free,
    Pending,
    Done(Result<Ipv4Addr, DnsError>),
}

/// One concurrent lookup (caller storage; start from [`DnsQuerySlot::EMPTY`]).
#[derive(Debug, Clone, Copy)]
pub struct DnsQuerySlot {
    state: QueryState,
    generation: u16,
    name: Name,
    id: u16,
    port: u16,
    /// Attempts sent so far.
    attempts: u8,
    /// Send (the next attempt) at this time ([`Instant::ZERO`]: at the next poll).
    deadline: Instant,
    /// Server of the last attempt.
    server: Ipv4Addr,
    last_error: Option<DnsError>,
}

impl DnsQuerySlot {
    /// A free slot.
    pub const EMPTY: DnsQuerySlot = DnsQuerySlot {
        state: QueryState::Free,
        generation: 0,
        name: Name::ROOT,
        id: 0,
        port: 0,
        attempts: 0,
        deadline: Instant::ZERO,
        server: Ipv4Addr::UNSPECIFIED,
        last_error: None,
    };
}

impl Default for DnsQuerySlot {
    fn default() -> Self {
        DnsQuerySlot::EMPTY
    }
}

/// One cached answer (caller storage; start from [`DnsCacheEntry::EMPTY`]).
#[derive(Debug, Clone, Copy)]
pub struct DnsCacheEntry {
    name: Name,
    addr: Ipv4Addr,
    expires: Instant,
    last_used: Instant,
    valid: bool,
}

impl DnsCacheEntry {
    /// An empty entry.
    pub const EMPTY: DnsCacheEntry = DnsCacheEntry {
        name: Name::ROOT,
        addr: Ipv4Addr::UNSPECIFIED,
        expires: Instant::ZERO,
        last_used: Instant::ZERO,
        valid: false,
    };
}

impl Default for DnsCacheEntry {
    fn default() -> Self {
        DnsCacheEntry::EMPTY
    }
}

/// The resolver's storage: the query slots bound how many lookups run at once, the cache
/// entries how many answers are remembered. A query slot and a cache entry cost about 290
/// bytes each, most of it the name (up to 255 bytes).
#[derive(Debug)]
pub struct DnsStorage<'a> {
    /// Concurrent lookups.
    pub queries: &'a mut [DnsQuerySlot],
    /// Cached answers (may be empty: no cache).
    pub cache: &'a mut [DnsCacheEntry],
}

/// The resolver inside the stack.
#[derive(Debug)]
pub(crate) struct DnsClient<'a> {
    queries: &'a mut [DnsQuerySlot],
    cache: &'a mut [DnsCacheEntry],
    config: DnsConfig,
    rng: u64,
    /// The time of the last poll: the clock of `dns_query`, which has no `now` of its own.
    now: Instant,
}

impl DnsClient<'_> {
    /// SplitMix64. Out of line: the 64-bit multiplications are long on a 32-bit MCU.
    #[inline(never)]
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn cache_lookup(&mut self, name: &Name, now: Instant) -> Option<Ipv4Addr> {
        let e = self.cache.iter_mut().find(|e| e.valid && e.name == *name)?;
        if now >= e.expires {
            e.valid = false;
            return None;
        }
        e.last_used = now;
        Some(e.addr)
    }

    /// [`cache_insert`] into this client's cache (for the tests).
    #[cfg(test)]
    fn cache_insert(&mut self, name: &Name, addr: Ipv4Addr, ttl: u32, now: Instant) {
        cache_insert(self.cache, &self.config, name, addr, ttl, now);
    }
}

/// Cache `addr` for `name` for `ttl` seconds (clamped to the configured range): in the entry
/// that already holds `name`, else the first free or expired one, else the least recently
/// used. A function of the cache alone, so that a query's name is cached straight from its
/// slot: copied through a temporary, the name's copy became a `memmove` (compiler_builtins'
/// 1.5 KB one).
fn cache_insert(
    cache: &mut [DnsCacheEntry],
    config: &DnsConfig,
    name: &Name,
    addr: Ipv4Addr,
    ttl: u32,
    now: Instant,
) {
    let ttl = ttl.clamp(config.min_ttl, config.max_ttl.max(config.min_ttl));
    // One pass: the first entry of the lowest rank (0: same name, 1: free or expired,
    // then by last use).
    let mut best: Option<(u64, &mut DnsCacheEntry)> = None;
    for e in cache.iter_mut() {
        let rank = if e.valid && e.name == *name {
            0
        } else if !e.valid || now >= e.expires {
            1
        } else {
            e.last_used.total_micros().saturating_add(2)
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, e));
        }
    }
    let Some((_, e)) = best.filter(|_| ttl > 0) else {
        return;
    };
    e.name = *name;
    e.addr = addr;
    // A 32-bit by 32-bit multiplication, not `from_secs`' saturating 64-bit one.
    e.expires = now + Duration::from_micros(u64::from(ttl) * 1_000_000);
    e.last_used = now;
    e.valid = true;
}

impl<'a> Stack<'a> {
    /// Start the resolver with `storage` and `config`. Enabling again replaces both (queries in
    /// flight are forgotten).
    pub fn enable_dns(&mut self, storage: DnsStorage<'a>, config: DnsConfig) {
        for q in storage.queries.iter_mut() {
            *q = DnsQuerySlot::EMPTY;
        }
        for e in storage.cache.iter_mut() {
            *e = DnsCacheEntry::EMPTY;
        }
        let mac = self.mac.0;
        let mac_bits = u64::from_be_bytes([0, 0, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]);
        self.dns = Some(DnsClient {
            queries: storage.queries,
            cache: storage.cache,
            config,
            rng: config.seed ^ mac_bits.rotate_left(29) ^ 0x5eed_d115,
            now: Instant::ZERO,
        });
        self.dns_sync_stats();
    }

    /// The servers the resolver asks: the configured ones, else the DHCP lease's.
    pub fn dns_servers(&self) -> [Option<Ipv4Addr>; MAX_SERVERS] {
        self.dns_server_refs()
            .copied()
            .unwrap_or([None; MAX_SERVERS])
    }

    /// [`dns_servers`](Self::dns_servers) without the copy: `None` when there are none.
    fn dns_server_refs(&self) -> Option<&[Option<Ipv4Addr>; MAX_SERVERS]> {
        let configured = self
            .dns
            .as_ref()
            .map(|d| &d.config.servers)
            .filter(|s| s.iter().any(Option::is_some));
        #[cfg(feature = "dhcpv4")]
        let configured = configured.or_else(|| self.dhcp_dns_servers());
        configured
    }

    fn dns_server_list(&self) -> ([Ipv4Addr; MAX_SERVERS], usize) {
        let mut list = [Ipv4Addr::UNSPECIFIED; MAX_SERVERS];
        let mut n = 0;
        let servers = self.dns_server_refs().map_or(&[][..], |s| &s[..]);
        for (slot, s) in list.iter_mut().zip(servers.iter().flatten()) {
            *slot = *s;
            n += 1;
        }
        (list, n)
    }

    /// Start looking up the A record of `name` (see the [module documentation](self)).
    pub fn dns_query(&mut self, name: &str) -> Result<DnsQueryHandle, DnsError> {
        let name = Name::from_text(name).map_err(DnsError::InvalidName)?;
        let (_, servers) = self.dns_server_list();
        let addressed = self.config.ipv4.is_some();
        let Some(dns) = self.dns.as_mut() else {
            return Err(DnsError::NotEnabled);
        };
        let now = dns.now;
        let cached = dns.cache_lookup(&name, now);
        let Some(index) = dns
            .queries
            .iter()
            .position(|q| matches!(q.state, QueryState::Free))
        else {
            return Err(DnsError::NoSlot);
        };
        let state = match cached {
            Some(addr) => {
                bump(&mut self.stats.dns_cache_hits);
                QueryState::Done(Ok(addr))
            }
            None if servers == 0 => return Err(DnsError::NoServer),
            None if !addressed => return Err(DnsError::Unaddressed),
            None => QueryState::Pending,
        };
        let id = dns.next_random() as u16;
        let port = self.dns_pick_port();
        let Some(dns) = self.dns.as_mut() else {
            return Err(DnsError::NotEnabled);
        };
        let q = &mut dns.queries[index];
        let generation = q.generation.wrapping_add(1);
        *q = DnsQuerySlot {
            state,
            generation,
            name,
            id,
            port,
            attempts: 0,
            deadline: Instant::ZERO,
            server: Ipv4Addr::UNSPECIFIED,
            last_error: None,
        };
        self.dns_sync_stats();
        Ok(DnsQueryHandle { index, generation })
    }

    /// A random source port no application socket and no other query holds.
    fn dns_pick_port(&mut self) -> u16 {
        for _ in 0..64 {
            let Some(dns) = self.dns.as_mut() else {
                return 0;
            };
            let port = 49152 + (dns.next_random() % 16384) as u16;
            let taken = dns
                .queries
                .iter()
                .any(|q| matches!(q.state, QueryState::Pending) && q.port == port)
                || self
                    .sockets
                    .slots
                    .iter()
                    .any(|s| s.local_port() == Some(port));
            if !taken {
                return port;
            }
        }
        // Practically unreachable (64 collisions in 16,384 ports); a collision only means the
        // socket sees no answers on this port while the query is pending.
        49152
    }

    /// The result of a lookup: `Err(WouldBlock)` while in flight; the final result once, after
    /// which the slot is free.
    pub fn dns_result(&mut self, handle: DnsQueryHandle) -> Result<Ipv4Addr, DnsError> {
        let dns = self.dns.as_mut().ok_or(DnsError::NotEnabled)?;
        let q = dns
            .queries
            .get_mut(handle.index)
            .filter(|q| q.generation == handle.generation)
            .ok_or(DnsError::InvalidHandle)?;
        let r = match q.state {
            QueryState::Free => return Err(DnsError::InvalidHandle),
            QueryState::Pending => return Err(DnsError::WouldBlock),
            QueryState::Done(r) => r,
        };
        q.state = QueryState::Free;
        self.dns_sync_stats();
        r
    }

    /// Forget a lookup; a late answer is then ignored. Stale handles are ignored.
    pub fn dns_cancel(&mut self, handle: DnsQueryHandle) {
        if let Some(q) = self
            .dns
            .as_mut()
            .and_then(|d| d.queries.get_mut(handle.index))
            .filter(|q| q.generation == handle.generation)
        {
            q.state = QueryState::Free;
        }
        self.dns_sync_stats();
    }

    /// Empty the cache.
    pub fn dns_flush_cache(&mut self) {
        if let Some(d) = self.dns.as_mut() {
            for e in d.cache.iter_mut() {
                e.valid = false;
            }
        }
        self.dns_sync_stats();
    }

    /// When the resolver next needs a poll.
    pub(crate) fn dns_deadline(&self) -> Option<Instant> {
        let dns = self.dns.as_ref()?;
        dns.queries
            .iter()
            .filter(|q| matches!(q.state, QueryState::Pending))
            .map(|q| q.deadline)
            .fold(None, crate::time::earliest)
    }

    /// Send due attempts; fail lookups that ran out of attempts.
    pub(crate) fn dns_poll(&mut self, now: Instant) {
        let (servers, n) = self.dns_server_list();
        let src = self.config.ipv4.map(|c| c.address);
        let Some(dns) = self.dns.as_mut() else {
            return;
        };
        dns.now = now;
        let total = n * usize::from(dns.config.rounds.max(1));
        let timeout = dns.config.timeout;
        for i in 0..dns.queries.len() {
            let Some(dns) = self.dns.as_mut() else {
                return;
            };
            let Some(q) = dns.queries.get_mut(i) else {
                break;
            };
            if !matches!(q.state, QueryState::Pending) || now < q.deadline {
                continue;
            }
            let attempt = usize::from(q.attempts);
            if attempt >= total || src.is_none() {
                let e = match (src, q.last_error) {
                    (None, _) => DnsError::Unaddressed,
                    (_, Some(e)) => e,
                    (_, None) if n == 0 => DnsError::NoServer,
                    _ => DnsError::Timeout,
                };
                q.state = QueryState::Done(Err(e));
                bump(&mut self.stats.dns_failures);
                continue;
            }
            if attempt > 0 {
                bump(&mut self.stats.dns_retransmits);
            }
            // `n > 0` here (`total` is 0 without servers); `get` keeps it panic-free.
            let Some(&server) = attempt.checked_rem(n).and_then(|i| servers.get(i)) else {
                continue;
            };
            q.attempts += 1;
            q.server = server;
            q.deadline = now + timeout;
            let (name, id, port) = (q.name, q.id, q.port);
            let Some(src) = src else { continue };
            let query = QueryRepr {
                id,
                recursion_desired: true,
                name: &name,
                qtype: dns::rtype::A,
            };
            bump(&mut self.stats.dns_queries_tx);
            self.send_built_udp(
                (src, port),
                (server, dns::SERVER_PORT),
                query.buffer_len(),
                &mut |buf| query.emit(buf),
                now,
            );
        }
        self.dns_sync_stats();
    }

    /// Is `port` the source port of a pending query?
    pub(crate) fn dns_owns_port(&self, port: u16) -> bool {
        self.dns.as_ref().is_some_and(|d| {
            d.queries
                .iter()
                .any(|q| matches!(q.state, QueryState::Pending) && q.port == port)
        })
    }

    /// A datagram from port 53 to the port of a pending query.
    pub(crate) fn dns_input(
        &mut self,
        (src, dst): (Ipv4Addr, Ipv4Addr),
        packet: &UdpPacket<&[u8]>,
        now: Instant,
    ) {
        if !packet.verify_checksum(src, dst) {
            return bump(&mut self.stats.dns_malformed);
        }
        let (servers, n) = self.dns_server_list();
        let payload = packet.payload();
        let port = packet.dst_port();
        let Some(dns) = self.dns.as_mut() else {
            return;
        };
        let Some(q) = dns.queries.iter_mut().find(|q| {
            matches!(q.state, QueryState::Pending) && q.port == port && servers[..n].contains(&src)
        }) else {
            return bump(&mut self.stats.dns_unmatched);
        };
        let id_matches = payload.get(..2) == Some(&q.id.to_be_bytes()[..]);
        let scan = match dns::scan(payload, &q.name) {
            Ok(scan) => scan,
            Err(e) => {
                bump(match e {
                    ParseError::Truncated => &mut self.stats.dns_truncated,
                    ParseError::CountOverrun => &mut self.stats.dns_count_overrun,
                    ParseError::PointerLoop => &mut self.stats.dns_pointer_loop,
                    ParseError::ForwardPointer => &mut self.stats.dns_forward_pointer,
                    ParseError::NameTooLong => &mut self.stats.dns_name_too_long,
                    ParseError::LabelTooLong => &mut self.stats.dns_label_too_long,
                    ParseError::TruncatedFlag => &mut self.stats.dns_tc_flag,
                    ParseError::Malformed => &mut self.stats.dns_malformed,
                });
                // A rejected answer to this query: the server is of no use, try the next.
                if id_matches {
                    q.last_error = Some(if e == ParseError::TruncatedFlag {
                        DnsError::Truncated
                    } else {
                        DnsError::Malformed(e)
                    });
                    q.deadline = Instant::ZERO;
                }
                return;
            }
        };
        if !id_matches {
            return bump(&mut self.stats.dns_unmatched);
        }
        // QR set, opcode 0 (standard query).
        if scan.flags & 0xf800 != 0x8000 {
            return bump(&mut self.stats.dns_malformed);
        }
        if !scan.question_matches {
            return bump(&mut self.stats.dns_unmatched);
        }
        bump(&mut self.stats.dns_responses_rx);
        let result = match (Rcode::from((scan.flags & 0xf) as u8), scan.found) {
            (Rcode::NoError, Some((addr, ttl))) => {
                q.state = QueryState::Done(Ok(addr));
                cache_insert(dns.cache, &dns.config, &q.name, addr, ttl, now);
                self.dns_sync_stats();
                return;
            }
            (Rcode::NoError, None) => Err(DnsError::NoAddress),
            (Rcode::NxDomain, _) => {
                bump(&mut self.stats.dns_nxdomain);
                Err(DnsError::NxDomain)
            }
            _ => {
                q.last_error = Some(DnsError::ServerFailure);
                q.deadline = Instant::ZERO;
                return;
            }
        };
        q.state = QueryState::Done(result);
        self.dns_sync_stats();
    }

    fn dns_sync_stats(&mut self) {
        let Some(d) = self.dns.as_ref() else {
            return;
        };
        let now = d.now;
        let cache_used = d
            .cache
            .iter()
            .filter(|e| e.valid && now < e.expires)
            .count();
        let queries_used = d
            .queries
            .iter()
            .filter(|q| !matches!(q.state, QueryState::Free))
            .count();
        let s = &mut self.stats;
        s.dns_cache_capacity = d.cache.len() as u32;
        s.dns_queries_capacity = d.queries.len() as u32;
        gauge(
            &mut s.dns_cache_in_use,
            &mut s.dns_cache_high_water,
            cache_used,
        );
        gauge(
            &mut s.dns_queries_in_use,
            &mut s.dns_queries_high_water,
            queries_used,
        );
    }
}

#[cfg(all(test, feature = "dhcpv4"))]
mod tests {
    use crate::wire::dns::Message;
    use std::vec::Vec;

    use super::*;
    use crate::dhcpv4::tests::{Drv, OUR_MAC, SERVER, SERVER_MAC, udp_frame};
    use crate::wire::dns::test_util::response;
    use crate::wire::{EthernetAddress, EthernetFrame, Ipv4Cidr, Ipv4Packet};

    const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
    const SERVER2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
    const SERVER2_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x53]);
    const DEVICE: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

    macro_rules! setup {
        ($stack:ident, $drv:ident, $servers:expr, $queries:expr, $cache:expr) => {
            let mut packets = [0u8; 8 * 1514];
            let mut txq = [crate::PendingSlot::EMPTY; 8];
            let mut arp = [crate::ArpEntry::EMPTY; 4];
            let mut udp: [crate::UdpSlot; 0] = [];
            let storage = crate::StackStorage {
                packets: &mut packets,
                packet_size: 1514,
                tx_queue: &mut txq,
                arp: &mut arp,
                reassembly: &mut [],
                reassembly_bytes: &mut [],
                udp: &mut udp,
                tcp: crate::TcpStorage::none(),
            };
            let config = crate::StackConfig {
                ipv4: Ipv4Cidr::new(ME, 24),
                ..crate::StackConfig::default()
            };
            let mut $stack = Stack::new(config, storage, OUR_MAC);
            let mut $drv: Drv = crate::testing::FrameQueueDriver::new(OUR_MAC.0);
            let mut queries = [DnsQuerySlot::EMPTY; $queries];
            let mut cache = [DnsCacheEntry::EMPTY; $cache];
            let mut dns_config = DnsConfig::new(42);
            dns_config.servers = $servers;
            $stack.enable_dns(
                DnsStorage {
                    queries: &mut queries,
                    cache: &mut cache,
                },
                dns_config,
            );
            // Both servers are known on the link.
            $drv.inject(&arp_reply(SERVER_MAC, SERVER));
            $drv.inject(&arp_reply(SERVER2_MAC, SERVER2));
            $stack.poll(&mut $drv, Instant::ZERO);
            while $drv.take_sent().is_some() {}
        };
    }

    fn arp_reply(mac: EthernetAddress, ip: Ipv4Addr) -> Vec<u8> {
        let mut f = std::vec![0u8; 42];
        f[..6].copy_from_slice(&OUR_MAC.0);
        f[6..12].copy_from_slice(&mac.0);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        f[22..28].copy_from_slice(&mac.0);
        f[28..32].copy_from_slice(&ip.octets());
        f[32..38].copy_from_slice(&OUR_MAC.0);
        f[38..42].copy_from_slice(&ME.octets());
        f
    }

    /// A query the stack sent: (server, source port, id, name).
    fn sent_queries(drv: &mut Drv) -> Vec<(Ipv4Addr, u16, u16, Name)> {
        let mut v = Vec::new();
        while let Some(f) = drv.take_sent() {
            let eth = EthernetFrame::new_checked(&f[..]).unwrap();
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                continue;
            };
            let udp = UdpPacket::new_checked(ip.payload()).unwrap();
            assert!(udp.verify_checksum(ip.src_addr(), ip.dst_addr()));
            assert_eq!(udp.dst_port(), 53);
            assert!(udp.src_port() >= 49152);
            let m = Message::parse(udp.payload()).unwrap();
            let q = m.question().unwrap();
            assert_eq!(q.qtype, dns::rtype::A);
            v.push((ip.dst_addr(), udp.src_port(), m.header().id(), q.name));
        }
        v
    }

    fn answer(from: (EthernetAddress, Ipv4Addr), port: u16, payload: &[u8]) -> Vec<u8> {
        udp_frame((from.0, from.1, 53), (OUR_MAC, ME, port), payload)
    }

    const fn secs(s: u64) -> Instant {
        Instant::from_secs(s)
    }

    #[test]
    fn a_lookup_is_answered_then_cached_until_its_ttl_runs_out() {
        setup!(stack, drv, [Some(SERVER), None, None], 2, 4);
        let h = stack.dns_query("Device.Example").unwrap();
        assert_eq!(stack.dns_result(h), Err(DnsError::WouldBlock));
        stack.poll(&mut drv, secs(1));
        let q = sent_queries(&mut drv);
        assert_eq!(q.len(), 1);
        let (server, port, id, name) = q[0];
        assert_eq!(server, SERVER);
        assert_eq!(std::format!("{name}"), "device.example");
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id, "device.example", &[(30, DEVICE.octets())], 0),
        ));
        stack.poll(&mut drv, secs(1));
        assert_eq!(stack.dns_result(h), Ok(DEVICE));
        assert_eq!(
            stack.dns_result(h),
            Err(DnsError::InvalidHandle),
            "read once"
        );
        // Cached: no query at all.
        stack.poll(&mut drv, secs(30));
        let h = stack.dns_query("device.example").unwrap();
        assert_eq!(stack.dns_result(h), Ok(DEVICE));
        stack.poll(&mut drv, secs(30));
        assert!(sent_queries(&mut drv).is_empty());
        let s = stack.stats();
        assert_eq!(
            (s.dns_queries_tx, s.dns_responses_rx, s.dns_cache_hits),
            (1, 1, 1)
        );
        assert_eq!(s.dns_cache_in_use, 1);
        // TTL 30 s from t = 1 s: expired at 31 s.
        stack.poll(&mut drv, secs(31));
        let h = stack.dns_query("device.example").unwrap();
        assert_eq!(stack.dns_result(h), Err(DnsError::WouldBlock));
        stack.poll(&mut drv, secs(31));
        assert_eq!(sent_queries(&mut drv).len(), 1);
        assert_eq!(stack.stats().drops_total(), 0);
    }

    #[test]
    fn retries_go_round_the_servers_then_time_out() {
        setup!(stack, drv, [Some(SERVER), Some(SERVER2), None], 2, 4);
        let h = stack.dns_query("device.example").unwrap();
        let mut t = secs(0);
        let mut servers = Vec::new();
        for _ in 0..4 {
            let next = stack.poll(&mut drv, t).unwrap();
            for (s, ..) in sent_queries(&mut drv) {
                servers.push(s);
            }
            assert_eq!(next, t + Duration::from_secs(2));
            assert_eq!(stack.dns_result(h), Err(DnsError::WouldBlock));
            t = next;
        }
        assert_eq!(servers, [SERVER, SERVER2, SERVER, SERVER2]);
        stack.poll(&mut drv, t);
        assert_eq!(stack.dns_result(h), Err(DnsError::Timeout));
        let s = stack.stats();
        assert_eq!(
            (s.dns_retransmits, s.dns_failures, s.dns_queries_tx),
            (3, 1, 4)
        );
    }

    #[test]
    fn a_late_answer_from_the_first_server_still_counts() {
        setup!(stack, drv, [Some(SERVER), Some(SERVER2), None], 1, 0);
        let h = stack.dns_query("device.example").unwrap();
        stack.poll(&mut drv, secs(0));
        let (_, port, id, _) = sent_queries(&mut drv)[0];
        stack.poll(&mut drv, secs(2));
        assert_eq!(sent_queries(&mut drv)[0].0, SERVER2);
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id, "device.example", &[(30, DEVICE.octets())], 0),
        ));
        stack.poll(&mut drv, secs(2));
        assert_eq!(stack.dns_result(h), Ok(DEVICE));
    }

    #[test]
    fn nxdomain_and_nodata_are_errors_and_servfail_moves_on() {
        setup!(stack, drv, [Some(SERVER), Some(SERVER2), None], 2, 4);
        let nx = stack.dns_query("nope.example").unwrap();
        stack.poll(&mut drv, secs(0));
        let (_, port, id, _) = sent_queries(&mut drv)[0];
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id, "nope.example", &[], 3),
        ));
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.dns_result(nx), Err(DnsError::NxDomain));
        assert_eq!(stack.stats().dns_nxdomain, 1);

        let h = stack.dns_query("empty.example").unwrap();
        stack.poll(&mut drv, secs(0));
        let (_, port, id, _) = sent_queries(&mut drv)[0];
        // SERVFAIL: the next server is asked at once.
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id, "empty.example", &[], 2),
        ));
        // The answer is read in the poll's receive phase; the next poll (due at once) sends.
        assert_eq!(stack.poll(&mut drv, secs(0)), Some(secs(0)));
        stack.poll(&mut drv, secs(0));
        let q = sent_queries(&mut drv);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].0, SERVER2);
        drv.inject(&answer(
            (SERVER2_MAC, SERVER2),
            port,
            &response(id, "empty.example", &[], 0),
        ));
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.dns_result(h), Err(DnsError::NoAddress));
    }

    #[test]
    fn malformed_answers_are_counted_and_reported() {
        setup!(stack, drv, [Some(SERVER), None, None], 1, 4);
        fn base(id: u16) -> Vec<u8> {
            response(id, "device.example", &[(30, DEVICE.octets())], 0)
        }
        // The answer's owner name points forwards / at itself.
        let looped = |id: u16| {
            let mut m = base(id);
            let at = m.len() - 16;
            m[at..at + 2].copy_from_slice(&[0xc0, at as u8]);
            m
        };
        let forward = |id: u16| {
            let mut m = base(id);
            let at = m.len() - 16;
            m[at..at + 2].copy_from_slice(&[0xc0, 0xff]);
            m
        };
        let overrun = |id: u16| {
            let mut m = base(id);
            m[7] = 9;
            m
        };
        let tc = |id: u16| {
            let mut m = base(id);
            m[2] |= 0x02;
            m
        };
        let cut = |id: u16| {
            let m = base(id);
            m[..m.len() - 3].to_vec()
        };
        type Case = (fn(u16) -> Vec<u8>, fn(&crate::Stats) -> u32, DnsError);
        let table: [Case; 5] = [
            (
                looped,
                |s| s.dns_pointer_loop,
                DnsError::Malformed(ParseError::PointerLoop),
            ),
            (
                forward,
                |s| s.dns_forward_pointer,
                DnsError::Malformed(ParseError::ForwardPointer),
            ),
            (
                overrun,
                |s| s.dns_count_overrun,
                DnsError::Malformed(ParseError::CountOverrun),
            ),
            (tc, |s| s.dns_tc_flag, DnsError::Truncated),
            (
                cut,
                |s| s.dns_truncated,
                DnsError::Malformed(ParseError::Truncated),
            ),
        ];
        for (i, (build, counter, error)) in table.iter().enumerate() {
            let t = secs(10 * i as u64);
            let h = stack.dns_query("device.example").unwrap();
            // One server, two rounds: each rejected answer moves on to the next attempt at
            // once, and after the last the lookup ends with the reason.
            for _ in 0..2 {
                stack.poll(&mut drv, t);
                let (_, port, id, _) = sent_queries(&mut drv)[0];
                drv.inject(&answer((SERVER_MAC, SERVER), port, &build(id)));
                stack.poll(&mut drv, t);
            }
            stack.poll(&mut drv, t);
            assert_eq!(stack.dns_result(h), Err(*error), "case {i}");
            assert_eq!(counter(stack.stats()), 2, "case {i}");
        }
        assert_eq!(stack.stats().dns_cache_in_use, 0);
    }

    #[test]
    fn foreign_answers_are_unmatched() {
        setup!(stack, drv, [Some(SERVER), None, None], 1, 4);
        let h = stack.dns_query("device.example").unwrap();
        stack.poll(&mut drv, secs(0));
        let (_, port, id, _) = sent_queries(&mut drv)[0];
        let good = response(id, "device.example", &[(30, DEVICE.octets())], 0);
        // Wrong id, wrong server, wrong question.
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id ^ 1, "device.example", &[], 0),
        ));
        drv.inject(&answer((SERVER2_MAC, SERVER2), port, &good));
        drv.inject(&answer(
            (SERVER_MAC, SERVER),
            port,
            &response(id, "other.example", &[(30, [1, 2, 3, 4])], 0),
        ));
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.stats().dns_unmatched, 3);
        assert_eq!(stack.dns_result(h), Err(DnsError::WouldBlock));
        drv.inject(&answer((SERVER_MAC, SERVER), port, &good));
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.dns_result(h), Ok(DEVICE));
        // Once answered the port is closed: a duplicate is an ordinary datagram without socket.
        drv.inject(&answer((SERVER_MAC, SERVER), port, &good));
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.stats().udp_no_socket, 1);
    }

    #[test]
    fn query_slots_and_cache_are_bounded() {
        setup!(stack, drv, [Some(SERVER), None, None], 2, 2);
        let a = stack.dns_query("a.example").unwrap();
        let _b = stack.dns_query("b.example").unwrap();
        assert_eq!(stack.dns_query("c.example"), Err(DnsError::NoSlot));
        assert_eq!(
            stack.dns_query("a..example"),
            Err(DnsError::InvalidName(NameError::EmptyLabel))
        );
        stack.dns_cancel(a);
        assert_eq!(stack.dns_result(a), Err(DnsError::InvalidHandle));
        assert_eq!(stack.stats().dns_queries_high_water, 2);
        let _c = stack.dns_query("c.example").unwrap();
        // Cache: three names into two entries evicts the least recently used.
        let client = stack.dns.as_mut().unwrap();
        let name = |s: &str| Name::from_text(s).unwrap();
        client.cache_insert(&name("x.example"), DEVICE, 100, secs(1));
        client.cache_insert(&name("y.example"), DEVICE, 100, secs(2));
        assert!(client.cache_lookup(&name("x.example"), secs(3)).is_some());
        client.cache_insert(&name("z.example"), DEVICE, 100, secs(4));
        assert!(client.cache_lookup(&name("y.example"), secs(5)).is_none());
        assert!(client.cache_lookup(&name("x.example"), secs(5)).is_some());
        // TTL clamps: 0 is not cached; above max_ttl is cut.
        client.config.max_ttl = 10;
        client.cache_insert(&name("w.example"), DEVICE, 0, secs(6));
        assert!(client.cache_lookup(&name("w.example"), secs(6)).is_none());
        client.cache_insert(&name("v.example"), DEVICE, 1000, secs(6));
        assert!(client.cache_lookup(&name("v.example"), secs(15)).is_some());
        assert!(client.cache_lookup(&name("v.example"), secs(16)).is_none());
        // min_ttl raises short TTLs.
        client.config.min_ttl = 5;
        client.cache_insert(&name("u.example"), DEVICE, 1, secs(20));
        assert!(client.cache_lookup(&name("u.example"), secs(24)).is_some());
        // A name cached again takes its own entry, even when expired, before a free one: the
        // lookup then finds the new answer, not a stale one first.
        client.config.min_ttl = 0;
        for e in client.cache.iter_mut() {
            e.valid = false;
        }
        client.cache_insert(&name("s.example"), DEVICE, 100, secs(30));
        client.cache_insert(&name("t.example"), DEVICE, 1, secs(30));
        client.cache[0].valid = false;
        client.cache_insert(&name("t.example"), SERVER, 100, secs(40));
        assert_eq!(
            client.cache.iter().filter(|e| e.valid).count(),
            1,
            "one entry per name"
        );
        assert_eq!(
            client.cache_lookup(&name("t.example"), secs(41)),
            Some(SERVER)
        );
    }

    #[test]
    fn servers_come_from_dhcp_when_none_are_configured() {
        setup!(stack, drv, [None, None, None], 1, 1);
        assert_eq!(stack.dns_servers(), [None; 3]);
        assert_eq!(stack.dns_query("device.example"), Err(DnsError::NoServer));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Whatever a server answers (its id made right, so parsing goes past the id check),
        /// the stack neither panics nor loses track of the query.
        #[test]
        fn arbitrary_answers_never_panic(
            mut payload in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            keep_question in proptest::bool::ANY,
        ) {
            setup!(stack, drv, [Some(SERVER), None, None], 1, 2);
            let h = stack.dns_query("device.example").unwrap();
            stack.poll(&mut drv, secs(0));
            let (_, port, id, _) = sent_queries(&mut drv)[0];
            if payload.len() >= 2 {
                payload[..2].copy_from_slice(&id.to_be_bytes());
            }
            if keep_question && payload.len() >= 32 {
                let valid = response(id, "device.example", &[], 0);
                payload[2..32].copy_from_slice(&valid[2..32]);
            }
            drv.inject(&answer((SERVER_MAC, SERVER), port, &payload));
            stack.poll(&mut drv, secs(0));
            stack.poll(&mut drv, secs(0));
            let _ = stack.dns_result(h);
            for t in 1..6 {
                stack.poll(&mut drv, secs(2 * t));
            }
            proptest::prop_assert_ne!(stack.dns_result(h), Err(DnsError::WouldBlock));
        }
    }
}
