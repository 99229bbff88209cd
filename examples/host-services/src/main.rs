//! host-services: the first program a user runs. It attaches stack-runtime to a Linux TAP
//! interface and serves ICMP echo (answered by the stack itself) and UDP echo on port 7, then
//! prints the stack's statistics when stopped with Ctrl-C (SIGINT) or SIGTERM.
//!
//! # Running it by hand
//!
//! Create a TAP interface owned by your user, give the kernel side an address, and start the
//! stack on the other side of the link:
//!
//! ```sh
//! sudo ip tuntap add dev tap0 mode tap user "$USER"
//! sudo ip addr add 192.0.2.1/24 dev tap0
//! sudo ip link set tap0 up
//! cargo run -p host-services -- --tap tap0 --ipv4 192.0.2.2/24 --gateway 192.0.2.1 \
//!     --pcap /tmp/stack.pcap
//! ```
//!
//! Then, from another terminal:
//!
//! ```sh
//! ping -c 3 192.0.2.2                        # ICMP echo
//! echo hello | nc -u -w1 192.0.2.2 7         # UDP echo: prints "hello"
//! wireshark /tmp/stack.pcap                  # every frame in and out of the stack
//! ```
//!
//! Ctrl-C stops it and prints `statistics:` followed by one `name: value` line per counter and
//! finally `drops_total: N`. Remove the interface with `sudo ip tuntap del dev tap0 mode tap`.
//!
//! # Fault injection
//!
//! The kernels the stack is tested on often lack `netem`, so the program can break the link
//! itself, in both directions, reproducibly from a seed:
//!
//! ```sh
//! cargo run -p host-services -- --tap tap0 --ipv4 192.0.2.2/24 \
//!     --loss 3% --reorder 10% --duplicate 1% --corrupt 0.5% --delay 2ms --fault-seed 1
//! ```
//!
//! Probabilities are written `3%`, `0.5%`, `250ppm` or `0.03`; durations `2ms`, `500us`, `1s`.
//! All are off by default; when any is set, the TAP device is wrapped in
//! [`stack_runtime::fault::FaultyLink`] (see there for what each fault does; corruption only
//! touches IPv4 frames, and always so that a checksum detects it). With `--pcap` as well, the
//! capture records what the stack sees, that is the frames after the faults on the way in and
//! before them on the way out: the stack is wrapped as `Pcap(FaultyLink(TAP))`. The same seed
//! and the same traffic give the same faults, so a failing seed can be replayed. The
//! injector's counters are printed with the statistics, prefixed `fault_` (e.g.
//! `fault_rx_dropped: 3`, `fault_tx_corrupted: 1`); they are not part of `drops_total`, which
//! counts the stack's own drops.
//!
//! # Contract
//!
//! Test suites outside this repository start this program, so its interface is stable: the
//! flags `--tap NAME --ipv4 ADDR/PREFIX --gateway ADDR --mac MAC --pcap FILE` (and the fault
//! flags `--loss --reorder --duplicate --corrupt --delay --jitter --fault-seed`); the line
//! `host-services: listening on <ip> (tap <name>, mac <mac>)` on standard output once it
//! serves; the statistics format above; exit status 0 after SIGINT or SIGTERM.
//!
//! # DHCP and DNS
//!
//! `--dhcp` (instead of `--ipv4`/`--gateway`) takes address, gateway and DNS servers from a
//! DHCP server (`--dhcp-conflict-detection`: probe the address with ARP first, RFC 5227), and
//! `--resolve NAME` (repeatable) looks names up once the address is known, one after another,
//! asking `--dns-server ADDR` or the lease's servers. They print, on standard output:
//!
//! * `host-services: bound <ip>/<prefix> via <gateway|none> (dns <a,b|none>)` for each new
//!   lease, followed the first time by the "listening" line;
//! * `host-services: renewed <ip>/<prefix> for <seconds> s` when a lease is extended;
//! * `host-services: lease lost` when it expired or was refused (the address is gone);
//! * `host-services: resolved <NAME> to <a.b.c.d>` or `host-services: resolve <NAME> failed:
//!   <error>`.
//!
//! For example, with dnsmasq serving the TAP (`sudo dnsmasq --no-daemon --interface=tap0
//! --bind-interfaces --dhcp-range=192.0.2.50,192.0.2.60,2m`):
//!
//! ```sh
//! cargo run -p host-services -- --tap tap0 --dhcp --resolve device.example
//! ```
//!
//! # Sizing
//!
//! The stack's memory is fixed arrays on `main`'s stack, sized for a host: 16 packet buffers of
//! 1536 bytes, 8 ARP entries, 2 reassembly slots of 9 KiB (an 8,000-byte datagram fits), and 4
//! UDP sockets with 16 KiB receive and transmit buffers. The fault injector, when on, holds up to
//! 64 frames in flight in each direction.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use embassy_net_driver::Driver;
use host_tap::TapDevice;
use host_tap::args::{parse_cidr, parse_mac};
use host_tap::pcap::Pcap;
mod tcp_services;

use stack_runtime::dhcpv4::{DhcpConfig, DhcpEvent, DhcpSlot};
use stack_runtime::dns::{
    DnsCacheEntry, DnsConfig, DnsError, DnsQueryHandle, DnsQuerySlot, DnsStorage,
};
use stack_runtime::fault::{FaultConfig, FaultyLink, Probability};
use stack_runtime::time::{Duration, Instant};
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, UdpError, UdpHandle,
    UdpSlot,
};

/// Packet buffers for frames (also the length of the transmit queue); TCP data adds
/// `tcp_services::TCP_SEGMENTS` more to the pool.
const PACKETS: usize = 16;
/// Bytes per packet buffer: a full 1514-byte Ethernet frame, rounded up.
const PACKET_SIZE: usize = 1536;
/// ARP cache entries.
const ARP_ENTRIES: usize = 8;
/// Datagrams reassembled at once.
const REASSEMBLY_SLOTS: usize = 2;
/// Largest reassembled datagram (IPv4 header included): 9 KiB holds an 8,000-byte UDP payload
/// and a 9000-byte jumbo datagram.
const REASSEMBLY_SLOT_SIZE: usize = 9 * 1024;
/// UDP sockets.
const UDP_SOCKETS: usize = 4;
/// Most bytes of received payload each UDP socket keeps queued, and its largest datagram
/// (datagrams wait in the packet buffers: an 8,000-byte echo takes 6 of them each way).
const UDP_BUFFER: usize = 16 * 1024;

/// The UDP echo port (RFC 862).
const ECHO_PORT: u16 = 7;
/// Frames the fault injector holds in flight per direction (delayed, reordered, duplicated).
const FAULT_SLOTS: usize = 64;
/// Frame size of the fault injector's slots: a full Ethernet frame.
const FAULT_FRAME: usize = host_tap::ETHERNET_MTU;

/// Longest sleep between two polls when the stack has no earlier deadline, so a stop request is
/// seen promptly.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_millis(100);

/// Attach stack-runtime to a Linux TAP interface and serve ICMP echo and UDP echo (port 7).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Name of the TAP interface (create it with `ip tuntap add dev NAME mode tap`).
    #[arg(long, value_name = "NAME")]
    tap: String,
    /// The stack's IPv4 address and prefix length, e.g. 192.0.2.2/24 (or `--dhcp`).
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_cidr,
          required_unless_present = "dhcp", conflicts_with = "dhcp")]
    ipv4: Option<Ipv4Cidr>,
    /// Default gateway for destinations off the local network.
    #[arg(long, value_name = "ADDR", conflicts_with = "dhcp")]
    gateway: Option<Ipv4Addr>,
    /// Take address, gateway and DNS servers from a DHCP server instead of `--ipv4`/`--gateway`.
    #[arg(long)]
    dhcp: bool,
    /// With `--dhcp`: probe each leased address with ARP before using it, and decline it when
    /// another station has it (RFC 5227).
    #[arg(long, requires = "dhcp")]
    dhcp_conflict_detection: bool,
    /// Resolve NAME (an A record) once the address is known and print the answer; repeat the
    /// flag to resolve several names one after another.
    #[arg(long, value_name = "NAME")]
    resolve: Vec<String>,
    /// DNS server to ask (default: those of the DHCP lease).
    #[arg(long, value_name = "ADDR")]
    dns_server: Option<Ipv4Addr>,
    /// The stack's MAC address (must differ from the kernel side's).
    #[arg(long, value_name = "MAC", default_value = "02:00:00:00:00:02", value_parser = parse_mac)]
    mac: [u8; 6],
    /// Record every frame in and out to this pcap file (open it in Wireshark).
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// Fault injection: lose this share of the frames in each direction (e.g. 3%).
    #[arg(long, value_name = "P%", value_parser = parse_probability)]
    loss: Option<Probability>,
    /// Fault injection: hold back this share of the frames until the next one passed (e.g. 10%).
    #[arg(long, value_name = "P%", value_parser = parse_probability)]
    reorder: Option<Probability>,
    /// Fault injection: deliver this share of the frames twice (e.g. 1%).
    #[arg(long, value_name = "P%", value_parser = parse_probability)]
    duplicate: Option<Probability>,
    /// Fault injection: flip 1-3 bits in this share of the IPv4 frames (e.g. 0.5%).
    #[arg(long, value_name = "P%", value_parser = parse_probability)]
    corrupt: Option<Probability>,
    /// Fault injection: delay every frame by this much (e.g. 2ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    delay: Option<Duration>,
    /// Fault injection: add a random extra delay of up to this much (e.g. 1ms).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    jitter: Option<Duration>,
    /// Fault injection: seed of the pseudo-random faults; the same seed and traffic replay the
    /// same faults.
    #[arg(long, value_name = "N", default_value_t = 1)]
    fault_seed: u64,
    /// TCP client flags (`--connect`, `--send-bytes`).
    #[command(flatten)]
    tcp: tcp_services::TcpArgs,
}

impl Args {
    /// The faults to inject, or `None` when no fault flag asks for any.
    fn faults(&self) -> Option<FaultConfig> {
        let never = Probability::NEVER;
        let config = FaultConfig {
            loss: self.loss.unwrap_or(never),
            reorder: self.reorder.unwrap_or(never),
            duplicate: self.duplicate.unwrap_or(never),
            corrupt: self.corrupt.unwrap_or(never),
            delay: self.delay.unwrap_or(Duration::ZERO),
            jitter: self.jitter.unwrap_or(Duration::ZERO),
            seed: self.fault_seed,
            ..FaultConfig::NONE
        };
        config.is_active().then_some(config)
    }
}

/// Parses a fault probability: `3%`, `0.5%`, `250ppm` or `0.03`.
fn parse_probability(text: &str) -> Result<Probability, String> {
    FaultConfig::parse_percent(text).map_err(|error| format!("{text:?}: {error}"))
}

/// Parses a fault duration: `2ms`, `500us`, `1s`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    FaultConfig::parse_duration(text).map_err(|error| format!("{text:?}: {error}"))
}

/// A driver the main loop can sleep on and report about: the bare TAP, possibly behind the
/// fault injector, possibly behind a pcap recorder.
trait Board: Driver {
    /// Sleeps until a frame arrives or `timeout` passes.
    fn wait(&self, timeout: std::time::Duration) -> io::Result<bool>;
    /// Tells the board the time before each poll (the fault injector releases frames by it).
    fn set_now(&mut self, _now: Instant) {}
    /// When the board itself needs the loop awake (a delayed frame), if ever.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    /// Prints the board's own counters as `name: value` lines and flushes any capture.
    fn finish(&mut self) -> io::Result<()>;
}

impl Board for TapDevice {
    fn wait(&self, timeout: std::time::Duration) -> io::Result<bool> {
        TapDevice::wait(self, Some(timeout))
    }

    fn finish(&mut self) -> io::Result<()> {
        let counters = self.counters();
        println!("tap_rx_errors: {}", counters.rx_errors);
        println!("tap_tx_errors: {}", counters.tx_errors);
        Ok(())
    }
}

impl<B: Board> Board for Pcap<B> {
    fn wait(&self, timeout: std::time::Duration) -> io::Result<bool> {
        self.inner().wait(timeout)
    }

    fn set_now(&mut self, now: Instant) {
        self.inner_mut().set_now(now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.inner().next_deadline()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner_mut().finish()?;
        println!("pcap_records: {}", self.records());
        println!("pcap_write_errors: {}", self.write_errors());
        self.flush()
    }
}

impl<B: Board, const N: usize, const MTU: usize> Board for FaultyLink<B, N, MTU> {
    fn wait(&self, timeout: std::time::Duration) -> io::Result<bool> {
        // The loop already shortened `timeout` to the next release (`next_deadline`).
        self.inner().wait(timeout)
    }

    fn set_now(&mut self, now: Instant) {
        FaultyLink::set_now(self, now);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.next_release()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner_mut().finish()?;
        self.stats()
            .for_each(|name, value| println!("fault_{name}: {value}"));
        Ok(())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("host-services: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .map_err(|error| format!("cannot install the SIGINT/SIGTERM handler: {error}"))?;
    }
    let tap = TapDevice::open(&args.tap)
        .map_err(|error| match error.kind() {
            io::ErrorKind::InvalidInput => error.to_string(),
            _ => format!(
                "{error}\ncreate the interface first (as root): ip tuntap add dev {0} mode tap \
                 user \"$USER\" && ip link set {0} up",
                args.tap
            ),
        })?
        .with_mac(args.mac);
    match (&args.pcap, args.faults()) {
        (None, None) => serve(args, tap, &stop),
        (Some(path), None) => {
            let pcap = Pcap::create(tap, path).map_err(|error| error.to_string())?;
            serve(args, pcap, &stop)
        }
        (pcap_path, Some(config)) => {
            eprintln!(
                "host-services: injecting faults in both directions: loss {}, reorder {}, \
                 duplicate {}, corrupt {}, delay {}, jitter {}, seed {}",
                config.loss,
                config.reorder,
                config.duplicate,
                config.corrupt,
                config.delay,
                config.jitter,
                config.seed
            );
            let faulty: FaultyLink<TapDevice, FAULT_SLOTS, FAULT_FRAME> =
                FaultyLink::new(tap, config);
            match pcap_path {
                None => serve(args, faulty, &stop),
                // The capture shows what the stack sees: faults happen outside it.
                Some(path) => {
                    let pcap = Pcap::create(faulty, path).map_err(|error| error.to_string())?;
                    serve(args, pcap, &stop)
                }
            }
        }
    }
}

/// Runs the stack on `board` until `stop` is set, then prints the statistics.
fn serve<B: Board>(args: &Args, mut board: B, stop: &AtomicBool) -> Result<(), String> {
    // --- storage: fixed arrays, sized for the host profile --------------------------------
    let mut packets = vec![0u8; (PACKETS + tcp_services::TCP_SEGMENTS) * PACKET_SIZE];
    let mut tx_queue = [PendingSlot::EMPTY; PACKETS];
    let mut arp = [ArpEntry::EMPTY; ARP_ENTRIES];
    let mut reassembly = [ReassemblySlot::EMPTY; REASSEMBLY_SLOTS];
    let mut reassembly_bytes = [0u8; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE];
    let mut udp: [UdpSlot; UDP_SOCKETS] =
        std::array::from_fn(|_| UdpSlot::new(UDP_BUFFER, UDP_BUFFER));
    let mut tcp_memory = tcp_services::TcpMemory::new();
    let storage = StackStorage {
        packets: &mut packets,
        packet_size: PACKET_SIZE,
        tx_queue: &mut tx_queue,
        arp: &mut arp,
        reassembly: &mut reassembly,
        reassembly_bytes: &mut reassembly_bytes,
        udp: &mut udp,
        tcp: tcp_memory.storage(),
    };

    let config = StackConfig {
        ipv4: args.ipv4,
        gateway: args.gateway,
        seed: host_tap::random_seed().map_err(|error| format!("reading /dev/urandom: {error}"))?,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, storage, EthernetAddress(args.mac));
    // --- the DHCP client and the DNS resolver, from their own storage ------------------------
    let mut dhcp_slot = DhcpSlot::EMPTY;
    let mut dns_queries = [DnsQuerySlot::EMPTY; DNS_QUERIES];
    let mut dns_cache = [DnsCacheEntry::EMPTY; DNS_CACHE];
    let seed = clients_seed();
    if args.dhcp {
        let mut dhcp_config = DhcpConfig::new(seed).with_host_name("host-services");
        dhcp_config.conflict_detection = args.dhcp_conflict_detection;
        stack.enable_dhcp(&mut dhcp_slot, dhcp_config);
    }
    let mut dns_config = DnsConfig::new(seed.rotate_left(32));
    dns_config.servers[0] = args.dns_server;
    stack.enable_dns(
        DnsStorage {
            queries: &mut dns_queries,
            cache: &mut dns_cache,
        },
        dns_config,
    );
    let mut clients = Clients::new(args);
    let mut tcp = tcp_services::TcpServices::new(&mut stack, &args.tcp)?;
    let echo = stack
        .udp_bind(ECHO_PORT)
        .map_err(|error| format!("cannot bind UDP port {ECHO_PORT}: {error}"))?;

    let clock = std::time::Instant::now();
    let now =
        || Instant::from_micros(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX));

    if let Some(ipv4) = args.ipv4 {
        clients.listening(args, ipv4.address);
    }

    let mut datagram = vec![0u8; 65536];
    // A received datagram whose echo did not fit the transmit buffer yet: sent after the next
    // poll drained it, before anything else is read (so no datagram is ever lost here).
    let mut pending: Option<(usize, SocketAddrV4)> = None;
    let mut counters = EchoCounters::default();
    while !stop.load(Ordering::SeqCst) {
        let time = now();
        board.set_now(time);
        let next = stack.poll(&mut board, time);
        let next = clients.step(args, &mut stack, time).or(next);
        let echoed = serve_echo(&mut stack, echo, &mut datagram, &mut pending, &mut counters)?;
        let tcp_moved = tcp.step(&mut stack, time);
        if echoed || tcp_moved {
            // Replies are queued: let the stack send them before sleeping.
            continue;
        }
        let next = match (next, board.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = match next {
            Some(deadline) => {
                let left = deadline.total_micros().saturating_sub(now().total_micros());
                std::time::Duration::from_micros(left).min(MAX_SLEEP)
            }
            None => MAX_SLEEP,
        };
        board
            .wait(timeout)
            .map_err(|error| format!("waiting for frames: {error}"))?;
    }

    println!("statistics:");
    let stats = stack.stats();
    stats.for_each(|name, value| println!("{name}: {value}"));
    println!("udp_echo_replies: {}", counters.replies);
    println!("udp_echo_unsent: {}", counters.unsent);
    tcp.print();
    board
        .finish()
        .map_err(|error| format!("finishing the capture: {error}"))?;
    println!("drops_total: {}", stats.drops_total());
    Ok(())
}

/// DNS lookups at once (`--resolve` runs them one after another).
const DNS_QUERIES: usize = 2;
/// Cached DNS answers.
const DNS_CACHE: usize = 8;

/// A seed for the clients' transaction ids and jitter: differs per run and per process.
fn clients_seed() -> u64 {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    time ^ u64::from(std::process::id()).rotate_left(40)
}

/// Reports the DHCP client's events and runs the `--resolve` lookups.
#[derive(Debug)]
struct Clients {
    /// The "listening" line was printed.
    listening: bool,
    /// Names still to resolve, in order.
    names: std::collections::VecDeque<String>,
    /// The lookup in flight.
    query: Option<(String, DnsQueryHandle)>,
}

impl Clients {
    fn new(args: &Args) -> Clients {
        Clients {
            listening: false,
            names: args.resolve.iter().cloned().collect(),
            query: None,
        }
    }

    /// Prints the "listening" line (once): the contract's sign that the stack serves.
    fn listening(&mut self, args: &Args, address: Ipv4Addr) {
        if !self.listening {
            self.listening = true;
            println!(
                "host-services: listening on {address} (tap {}, mac {})",
                args.tap,
                EthernetAddress(args.mac)
            );
        }
    }

    /// After a poll: report DHCP events, start and finish lookups. Returns `Some(now)` when
    /// there is more to do at once.
    fn step(&mut self, args: &Args, stack: &mut Stack<'_>, now: Instant) -> Option<Instant> {
        while let Some(event) = stack.dhcp_take_event() {
            match event {
                DhcpEvent::Bound(lease) => {
                    let servers: Vec<String> = lease
                        .dns_servers
                        .iter()
                        .flatten()
                        .map(|s| s.to_string())
                        .collect();
                    println!(
                        "host-services: bound {} via {} (dns {})",
                        lease.address,
                        lease.router.map_or("none".to_string(), |r| r.to_string()),
                        if servers.is_empty() {
                            "none".to_string()
                        } else {
                            servers.join(",")
                        }
                    );
                    self.listening(args, lease.address.address);
                }
                DhcpEvent::Renewed(lease) => println!(
                    "host-services: renewed {} for {} s",
                    lease.address,
                    lease.duration.total_millis() / 1000
                ),
                DhcpEvent::Lost => println!("host-services: lease lost"),
            }
        }
        if !self.listening {
            return None;
        }
        if let Some((name, handle)) = self.query.take() {
            match stack.dns_result(handle) {
                Err(DnsError::WouldBlock) => self.query = Some((name, handle)),
                Ok(addr) => println!("host-services: resolved {name} to {addr}"),
                Err(error) => println!("host-services: resolve {name} failed: {error}"),
            }
        }
        if self.query.is_none()
            && let Some(name) = self.names.pop_front()
        {
            match stack.dns_query(&name) {
                Ok(handle) => self.query = Some((name, handle)),
                Err(error) => println!("host-services: resolve {name} failed: {error}"),
            }
            return Some(now);
        }
        None
    }
}

/// What the echo service did, printed with the stack's statistics.
#[derive(Debug, Default)]
struct EchoCounters {
    /// Datagrams echoed (queued on the socket).
    replies: u64,
    /// Datagrams that could never be echoed (no route back, too large); the stack refuses them
    /// in `udp_send_to`, so they appear in no stack counter.
    unsent: u64,
}

/// Echoes every datagram waiting on the echo socket. Returns whether any was echoed.
fn serve_echo(
    stack: &mut Stack<'_>,
    echo: UdpHandle,
    buf: &mut [u8],
    pending: &mut Option<(usize, SocketAddrV4)>,
    counters: &mut EchoCounters,
) -> Result<bool, String> {
    let mut echoed = false;
    loop {
        let (len, from) = match pending.take() {
            Some(datagram) => datagram,
            None => match stack.udp_recv_from(echo, buf) {
                Ok(datagram) => datagram,
                Err(UdpError::WouldBlock) => return Ok(echoed),
                // Cannot happen with a 64 KiB buffer; the stack counts it if it does.
                Err(UdpError::Truncated) => continue,
                Err(error) => return Err(format!("receiving on UDP port {ECHO_PORT}: {error}")),
            },
        };
        match stack.udp_send_to(echo, &buf[..len], from) {
            Ok(()) => {
                echoed = true;
                counters.replies += 1;
            }
            Err(UdpError::BufferFull) => {
                // Retried after the next poll; sleeping meanwhile is fine, since the buffer
                // only drains when the stack can send (a frame or a timer wakes the loop).
                *pending = Some((len, from));
                return Ok(echoed);
            }
            // A datagram that can never be echoed (no route back, too large): skip it.
            Err(UdpError::NoRoute | UdpError::TooLarge | UdpError::Unaddressed) => {
                counters.unsent += 1;
            }
            Err(error) => return Err(format!("sending on UDP port {ECHO_PORT}: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_contract_holds() {
        let args = Args::try_parse_from([
            "host-services",
            "--tap",
            "tap0",
            "--ipv4",
            "192.0.2.2/24",
            "--gateway",
            "192.0.2.1",
            "--pcap",
            "/tmp/x.pcap",
        ])
        .unwrap();
        assert_eq!(args.tap, "tap0");
        assert_eq!(args.mac, [2, 0, 0, 0, 0, 2], "default MAC");
        assert_eq!(args.gateway, Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(args.pcap, Some(PathBuf::from("/tmp/x.pcap")));
        assert!(Args::try_parse_from(["host-services", "--ipv4", "192.0.2.2/24"]).is_err());
    }

    #[test]
    fn fault_flags_are_off_by_default_and_parsed() {
        let base = ["host-services", "--tap", "tap0", "--ipv4", "192.0.2.2/24"];
        let with = |extra: &[&str]| Args::try_parse_from(base.iter().chain(extra));
        assert_eq!(with(&[]).unwrap().faults(), None);
        assert_eq!(with(&["--fault-seed", "9"]).unwrap().faults(), None);
        let args = with(&[
            "--loss",
            "3%",
            "--reorder",
            "10%",
            "--duplicate",
            "1%",
            "--corrupt",
            "0.5%",
            "--delay",
            "2ms",
            "--fault-seed",
            "7",
        ])
        .unwrap();
        let faults = args.faults().expect("faults on");
        assert_eq!(faults.loss, Probability::from_ppm(30_000));
        assert_eq!(faults.reorder, Probability::from_ppm(100_000));
        assert_eq!(faults.duplicate, Probability::from_ppm(10_000));
        assert_eq!(faults.corrupt, Probability::from_ppm(5_000));
        assert_eq!(faults.delay, Duration::from_millis(2));
        assert_eq!(faults.jitter, Duration::ZERO);
        assert_eq!(faults.seed, 7);
        let delay_only = with(&["--delay", "500us"]).unwrap().faults().unwrap();
        assert_eq!(delay_only.delay, Duration::from_micros(500));
        assert_eq!(delay_only.seed, 1, "default seed");
        assert!(with(&["--loss", "3"]).is_err(), "a bare 3 is 300 %");
        assert!(with(&["--loss", "101%"]).is_err());
        assert!(with(&["--delay", "2"]).is_err(), "a delay needs a unit");
    }

    #[test]
    fn dhcp_and_resolve_flags_are_parsed() {
        let parse = |extra: &[&str]| {
            Args::try_parse_from(["host-services", "--tap", "tap0"].iter().chain(extra))
        };
        let args = parse(&["--dhcp", "--resolve", "a.example", "--resolve", "b.example"]).unwrap();
        assert!(args.dhcp);
        assert_eq!(args.ipv4, None);
        assert_eq!(args.resolve, ["a.example", "b.example"]);
        assert!(parse(&[]).is_err(), "--ipv4 or --dhcp is required");
        assert!(parse(&["--dhcp", "--ipv4", "192.0.2.2/24"]).is_err());
        assert!(parse(&["--dhcp", "--gateway", "192.0.2.1"]).is_err());
        let args = parse(&["--ipv4", "192.0.2.2/24", "--dns-server", "192.0.2.1"]).unwrap();
        assert_eq!(args.dns_server, Some(Ipv4Addr::new(192, 0, 2, 1)));
    }
}
