//! The interface: one Ethernet interface with one IPv4 address, its protocols and its sockets.
//!
//! [`Stack`] owns the fixed storage the caller hands in ([`StackStorage`]) and is driven by
//! [`Stack::poll`]. The work is split by layer into small modules, each an `impl Stack` block:
//!
//! * `ethernet`: receive demultiplexing (our MAC, broadcast, joined multicast);
//! * `arp`: ARP input, requests, replies and gratuitous announcements;
//! * `ipv4`: input validation, local-destination check, reassembly hand-off, routing, and
//!   output with fragmentation;
//! * `icmp`: echo replies and rate-limited destination-unreachable errors;
//! * `udp`: datagram input into sockets and output from them;
//! * `tx`: the queue of built packets waiting for ARP resolution or a driver buffer.
//!
//! # Extending
//!
//! A new transport plugs in at three points: a match arm in `Stack::deliver` (input, after
//! validation and reassembly), a `transmit_*` phase in [`Stack::poll`] (output, using
//! `emit_ip` to send straight from its own buffers, fragmenting if needed), and its counters
//! in [`Stats`]. Those three points are also where a protocol turned off by the profile is
//! compiled out. Packets the stack builds itself, UDP datagrams both ways and TCP data live
//! in the shared [`PacketPool`]; outgoing frames wait in the transmit queue, TCP sends its
//! data straight from the pool. Socket data never takes the pool's last
//! [`FRAME_RESERVE`](crate::pool::FRAME_RESERVE) buffers.

mod arp;
mod ethernet;
#[cfg(feature = "icmp")]
mod icmp;
mod ipv4;
mod tcp;
#[cfg(all(test, feature = "udp", feature = "icmp"))]
mod tests;
mod tx;
#[cfg(feature = "udp")]
mod udp;

use core::net::Ipv4Addr;
#[cfg(feature = "udp")]
use core::net::SocketAddrV4;
use core::task::{Context, Waker};

use embassy_net_driver::Driver;

use crate::arp_cache::{ArpCache, ArpConfig, ArpEntry};
#[cfg(feature = "icmp")]
use crate::icmp::TokenBucket;
use crate::ipv4_reassembly::{Reassembler, ReassemblySlot};
use crate::pool::PacketPool;
use crate::stats::{Stats, gauge};
use crate::time::{Duration, Instant};
use crate::udp::UdpSlot;
#[cfg(feature = "udp")]
use crate::udp::{SocketTable, UdpError, UdpHandle};
use crate::wire::{EthernetAddress, Ipv4Cidr};

pub use tcp::{TcpHandle, TcpListener, TcpListenerSlot, TcpStorage};
pub use tx::PendingSlot;

/// The most multicast groups one interface joins (besides the all-hosts group 224.0.0.1, which
/// every host is always a member of).
pub const MAX_MULTICAST_GROUPS: usize = 4;

/// Where an outgoing IPv4 packet goes on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// A known link-layer destination (broadcast, multicast, or the station that asked).
    Mac(EthernetAddress),
    /// An on-link IPv4 address to resolve with ARP (the destination or the gateway).
    Ip(Ipv4Addr),
}

/// Why joining a multicast group failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MulticastError {
    /// The address is not an IPv4 multicast address.
    NotMulticast,
    /// The group table is full.
    TableFull,
}

impl core::fmt::Display for MulticastError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MulticastError::NotMulticast => "not a multicast address",
            MulticastError::TableFull => "multicast group table full",
        })
    }
}

impl core::error::Error for MulticastError {}

/// The interface configuration: addresses and every timing knob, with defaults from
/// [`Default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackConfig {
    /// The interface address and on-link prefix; `None` until one is configured.
    pub ipv4: Option<Ipv4Cidr>,
    /// The default gateway for destinations off-link.
    pub gateway: Option<Ipv4Addr>,
    /// IP MTU in bytes (default 1500); larger datagrams are fragmented. Clamped to at least 68
    /// (RFC 791) and to what the driver and the packet buffers can carry.
    pub mtu: usize,
    /// Time-to-live of the packets we send (default 64).
    pub ttl: u8,
    /// How long a resolved ARP entry is trusted (default 60 s).
    pub arp_entry_lifetime: Duration,
    /// How long before expiry a used ARP entry is re-requested (default 5 s).
    pub arp_refresh_before: Duration,
    /// Interval between ARP requests for an unresolved address (default 1 s).
    pub arp_retry_interval: Duration,
    /// ARP requests sent before the packets waiting for the address are dropped (default 3).
    pub arp_max_requests: u8,
    /// Time allowed for all fragments of a datagram to arrive (default 30 s).
    pub reassembly_timeout: Duration,
    /// ICMP errors allowed per second, sustained (default 10).
    pub icmp_errors_per_second: u32,
    /// ICMP errors allowed in a burst (default 10; 0 disables ICMP errors).
    pub icmp_error_burst: u32,
    /// Most frames received per `poll` before queued output gets its turn (default 0: as many
    /// as there are packet buffers, at least 4).
    pub rx_burst: usize,
    /// Secret seed of the keyed hashes (TCP initial sequence numbers per RFC 6528, SYN
    /// cookies, ephemeral ports). The board provides it, from a hardware RNG or unique ID
    /// mixed with stored entropy; all zeros (the default) is predictable and only fit for
    /// tests.
    pub seed: [u8; 16],
    /// TCP options, buffers and timers.
    pub tcp: crate::tcp::socket::TcpConfig,
}

impl Default for StackConfig {
    fn default() -> Self {
        let arp = ArpConfig::default();
        StackConfig {
            ipv4: None,
            gateway: None,
            mtu: 1500,
            ttl: 64,
            arp_entry_lifetime: arp.entry_lifetime,
            arp_refresh_before: arp.refresh_before,
            arp_retry_interval: arp.retry_interval,
            arp_max_requests: arp.max_requests,
            reassembly_timeout: Duration::from_secs(30),
            icmp_errors_per_second: 10,
            icmp_error_burst: 10,
            rx_burst: 0,
            seed: [0; 16],
            tcp: crate::tcp::socket::TcpConfig::default(),
        }
    }
}

/// All the memory a [`Stack`] runs from, owned by the caller (plain arrays, or `static`s placed
/// by generated code). Sizes are the profile's choice; the same code serves any size.
///
/// * `packets` is split into buffers of `packet_size` bytes (at most
///   [`pool::MAX_BUFFERS`](crate::pool::MAX_BUFFERS)). They hold the packets the stack builds
///   itself (ARP, echo replies, ICMP errors) until sent, and TCP data (one segment per buffer,
///   at most [`TcpConfig::segments`](crate::TcpConfig::segments) buffers, never the last
///   [`FRAME_RESERVE`](crate::tcp::segment_pool::FRAME_RESERVE)). `packet_size` should be at
///   least `14 + mtu` so any echo request can be answered (1514 for a 1500-byte MTU).
/// * `tx_queue`: one slot per packet waiting for ARP resolution or a driver transmit buffer;
///   packets beyond it are dropped and counted (`arp_queue_full`, `tx_queue_full`).
/// * `arp`: the ARP cache entries.
/// * `reassembly` and `reassembly_bytes`: reassembly slots; the bytes are split evenly between
///   them, which bounds the largest datagram reassembled. Zero slots turn reassembly off.
/// * `udp`: the UDP sockets. Their datagrams live in the packet buffers (received ones queued
///   on the socket, sent ones in the transmit queue); a slot only holds its limits: most
///   bytes of received payload queued and the largest datagram it sends
///   ([`UdpSlot::new`]). A datagram larger than one buffer takes several (an 8,000-byte echo
///   needs 6 buffers of 1,536 bytes each way, plus the pool's
///   [`FRAME_RESERVE`](crate::pool::FRAME_RESERVE)).
///
/// Every slot type has a `const EMPTY`, so the arrays can also be `static`s.
///
/// # Example
///
/// A stack built from local arrays, answering a ping through the in-memory test driver:
///
/// ```
/// use core::net::Ipv4Addr;
/// use stack_runtime::testing::FrameQueueDriver;
/// use stack_runtime::time::Instant;
/// use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
/// use stack_runtime::{
///     ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, TcpStorage,
///     UdpSlot,
/// };
///
/// let mut packets = [[0u8; 1514]; 4];
/// let mut tx_queue = [PendingSlot::EMPTY; 4];
/// let mut arp = [ArpEntry::EMPTY; 8];
/// let mut reassembly = [ReassemblySlot::EMPTY; 1];
/// let mut reassembly_bytes = [0u8; 9000];
/// let mut udp = [UdpSlot::new(2048, 2048)];
///
/// let storage = StackStorage {
///     packets: packets.as_flattened_mut(),
///     packet_size: 1514,
///     tx_queue: &mut tx_queue,
///     arp: &mut arp,
///     reassembly: &mut reassembly,
///     reassembly_bytes: &mut reassembly_bytes,
///     udp: &mut udp,
///     tcp: TcpStorage::none(),
/// };
/// let config = StackConfig {
///     ipv4: Ipv4Cidr::new(Ipv4Addr::new(192, 0, 2, 2), 24),
///     ..StackConfig::default()
/// };
/// let mac = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
/// let mut stack = Stack::new(config, storage, mac);
/// let echo = stack.udp_bind(7).unwrap();
///
/// let mut driver: FrameQueueDriver = FrameQueueDriver::new(mac.0);
/// // The first poll announces our address with a gratuitous ARP.
/// let next = stack.poll(&mut driver, Instant::from_millis(0));
/// assert!(next.is_none());
/// let garp = driver.take_sent().unwrap();
/// assert_eq!(&garp[12..14], &[0x08, 0x06]);
///
/// // An ARP request for 192.0.2.2 from 192.0.2.1 gets a reply.
/// let mut request = [0u8; 42];
/// request[..6].copy_from_slice(&[0xff; 6]);
/// request[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
/// request[12..14].copy_from_slice(&[0x08, 0x06]);
/// request[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
/// request[22..28].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
/// request[28..32].copy_from_slice(&[192, 0, 2, 1]);
/// request[38..42].copy_from_slice(&[192, 0, 2, 2]);
/// driver.inject(&request);
/// stack.poll(&mut driver, Instant::from_millis(1));
/// let reply = driver.take_sent().unwrap();
/// assert_eq!(&reply[20..22], &[0, 2]); // ARP reply
/// assert_eq!(stack.stats().arp_replies_tx, 1);
/// # let _ = echo;
/// ```
#[derive(Debug)]
pub struct StackStorage<'a> {
    /// Packet buffer bytes, `count × packet_size`.
    pub packets: &'a mut [u8],
    /// Size of one packet buffer in bytes.
    pub packet_size: usize,
    /// Queue of built packets waiting for ARP or the driver.
    pub tx_queue: &'a mut [PendingSlot],
    /// ARP cache entries.
    pub arp: &'a mut [ArpEntry],
    /// Reassembly slots (zero slots: reassembly off).
    pub reassembly: &'a mut [ReassemblySlot],
    /// Reassembly buffer bytes, split evenly between the slots.
    pub reassembly_bytes: &'a mut [u8],
    /// UDP socket slots.
    pub udp: &'a mut [UdpSlot],
    /// TCP sockets, listeners and quotas ([`TcpStorage::none`]: TCP off); TCP data lives in
    /// `packets`.
    pub tcp: TcpStorage<'a>,
}

/// One Ethernet/IPv4 interface with ARP, ICMP and UDP, running from caller storage.
#[derive(Debug)]
pub struct Stack<'a> {
    pub(crate) config: StackConfig,
    pub(crate) mac: EthernetAddress,
    pub(crate) pool: PacketPool<'a>,
    pub(crate) queue: tx::TxQueue<'a>,
    pub(crate) arp: ArpCache<'a>,
    pub(crate) frag: Reassembler<'a>,
    #[cfg(feature = "udp")]
    pub(crate) sockets: SocketTable<'a>,
    /// The time of the latest `poll`: what `udp_send_to` (which takes no time) hands to ARP.
    #[cfg(feature = "udp")]
    pub(crate) last_poll: Instant,
    pub(crate) groups: [Option<Ipv4Addr>; MAX_MULTICAST_GROUPS],
    #[cfg(feature = "icmp")]
    pub(crate) icmp_limiter: TokenBucket,
    pub(crate) ident: u16,
    /// A gratuitous ARP is due at the next poll.
    pub(crate) announce: bool,
    pub(crate) started: bool,
    /// The IP MTU in force (config clamped by driver and buffers).
    pub(crate) mtu: usize,
    pub(crate) stats: Stats,
    /// TCP sockets, listeners and the bookkeeping of their data in `pool`.
    #[cfg(feature = "tcp")]
    pub(crate) tcp: tcp::TcpTable<'a>,
    /// The DHCP client, when enabled (`Stack::enable_dhcp`; its state lives in caller storage).
    #[cfg(feature = "dhcpv4")]
    pub(crate) dhcp: Option<&'a mut crate::dhcpv4::DhcpSlot>,
    /// The DNS resolver, when enabled (`Stack::enable_dns`).
    #[cfg(feature = "dns")]
    pub(crate) dns: Option<crate::dns::DnsClient<'a>>,
}

impl<'a> Stack<'a> {
    /// A stack with `config`, running from `storage`, with Ethernet address `hardware_addr`.
    /// Nothing is sent until the first [`poll`](Self::poll), which announces the address.
    // Out of line: inlined, every field of the configuration became a store of its own.
    #[inline(never)]
    pub fn new(
        config: StackConfig,
        storage: StackStorage<'a>,
        hardware_addr: EthernetAddress,
    ) -> Self {
        let arp_config = ArpConfig {
            entry_lifetime: config.arp_entry_lifetime,
            refresh_before: config.arp_refresh_before,
            retry_interval: config.arp_retry_interval,
            max_requests: config.arp_max_requests.max(1),
        };
        // The configuration is kept as given (one copy); the MTU in force is clamped.
        let mtu = config.mtu.clamp(68, 65535);
        let pool = PacketPool::new(storage.packets, storage.packet_size);
        #[cfg(feature = "tcp")]
        let tcp = tcp::TcpTable::new(
            storage.tcp,
            &config.tcp,
            config.seed,
            &pool,
            tcp::segment_payload(storage.packet_size, mtu)
                .min(usize::from(config.tcp.segment_size).max(1)),
        );
        let mut stack = Stack {
            config,
            mac: hardware_addr,
            pool,
            queue: tx::TxQueue::new(storage.tx_queue),
            arp: ArpCache::new(storage.arp, arp_config),
            frag: Reassembler::new(storage.reassembly, storage.reassembly_bytes),
            #[cfg(feature = "udp")]
            sockets: SocketTable::new(storage.udp),
            #[cfg(feature = "udp")]
            last_poll: Instant::from_micros(0),
            groups: [None; MAX_MULTICAST_GROUPS],
            #[cfg(feature = "icmp")]
            icmp_limiter: TokenBucket::new(config.icmp_errors_per_second, config.icmp_error_burst),
            ident: 0x4000,
            announce: false,
            started: false,
            mtu,
            stats: Stats::new(),
            #[cfg(feature = "tcp")]
            tcp,
            #[cfg(feature = "dhcpv4")]
            dhcp: None,
            #[cfg(feature = "dns")]
            dns: None,
        };
        stack.sync_stats();
        stack
    }

    /// The interface address, if configured.
    pub fn ipv4(&self) -> Option<Ipv4Cidr> {
        self.config.ipv4
    }

    /// The default gateway, if configured.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.config.gateway
    }

    /// The interface's Ethernet address.
    pub fn hardware_addr(&self) -> EthernetAddress {
        self.mac
    }

    /// Change the address and gateway (e.g. from DHCP). A new address is announced with a
    /// gratuitous ARP on the next poll; TCP connections bound to an address the interface no
    /// longer has are ended (`TcpError::AddressLost`).
    pub fn set_ipv4(&mut self, cidr: Option<Ipv4Cidr>, gateway: Option<Ipv4Addr>) {
        let changed = cidr != self.config.ipv4;
        // Connections bound to an address the interface loses cannot go on (RFC 2131 §4.4.5:
        // at lease expiry the client stops using the address).
        #[cfg(feature = "tcp")]
        if let Some(old) = self.config.ipv4.map(|c| c.address)
            && cidr.map(|c| c.address) != Some(old)
        {
            self.tcp_close_bound_to(old);
        }
        self.config.ipv4 = cidr;
        self.config.gateway = gateway;
        #[cfg(feature = "tcp")]
        self.tcp_forget_next_hop();
        if changed {
            self.announce = cidr.is_some();
        }
    }

    /// Accept packets for the multicast group `group` (its Ethernet group address too).
    /// Joining twice is not an error. No IGMP report is sent (that arrives with IGMP support).
    pub fn join_multicast_v4(&mut self, group: Ipv4Addr) -> Result<(), MulticastError> {
        if !group.is_multicast() {
            return Err(MulticastError::NotMulticast);
        }
        if self.groups.contains(&Some(group)) {
            return Ok(());
        }
        let free = self
            .groups
            .iter_mut()
            .find(|g| g.is_none())
            .ok_or(MulticastError::TableFull)?;
        *free = Some(group);
        Ok(())
    }

    /// Stop accepting packets for `group`; true if it was joined.
    pub fn leave_multicast_v4(&mut self, group: Ipv4Addr) -> bool {
        match self.groups.iter_mut().find(|g| **g == Some(group)) {
            Some(g) => {
                *g = None;
                true
            }
            None => false,
        }
    }

    /// True when packets for `group` are accepted (joined, or the all-hosts group).
    pub fn has_multicast_group(&self, group: Ipv4Addr) -> bool {
        group == Ipv4Addr::new(224, 0, 0, 1) || self.groups.contains(&Some(group))
    }

    /// The statistics: every drop by reason, traffic and pool usage.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Run everything that is due: receive and process the frames the driver has (at most
    /// `rx_burst` per call, so transmission cannot starve), send what is queued, fire ARP and
    /// reassembly timers. Returns when the next timer is due (`None`: nothing scheduled, wait
    /// for the driver), or `now` when work is left that could be done at once.
    pub fn poll<D: Driver>(&mut self, driver: &mut D, now: Instant) -> Option<Instant> {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let caps_mtu = driver.capabilities().max_transmission_unit;
        self.mtu = self.effective_mtu(caps_mtu);
        #[cfg(feature = "udp")]
        {
            self.last_poll = now;
        }
        if !self.started {
            self.started = true;
            if self.config.ipv4.is_some() {
                self.announce = true;
            }
        }
        self.run_timers(now);
        // The DHCP client and the DNS resolver send what is due (into the transmit queue).
        #[cfg(feature = "dhcpv4")]
        self.dhcp_poll(now);
        #[cfg(feature = "dns")]
        self.dns_poll(now);
        if self.announce {
            self.announce = false;
            self.send_gratuitous_arp();
        }
        let burst = if self.config.rx_burst == 0 {
            self.pool.capacity().max(4)
        } else {
            self.config.rx_burst
        };
        let mut rx_left = true;
        for _ in 0..burst {
            let Some((rx, tx)) = driver.receive(&mut cx) else {
                rx_left = false;
                break;
            };
            drop(tx);
            embassy_net_driver::RxToken::consume(rx, |frame| self.process_frame(frame, now));
            self.flush_queue(driver, &mut cx, now);
        }
        let mut busy = !self.flush_queue(driver, &mut cx, now);
        #[cfg(feature = "tcp")]
        if !busy {
            busy = !self.transmit_tcp(driver, &mut cx, now);
        }
        if !busy {
            busy = !self.transmit_held(driver, &mut cx, now);
        }
        // Sending datagrams may have queued ARP requests.
        if !busy {
            busy = !self.flush_queue(driver, &mut cx, now);
        }
        self.sync_stats();
        #[cfg(feature = "tcp")]
        let (tcp_deadline, tcp_due) = self.tcp_deadline();
        #[cfg(not(feature = "tcp"))]
        let (tcp_deadline, tcp_due) = (None::<Instant>, false);
        if rx_left || busy || self.announce || tcp_due {
            return Some(now);
        }
        #[cfg(feature = "dhcpv4")]
        let dhcp = self.dhcp_deadline();
        #[cfg(not(feature = "dhcpv4"))]
        let dhcp = None;
        #[cfg(feature = "dns")]
        let dns = self.dns_deadline().map(|t| t.max(now));
        #[cfg(not(feature = "dns"))]
        let dns = None;
        let min = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let next = min(self.arp.next_deadline(), self.frag.next_deadline());
        min(min(next, min(dhcp, dns)), tcp_deadline.map(|t| t.max(now)))
    }

    fn effective_mtu(&self, driver_mtu: usize) -> usize {
        let mut mtu = self.config.mtu.min(65535);
        if driver_mtu > crate::wire::ethernet::HEADER_LEN {
            mtu = mtu.min(driver_mtu - crate::wire::ethernet::HEADER_LEN);
        }
        mtu.max(68)
    }

    fn run_timers(&mut self, now: Instant) {
        while let Some(action) = self.arp.poll(now) {
            match action {
                crate::arp_cache::ArpAction::Request { ip, to } => self.send_arp_request(ip, to),
                crate::arp_cache::ArpAction::Timeout { ip } => self.arp_failed(ip),
            }
        }
        let expired = self.frag.expire(now);
        self.stats.frag_timeout = self.stats.frag_timeout.wrapping_add(expired);
    }

    /// Copy pool and table usage into the statistics.
    pub(crate) fn sync_stats(&mut self) {
        #[cfg(feature = "tcp")]
        self.sync_tcp_stats();
        let p = self.pool.stats();
        let s = &mut self.stats;
        s.pool_packets_capacity = p.capacity;
        s.pool_packets_in_use = p.in_use;
        s.pool_packets_high_water = p.high_water;
        s.pool_packets_alloc_failures = p.alloc_failures;
        s.arp_cache_capacity = self.arp.capacity() as u32;
        gauge(
            &mut s.arp_cache_in_use,
            &mut s.arp_cache_high_water,
            self.arp.in_use(),
        );
        s.arp_cache_high_water = s.arp_cache_high_water.max(self.arp.high_water() as u32);
        s.tx_queue_capacity = self.queue.capacity() as u32;
        gauge(
            &mut s.tx_queue_in_use,
            &mut s.tx_queue_high_water,
            self.queue.in_use(),
        );
        s.tx_queue_high_water = s.tx_queue_high_water.max(self.queue.high_water as u32);
        s.reassembly_capacity = self.frag.capacity() as u32;
        gauge(
            &mut s.reassembly_in_use,
            &mut s.reassembly_high_water,
            self.frag.in_use(),
        );
        s.reassembly_high_water = s.reassembly_high_water.max(self.frag.high_water() as u32);
        #[cfg(feature = "udp")]
        {
            s.udp_sockets_capacity = self.sockets.slots.len() as u32;
            gauge(
                &mut s.udp_sockets_in_use,
                &mut s.udp_sockets_high_water,
                self.sockets.in_use(),
            );
        }
    }

    pub(crate) fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }
}

/// Without ICMP (feature `icmp` off) no ICMP error is ever sent.
#[cfg(not(feature = "icmp"))]
impl Stack<'_> {
    pub(crate) fn send_dst_unreachable(
        &mut self,
        _info: ipv4::IpInfo,
        _reason: crate::wire::Icmpv4DstUnreachable,
        _quote: &[u8],
        _now: Instant,
    ) {
    }
}

/// The UDP socket API (feature `udp`).
#[cfg(feature = "udp")]
impl<'a> Stack<'a> {
    /// Bind a UDP socket to `port` (0: an ephemeral port from 49152 up).
    pub fn udp_bind(&mut self, port: u16) -> Result<UdpHandle, UdpError> {
        // Port 68 belongs to the DHCP client while it runs.
        #[cfg(feature = "dhcpv4")]
        if self.dhcp_owns_port(port) {
            return Err(UdpError::AddrInUse);
        }
        let r = self.sockets.bind(port);
        self.sync_stats();
        r
    }

    /// The local port of a bound socket.
    pub fn udp_local_port(&self, h: UdpHandle) -> Option<u16> {
        self.sockets.slots.get(h.0).and_then(|s| s.local_port())
    }

    /// Queue `payload` for `to`: it is built into packet buffers now (fragmented if it is
    /// larger than the MTU or a buffer allows) and sent on the next poll. `BufferFull` when
    /// the pool (beyond its frame reserve) or the transmit queue has no room for it yet;
    /// `TooLarge` when it exceeds the socket's largest datagram or could never fit. Its frames
    /// are complete once queued: if the interface address changes before they leave, they
    /// still carry the address they were sent from.
    pub fn udp_send_to(
        &mut self,
        h: UdpHandle,
        payload: &[u8],
        to: SocketAddrV4,
    ) -> Result<(), UdpError> {
        self.udp_enqueue(h, payload, to)
    }

    /// Take the oldest received datagram: its length and sender. `WouldBlock` when none;
    /// `Truncated` when `buf` was too small (the datagram is consumed, its first `buf.len()`
    /// bytes copied, and the loss counted in `udp_recv_truncated`).
    pub fn udp_recv_from(
        &mut self,
        h: UdpHandle,
        buf: &mut [u8],
    ) -> Result<(usize, SocketAddrV4), UdpError> {
        let (n, from, truncated) = self.udp_dequeue(h, buf)?;
        if truncated {
            crate::stats::bump(&mut self.stats.udp_recv_truncated);
            return Err(UdpError::Truncated);
        }
        Ok((n, from))
    }

    /// Close a socket, returning the buffers of the datagrams it had not read to the pool
    /// (datagrams it sent stay queued and go out). Stale handles are ignored.
    pub fn udp_close(&mut self, h: UdpHandle) {
        self.sockets.close(h, &mut self.pool);
        self.sync_stats();
    }
}
