//! The DHCPv4 client (RFC 2131, options of RFC 2132): the interface's address, gateway and DNS
//! servers from a DHCP server.
//!
//! # Using it
//!
//! The client is optional and costs nothing until enabled: hand the stack a [`DhcpSlot`] (the
//! client's whole state, a few hundred bytes the caller owns like every other piece of stack
//! storage) with [`Stack::enable_dhcp`], then keep calling [`Stack::poll`]. The client has its
//! own port, 68, served straight from the slot: it never takes one of the application's UDP
//! sockets (`StackStorage::udp`), so an application that sizes its sockets exactly is not left
//! one short. The application learns what happened from [`Stack::dhcp_take_event`]:
//! [`DhcpEvent::Bound`] when a lease is obtained (the interface address and gateway are already
//! set), [`DhcpEvent::Renewed`] when it is extended, [`DhcpEvent::Lost`] when it expired or was
//! refused (the address is already removed; anything bound to it is dead).
//!
//! ```
//! use stack_runtime::dhcpv4::{DhcpConfig, DhcpEvent, DhcpSlot};
//! # use stack_runtime::testing::FrameQueueDriver;
//! # use stack_runtime::time::Instant;
//! # use stack_runtime::wire::EthernetAddress;
//! # use stack_runtime::{ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, UdpSlot};
//! # let mut packets = [[0u8; 1514]; 4];
//! # let mut tx_queue = [PendingSlot::EMPTY; 4];
//! # let mut arp = [ArpEntry::EMPTY; 4];
//! # let mut udp: [UdpSlot; 0] = [];
//! # let storage = StackStorage { packets: packets.as_flattened_mut(), packet_size: 1514,
//! #     tx_queue: &mut tx_queue, arp: &mut arp, reassembly: &mut [], reassembly_bytes: &mut [],
//! #     udp: &mut udp, tcp: stack_runtime::TcpStorage::none() };
//! let mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
//! let mut stack = Stack::new(StackConfig::default(), storage, mac);
//! let mut dhcp = DhcpSlot::EMPTY;
//! stack.enable_dhcp(&mut dhcp, DhcpConfig::new(0x1234).with_host_name("sensor-7"));
//! let mut driver: FrameQueueDriver = FrameQueueDriver::new(mac.0);
//! stack.poll(&mut driver, Instant::from_secs(0));
//! let discover = driver.take_sent().unwrap(); // broadcast DHCPDISCOVER from 0.0.0.0
//! assert_eq!(&discover[..6], &[0xff; 6]);
//! assert_eq!(stack.stats().dhcp_discover_tx, 1);
//! match stack.dhcp_take_event() {
//!     Some(DhcpEvent::Bound(lease)) => { /* lease.address, lease.router, lease.dns_servers */ }
//!     Some(DhcpEvent::Renewed(_)) | Some(DhcpEvent::Lost) | None => {}
//! }
//! ```
//!
//! # The state machine (RFC 2131 §4.4)
//!
//! ```text
//!  INIT ─DISCOVER─▶ SELECTING ─OFFER/REQUEST─▶ REQUESTING ─ACK─▶ BOUND ─T1─▶ RENEWING ─T2─▶ REBINDING
//!   ▲ ▲                                            │ │ACK          ▲ ▲  ◀──ACK─────┘◀──ACK────────┘│
//!   │ │                                            │ └▶ CHECKING ──┘ │  (ARP probes, optional)      │
//!   │ └── DECLINE (conflict) ──────────────────────┼────────┘        │                              │
//!   └──────────────────────────────────────────────┴─ NAK ─────────── NAK or lease expiry ──────────┘
//! ```
//!
//! * SELECTING and REQUESTING retransmit after 4, 8, 16, 32, 64, 64… seconds, each ± 1 s of
//!   jitter from a PRNG seeded by [`DhcpConfig::new`] (RFC 2131 §4.1); REQUESTING gives up after
//!   [`REQUEST_ATTEMPTS`] transmissions and starts over.
//! * At T1 the client unicasts a REQUEST to the server that granted the lease; at T2 it
//!   broadcasts one to any server. Retransmissions wait half the time left until T2 (renewing)
//!   or until expiry (rebinding), but at least [`DhcpConfig::renew_retry_min`] (RFC 2131 §4.4.5
//!   says 60 s, the default).
//! * T1 and T2 come from the server (options 58 and 59); without them, or when they are not
//!   ordered `T1 ≤ T2 ≤ lease`, they are 0.5 and 0.875 of the lease.
//! * At expiry, or on a NAK, the address is removed (`set_ipv4(None, None)`), the application
//!   gets [`DhcpEvent::Lost`], and the client starts over from INIT.
//! * Every message carries the client identifier (type 1 and the MAC, or the one configured),
//!   the host name when configured, and asks for subnet mask, router, DNS servers, lease time,
//!   T1 and T2.
//! * A NAK while requesting restarts at once; further NAKs in a row back off like
//!   retransmissions, so a confused server cannot make the client spin.
//! * With [`DhcpConfig::conflict_detection`], an acknowledged address is first probed with ARP
//!   (RFC 5227, state CHECKING): three probes from 0.0.0.0 one to two seconds apart, then two
//!   seconds of silence. Another station using or probing for the address makes the client
//!   send a DHCPDECLINE and start over ten seconds later (`dhcp_conflicts`, `dhcp_decline_tx`).
//!
//! Not implemented: INIT-REBOOT (a restarted client always begins with DISCOVER), DHCPRELEASE
//! and DHCPINFORM, and RFC 5227's defence of an address already in use (conflicts are only
//! detected before binding).
//!
//! # Receiving without an address
//!
//! Until the first ACK the interface has no address, and a server that does not honour the
//! broadcast flag unicasts its OFFER and ACK to the offered address. The interface's IPv4
//! input therefore accepts UDP datagrams for port 68 addressed to any unicast address while
//! the client is enabled and the interface has no address; the transaction id and hardware
//! address checks here then decide. Requests go out from 0.0.0.0 to 255.255.255.255 in an
//! Ethernet broadcast, without ARP.

use core::fmt;
use core::net::Ipv4Addr;

use crate::Stack;
use crate::stats::bump;
use crate::time::{Duration, Instant};
use crate::wire::dhcpv4::{self, MAX_DNS_SERVERS, MessageType, Parsed, known};
use crate::wire::{ArpOperation, ArpRepr, EthernetAddress, IpProtocol, Ipv4Cidr, UdpPacket};

/// Longest host name sent (option 12); longer names are cut.
pub const MAX_HOST_NAME: usize = 32;
/// Longest client identifier (option 61), type byte included.
pub const MAX_CLIENT_ID: usize = 16;
/// DHCPREQUESTs sent in REQUESTING before the client gives the offer up and starts over.
pub const REQUEST_ATTEMPTS: u8 = 4;
/// Events held until the application takes them; older ones are dropped first.
pub const MAX_EVENTS: usize = 4;
/// ARP probes sent for an acknowledged address before it is used (RFC 5227 `PROBE_NUM`).
pub const PROBE_COUNT: u8 = 3;
/// Wait after the last probe before the address is used (RFC 5227 `ANNOUNCE_WAIT`).
pub const ANNOUNCE_WAIT: Duration = Duration::from_secs(2);
/// Wait after a DHCPDECLINE before a new DISCOVER (RFC 2131 §3.1, step 5: at least 10 s).
pub const DECLINE_HOLD_OFF: Duration = Duration::from_secs(10);

/// Longest option list the client sends: message type, client identifier, requested
/// address, server identifier, host name, parameter request list (the end option is
/// written after them).
const MAX_CLIENT_OPTIONS: usize = 3 + (2 + MAX_CLIENT_ID) + 6 + 6 + (2 + MAX_HOST_NAME) + 8;

/// Write option `code` with `data` (at most 255 bytes) at `at` of `out`; returns the offset
/// after it.
#[inline(never)]
fn put_option(out: &mut [u8], at: usize, code: u8, data: &[u8]) -> usize {
    let end = at + 2 + data.len();
    if let Some([c, l, d @ ..]) = out.get_mut(at..end) {
        *c = code;
        *l = data.len() as u8;
        d.copy_from_slice(data);
    }
    end
}

// `dhcp_accepts` matches the client port as bytes.
const _: () = assert!(dhcpv4::CLIENT_PORT == 68);

/// The options the client asks for (option 55).
const PARAMETER_REQUEST_LIST: [u8; 6] = [
    dhcpv4::option::SUBNET_MASK,
    dhcpv4::option::ROUTER,
    dhcpv4::option::DNS_SERVERS,
    dhcpv4::option::LEASE_TIME,
    dhcpv4::option::RENEWAL_TIME,
    dhcpv4::option::REBINDING_TIME,
];

/// The client's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpConfig {
    /// Seed of the PRNG behind transaction ids and retransmission jitter. Give every device
    /// a different one (from a hardware RNG, a unique id, or the MAC and boot time), or
    /// neighbours started together retransmit in lockstep.
    pub seed: u64,
    host_name: [u8; MAX_HOST_NAME],
    host_name_len: u8,
    client_id: [u8; MAX_CLIENT_ID],
    client_id_len: u8,
    /// Set the broadcast flag in DISCOVER and REQUEST, asking the server to broadcast its
    /// replies (default false: replies unicast to the offered address are accepted too).
    pub broadcast_flag: bool,
    /// Shortest wait between REQUEST retransmissions while renewing or rebinding (default
    /// 60 s, RFC 2131 §4.4.5).
    pub renew_retry_min: Duration,
    /// Address conflict detection (RFC 5227): before using an acknowledged address, probe it
    /// with ARP ([`PROBE_COUNT`] probes 1–2 s apart, then [`ANNOUNCE_WAIT`]); if another
    /// station answers or probes for it, send a DHCPDECLINE and start over after
    /// [`DECLINE_HOLD_OFF`]. Costs 4–6 s per lease. Default off.
    pub conflict_detection: bool,
}

impl DhcpConfig {
    /// Defaults: no host name, client identifier from the MAC address, no broadcast flag.
    #[inline(never)]
    pub const fn new(seed: u64) -> DhcpConfig {
        DhcpConfig {
            seed,
            host_name: [0; MAX_HOST_NAME],
            host_name_len: 0,
            client_id: [0; MAX_CLIENT_ID],
            client_id_len: 0,
            broadcast_flag: false,
            renew_retry_min: Duration::from_secs(60),
            conflict_detection: false,
        }
    }

    /// Send `name` as host name (option 12), cut to [`MAX_HOST_NAME`] bytes.
    pub fn with_host_name(mut self, name: &str) -> DhcpConfig {
        let n = name.len().min(MAX_HOST_NAME);
        self.host_name[..n].copy_from_slice(&name.as_bytes()[..n]);
        self.host_name_len = n as u8;
        self
    }

    /// Send `id` (type byte first) as client identifier (option 61) instead of type 1 and
    /// the MAC; cut to [`MAX_CLIENT_ID`] bytes; ignored if shorter than 2 bytes.
    pub fn with_client_id(mut self, id: &[u8]) -> DhcpConfig {
        if id.len() >= 2 {
            let n = id.len().min(MAX_CLIENT_ID);
            self.client_id[..n].copy_from_slice(&id[..n]);
            self.client_id_len = n as u8;
        }
        self
    }

    /// The configured host name.
    pub fn host_name(&self) -> Option<&[u8]> {
        (self.host_name_len > 0).then(|| &self.host_name[..usize::from(self.host_name_len)])
    }
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig::new(0)
    }
}

/// Where the client is in RFC 2131's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhcpState {
    /// About to send a DISCOVER.
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST for an offer sent, waiting for the ACK.
    Requesting,
    /// ACK received; probing the address with ARP before using it (RFC 5227, when
    /// [`DhcpConfig::conflict_detection`] is on).
    Checking,
    /// Holding a lease.
    Bound,
    /// Past T1: unicasting REQUESTs to the lease's server.
    Renewing,
    /// Past T2: broadcasting REQUESTs to any server.
    Rebinding,
}

impl fmt::Display for DhcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DhcpState::Init => "INIT",
            DhcpState::Selecting => "SELECTING",
            DhcpState::Requesting => "REQUESTING",
            DhcpState::Checking => "CHECKING",
            DhcpState::Bound => "BOUND",
            DhcpState::Renewing => "RENEWING",
            DhcpState::Rebinding => "REBINDING",
        })
    }
}

/// A lease: what the server granted and when it runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpLease {
    /// The address and prefix (from the subnet mask; classful when the server sent none).
    pub address: Ipv4Cidr,
    /// The default gateway (first router), if any.
    pub router: Option<Ipv4Addr>,
    /// DNS servers, in order; `None` after the last.
    pub dns_servers: [Option<Ipv4Addr>; MAX_DNS_SERVERS],
    /// The server that granted the lease (option 54).
    pub server: Ipv4Addr,
    /// Lease length as granted.
    pub duration: Duration,
    /// When the last ACK arrived.
    pub obtained_at: Instant,
    /// T1: when renewing starts.
    pub renew_at: Instant,
    /// T2: when rebinding starts.
    pub rebind_at: Instant,
    /// When the address must be dropped.
    pub expires_at: Instant,
}

/// What the application is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpEvent {
    /// A new lease; the interface address and gateway are set from it.
    Bound(DhcpLease),
    /// The lease was extended (timers moved; address unchanged).
    Renewed(DhcpLease),
    /// The lease expired or a server refused it: the address is removed.
    Lost,
}

/// The DHCP client's storage: its whole state. Hand it to [`Stack::enable_dhcp`]. Start from
/// [`DhcpSlot::EMPTY`] (usable in a `static`).
#[derive(Debug, Clone)]
pub struct DhcpSlot {
    config: DhcpConfig,
    state: DhcpState,
    rng: u64,
    xid: u32,
    /// When the current transaction began (for `secs`).
    started: Instant,
    /// Next transmission (retransmission or first message in INIT).
    retry_at: Instant,
    /// Transmissions in the current state.
    attempts: u8,
    /// The offer being requested: (address, server).
    offer: Option<(Ipv4Addr, Ipv4Addr)>,
    lease: Option<DhcpLease>,
    /// The acknowledged lease being probed (CHECKING).
    checking: Option<DhcpLease>,
    /// NAKs in a row (restarts after the first are delayed, so a confused server cannot make
    /// the client spin).
    naks: u8,
    events: [Option<DhcpEvent>; MAX_EVENTS],
}

impl DhcpSlot {
    /// A client slot before [`Stack::enable_dhcp`].
    pub const EMPTY: DhcpSlot = DhcpSlot {
        config: DhcpConfig::new(0),
        state: DhcpState::Init,
        rng: 0,
        xid: 0,
        started: Instant::ZERO,
        retry_at: Instant::ZERO,
        attempts: 0,
        offer: None,
        lease: None,
        checking: None,
        naks: 0,
        events: [None; MAX_EVENTS],
    };

    /// The client's state.
    pub fn state(&self) -> DhcpState {
        self.state
    }

    /// The current lease, if bound (or renewing, rebinding).
    pub fn lease(&self) -> Option<DhcpLease> {
        self.lease
    }

    /// The high half of the next SplitMix64 output: tiny, and good enough for ids and jitter
    /// (not for secrets). Out of line: the 64-bit multiplications are long on a 32-bit MCU.
    #[inline(never)]
    fn next_random(&mut self) -> u32 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 32) as u32
    }

    /// RFC 2131 §4.1: 4 s before the first retransmission, doubling up to 64 s, ± 1 s.
    fn backoff(&mut self, attempt: u8) -> Duration {
        let base_ms = 4000u32 << attempt.min(4);
        // 32-bit modulo: a hardware division, where a 64-bit one calls a library routine.
        let jitter = self.next_random() % 2001;
        Duration::from_millis(u64::from(base_ms + jitter - 1000))
    }

    fn push_event(&mut self, e: DhcpEvent) {
        // When full, the oldest event is dropped to make room at the end.
        let free = match self.events.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.shift_events();
                MAX_EVENTS - 1
            }
        };
        if let Some(slot) = self.events.get_mut(free) {
            *slot = Some(e);
        }
    }

    fn take_event(&mut self) -> Option<DhcpEvent> {
        let e = self.events[0].take();
        self.shift_events();
        e
    }

    /// Every event moves one place towards the front (the first slot's is dropped, the last
    /// slot is left empty). Moves one by one: `rotate_left` was the last user of
    /// compiler_builtins' 1.5 KB `memmove` in the firmware.
    fn shift_events(&mut self) {
        let mut next = None;
        for slot in self.events.iter_mut().rev() {
            next = core::mem::replace(slot, next);
        }
    }

    /// Back to INIT: the next DISCOVER goes out at `now`.
    #[inline(never)]
    fn restart(&mut self, now: Instant) {
        self.state = DhcpState::Init;
        self.retry_at = now;
        self.attempts = 0;
        self.offer = None;
        self.checking = None;
    }

    /// Milliseconds in `0..n`, from the PRNG.
    fn random_ms(&mut self, n: u32) -> Duration {
        Duration::from_millis(u64::from(self.next_random() % n.max(1)))
    }

    /// When the client next needs a poll.
    fn deadline(&self) -> Instant {
        let Some(l) = self.lease.as_ref() else {
            return self.retry_at;
        };
        // A lease is only held bound, renewing or rebinding.
        let next = match self.state {
            DhcpState::Bound => l.renew_at,
            DhcpState::Renewing => self.retry_at.min(l.rebind_at),
            _ => self.retry_at,
        };
        next.min(l.expires_at)
    }
}

impl Default for DhcpSlot {
    fn default() -> Self {
        DhcpSlot::EMPTY
    }
}

/// The prefix length of a contiguous netmask.
fn prefix_of(mask: Ipv4Addr) -> Option<u8> {
    let bits = mask.to_bits();
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// The classful prefix of `addr`, for servers that send no subnet mask.
fn classful_prefix(addr: Ipv4Addr) -> u8 {
    match addr.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

impl<'a> Stack<'a> {
    /// Start the DHCP client with its storage `slot`: the next poll broadcasts a DISCOVER.
    /// The client owns the interface address from now on (it is replaced by the lease, and
    /// removed when the lease is lost). Enabling again restarts the client.
    pub fn enable_dhcp(&mut self, slot: &'a mut DhcpSlot, config: DhcpConfig) {
        *slot = DhcpSlot::EMPTY;
        slot.config = config;
        let mac = self.mac.0;
        if config.client_id_len == 0 {
            // Type 1 (Ethernet) and the MAC.
            slot.config.client_id_len = 7;
            if let Some(id) = slot.config.client_id.first_chunk_mut::<7>() {
                *id = [1, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]];
            }
        }
        // Mix the MAC in, so devices configured with the same seed still differ.
        let mac_bits = u64::from_be_bytes([0, 0, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]]);
        slot.rng = config.seed ^ mac_bits.rotate_left(17);
        slot.restart(Instant::ZERO);
        self.dhcp = Some(slot);
    }

    /// The DHCP client's state, `None` when it is not enabled.
    pub fn dhcp_state(&self) -> Option<DhcpState> {
        self.dhcp.as_ref().map(|d| d.state)
    }

    /// The current DHCP lease, if any.
    pub fn dhcp_lease(&self) -> Option<DhcpLease> {
        self.dhcp.as_ref().and_then(|d| d.lease)
    }

    /// The DNS servers of the current lease (without copying the whole lease).
    #[cfg(feature = "dns")]
    pub(crate) fn dhcp_dns_servers(&self) -> Option<&[Option<Ipv4Addr>; MAX_DNS_SERVERS]> {
        Some(&self.dhcp.as_ref()?.lease.as_ref()?.dns_servers)
    }

    /// The oldest DHCP event the application has not taken yet.
    pub fn dhcp_take_event(&mut self) -> Option<DhcpEvent> {
        self.dhcp.as_mut().and_then(|d| d.take_event())
    }

    /// When the DHCP client next needs a poll.
    pub(crate) fn dhcp_deadline(&self) -> Option<Instant> {
        self.dhcp.as_ref().map(|d| d.deadline())
    }

    /// Should an IPv4 packet for `dst`, which is not one of our addresses, be accepted for the
    /// DHCP client? Yes for UDP to port 68 while the client runs and the interface has no
    /// address (a server's unicast reply to the offered address). `ip_payload` is the IPv4
    /// payload.
    pub(crate) fn dhcp_accepts(
        &self,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        ip_payload: &[u8],
    ) -> bool {
        self.dhcp.is_some()
            && self.config.ipv4.is_none()
            && protocol == IpProtocol::Udp
            && !dst.is_unspecified()
            // The UDP destination port, `CLIENT_PORT` (a pattern: no slice comparison call).
            && matches!(ip_payload, [_, _, 0, 68, ..])
    }

    /// Run the client's timers.
    pub(crate) fn dhcp_poll(&mut self, now: Instant) {
        let Some(d) = self.dhcp.as_deref_mut() else {
            return;
        };
        if d.lease.as_ref().is_some_and(|l| now >= l.expires_at) {
            return self.dhcp_lose(now);
        }
        let stats = &mut self.stats;
        match d.state {
            DhcpState::Init => {
                if now < d.retry_at {
                    return;
                }
                d.xid = d.next_random();
                d.started = now;
                d.state = DhcpState::Selecting;
                d.attempts = 0;
            }
            DhcpState::Checking => {
                if now < d.retry_at {
                    return;
                }
                let Some(candidate) = d.checking.as_ref().map(|l| l.address.address) else {
                    return d.restart(now);
                };
                if d.attempts >= PROBE_COUNT {
                    // No station claimed the address.
                    return self.dhcp_bind(false);
                }
                d.attempts += 1;
                d.retry_at = if d.attempts < PROBE_COUNT {
                    now + Duration::from_secs(1) + d.random_ms(1000)
                } else {
                    now + ANNOUNCE_WAIT
                };
                return self.dhcp_send_probe(candidate);
            }
            DhcpState::Bound | DhcpState::Renewing => {
                let Some((renew_at, rebind_at)) =
                    d.lease.as_ref().map(|l| (l.renew_at, l.rebind_at))
                else {
                    return d.restart(now);
                };
                if d.state == DhcpState::Bound {
                    if now < renew_at {
                        return;
                    }
                    d.state = DhcpState::Renewing;
                    d.started = now;
                    bump(&mut stats.dhcp_renewing);
                } else if now >= rebind_at {
                    d.state = DhcpState::Rebinding;
                    bump(&mut stats.dhcp_rebinding);
                } else if now >= d.retry_at {
                    bump(&mut stats.dhcp_retransmits);
                    return self.dhcp_transmit(now);
                } else {
                    return;
                }
                // A new transaction.
                d.attempts = 0;
                d.xid = d.next_random();
            }
            // Selecting, Requesting, Rebinding: retransmit when due.
            _ => {
                if now < d.retry_at {
                    return;
                }
                if d.state == DhcpState::Requesting && d.attempts >= REQUEST_ATTEMPTS {
                    d.restart(now);
                    return self.dhcp_poll(now);
                }
                bump(&mut stats.dhcp_retransmits);
            }
        }
        self.dhcp_transmit(now);
    }

    /// Send the message of the current state (DISCOVER when selecting, REQUEST when
    /// requesting, renewing or rebinding) and schedule its retransmission.
    #[inline(never)]
    fn dhcp_transmit(&mut self, now: Instant) {
        let Some(d) = self.dhcp.as_deref_mut() else {
            return;
        };
        let attempt = d.attempts;
        d.attempts = d.attempts.saturating_add(1);
        let (kind, ask, ciaddr, dst, wait) = match (d.state, d.lease.as_ref()) {
            (DhcpState::Selecting, _) => {
                (MessageType::Discover, None, None, Ipv4Addr::BROADCAST, None)
            }
            (DhcpState::Requesting, _) => (
                MessageType::Request,
                d.offer,
                None,
                Ipv4Addr::BROADCAST,
                None,
            ),
            (state, Some(l)) => {
                // Half the time left until the next stage, at least the configured minimum.
                let unicast = state == DhcpState::Renewing;
                let until = if unicast { l.rebind_at } else { l.expires_at };
                let half = Duration::from_micros((until - now).total_micros() / 2);
                let dst = if unicast {
                    l.server
                } else {
                    Ipv4Addr::BROADCAST
                };
                let wait = half.max(d.config.renew_retry_min);
                (
                    MessageType::Request,
                    None,
                    Some(l.address.address),
                    dst,
                    Some(wait),
                )
            }
            _ => return,
        };
        d.retry_at = now + wait.unwrap_or_else(|| d.backoff(attempt));
        if kind == MessageType::Discover {
            bump(&mut self.stats.dhcp_discover_tx);
        } else if ask.is_some() || ciaddr.is_some() {
            bump(&mut self.stats.dhcp_request_tx);
        } else {
            return;
        }
        self.dhcp_send(kind, ask, ciaddr, dst, now);
    }

    /// Send a client message of `kind` from port 68 to port 67 of `dst`: from `ciaddr` (and
    /// with it in `ciaddr`) when renewing or rebinding, else from 0.0.0.0 with the configured
    /// broadcast flag (none in a DECLINE); `ask` is (requested address, server identifier).
    /// Every message carries the client identifier; all but a DECLINE the host name and the
    /// parameter request list.
    #[inline(never)]
    fn dhcp_send(
        &mut self,
        kind: MessageType,
        ask: Option<(Ipv4Addr, Ipv4Addr)>,
        ciaddr: Option<Ipv4Addr>,
        dst: Ipv4Addr,
        now: Instant,
    ) {
        let mac = self.mac;
        let Some(d) = self.dhcp.as_deref() else {
            return;
        };
        let decline = kind == MessageType::Decline;
        let mut opts = [0u8; MAX_CLIENT_OPTIONS];
        let mut n = put_option(&mut opts, 0, dhcpv4::option::MESSAGE_TYPE, &[kind.to_u8()]);
        let client_id = &d.config.client_id;
        let id_len = usize::from(d.config.client_id_len);
        n = put_option(
            &mut opts,
            n,
            dhcpv4::option::CLIENT_ID,
            client_id.get(..id_len).unwrap_or(&[]),
        );
        if let Some((addr, server)) = ask {
            n = put_option(&mut opts, n, dhcpv4::option::REQUESTED_IP, &addr.octets());
            n = put_option(&mut opts, n, dhcpv4::option::SERVER_ID, &server.octets());
        }
        if !decline {
            let host = d
                .config
                .host_name
                .get(..usize::from(d.config.host_name_len))
                .unwrap_or(&[]);
            if !host.is_empty() {
                n = put_option(&mut opts, n, dhcpv4::option::HOST_NAME, host);
            }
            n = put_option(
                &mut opts,
                n,
                dhcpv4::option::PARAMETER_REQUEST_LIST,
                &PARAMETER_REQUEST_LIST,
            );
        }
        let opts = opts.get(..n).unwrap_or(&[]);
        let secs = if decline {
            0
        } else {
            (now - d.started).total_secs().min(u64::from(u16::MAX)) as u16
        };
        let flags = if ciaddr.is_none() && !decline && d.config.broadcast_flag {
            0x80
        } else {
            0
        };
        let [x0, x1, x2, x3] = d.xid.to_be_bytes();
        let [s0, s1] = secs.to_be_bytes();
        let src = ciaddr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let [c0, c1, c2, c3] = src.octets();
        let [m0, m1, m2, m3, m4, m5] = mac.0;
        // BOOTREQUEST, Ethernet, 6-byte addresses, no hops, xid, secs, flags, ciaddr, no
        // yiaddr, siaddr or giaddr, chaddr. Whole-array stores: slice copies stay calls at
        // opt-level "z".
        let fixed = [
            1, 1, 6, 0, x0, x1, x2, x3, s0, s1, flags, 0, c0, c1, c2, c3, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, m0, m1, m2, m3, m4, m5,
        ];
        self.send_built_udp(
            (src, dhcpv4::CLIENT_PORT),
            (dst, dhcpv4::SERVER_PORT),
            (dhcpv4::HEADER_LEN + opts.len() + 1).max(dhcpv4::MIN_MESSAGE_LEN),
            &mut |buf| {
                buf.fill(0);
                // The fixed part as an array: constant offsets, no bounds checks.
                if let Some((h, rest)) = buf.split_first_chunk_mut::<{ dhcpv4::HEADER_LEN }>() {
                    if let Some(f) = h.first_chunk_mut::<34>() {
                        *f = fixed;
                    }
                    if let Some(cookie) = h.last_chunk_mut::<4>() {
                        *cookie = dhcpv4::MAGIC_COOKIE;
                    }
                    if let Some(o) = rest.get_mut(..opts.len()) {
                        o.copy_from_slice(opts);
                    }
                    if let Some(end) = rest.get_mut(opts.len()) {
                        *end = dhcpv4::option::END;
                    }
                }
            },
            now,
        );
    }

    /// A datagram for port 68.
    pub(crate) fn dhcp_input(
        &mut self,
        (src, dst): (Ipv4Addr, Ipv4Addr),
        packet: &UdpPacket<&[u8]>,
        now: Instant,
    ) {
        let parsed = if packet.verify_checksum(src, dst) {
            Parsed::parse(packet.payload())
        } else {
            Err(crate::wire::Error::Malformed)
        };
        let Ok(m) = parsed else {
            return bump(&mut self.stats.dhcp_malformed);
        };
        if packet.src_port() != dhcpv4::SERVER_PORT || self.dhcp_reply(&m, now).is_none() {
            bump(&mut self.stats.dhcp_ignored);
        }
    }

    /// A parsed server reply; `None` when it is not for us now (counted as ignored).
    fn dhcp_reply(&mut self, m: &Parsed<'_>, now: Instant) -> Option<()> {
        let mac = self.mac;
        let d = self.dhcp.as_deref_mut()?;
        if m.transaction_id() != d.xid || !m.is_for(mac) {
            return None;
        }
        let server_id = m.addr(known::SERVER_ID);
        let yiaddr = m.your_ip();
        match (d.state, m.message_type) {
            (DhcpState::Selecting, MessageType::Offer) => {
                let usable = !yiaddr.is_unspecified()
                    && !yiaddr.is_broadcast()
                    && !yiaddr.is_multicast()
                    && !yiaddr.is_loopback();
                let server = server_id.filter(|_| usable)?;
                bump(&mut self.stats.dhcp_offer_rx);
                d.offer = Some((yiaddr, server));
                d.state = DhcpState::Requesting;
                d.attempts = 0;
                self.dhcp_transmit(now);
            }
            (
                DhcpState::Requesting | DhcpState::Renewing | DhcpState::Rebinding,
                MessageType::Ack,
            ) => {
                let requesting = d.state == DhcpState::Requesting;
                // The offer's address and server when requesting, the lease's when extending.
                let (addr, server, old) = match (requesting, d.offer, d.lease.as_ref()) {
                    (true, Some((addr, server)), _) => (addr, server, None),
                    (false, _, Some(l)) => (l.address.address, l.server, Some(l.address)),
                    _ => return None,
                };
                if requesting && (yiaddr != addr || server_id.is_some_and(|s| s != server)) {
                    return None;
                }
                d.checking = lease_from(m, server_id.unwrap_or(server), now);
                d.checking.as_ref()?;
                bump(&mut self.stats.dhcp_ack_rx);
                d.offer = None;
                d.naks = 0;
                if requesting && d.config.conflict_detection {
                    // RFC 5227 §2.1.1: the first probe after a random delay of up to 1 s.
                    d.state = DhcpState::Checking;
                    d.attempts = 0;
                    d.retry_at = now + d.random_ms(1000);
                    return Some(());
                }
                let renewed = old.is_some() && d.checking.as_ref().map(|l| l.address) == old;
                if renewed {
                    bump(&mut self.stats.dhcp_renewed);
                } else if !requesting {
                    // A server may hand out another address when rebinding.
                    d.push_event(DhcpEvent::Lost);
                }
                self.dhcp_bind(renewed);
            }
            (DhcpState::Requesting, MessageType::Nak) => {
                let from_our_server = match (d.offer, server_id) {
                    (Some((_, s)), Some(id)) => s == id,
                    _ => true,
                };
                if !from_our_server {
                    return None;
                }
                bump(&mut self.stats.dhcp_nak_rx);
                d.restart(now);
                d.naks = d.naks.saturating_add(1);
                if d.naks > 1 {
                    // A second NAK in a row: back off as for retransmissions.
                    d.retry_at = now + d.backoff(d.naks - 2);
                }
                self.dhcp_poll(now);
            }
            (DhcpState::Renewing | DhcpState::Rebinding, MessageType::Nak) => {
                bump(&mut self.stats.dhcp_nak_rx);
                self.dhcp_lose(now);
            }
            _ => return None,
        }
        Some(())
    }

    /// Use the acknowledged lease (held in `checking`): set the interface address, tell the
    /// application (`renewed`: the address is the one already in use).
    fn dhcp_bind(&mut self, renewed: bool) {
        let Some(d) = self.dhcp.as_deref_mut() else {
            return;
        };
        let Some(lease) = d.checking.take() else {
            return;
        };
        d.state = DhcpState::Bound;
        d.lease = Some(lease);
        if !renewed {
            bump(&mut self.stats.dhcp_bound);
        }
        d.push_event(if renewed {
            DhcpEvent::Renewed(lease)
        } else {
            DhcpEvent::Bound(lease)
        });
        self.set_ipv4(Some(lease.address), lease.router);
    }

    /// RFC 5227 ARP probe for `candidate`: sender address 0.0.0.0, so no station learns it.
    fn dhcp_send_probe(&mut self, candidate: Ipv4Addr) {
        self.send_arp_request_from(Ipv4Addr::UNSPECIFIED, candidate, EthernetAddress::BROADCAST);
    }

    /// An ARP packet arrived: while probing, is it another station using or probing for the
    /// address we were offered? Then decline the address and start over later (true: the
    /// packet is consumed and counted in `dhcp_conflicts`).
    pub(crate) fn dhcp_arp_conflict(&mut self, arp: &ArpRepr, now: Instant) -> bool {
        let mac = self.mac;
        let Some(d) = self.dhcp.as_deref_mut() else {
            return false;
        };
        let Some(lease) = d
            .checking
            .as_ref()
            .filter(|_| d.state == DhcpState::Checking)
        else {
            return false;
        };
        let candidate = lease.address.address;
        let uses_it = arp.source_protocol_addr == candidate;
        let probes_it = arp.source_protocol_addr.is_unspecified()
            && arp.operation == ArpOperation::Request
            && arp.target_protocol_addr == candidate;
        if arp.source_hardware_addr == mac || !(uses_it || probes_it) {
            return false;
        }
        bump(&mut self.stats.dhcp_conflicts);
        let ask = Some((candidate, lease.server));
        d.restart(now + DECLINE_HOLD_OFF);
        bump(&mut self.stats.dhcp_decline_tx);
        self.dhcp_send(MessageType::Decline, ask, None, Ipv4Addr::BROADCAST, now);
        true
    }

    /// The lease is gone: remove the address, tell the application, start over.
    fn dhcp_lose(&mut self, now: Instant) {
        let Some(d) = self.dhcp.as_deref_mut() else {
            return;
        };
        if d.lease.take().is_some() {
            d.push_event(DhcpEvent::Lost);
            bump(&mut self.stats.dhcp_lost);
            self.set_ipv4(None, None);
        }
        if let Some(d) = self.dhcp.as_deref_mut() {
            d.restart(now);
        }
        self.dhcp_poll(now);
    }

    /// Refuse binding port 68 to an application socket while the client runs.
    pub(crate) fn dhcp_owns_port(&self, port: u16) -> bool {
        self.dhcp.is_some() && port == dhcpv4::CLIENT_PORT
    }
}

/// The lease an ACK grants, or `None` when it lacks an address or a lease time.
#[inline(never)]
fn lease_from(m: &Parsed<'_>, server: Ipv4Addr, now: Instant) -> Option<DhcpLease> {
    let addr = m.your_ip();
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return None;
    }
    let secs = m.secs(known::LEASE_TIME)?;
    let prefix = match m.addr(known::SUBNET_MASK) {
        Some(mask) => prefix_of(mask)?,
        None => classful_prefix(addr),
    };
    let address = Ipv4Cidr::new(addr, prefix)?;
    // Seconds stay 32-bit: a 32-bit by 32-bit multiplication makes the microseconds, where
    // `Duration::from_secs` needs a saturating 64-bit one.
    let lease = secs;
    // T1 ≤ T2 ≤ lease, or the defaults 0.5 and 0.875 of the lease (RFC 2131 §4.4.5).
    let default_t1 = lease / 2;
    let default_t2 = (u64::from(lease) * 7 / 8) as u32;
    let (t1, t2) = match (m.secs(known::RENEWAL_TIME), m.secs(known::REBINDING_TIME)) {
        (Some(a), Some(b)) if a <= b && b <= lease => (a, b),
        (Some(a), None) if a <= default_t2 => (a, default_t2),
        (None, Some(b)) if b <= lease && default_t1 <= b => (default_t1, b),
        _ => (default_t1, default_t2),
    };
    let span = |s: u32| Duration::from_micros(u64::from(s) * 1_000_000);
    let at = |s: u32| {
        if secs == u32::MAX {
            Instant::from_micros(u64::MAX)
        } else {
            now + span(s)
        }
    };
    let router = m
        .addr(known::ROUTER)
        .filter(|r| !r.is_unspecified() && *r != addr);
    Some(DhcpLease {
        address,
        router,
        dns_servers: m.dns_servers(),
        server,
        duration: span(lease),
        obtained_at: now,
        renew_at: at(t1),
        rebind_at: at(t2),
        expires_at: at(lease),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    //! The client segment by segment through the in-memory driver: every message it sends is
    //! parsed back, every server message is built here.

    use std::vec::Vec;

    use super::*;
    use crate::testing::FrameQueueDriver;
    use crate::udp::UdpError;
    use crate::wire::dhcpv4::{Packet as DhcpPacket, Repr};
    use crate::wire::{EtherType, EthernetAddress, EthernetFrame, Ipv4Packet, Ipv4Repr, UdpRepr};

    pub(crate) const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
    pub(crate) const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
    pub(crate) const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    pub(crate) const OFFERED: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

    pub(crate) type Drv = FrameQueueDriver<32, 1514>;

    /// Declare storage arrays and a stack without address over them, plus a driver.
    macro_rules! setup {
        ($stack:ident, $drv:ident) => {
            let mut packets = [0u8; 8 * 1514];
            let mut txq = [crate::PendingSlot::EMPTY; 8];
            let mut arp = [crate::ArpEntry::EMPTY; 4];
            let mut udp = [crate::UdpSlot::new(2048, 2048)];
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
            #[allow(unused_mut)]
            let mut $stack = Stack::new(
                crate::StackConfig::default(),
                storage,
                crate::dhcpv4::tests::OUR_MAC,
            );
            #[allow(unused_mut)]
            let mut $drv: crate::dhcpv4::tests::Drv =
                crate::testing::FrameQueueDriver::new(crate::dhcpv4::tests::OUR_MAC.0);
        };
    }
    #[allow(unused_imports)]
    pub(crate) use setup;

    /// An Ethernet/IPv4/UDP frame.
    pub(crate) fn udp_frame(
        (src_mac, src, sport): (EthernetAddress, Ipv4Addr, u16),
        (dst_mac, dst, dport): (EthernetAddress, Ipv4Addr, u16),
        payload: &[u8],
    ) -> Vec<u8> {
        let udp = UdpRepr {
            src_port: sport,
            dst_port: dport,
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Udp,
            payload_len: udp.buffer_len(payload.len()),
            hop_limit: 64,
        };
        let mut frame = std::vec![0u8; 14 + 20 + ip.payload_len];
        let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.set_dst_addr(dst_mac);
        eth.set_src_addr(src_mac);
        eth.set_ethertype(EtherType::Ipv4);
        let mut p = Ipv4Packet::new_unchecked(&mut frame[14..]);
        ip.emit(&mut p, 1);
        udp.emit(
            &mut UdpPacket::new_unchecked(&mut frame[34..]),
            src,
            dst,
            payload,
        );
        frame
    }

    /// What the tests check of a DHCP message the stack sent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct Sent {
        pub(crate) eth_dst: EthernetAddress,
        pub(crate) src: Ipv4Addr,
        pub(crate) dst: Ipv4Addr,
        pub(crate) kind: MessageType,
        pub(crate) xid: u32,
        pub(crate) ciaddr: Ipv4Addr,
        pub(crate) requested: Option<Ipv4Addr>,
        pub(crate) server_id: Option<Ipv4Addr>,
        pub(crate) has_client_id: bool,
        pub(crate) host_name: Option<[u8; 8]>,
    }

    /// Parse a frame the stack sent as a DHCP client message (`None` for anything else).
    pub(crate) fn parse_sent(frame: &[u8]) -> Option<Sent> {
        let eth = EthernetFrame::new_checked(frame).ok()?;
        if eth.ethertype() != EtherType::Ipv4 {
            return None;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
        let udp = UdpPacket::new_checked(ip.payload()).ok()?;
        assert!(udp.verify_checksum(ip.src_addr(), ip.dst_addr()));
        if udp.dst_port() != dhcpv4::SERVER_PORT {
            return None;
        }
        assert_eq!(udp.src_port(), dhcpv4::CLIENT_PORT);
        let view = DhcpPacket::new_checked(udp.payload()).ok()?;
        let r = Repr::parse(&view).ok()?;
        Some(Sent {
            eth_dst: eth.dst_addr(),
            src: ip.src_addr(),
            dst: ip.dst_addr(),
            kind: r.message_type,
            xid: r.transaction_id,
            ciaddr: r.client_ip,
            requested: r.requested_ip,
            server_id: r.server_identifier,
            has_client_id: r.client_identifier == Some(&[1, 2, 0, 0, 0, 0, 2][..]),
            host_name: r.host_name.and_then(|h| {
                let mut b = [0u8; 8];
                (h.len() <= 8).then(|| {
                    b[..h.len()].copy_from_slice(h);
                    b
                })
            }),
        })
    }

    /// Every DHCP message sent so far (other frames are dropped).
    pub(crate) fn drain(drv: &mut Drv) -> Vec<Sent> {
        let mut v = Vec::new();
        while let Some(f) = drv.take_sent() {
            if let Some(s) = parse_sent(&f) {
                v.push(s);
            }
        }
        v
    }

    /// A server reply of `kind` for `xid`, with a 120 s lease, T1 60 s, T2 105 s, unicast to
    /// the offered address.
    pub(crate) fn reply(kind: MessageType, xid: u32, t1_t2: Option<(u32, u32)>) -> Vec<u8> {
        let mut r = Repr::new(kind, xid, OUR_MAC);
        if kind != MessageType::Nak {
            r.your_ip = OFFERED;
            r.subnet_mask = Some(Ipv4Addr::new(255, 255, 255, 0));
            r.router = Some(SERVER);
            r.dns_servers[0] = Some(SERVER);
            r.lease_duration = Some(120);
            if let Some((t1, t2)) = t1_t2 {
                r.renew_duration = Some(t1);
                r.rebind_duration = Some(t2);
            }
        }
        r.server_identifier = Some(SERVER);
        let mut payload = std::vec![0u8; r.buffer_len()];
        r.emit(&mut DhcpPacket::new_unchecked(&mut payload[..]));
        let dst = if kind == MessageType::Nak {
            Ipv4Addr::BROADCAST
        } else {
            OFFERED
        };
        let dst_mac = if kind == MessageType::Nak {
            EthernetAddress::BROADCAST
        } else {
            OUR_MAC
        };
        udp_frame(
            (SERVER_MAC, SERVER, dhcpv4::SERVER_PORT),
            (dst_mac, dst, dhcpv4::CLIENT_PORT),
            &payload,
        )
    }

    /// An ARP reply from the server to us (resolves the server for unicast renewals).
    pub(crate) fn arp_reply_from_server() -> Vec<u8> {
        let mut f = std::vec![0u8; 42];
        f[..6].copy_from_slice(&OUR_MAC.0);
        f[6..12].copy_from_slice(&SERVER_MAC.0);
        f[12..14].copy_from_slice(&[0x08, 0x06]);
        f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        f[22..28].copy_from_slice(&SERVER_MAC.0);
        f[28..32].copy_from_slice(&SERVER.octets());
        f[32..38].copy_from_slice(&OUR_MAC.0);
        f[38..42].copy_from_slice(&OFFERED.octets());
        f
    }

    pub(crate) const fn secs(s: u64) -> Instant {
        Instant::from_secs(s)
    }

    /// Discover, offer, request, ack at t = 0 s; returns the xid.
    pub(crate) fn bind(stack: &mut Stack<'_>, drv: &mut Drv, t1_t2: Option<(u32, u32)>) -> u32 {
        stack.poll(drv, secs(0));
        let d = drain(drv);
        assert_eq!(d.len(), 1);
        let discover = d[0];
        assert_eq!(discover.kind, MessageType::Discover);
        assert_eq!(discover.eth_dst, EthernetAddress::BROADCAST);
        assert_eq!(
            (discover.src, discover.dst),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST)
        );
        assert!(discover.has_client_id);
        drv.inject(&reply(MessageType::Offer, discover.xid, t1_t2));
        stack.poll(drv, secs(0));
        let d = drain(drv);
        assert_eq!(d.len(), 1, "{d:?}");
        let request = d[0];
        assert_eq!(request.kind, MessageType::Request);
        assert_eq!(request.xid, discover.xid);
        assert_eq!(request.requested, Some(OFFERED));
        assert_eq!(request.server_id, Some(SERVER));
        assert_eq!(request.eth_dst, EthernetAddress::BROADCAST);
        assert_eq!(request.src, Ipv4Addr::UNSPECIFIED);
        drv.inject(&reply(MessageType::Ack, discover.xid, t1_t2));
        stack.poll(drv, secs(0));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Bound));
        discover.xid
    }

    #[test]
    fn the_host_name_is_sent() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(1).with_host_name("sensor"));
        stack.poll(&mut drv, secs(0));
        let d = drain(&mut drv);
        assert_eq!(&d[0].host_name.unwrap()[..6], b"sensor");
    }

    #[test]
    fn client_messages_are_laid_out_as_rfc_2131_says() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        let config = DhcpConfig::new(2)
            .with_host_name("sensor")
            .with_client_id(&[0, 7, 7]);
        stack.enable_dhcp(&mut slot, config);
        stack.poll(&mut drv, secs(0));
        let frame = drv.take_sent().unwrap();
        let msg = &frame[42..];
        assert_eq!(msg.len(), dhcpv4::MIN_MESSAGE_LEN, "padded to 300 bytes");
        assert_eq!(msg[..4], [1, 1, 6, 0], "BOOTREQUEST, Ethernet");
        assert_eq!(msg[8..28], [0; 20], "secs 0, no flags, no addresses");
        assert_eq!(msg[28..34], OUR_MAC.0);
        assert_eq!(msg[34..236], [0; 202]);
        assert_eq!(msg[236..240], dhcpv4::MAGIC_COOKIE);
        let options: &[u8] = &[
            53, 1, 1, // DISCOVER
            61, 3, 0, 7, 7, // the configured client identifier
            12, 6, b's', b'e', b'n', b's', b'o', b'r', // host name
            55, 6, 1, 3, 6, 51, 58, 59, // parameter request list
            255,
        ];
        assert_eq!(&msg[240..240 + options.len()], options);
        assert!(msg[240 + options.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn full_exchange() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(1));
        assert_eq!(stack.ipv4(), None);
        bind(&mut stack, &mut drv, Some((60, 105)));
        assert_eq!(stack.ipv4(), Ipv4Cidr::new(OFFERED, 24));
        assert_eq!(stack.gateway(), Some(SERVER));
        let Some(DhcpEvent::Bound(lease)) = stack.dhcp_take_event() else {
            panic!("no Bound event");
        };
        assert_eq!(lease.dns_servers[0], Some(SERVER));
        assert_eq!(lease.renew_at, secs(60));
        assert_eq!(lease.rebind_at, secs(105));
        assert_eq!(lease.expires_at, secs(120));
        assert_eq!(stack.dhcp_take_event(), None);
        // The new address is announced.
        let next = stack.poll(&mut drv, secs(0));
        let garp = drv.take_sent().unwrap();
        assert_eq!(&garp[12..14], &[0x08, 0x06]);
        assert_eq!(next, Some(secs(60)), "next wake-up is T1");
        let s = stack.stats();
        assert_eq!(
            (
                s.dhcp_discover_tx,
                s.dhcp_request_tx,
                s.dhcp_offer_rx,
                s.dhcp_ack_rx,
                s.dhcp_bound
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(s.drops_total(), 0, "{s:?}");
        // Port 68 is the client's.
        assert_eq!(stack.udp_bind(68), Err(UdpError::AddrInUse));
    }

    #[test]
    fn renew_at_t1_is_unicast_and_rebind_at_t2_is_broadcast() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(2));
        bind(&mut stack, &mut drv, Some((60, 105)));
        stack.poll(&mut drv, secs(1));
        drain(&mut drv);
        // Nothing before T1.
        stack.poll(&mut drv, secs(59));
        assert!(drain(&mut drv).is_empty());
        // T1: the server is resolved, then the REQUEST unicast to it.
        stack.poll(&mut drv, secs(60));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Renewing));
        let arp = drv.take_sent().unwrap();
        assert_eq!(&arp[12..14], &[0x08, 0x06]);
        drv.inject(&arp_reply_from_server());
        stack.poll(&mut drv, secs(60));
        let d = drain(&mut drv);
        assert_eq!(d.len(), 1, "{d:?}");
        let renew = d[0];
        assert_eq!(renew.kind, MessageType::Request);
        assert_eq!(
            (renew.src, renew.dst, renew.eth_dst),
            (OFFERED, SERVER, SERVER_MAC)
        );
        assert_eq!(renew.ciaddr, OFFERED);
        assert_eq!((renew.requested, renew.server_id), (None, None));
        // No answer: retransmission after max(half the time to T2, 60 s) = 60 s, which is
        // past T2 (105 s), so the next message is the rebinding broadcast at T2.
        stack.poll(&mut drv, secs(104));
        assert!(drain(&mut drv).is_empty());
        stack.poll(&mut drv, secs(105));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Rebinding));
        let d = drain(&mut drv);
        assert_eq!(d.len(), 1);
        let rebind = d[0];
        assert_eq!(
            (rebind.src, rebind.dst, rebind.eth_dst),
            (OFFERED, Ipv4Addr::BROADCAST, EthernetAddress::BROADCAST)
        );
        assert_eq!(rebind.ciaddr, OFFERED);
        // An ACK renews the lease from now.
        stack.dhcp_take_event();
        let mut ack = reply(MessageType::Ack, rebind.xid, Some((60, 105)));
        // Unicast to our (now configured) address.
        ack[30..34].copy_from_slice(&OFFERED.octets());
        drv.inject(&ack);
        stack.poll(&mut drv, secs(106));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Bound));
        let Some(DhcpEvent::Renewed(lease)) = stack.dhcp_take_event() else {
            panic!("no Renewed event");
        };
        assert_eq!(lease.renew_at, secs(166));
        assert_eq!(lease.expires_at, secs(226));
        let s = stack.stats();
        assert_eq!(
            (s.dhcp_renewing, s.dhcp_rebinding, s.dhcp_renewed),
            (1, 1, 1)
        );
        assert_eq!(stack.ipv4(), Ipv4Cidr::new(OFFERED, 24));
    }

    #[test]
    fn renewal_ack_extends_the_lease() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(3));
        bind(&mut stack, &mut drv, None);
        stack.dhcp_take_event();
        // Without T1/T2 options: 0.5 and 0.875 of 120 s.
        assert_eq!(stack.dhcp_lease().unwrap().renew_at, secs(60));
        assert_eq!(stack.dhcp_lease().unwrap().rebind_at, secs(105));
        drv.inject(&arp_reply_from_server());
        stack.poll(&mut drv, secs(1));
        drain(&mut drv);
        stack.poll(&mut drv, secs(60));
        let renew = drain(&mut drv)[0];
        drv.inject(&reply(MessageType::Ack, renew.xid, None));
        stack.poll(&mut drv, secs(61));
        assert!(matches!(
            stack.dhcp_take_event(),
            Some(DhcpEvent::Renewed(_))
        ));
        assert_eq!(stack.dhcp_lease().unwrap().expires_at, secs(181));
    }

    #[test]
    fn lease_expiry_drops_the_address_and_starts_over() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(4));
        bind(&mut stack, &mut drv, Some((60, 105)));
        stack.dhcp_take_event();
        for t in [60, 105, 119] {
            stack.poll(&mut drv, secs(t));
        }
        drain(&mut drv);
        assert!(stack.ipv4().is_some());
        stack.poll(&mut drv, secs(120));
        assert_eq!(stack.ipv4(), None);
        assert_eq!(stack.gateway(), None);
        assert_eq!(stack.dhcp_take_event(), Some(DhcpEvent::Lost));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Selecting));
        let d = drain(&mut drv);
        assert_eq!(d.last().map(|s| s.kind), Some(MessageType::Discover));
        assert_eq!(stack.stats().dhcp_lost, 1);
    }

    #[test]
    fn nak_while_renewing_drops_the_address_and_restarts() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(5));
        bind(&mut stack, &mut drv, Some((10, 20)));
        stack.dhcp_take_event();
        drv.inject(&arp_reply_from_server());
        stack.poll(&mut drv, secs(1));
        drain(&mut drv);
        stack.poll(&mut drv, secs(10));
        let renew = drain(&mut drv)[0];
        drv.inject(&reply(MessageType::Nak, renew.xid, None));
        stack.poll(&mut drv, secs(10));
        assert_eq!(stack.dhcp_take_event(), Some(DhcpEvent::Lost));
        assert_eq!(stack.ipv4(), None);
        let d = drain(&mut drv);
        assert_eq!(d.last().map(|s| s.kind), Some(MessageType::Discover));
        assert_ne!(d.last().unwrap().xid, renew.xid);
        let s = stack.stats();
        assert_eq!((s.dhcp_nak_rx, s.dhcp_lost), (1, 1));
    }

    #[test]
    fn nak_while_requesting_restarts_without_losing_anything() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(6));
        stack.poll(&mut drv, secs(0));
        let discover = drain(&mut drv)[0];
        drv.inject(&reply(MessageType::Offer, discover.xid, None));
        stack.poll(&mut drv, secs(0));
        drain(&mut drv);
        drv.inject(&reply(MessageType::Nak, discover.xid, None));
        stack.poll(&mut drv, secs(1));
        assert_eq!(stack.dhcp_take_event(), None);
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Selecting));
        let d = drain(&mut drv);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, MessageType::Discover);
    }

    #[test]
    fn discover_backs_off_4_8_16_32_64_64_seconds_with_jitter() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(7));
        let mut t = stack.poll(&mut drv, secs(0)).unwrap();
        assert_eq!(drain(&mut drv).len(), 1);
        let mut last = secs(0);
        for base in [4u64, 8, 16, 32, 64, 64] {
            let gap = (t - last).total_millis();
            assert!(
                (base * 1000 - 1000..=base * 1000 + 1000).contains(&gap),
                "gap {gap} ms for base {base} s"
            );
            // Nothing just before the deadline, a retransmission at it.
            stack.poll(&mut drv, t - Duration::from_millis(1));
            assert!(drain(&mut drv).is_empty());
            let next = stack.poll(&mut drv, t).unwrap();
            let d = drain(&mut drv);
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].kind, MessageType::Discover);
            last = t;
            t = next;
        }
        assert_eq!(stack.stats().dhcp_retransmits, 6);
        // Another seed jitters differently.
        let mut other = DhcpSlot::EMPTY;
        other.rng = 99;
        let mut mine = DhcpSlot::EMPTY;
        mine.rng = 7;
        assert_ne!(other.backoff(0), mine.backoff(0));
    }

    #[test]
    fn requesting_gives_up_after_four_requests() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(8));
        stack.poll(&mut drv, secs(0));
        let discover = drain(&mut drv)[0];
        drv.inject(&reply(MessageType::Offer, discover.xid, None));
        let mut t = stack.poll(&mut drv, secs(0)).unwrap();
        let mut requests = drain(&mut drv).len();
        for _ in 0..3 {
            t = stack.poll(&mut drv, t).unwrap();
            requests += drain(&mut drv).len();
        }
        assert_eq!(requests, 4);
        stack.poll(&mut drv, t);
        let d = drain(&mut drv);
        assert_eq!(d[0].kind, MessageType::Discover);
        assert_ne!(d[0].xid, discover.xid);
    }

    #[test]
    fn foreign_and_broken_replies_are_counted_and_ignored() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(9));
        stack.poll(&mut drv, secs(0));
        let discover = drain(&mut drv)[0];
        // Another transaction.
        drv.inject(&reply(MessageType::Offer, discover.xid ^ 1, None));
        // An ACK while selecting.
        drv.inject(&reply(MessageType::Ack, discover.xid, None));
        // A bad UDP checksum.
        let mut bad = reply(MessageType::Offer, discover.xid, None);
        let n = bad.len();
        bad[n - 1] ^= 0x55;
        drv.inject(&bad);
        // An overrunning option (checksum fixed up by rebuilding).
        let good = reply(MessageType::Offer, discover.xid, None);
        let mut payload = good[42..].to_vec();
        payload[240 + 1] = 0xff; // option 53's length byte
        let broken = udp_frame(
            (SERVER_MAC, SERVER, 67),
            (OUR_MAC, OFFERED, 68),
            &payload[..260],
        );
        drv.inject(&broken);
        // A unicast to another address for another port is not for us.
        drv.inject(&udp_frame(
            (SERVER_MAC, SERVER, 67),
            (OUR_MAC, OFFERED, 69),
            b"x",
        ));
        stack.poll(&mut drv, secs(0));
        let s = stack.stats();
        assert_eq!(s.dhcp_ignored, 2, "{s:?}");
        assert_eq!(s.dhcp_malformed, 2, "{s:?}");
        assert_eq!(s.ipv4_not_for_us, 1, "{s:?}");
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Selecting));
        assert!(drain(&mut drv).is_empty());
    }

    #[test]
    fn lease_options_are_sanitised() {
        // The lease an ACK built from `r` grants.
        let lease_of = |r: &Repr<'_>| {
            let mut buf = std::vec![0u8; r.buffer_len()];
            r.emit(&mut DhcpPacket::new_unchecked(&mut buf[..]));
            lease_from(&Parsed::parse(&buf).unwrap(), SERVER, secs(0))
        };
        let mut r = Repr::new(MessageType::Ack, 1, OUR_MAC);
        r.your_ip = OFFERED;
        r.lease_duration = Some(100);
        r.renew_duration = Some(90);
        r.rebind_duration = Some(80);
        r.subnet_mask = Some(Ipv4Addr::new(255, 0, 255, 0));
        assert_eq!(lease_of(&r), None, "non-contiguous mask");
        r.subnet_mask = None;
        let l = lease_of(&r).unwrap();
        assert_eq!(l.address.prefix_len, 24, "classful for 192.0.2.50");
        assert_eq!((l.renew_at, l.rebind_at), (secs(50), secs(87)));
        r.lease_duration = Some(u32::MAX);
        let l = lease_of(&r).unwrap();
        assert_eq!(l.expires_at, Instant::from_micros(u64::MAX), "infinite");
        r.lease_duration = None;
        assert_eq!(lease_of(&r), None);
        assert_eq!(prefix_of(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(prefix_of(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
    }

    /// (sender IP, target IP) of every ARP request sent, other frames dropped.
    fn arp_requests(drv: &mut Drv) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        let mut v = Vec::new();
        while let Some(f) = drv.take_sent() {
            if f[12..14] == [0x08, 0x06] && f[20..22] == [0, 1] {
                assert_eq!(&f[..6], &[0xff; 6]);
                v.push((
                    Ipv4Addr::new(f[28], f[29], f[30], f[31]),
                    Ipv4Addr::new(f[38], f[39], f[40], f[41]),
                ));
            }
        }
        v
    }

    /// Offer and ACK with conflict detection on; returns the xid.
    fn ack_with_probing(stack: &mut Stack<'_>, drv: &mut Drv) -> u32 {
        stack.poll(drv, secs(0));
        let discover = drain(drv)[0];
        drv.inject(&reply(MessageType::Offer, discover.xid, None));
        stack.poll(drv, secs(0));
        drain(drv);
        drv.inject(&reply(MessageType::Ack, discover.xid, None));
        stack.poll(drv, secs(0));
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Checking));
        assert_eq!(stack.ipv4(), None, "not used before the probes");
        discover.xid
    }

    fn probing_config(seed: u64) -> DhcpConfig {
        let mut c = DhcpConfig::new(seed);
        c.conflict_detection = true;
        c
    }

    #[test]
    fn conflict_detection_probes_three_times_then_binds() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, probing_config(10));
        ack_with_probing(&mut stack, &mut drv);
        let mut probes = Vec::new();
        let mut t = secs(0);
        let mut times = Vec::new();
        let mut announced = None;
        while stack.dhcp_state() == Some(DhcpState::Checking) {
            assert!(
                t < secs(10),
                "probing takes at most 1 + 2 + 2 + 2 s: {times:?}"
            );
            let next = stack.poll(&mut drv, t).unwrap();
            for (sender, target) in arp_requests(&mut drv) {
                assert_eq!(target, OFFERED);
                if sender.is_unspecified() {
                    probes.push(sender);
                    times.push(t);
                } else {
                    // The gratuitous ARP announcing the address once bound.
                    announced = Some(t);
                }
            }
            t = next.max(t);
        }
        assert_eq!(probes.len(), usize::from(PROBE_COUNT));
        for w in times.windows(2) {
            let gap = (w[1] - w[0]).total_millis();
            assert!((1000..2000).contains(&gap), "probe gap {gap} ms");
        }
        assert!(times[0] < secs(1), "first probe within 1 s");
        let bound_at = announced.expect("announced");
        assert_eq!(bound_at - *times.last().unwrap(), ANNOUNCE_WAIT);
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Bound));
        assert_eq!(stack.ipv4(), Ipv4Cidr::new(OFFERED, 24));
        assert!(matches!(stack.dhcp_take_event(), Some(DhcpEvent::Bound(_))));
    }

    #[test]
    fn a_conflict_while_probing_declines_and_restarts_ten_seconds_later() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, probing_config(11));
        let xid = ack_with_probing(&mut stack, &mut drv);
        let t = stack.poll(&mut drv, secs(0)).unwrap();
        stack.poll(&mut drv, t);
        assert_eq!(arp_requests(&mut drv).len(), 1, "first probe");
        // Another station answers for the address.
        let other = EthernetAddress([0x02, 0, 0, 0, 0, 0x77]);
        let mut answer = arp_reply_from_server();
        answer[6..12].copy_from_slice(&other.0);
        answer[22..28].copy_from_slice(&other.0);
        answer[28..32].copy_from_slice(&OFFERED.octets());
        answer[38..42].copy_from_slice(&[0, 0, 0, 0]);
        drv.inject(&answer);
        stack.poll(&mut drv, t);
        let d = drain(&mut drv);
        assert_eq!(d.len(), 1, "{d:?}");
        let decline = d[0];
        assert_eq!(decline.kind, MessageType::Decline);
        assert_eq!(decline.xid, xid);
        assert_eq!(decline.requested, Some(OFFERED));
        assert_eq!(decline.server_id, Some(SERVER));
        assert_eq!(
            (decline.src, decline.dst),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST)
        );
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Init));
        assert_eq!(stack.ipv4(), None);
        assert_eq!(
            stack.dhcp_take_event(),
            None,
            "nothing was bound, nothing is lost"
        );
        // Nothing until the hold-off is over, then a new DISCOVER.
        stack.poll(&mut drv, t + DECLINE_HOLD_OFF - Duration::from_millis(1));
        assert!(drain(&mut drv).is_empty());
        stack.poll(&mut drv, t + DECLINE_HOLD_OFF);
        let d = drain(&mut drv);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, MessageType::Discover);
        let s = stack.stats();
        assert_eq!(
            (s.dhcp_conflicts, s.dhcp_decline_tx, s.dhcp_bound),
            (1, 1, 0)
        );
    }

    #[test]
    fn another_station_probing_for_the_address_is_a_conflict_too() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, probing_config(12));
        ack_with_probing(&mut stack, &mut drv);
        let other = EthernetAddress([0x02, 0, 0, 0, 0, 0x78]);
        let mut probe = std::vec![0u8; 42];
        probe[..6].copy_from_slice(&[0xff; 6]);
        probe[6..12].copy_from_slice(&other.0);
        probe[12..14].copy_from_slice(&[0x08, 0x06]);
        probe[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        probe[22..28].copy_from_slice(&other.0);
        probe[38..42].copy_from_slice(&OFFERED.octets());
        drv.inject(&probe);
        // Our own probe echoed back is not a conflict.
        let mut own = probe.clone();
        own[6..12].copy_from_slice(&OUR_MAC.0);
        own[22..28].copy_from_slice(&OUR_MAC.0);
        drv.inject(&own);
        stack.poll(&mut drv, secs(0));
        assert_eq!(stack.stats().dhcp_conflicts, 1);
        assert_eq!(stack.dhcp_state(), Some(DhcpState::Init));
    }

    #[test]
    fn repeated_naks_back_off() {
        setup!(stack, drv);
        let mut slot = DhcpSlot::EMPTY;
        stack.enable_dhcp(&mut slot, DhcpConfig::new(13));
        stack.poll(&mut drv, secs(0));
        let mut discover = drain(&mut drv)[0];
        let mut restarts = Vec::new();
        for _ in 0..2 {
            drv.inject(&reply(MessageType::Offer, discover.xid, None));
            stack.poll(&mut drv, secs(1));
            assert_eq!(drain(&mut drv)[0].kind, MessageType::Request);
            drv.inject(&reply(MessageType::Nak, discover.xid, None));
            let next = stack.poll(&mut drv, secs(1)).unwrap();
            let d = drain(&mut drv);
            restarts.push((d.len(), next));
            if let Some(&s) = d.first() {
                discover = s;
            }
        }
        // The first NAK restarts at once; the second waits 4 s ± 1 s.
        assert_eq!(restarts[0].0, 1);
        assert_eq!(restarts[1].0, 0);
        let wait = restarts[1].1 - secs(1);
        assert!((3000..=5000).contains(&wait.total_millis()), "{restarts:?}");
        stack.poll(&mut drv, restarts[1].1);
        assert_eq!(drain(&mut drv)[0].kind, MessageType::Discover);
        assert_eq!(stack.stats().dhcp_nak_rx, 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// Whatever arrives on port 68 (with our xid and MAC patched in, so parsing goes deep),
        /// the client neither panics nor leaves its state machine.
        #[test]
        fn arbitrary_server_messages_never_panic(
            mut payload in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            kind in 0u8..10,
            to_offered in proptest::bool::ANY,
        ) {
            setup!(stack, drv);
            let mut slot = DhcpSlot::EMPTY;
            stack.enable_dhcp(&mut slot, DhcpConfig::new(21));
            stack.poll(&mut drv, secs(0));
            let discover = drain(&mut drv)[0];
            if payload.len() >= 244 {
                payload[0] = 2;
                payload[1] = 1;
                payload[2] = 6;
                payload[4..8].copy_from_slice(&discover.xid.to_be_bytes());
                payload[28..34].copy_from_slice(&OUR_MAC.0);
                payload[236..240].copy_from_slice(&dhcpv4::MAGIC_COOKIE);
                payload[240..243].copy_from_slice(&[53, 1, kind]);
            }
            let dst = if to_offered { OFFERED } else { Ipv4Addr::BROADCAST };
            drv.inject(&udp_frame(
                (SERVER_MAC, SERVER, 67),
                (EthernetAddress::BROADCAST, dst, 68),
                &payload,
            ));
            for t in 0..4 {
                stack.poll(&mut drv, secs(t * 70));
                drain(&mut drv);
            }
            proptest::prop_assert!(stack.dhcp_state().is_some());
        }
    }
}
