//! The ARP cache: a fixed table mapping on-link IPv4 addresses to Ethernet addresses.
//!
//! Entries age out after a lifetime; an entry that is used during its lifetime is refreshed
//! with a unicast request shortly before it expires, so a busy conversation never stalls on a
//! broadcast re-resolution. An unresolved address has a pending entry that is retried a bounded
//! number of times before it times out. The cache only keeps state; the interface turns the
//! [`ArpAction`]s it reports into ARP requests and drops.

use core::net::Ipv4Addr;

use crate::time::{Duration, Instant};
use crate::wire::EthernetAddress;

/// ARP timing knobs (part of [`crate::StackConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpConfig {
    /// How long a resolved entry is trusted.
    pub entry_lifetime: Duration,
    /// How long before expiry a used entry is re-requested.
    pub refresh_before: Duration,
    /// Interval between requests for an unresolved address.
    pub retry_interval: Duration,
    /// Requests sent for an unresolved address before its queued packets are dropped.
    pub max_requests: u8,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            entry_lifetime: Duration::from_secs(60),
            refresh_before: Duration::from_secs(5),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    /// Requests sent so far and when the next one is due.
    Pending {
        sent: u8,
        next: Instant,
    },
    /// Resolved until `expires`; `used` since the last (re)fill; `refreshing` once the refresh
    /// request went out.
    Valid {
        mac: EthernetAddress,
        expires: Instant,
        used: bool,
        refreshing: bool,
    },
}

/// One ARP cache entry (caller-provided storage; start from [`ArpEntry::EMPTY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpEntry {
    ip: Ipv4Addr,
    state: State,
}

impl ArpEntry {
    /// An unused entry.
    pub const EMPTY: ArpEntry = ArpEntry {
        ip: Ipv4Addr::UNSPECIFIED,
        state: State::Empty,
    };

    /// An unused entry (same as [`ArpEntry::EMPTY`]).
    pub const fn new() -> ArpEntry {
        ArpEntry::EMPTY
    }
}

impl Default for ArpEntry {
    fn default() -> Self {
        ArpEntry::EMPTY
    }
}

/// The result of looking an address up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Resolved.
    Found(EthernetAddress),
    /// Resolution is under way; queue the packet.
    Pending,
    /// A new pending entry was made: send the first request now and queue the packet.
    SendRequest,
    /// No entry could be made (every entry is pending): drop the packet.
    NoEntry,
}

/// Something the interface must do for the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpAction {
    /// Send an ARP request for `ip`, broadcast (`to` = None) or unicast to a known station.
    Request {
        /// Address to resolve.
        ip: Ipv4Addr,
        /// Unicast destination for a refresh.
        to: Option<EthernetAddress>,
    },
    /// Resolution of `ip` failed: drop everything waiting for it.
    Timeout {
        /// The address that never answered.
        ip: Ipv4Addr,
    },
}

/// The cache over caller-provided entries.
#[derive(Debug)]
pub struct ArpCache<'a> {
    entries: &'a mut [ArpEntry],
    config: ArpConfig,
    high_water: usize,
    /// Bumped (wrapping) by every change of an entry's address, state or lifetime, so a
    /// caller may keep a looked-up address while it is unchanged ([`ArpCache::changes`]).
    changes: u32,
}

/// Empty every entry: only the state is written (an empty entry's address is never read), one
/// byte per entry instead of a whole-entry copy.
fn forget_all(entries: &mut [ArpEntry]) {
    for e in entries {
        e.state = State::Empty;
    }
}

impl<'a> ArpCache<'a> {
    /// A cache over `entries` (all cleared).
    pub fn new(entries: &'a mut [ArpEntry], config: ArpConfig) -> Self {
        forget_all(entries);
        ArpCache {
            entries,
            config,
            high_water: 0,
            changes: 0,
        }
    }

    /// A counter that changes whenever an entry is made, resolved, refreshed, expires or is
    /// removed (expiry is noticed by [`poll`](Self::poll)): an address from
    /// [`lookup`](Self::lookup) stays right while this is unchanged, provided `poll` runs
    /// before the address is used at a new time. (Marking an entry used changes nothing an
    /// address depends on and does not count.)
    pub fn changes(&self) -> u32 {
        self.changes
    }

    fn changed(&mut self) {
        self.changes = self.changes.wrapping_add(1);
    }

    /// Number of entries.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The most entries ever in use at once.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Entries not empty.
    pub fn in_use(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| !matches!(e.state, State::Empty))
            .count()
    }

    /// Forget everything (e.g. on an address change).
    pub fn clear(&mut self) {
        forget_all(self.entries);
        self.changed();
    }

    // Out of line: one copy for `lookup` and `fill`.
    #[inline(never)]
    fn find(&mut self, ip: Ipv4Addr) -> Option<&mut ArpEntry> {
        self.entries
            .iter_mut()
            .find(|e| !matches!(e.state, State::Empty) && e.ip == ip)
    }

    /// The entry to reuse for a new address: an empty one, else an expired one, else the valid
    /// one closest to expiry. Pending entries are never evicted (packets wait on them).
    fn victim(&mut self, now: Instant) -> Option<&mut ArpEntry> {
        let mut best: Option<(usize, Instant)> = None;
        for (i, e) in self.entries.iter().enumerate() {
            match e.state {
                State::Empty => return self.entries.get_mut(i),
                State::Valid { expires, .. } => {
                    let key = if expires <= now {
                        Instant::ZERO
                    } else {
                        expires
                    };
                    if best.is_none_or(|(_, k)| key < k) {
                        best = Some((i, key));
                    }
                }
                State::Pending { .. } => {}
            }
        }
        best.and_then(|(i, _)| self.entries.get_mut(i))
    }

    /// Look `ip` up for sending a packet, starting resolution if needed.
    pub fn lookup(&mut self, ip: Ipv4Addr, now: Instant) -> Lookup {
        let retry = self.config.retry_interval;
        if let Some(e) = self.find(ip) {
            match &mut e.state {
                State::Valid {
                    mac, expires, used, ..
                } if *expires > now => {
                    *used = true;
                    return Lookup::Found(*mac);
                }
                State::Pending { .. } => return Lookup::Pending,
                _ => {
                    e.state = State::Pending {
                        sent: 1,
                        next: now + retry,
                    };
                }
            }
            self.changed();
            return Lookup::SendRequest;
        }
        match self.victim(now) {
            Some(e) => {
                *e = ArpEntry {
                    ip,
                    state: State::Pending {
                        sent: 1,
                        next: now + retry,
                    },
                };
                self.changed();
                self.high_water = self.high_water.max(self.in_use());
                Lookup::SendRequest
            }
            None => Lookup::NoEntry,
        }
    }

    /// True when `ip` has a pending entry (packets may be waiting for it).
    pub fn is_pending(&self, ip: Ipv4Addr) -> bool {
        self.entries
            .iter()
            .any(|e| e.ip == ip && matches!(e.state, State::Pending { .. }))
    }

    /// The resolved address of `ip`, without marking the entry used.
    pub fn get(&self, ip: Ipv4Addr, now: Instant) -> Option<EthernetAddress> {
        self.entries.iter().find_map(|e| match e.state {
            State::Valid { mac, expires, .. } if e.ip == ip && expires > now => Some(mac),
            _ => None,
        })
    }

    /// Record `ip` at `mac`. With `create` false, only an existing entry is updated (RFC 826's
    /// merge rule for ARP not addressed to us). Returns true if the entry was pending.
    pub fn fill(&mut self, ip: Ipv4Addr, mac: EthernetAddress, now: Instant, create: bool) -> bool {
        self.changed();
        let expires = now + self.config.entry_lifetime;
        let valid = State::Valid {
            mac,
            expires,
            used: false,
            refreshing: false,
        };
        if let Some(e) = self.find(ip) {
            let was_pending = matches!(e.state, State::Pending { .. });
            e.state = valid;
            return was_pending;
        }
        if create && let Some(e) = self.victim(now) {
            *e = ArpEntry { ip, state: valid };
        }
        false
    }

    /// The first timer that is due at `now`, applied: a retry or refresh to send, or a
    /// resolution that timed out. Call until it returns `None`. Expired entries are freed
    /// silently.
    pub fn poll(&mut self, now: Instant) -> Option<ArpAction> {
        let cfg = self.config;
        for e in self.entries.iter_mut() {
            match &mut e.state {
                State::Empty => {}
                State::Pending { sent, next } => {
                    if *next <= now {
                        self.changes = self.changes.wrapping_add(1);
                        if *sent >= cfg.max_requests {
                            let ip = e.ip;
                            *e = ArpEntry::EMPTY;
                            return Some(ArpAction::Timeout { ip });
                        }
                        *sent += 1;
                        *next = now + cfg.retry_interval;
                        return Some(ArpAction::Request { ip: e.ip, to: None });
                    }
                }
                State::Valid {
                    mac,
                    expires,
                    used,
                    refreshing,
                } => {
                    if *expires <= now {
                        *e = ArpEntry::EMPTY;
                        self.changes = self.changes.wrapping_add(1);
                    } else if *used && !*refreshing && *expires - cfg.refresh_before <= now {
                        *refreshing = true;
                        self.changes = self.changes.wrapping_add(1);
                        return Some(ArpAction::Request {
                            ip: e.ip,
                            to: Some(*mac),
                        });
                    }
                }
            }
        }
        None
    }

    /// When [`poll`](Self::poll) next has something to do (retries and refreshes; plain aging
    /// needs no wake-up because lookups check expiry).
    pub fn next_deadline(&self) -> Option<Instant> {
        let rb = self.config.refresh_before;
        self.entries
            .iter()
            .filter_map(|e| match e.state {
                State::Pending { next, .. } => Some(next),
                State::Valid {
                    expires,
                    used: true,
                    refreshing: false,
                    ..
                } => Some(expires - rb),
                _ => None,
            })
            .fold(None, crate::time::earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);
    const C: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 4);
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

    #[test]
    fn resolve_retry_timeout() {
        let mut e = [ArpEntry::EMPTY; 2];
        let mut c = ArpCache::new(&mut e, ArpConfig::default());
        let t0 = Instant::from_secs(10);
        assert_eq!(c.lookup(A, t0), Lookup::SendRequest);
        assert_eq!(c.lookup(A, t0), Lookup::Pending);
        assert_eq!(c.poll(t0), None);
        assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(c.poll(t1), Some(ArpAction::Request { ip: A, to: None }));
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(c.poll(t2), Some(ArpAction::Request { ip: A, to: None }));
        let t3 = t2 + Duration::from_secs(1);
        assert_eq!(c.poll(t3), Some(ArpAction::Timeout { ip: A }));
        assert_eq!(c.in_use(), 0);
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn changes_counts_what_an_address_depends_on() {
        let mut e = [ArpEntry::EMPTY; 2];
        let mut c = ArpCache::new(&mut e, ArpConfig::default());
        let t0 = Instant::from_secs(10);
        let mut last = c.changes();
        let mut changed = |c: &ArpCache<'_>| {
            let now = c.changes();
            let moved = now != last;
            last = now;
            moved
        };
        assert_eq!(c.lookup(A, t0), Lookup::SendRequest);
        assert!(changed(&c), "new pending entry");
        assert_eq!(c.lookup(A, t0), Lookup::Pending);
        assert!(!changed(&c));
        c.fill(A, MAC, t0, false);
        assert!(changed(&c), "resolved");
        assert_eq!(c.lookup(A, t0), Lookup::Found(MAC));
        assert!(!changed(&c), "a hit changes nothing");
        assert_eq!(c.poll(t0 + Duration::from_secs(1)), None);
        assert!(!changed(&c), "nothing due");
        let refresh = c.poll(t0 + Duration::from_secs(55));
        assert!(matches!(refresh, Some(ArpAction::Request { .. })));
        assert!(changed(&c), "refresh started");
        assert_eq!(c.poll(t0 + Duration::from_secs(60)), None);
        assert!(changed(&c), "expired");
        assert_eq!(
            c.lookup(A, t0 + Duration::from_secs(60)),
            Lookup::SendRequest
        );
        assert!(changed(&c));
        c.clear();
        assert!(changed(&c), "cleared");
    }

    #[test]
    fn fill_refresh_and_age() {
        let mut e = [ArpEntry::EMPTY; 2];
        let mut c = ArpCache::new(&mut e, ArpConfig::default());
        let t0 = Instant::from_secs(10);
        assert_eq!(c.lookup(A, t0), Lookup::SendRequest);
        assert!(c.fill(A, MAC, t0, false));
        assert_eq!(c.lookup(A, t0), Lookup::Found(MAC));
        // Used: a refresh is due 5 s before expiry.
        assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(55)));
        assert_eq!(c.poll(t0 + Duration::from_secs(54)), None);
        let tr = t0 + Duration::from_secs(55);
        assert_eq!(
            c.poll(tr),
            Some(ArpAction::Request {
                ip: A,
                to: Some(MAC)
            })
        );
        assert_eq!(c.poll(tr), None);
        // No answer: the entry expires, next lookup resolves again.
        let te = t0 + Duration::from_secs(60);
        assert_eq!(c.get(A, te), None);
        assert_eq!(c.lookup(A, te), Lookup::SendRequest);
    }

    #[test]
    fn merge_rule_and_eviction() {
        let mut e = [ArpEntry::EMPTY; 2];
        let mut c = ArpCache::new(&mut e, ArpConfig::default());
        let t0 = Instant::from_secs(1);
        assert!(!c.fill(A, MAC, t0, false));
        assert_eq!(c.get(A, t0), None);
        c.fill(A, MAC, t0, true);
        c.fill(B, MAC, t0 + Duration::from_secs(1), true);
        // Full: the entry closest to expiry (A) is replaced.
        assert_eq!(
            c.lookup(C, t0 + Duration::from_secs(2)),
            Lookup::SendRequest
        );
        assert_eq!(c.get(A, t0), None);
        assert!(c.get(B, t0).is_some());
        // A evicts B, the only valid entry; then both are pending and never evicted.
        assert_eq!(
            c.lookup(A, t0 + Duration::from_secs(2)),
            Lookup::SendRequest
        );
        assert_eq!(c.lookup(B, t0 + Duration::from_secs(2)), Lookup::NoEntry);
        let mut e1 = [ArpEntry::EMPTY; 1];
        let mut c1 = ArpCache::new(&mut e1, ArpConfig::default());
        assert_eq!(c1.lookup(A, t0), Lookup::SendRequest);
        assert_eq!(c1.lookup(B, t0), Lookup::NoEntry);
        let mut none: [ArpEntry; 0] = [];
        let mut c0 = ArpCache::new(&mut none, ArpConfig::default());
        assert_eq!(c0.lookup(A, t0), Lookup::NoEntry);
    }
}
