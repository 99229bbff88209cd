//! End-to-end tests of the stack-runtime core against the Linux kernel: `host-services` on a TAP
//! inside a fresh network namespace (kernel 192.0.2.1/24, stack 192.0.2.2/24), driven by the
//! kernel's own `ping`, UDP sockets and a packet socket. Each test has its own namespace, so they
//! run in parallel; every loop is bounded in count and time.
//!
//! Needs root (or CAP_NET_ADMIN), `ip`, `ping` and `python3` (`cargo xtask deps`), and the
//! `host-services` binary built beside the tests (`cargo build -p host-services`; `cargo xtask
//! test` does both).

use std::io::ErrorKind;
use std::net::{SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use stackgen_tests::{
    KERNEL_IP, Netns, Rng, STACK_IP, STACK_MAC, Signal, Statistics, TAP, echo_addr, ping,
    run_bounded,
};

/// The largest UDP payload that fits one Ethernet frame at MTU 1500 (1500 - 20 - 8), and the
/// largest ping payload (1500 - 20 - 8 ICMP header bytes) likewise.
const MAX_UNFRAGMENTED: usize = 1472;

/// A kernel UDP socket inside `ns`, bound to the kernel's address and connected to `to`, with a
/// receive timeout.
fn connected_socket(ns: &Netns, to: SocketAddrV4, timeout: Duration) -> UdpSocket {
    ns.run(|| {
        let socket = UdpSocket::bind(SocketAddrV4::new(KERNEL_IP, 0)).expect("bind in namespace");
        socket.connect(to).expect("connect");
        socket.set_read_timeout(Some(timeout)).expect("timeout");
        socket
    })
}

/// Sends `payload` to the echo service and returns what came back, or the receive error.
fn echo_once(socket: &UdpSocket, payload: &[u8], buf: &mut [u8]) -> std::io::Result<usize> {
    socket.send(payload)?;
    socket.recv(buf)
}

#[test]
fn ping_100_echoes_from_0_to_1472_bytes_without_loss() {
    let ns = Netns::new();
    let services = ns.start_host_services(&[]);
    let mut lost = Vec::new();
    for i in 0..100 {
        let size = i * MAX_UNFRAGMENTED / 99; // 0, 14, 29, ..., 1472
        let (transmitted, received) = ping(
            &ns,
            STACK_IP,
            size,
            1,
            Duration::from_millis(10),
            Duration::from_secs(2),
        );
        assert_eq!(transmitted, 1);
        if received != 1 {
            lost.push(size);
        }
    }
    let stats = services.stop();
    assert!(
        lost.is_empty(),
        "echo requests of these payload sizes got no reply: {lost:?}\n{}",
        stats.non_zero()
    );
    assert!(stats.get("pings_answered") >= 100, "{}", stats.non_zero());
}

#[test]
fn a_burst_of_pings_is_answered_in_full() {
    // One ping process, 100 requests 10 ms apart with sizes fixed: the pacing a user sees.
    let ns = Netns::new();
    let services = ns.start_host_services(&[]);
    let (transmitted, received) = ping(
        &ns,
        STACK_IP,
        56,
        100,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    let stats = services.stop();
    assert_eq!(transmitted, 100);
    assert_eq!(received, 100, "lost echo replies\n{}", stats.non_zero());
}

#[test]
fn udp_echo_returns_1000_datagrams_byte_for_byte() {
    let ns = Netns::new();
    let services = ns.start_host_services(&[]);
    let socket = connected_socket(&ns, echo_addr(), Duration::from_secs(2));
    let mut rng = Rng::new(0x5eed_0001);
    let mut payload = vec![0u8; MAX_UNFRAGMENTED];
    let mut buf = vec![0u8; 65536];
    let started = Instant::now();
    for i in 0..1000 {
        let len = rng.range(1, MAX_UNFRAGMENTED);
        rng.fill(&mut payload[..len]);
        match echo_once(&socket, &payload[..len], &mut buf) {
            Ok(n) => assert!(
                n == len && buf[..n] == payload[..len],
                "datagram {i} ({len} bytes) came back as {n} different bytes"
            ),
            Err(error) => {
                let stats = services.stop();
                panic!(
                    "datagram {i} ({len} bytes): no echo ({error})\n{}",
                    stats.non_zero()
                );
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "1000 echoes took too long"
        );
    }
    let stats = services.stop();
    assert!(stats.get("udp_rx") >= 1000, "{}", stats.non_zero());
    assert!(stats.get("udp_tx") >= 1000, "{}", stats.non_zero());
    assert_eq!(stats.get("udp_echo_replies"), 1000, "{}", stats.non_zero());
}

#[test]
fn a_fragmented_8000_byte_datagram_is_reassembled_and_echoed_whole() {
    let ns = Netns::new();
    let services = ns.start_host_services(&[]);
    let socket = connected_socket(&ns, echo_addr(), Duration::from_secs(3));
    let mut rng = Rng::new(0x5eed_0002);
    let mut buf = vec![0u8; 65536];
    for round in 0..3 {
        let mut payload = vec![0u8; 8000];
        rng.fill(&mut payload);
        match echo_once(&socket, &payload, &mut buf) {
            Ok(n) => assert!(
                n == payload.len() && buf[..n] == payload[..],
                "round {round}: 8000 bytes came back as {n} different bytes"
            ),
            Err(error) => {
                let stats = services.stop();
                panic!(
                    "round {round}: no echo of the 8000-byte datagram ({error})\n{}",
                    stats.non_zero()
                );
            }
        }
    }
    let stats = services.stop();
    // 8000 + 8 bytes of UDP need 6 fragments of at most 1480 bytes each way.
    assert!(stats.get("frag_reassembled") >= 3, "{}", stats.non_zero());
    assert!(stats.get("frag_tx") >= 3 * 6, "{}", stats.non_zero());
}

#[test]
fn a_closed_udp_port_answers_port_unreachable() {
    let ns = Netns::new();
    let services = ns.start_host_services(&[]);
    let socket = connected_socket(
        &ns,
        SocketAddrV4::new(STACK_IP, 9999),
        Duration::from_secs(3),
    );
    let mut buf = [0u8; 64];
    let result = echo_once(&socket, b"anyone there?", &mut buf);
    let stats = services.stop();
    match result {
        Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
        other => panic!(
            "expected ECONNREFUSED from the stack's ICMP port unreachable, got {other:?}\n{}",
            stats.non_zero()
        ),
    }
    assert!(stats.get("udp_no_socket") >= 1, "{}", stats.non_zero());
    assert!(
        stats.get("icmp_unreachable_tx") >= 1,
        "{}",
        stats.non_zero()
    );
}

/// Frames of each class the malformed-frame script sent, from its `class: count` lines.
fn script_counts(stdout: &str) -> Statistics {
    let lines: Vec<String> = std::iter::once("statistics:".to_string())
        .chain(stdout.lines().map(str::to_string))
        .chain(std::iter::once("drops_total: 0".to_string()))
        .collect();
    Statistics::parse(&lines).expect("script output")
}

#[test]
fn malformed_frames_are_dropped_counted_and_survived() {
    const FRAMES: u32 = 5000;
    let ns = Netns::new();
    // The kernel queues at most `txqueuelen` frames for the TAP reader (500 by default) and
    // drops the rest. The script paces its bursts, but a loaded machine may stall the stack's
    // process; a queue longer than the whole storm means every frame reaches the stack.
    ns.ip(&["link", "set", TAP, "txqueuelen", "8000"]);
    let services = ns.start_host_services(&[]);

    // The stack answers before the storm...
    let (_, received) = ping(
        &ns,
        STACK_IP,
        56,
        3,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    assert_eq!(received, 3, "no ping replies before the malformed frames");

    let kernel_drops_before = ns.tap_counter("tx_dropped");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/malformed_frames.py");
    let mac = STACK_MAC
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let output = run_bounded(
        ns.command("python3").arg(&script).args([
            "--iface",
            TAP,
            "--count",
            &FRAMES.to_string(),
            "--seed",
            "20260123",
            "--dst-mac",
            &mac,
            "--dst-ip",
            &STACK_IP.to_string(),
            "--src-ip",
            &KERNEL_IP.to_string(),
        ]),
        Duration::from_secs(120),
    )
    .unwrap_or_else(|error| panic!("cannot run {} with python3: {error}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "malformed-frame script failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let sent_by_class = script_counts(&stdout);
    let sent = sent_by_class.get("sent");
    assert_eq!(
        sent,
        u64::from(FRAMES),
        "the kernel refused frames:\n{stdout}"
    );
    // Frames the kernel could not queue for the stack (TAP queue full) never reached it.
    let kernel_drops = ns.tap_counter("tx_dropped") - kernel_drops_before;

    // ...and after it.
    let (_, received) = ping(
        &ns,
        STACK_IP,
        56,
        5,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    let stats = services.stop();
    assert_eq!(
        received,
        5,
        "the stack stopped answering ping after malformed frames\n{}",
        stats.non_zero()
    );

    // Every frame was built so that a correct stack must drop it, and the stack counts every
    // drop under exactly one reason: all frames that reached it are in drops_total (the kernel's
    // own IPv6 chatter on the link only adds to it).
    let delivered = sent - kernel_drops;
    assert!(
        stats.drops_total() >= delivered,
        "{delivered} malformed frames reached the stack ({kernel_drops} lost in the kernel), \
         only {} drops counted\nsent:\n{stdout}\nstack:\n{}",
        stats.drops_total(),
        stats.non_zero()
    );
    assert_eq!(
        kernel_drops,
        0,
        "the kernel dropped frames before the stack read them (TAP queue overflow)\n{}",
        stats.non_zero()
    );
    // The classes whose reason is unambiguous are counted under that reason (other, similar
    // drops may add to the same counters, hence >=).
    for (class, counter) in [
        ("ipv4_bad_checksum", "ipv4_bad_checksum"),
        ("udp_bad_checksum", "udp_bad_checksum"),
        ("icmp_bad_checksum", "icmp_bad_checksum"),
        ("unknown_ethertype", "eth_unknown_type"),
        ("arp_truncated", "arp_truncated"),
    ] {
        let sent = sent_by_class.get(class);
        assert!(sent > 0, "the script sent no {class} frames");
        assert!(
            stats.get(counter) >= sent,
            "{sent} {class} frames sent, {counter} = {}\n{}",
            stats.get(counter),
            stats.non_zero()
        );
    }
    // Truncated and malformed IPv4/UDP/ICMP are each counted under some reason of their layer.
    let ipv4_bad = stats.get("ipv4_truncated") + stats.get("ipv4_malformed");
    let ipv4_sent = sent_by_class.get("ipv4_truncated")
        + sent_by_class.get("ipv4_bad_version")
        + sent_by_class.get("ipv4_bad_ihl")
        + sent_by_class.get("ipv4_bad_total_length");
    assert!(
        ipv4_bad >= ipv4_sent,
        "{ipv4_sent} bad IPv4 headers sent\n{}",
        stats.non_zero()
    );
    let udp_sent = sent_by_class.get("udp_truncated") + sent_by_class.get("udp_bad_length");
    assert!(
        stats.get("udp_malformed") >= udp_sent,
        "{udp_sent} bad UDP headers sent\n{}",
        stats.non_zero()
    );
    assert!(
        stats.get("icmp_malformed") >= sent_by_class.get("icmp_truncated"),
        "{}",
        stats.non_zero()
    );
}

#[test]
fn pcap_records_the_traffic() {
    let ns = Netns::new();
    let path = std::env::temp_dir().join(format!("{}.pcap", ns.name()));
    let _ = std::fs::remove_file(&path);
    let services = ns.start_host_services(&["--pcap", path.to_str().expect("UTF-8 temp dir")]);
    let (_, received) = ping(
        &ns,
        STACK_IP,
        56,
        1,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    services.stop();
    let bytes = std::fs::read(&path).expect("host-services wrote the pcap file");
    let _ = std::fs::remove_file(&path);
    assert_eq!(received, 1);
    assert!(bytes.len() >= 24, "no pcap header");
    assert_eq!(&bytes[..4], &0xa1b2_c3d4u32.to_le_bytes(), "magic");
    assert_eq!(&bytes[4..8], &[2, 0, 4, 0], "version 2.4");
    assert_eq!(&bytes[20..24], &1u32.to_le_bytes(), "LINKTYPE_ETHERNET");
    let mut records = Vec::new();
    let mut rest = &bytes[24..];
    while !rest.is_empty() {
        assert!(rest.len() >= 16, "truncated record header");
        let len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
        assert!(rest.len() >= 16 + len, "truncated record");
        records.push(rest[16..16 + len].to_vec());
        rest = &rest[16 + len..];
    }
    // At least the echo request in and the echo reply out.
    assert!(records.len() >= 2, "{} records", records.len());
    let is_icmp_echo = |f: &Vec<u8>, ty: u8| {
        f.len() >= 35 && f[12..14] == [0x08, 0x00] && f[23] == 1 && f[34] == ty
    };
    assert!(
        records.iter().any(|f| is_icmp_echo(f, 8)),
        "no echo request recorded"
    );
    assert!(
        records
            .iter()
            .any(|f| is_icmp_echo(f, 0) && f[6..12] == STACK_MAC),
        "no echo reply recorded"
    );
}

#[test]
fn the_mac_flag_sets_the_stacks_address_and_sigterm_prints_statistics() {
    let ns = Netns::new();
    let services = ns.start_host_services(&["--mac", "02:00:00:00:00:99"]);
    let (_, received) = ping(
        &ns,
        STACK_IP,
        56,
        1,
        Duration::from_millis(10),
        Duration::from_secs(2),
    );
    let neighbours = ns.ip(&["neigh", "show", &STACK_IP.to_string(), "dev", TAP]);
    let stats = services.stop_with(Signal::SIGTERM);
    assert_eq!(received, 1, "{}", stats.non_zero());
    assert!(
        neighbours.contains("02:00:00:00:00:99"),
        "the kernel resolved 192.0.2.2 to another MAC: {neighbours}"
    );
    assert!(stats.get("pings_answered") >= 1, "{}", stats.non_zero());
}

#[test]
fn udp_echo_to_an_off_link_peer_goes_through_the_gateway() {
    // The kernel also owns 198.51.100.1 (on lo): a datagram from there reaches the stack through
    // tap0, and the stack must send the echo to its gateway (192.0.2.1, the kernel) because
    // 198.51.100.1 is not on 192.0.2.0/24.
    let ns = Netns::new();
    ns.ip(&["addr", "add", "198.51.100.1/32", "dev", "lo"]);
    let services = ns.start_host_services(&[]);
    let socket = ns.run(|| {
        let socket = UdpSocket::bind("198.51.100.1:0").expect("bind to the off-link address");
        socket.connect(echo_addr()).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        socket
    });
    let mut buf = [0u8; 64];
    let result = echo_once(&socket, b"via the gateway", &mut buf);
    let stats = services.stop();
    match result {
        Ok(n) => assert_eq!(&buf[..n], b"via the gateway"),
        Err(error) => panic!(
            "no echo through the gateway ({error})\n{}",
            stats.non_zero()
        ),
    }
    assert_eq!(stats.get("udp_echo_unsent"), 0, "{}", stats.non_zero());
}
