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
use host_tap::pcap::Pcap;
use stack_runtime::fault::{FaultConfig, FaultyLink, Probability};
use stack_runtime::time::{Duration, Instant};
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, UdpError, UdpHandle,
    UdpSlot,
};

/// Packet buffers (also the length of the transmit queue).
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
/// Receive and transmit buffer of each UDP socket.
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
    /// The stack's IPv4 address and prefix length, e.g. 192.0.2.2/24.
    #[arg(long, value_name = "ADDR/PREFIX", value_parser = parse_cidr)]
    ipv4: Ipv4Cidr,
    /// Default gateway for destinations off the local network.
    #[arg(long, value_name = "ADDR")]
    gateway: Option<Ipv4Addr>,
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

/// Parses `ADDR/PREFIX`.
fn parse_cidr(text: &str) -> Result<Ipv4Cidr, String> {
    let (address, prefix) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not ADDR/PREFIX (e.g. 192.0.2.2/24)"))?;
    let address: Ipv4Addr = address
        .parse()
        .map_err(|error| format!("{address:?} is not an IPv4 address: {error}"))?;
    prefix
        .parse()
        .ok()
        .and_then(|prefix_len| Ipv4Cidr::new(address, prefix_len))
        .ok_or_else(|| format!("{prefix:?} is not a prefix length from 0 to 32"))
}

/// Parses a MAC address written as six colon-separated hex bytes.
fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next().unwrap_or("");
        *byte = u8::from_str_radix(part, 16)
            .ok()
            .filter(|_| !part.is_empty() && part.len() <= 2)
            .ok_or_else(|| format!("{text:?} is not a MAC address like 02:00:00:00:00:02"))?;
    }
    if parts.next().is_some() {
        return Err(format!("{text:?} has more than six bytes"));
    }
    if mac[0] & 1 != 0 {
        return Err(format!(
            "{text:?} is a multicast address; a station needs unicast"
        ));
    }
    Ok(mac)
}

/// Formats a MAC address as `02:00:00:00:00:02`.
fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
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
    let mut packets = [[0u8; PACKET_SIZE]; PACKETS];
    let mut tx_queue = [PendingSlot::EMPTY; PACKETS];
    let mut arp = [ArpEntry::EMPTY; ARP_ENTRIES];
    let mut reassembly = [ReassemblySlot::EMPTY; REASSEMBLY_SLOTS];
    let mut reassembly_bytes = [0u8; REASSEMBLY_SLOTS * REASSEMBLY_SLOT_SIZE];
    let mut udp_rx = [[0u8; UDP_BUFFER]; UDP_SOCKETS];
    let mut udp_tx = [[0u8; UDP_BUFFER]; UDP_SOCKETS];
    let mut buffers = udp_rx.iter_mut().zip(udp_tx.iter_mut());
    let mut udp: [UdpSlot<'_>; UDP_SOCKETS] = std::array::from_fn(|_| {
        let (rx, tx) = buffers.next().expect("one buffer pair per socket");
        UdpSlot::new(rx, tx)
    });
    let storage = StackStorage {
        packets: packets.as_flattened_mut(),
        packet_size: PACKET_SIZE,
        tx_queue: &mut tx_queue,
        arp: &mut arp,
        reassembly: &mut reassembly,
        reassembly_bytes: &mut reassembly_bytes,
        udp: &mut udp,
    };

    let config = StackConfig {
        ipv4: Some(args.ipv4),
        gateway: args.gateway,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, storage, EthernetAddress(args.mac));
    let echo = stack
        .udp_bind(ECHO_PORT)
        .map_err(|error| format!("cannot bind UDP port {ECHO_PORT}: {error}"))?;

    let clock = std::time::Instant::now();
    let now =
        || Instant::from_micros(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX));

    println!(
        "host-services: listening on {} (tap {}, mac {})",
        args.ipv4.address,
        args.tap,
        format_mac(args.mac)
    );

    let mut datagram = vec![0u8; 65536];
    // A received datagram whose echo did not fit the transmit buffer yet: sent after the next
    // poll drained it, before anything else is read (so no datagram is ever lost here).
    let mut pending: Option<(usize, SocketAddrV4)> = None;
    let mut counters = EchoCounters::default();
    while !stop.load(Ordering::SeqCst) {
        let time = now();
        board.set_now(time);
        let next = stack.poll(&mut board, time);
        let echoed = serve_echo(&mut stack, echo, &mut datagram, &mut pending, &mut counters)?;
        if echoed {
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
    board
        .finish()
        .map_err(|error| format!("finishing the capture: {error}"))?;
    println!("drops_total: {}", stats.drops_total());
    Ok(())
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
    fn macs_are_parsed_and_checked() {
        assert_eq!(parse_mac("02:00:00:00:00:02"), Ok([2, 0, 0, 0, 0, 2]));
        assert_eq!(
            parse_mac("02:AB:cd:0:1:ff"),
            Ok([2, 0xab, 0xcd, 0, 1, 0xff])
        );
        assert!(parse_mac("02:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:02:03").is_err());
        assert!(parse_mac("02:00:00:00:00:2g").is_err());
        assert!(parse_mac("02:00:00:00::02").is_err());
        assert!(parse_mac("002:00:00:00:00:02").is_err());
        assert!(parse_mac("01:00:5e:00:00:01").is_err(), "multicast");
        assert_eq!(format_mac([2, 0xab, 0, 0, 0, 2]), "02:ab:00:00:00:02");
    }

    #[test]
    fn cidrs_are_parsed_and_checked() {
        let cidr = parse_cidr("192.0.2.2/24").unwrap();
        assert_eq!(cidr.address, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(cidr.prefix_len, 24);
        assert!(parse_cidr("192.0.2.2").is_err());
        assert!(parse_cidr("192.0.2.2/33").is_err());
        assert!(parse_cidr("192.0.2/24").is_err());
    }

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
}
