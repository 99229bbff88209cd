//! End-to-end tests of the fault injector: `host-services` started with `--loss 3% --reorder 10%
//! --duplicate 1% --corrupt 0.5% --delay 2ms --fault-seed 1` on a TAP inside a fresh network
//! namespace (kernel 192.0.2.1/24, stack 192.0.2.2/24), so every frame in and out of the stack
//! goes through `stack_runtime::fault::FaultyLink`. The kernel's UDP socket retries what the
//! faults destroy; its own checksum verification must discard every corrupted frame the stack
//! passes on (and the stack every corrupted frame the kernel sends). Every loop is bounded in
//! count and time; the namespace goes with its guard.
//!
//! Needs root (or CAP_NET_ADMIN), `ip` and `ping`, and the `host-services` binary built beside
//! the tests (`cargo build -p host-services`).

use std::collections::{BTreeMap, HashSet};
use std::io::ErrorKind;
use std::net::{SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use stackgen_tests::{KERNEL_IP, Netns, Rng, STACK_IP, Statistics, echo_addr, ping, run_bounded};

/// The fault flags under test: the example of the TCP issue, seeded.
const FAULTS: [&str; 12] = [
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
    "1",
];

/// Datagrams echoed, each until it comes back byte-exact.
const DATAGRAMS: u32 = 300;
/// Sends of one datagram before the test gives up on it.
const TRIES: u32 = 12;
/// How long one send waits for its echo. Well above the 2 × 2 ms of delay and the 10 ms a
/// reordered frame may be held, so a retry means a loss, not a late echo (late ones are
/// recognised anyway).
const ECHO_WAIT: Duration = Duration::from_millis(250);
/// Bound on the whole echo exchange.
const ECHO_BUDGET: Duration = Duration::from_secs(150);
/// The largest UDP payload in one Ethernet frame at MTU 1500.
const MAX_UNFRAGMENTED: usize = 1472;
/// The smallest payload the test sends: 14 + 20 + 8 + 18 = 60 bytes, so no frame needs
/// Ethernet padding (bits flipped in padding would be harmless, and invisible to checksums).
const MIN_PAYLOAD: usize = 18;

/// A kernel UDP socket inside `ns`, bound to the kernel's address and connected to `to`.
fn connected_socket(ns: &Netns, to: SocketAddrV4, timeout: Duration) -> UdpSocket {
    ns.run(|| {
        let socket = UdpSocket::bind(SocketAddrV4::new(KERNEL_IP, 0)).expect("bind in namespace");
        socket.connect(to).expect("connect");
        socket.set_read_timeout(Some(timeout)).expect("timeout");
        socket
    })
}

/// The kernel's protocol counters in `ns` (`/proc/net/snmp`), as `Ip.InHdrErrors` etc.
fn kernel_snmp(ns: &Netns) -> BTreeMap<String, u64> {
    let output = run_bounded(
        ns.command("cat").arg("/proc/net/snmp"),
        Duration::from_secs(20),
    )
    .expect("cannot read /proc/net/snmp in the namespace");
    assert!(output.status.success(), "cat /proc/net/snmp failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let mut counters = BTreeMap::new();
    // Pairs of lines: "Ip: Forwarding DefaultTTL ..." then "Ip: 1 64 ...".
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        let (Some((protocol, names)), Some((_, values))) =
            (names.split_once(':'), values.split_once(':'))
        else {
            continue;
        };
        for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(value) = value.parse::<u64>() {
                counters.insert(format!("{protocol}.{name}"), value);
            }
        }
    }
    counters
}

/// Frames the kernel threw away for a bad IPv4 header or checksum.
fn kernel_checksum_drops(snmp: &BTreeMap<String, u64>) -> u64 {
    [
        "Ip.InHdrErrors",
        "Ip.InTruncatedPkts",
        "Icmp.InCsumErrors",
        "Udp.InCsumErrors",
    ]
    .iter()
    .map(|name| snmp.get(*name).copied().unwrap_or(0))
    .sum()
}

/// The sum of a fault counter over both directions.
fn both_ways(stats: &Statistics, fault: &str) -> u64 {
    stats.get(&format!("fault_rx_{fault}")) + stats.get(&format!("fault_tx_{fault}"))
}

#[test]
fn udp_echo_and_ping_get_through_loss_reordering_duplication_corruption_and_delay() {
    let ns = Netns::new();
    let services = ns.start_host_services(&FAULTS);
    let snmp_before = kernel_snmp(&ns);
    let socket = connected_socket(&ns, echo_addr(), ECHO_WAIT);
    let mut rng = Rng::new(0x5eed_fa17);
    let mut sent: HashSet<Vec<u8>> = HashSet::new();
    let mut buf = vec![0u8; 65536];
    let (mut retries, mut stale, mut foreign) = (0u32, 0u32, Vec::new());
    let started = Instant::now();

    // Whatever arrives is either the echo we wait for, an older echo (late, or duplicated), or
    // something we never sent: a corrupted datagram that got past the kernel's checksum.
    let mut classify = |got: &[u8], want: &[u8], sent: &HashSet<Vec<u8>>| -> bool {
        if got == want {
            return true;
        }
        if sent.contains(got) {
            stale += 1;
        } else {
            foreign.push(got.len());
        }
        false
    };

    for i in 0..DATAGRAMS {
        let len = rng.range(MIN_PAYLOAD, MAX_UNFRAGMENTED);
        let mut payload = vec![0u8; len];
        rng.fill(&mut payload);
        payload[..4].copy_from_slice(&i.to_be_bytes());
        sent.insert(payload.clone());
        let mut echoed = false;
        for attempt in 0..TRIES {
            if attempt > 0 {
                retries += 1;
            }
            socket.send(&payload).expect("send to the echo service");
            let deadline = Instant::now() + ECHO_WAIT;
            while !echoed && Instant::now() < deadline {
                match socket.recv(&mut buf) {
                    Ok(n) => echoed = classify(&buf[..n], &payload, &sent),
                    Err(error)
                        if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                    {
                        break;
                    }
                    // An ICMP error from the stack would show here: never expected.
                    Err(error) => panic!("datagram {i}: receive failed: {error}"),
                }
            }
            if echoed {
                break;
            }
        }
        if !echoed || started.elapsed() > ECHO_BUDGET {
            let stats = services.stop();
            panic!(
                "datagram {i} ({len} bytes): echoed {echoed} after {TRIES} tries, {:?} \
                 elapsed\n{}",
                started.elapsed(),
                stats.non_zero()
            );
        }
    }
    let echo_time = started.elapsed();
    // Late echoes still in flight are read too, so the kernel checks every checksum.
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    while let Ok(n) = socket.recv(&mut buf) {
        classify(&buf[..n], &[], &sent);
    }

    // Ping goes through the same faults: some requests or replies may be lost, not all.
    let (transmitted, received) = ping(
        &ns,
        STACK_IP,
        56,
        20,
        Duration::from_millis(50),
        Duration::from_secs(1),
    );
    let snmp_after = kernel_snmp(&ns);
    let stats = services.stop();
    let kernel_drops = kernel_checksum_drops(&snmp_after) - kernel_checksum_drops(&snmp_before);
    let report = format!(
        "{DATAGRAMS} datagrams in {echo_time:?}: {retries} retries, {stale} stale echoes; \
         ping {received}/{transmitted}; {kernel_drops} frames failed the kernel's checks\n{}",
        stats.non_zero()
    );
    eprintln!("{report}");

    assert!(
        foreign.is_empty(),
        "datagrams nobody sent reached the kernel socket (corruption got through), lengths \
         {foreign:?}\n{report}"
    );
    assert_eq!(transmitted, 20);
    assert!(received >= 14, "ping mostly lost\n{report}");
    assert!(
        stats.get("udp_echo_replies") >= u64::from(DATAGRAMS),
        "{report}"
    );

    // Every fault happened, in each direction or (for the rare ones) in one of them at least.
    for fault in ["dropped", "reordered", "duplicated", "corrupted"] {
        assert!(both_ways(&stats, fault) > 0, "no frame {fault}\n{report}");
    }
    for direction in ["rx", "tx"] {
        for fault in ["dropped", "reordered", "delayed"] {
            let name = format!("fault_{direction}_{fault}");
            assert!(stats.get(&name) > 0, "{name} is zero\n{report}");
        }
        // With 2 ms of delay every frame that was not lost is delayed.
        let get = |fault: &str| stats.get(&format!("fault_{direction}_{fault}"));
        assert!(
            get("delayed") + get("dropped") + get("oversize") + get("overflow") >= get("frames_in"),
            "{report}"
        );
    }
    // Retries answer the losses: at least one per datagram lost on the way.
    assert!(retries > 0, "{report}");

    // Corrupted frames toward the stack were all dropped by it (each under a checksum or
    // header-validation counter), and those toward the kernel by the kernel.
    let stack_checks: u64 = [
        "ipv4_bad_checksum",
        "ipv4_truncated",
        "ipv4_malformed",
        "udp_bad_checksum",
        "udp_malformed",
        "icmp_bad_checksum",
        "icmp_malformed",
    ]
    .iter()
    .map(|name| stats.get(name))
    .sum();
    assert!(
        stack_checks >= stats.get("fault_rx_corrupted"),
        "{} corrupted frames reached the stack, {stack_checks} failed its checks\n{report}",
        stats.get("fault_rx_corrupted")
    );
    assert!(
        kernel_drops >= stats.get("fault_tx_corrupted"),
        "{} corrupted frames reached the kernel, {kernel_drops} failed its checks\n{report}",
        stats.get("fault_tx_corrupted")
    );
}

#[test]
fn the_fault_counters_are_printed_and_zero_without_faults_in_the_way() {
    // Delay only: nothing is lost, every frame is counted as delayed, and the output contract
    // (statistics, then drops_total last) holds with the fault lines in it. With --pcap too,
    // the capture records what the stack saw: every frame that passed the injector.
    let ns = Netns::new();
    let path = std::env::temp_dir().join(format!("{}-faults.pcap", ns.name()));
    let _ = std::fs::remove_file(&path);
    let pcap = path.to_str().expect("UTF-8 temp dir");
    let services = ns.start_host_services(&["--delay", "1ms", "--pcap", pcap]);
    let (transmitted, received) = ping(
        &ns,
        STACK_IP,
        56,
        5,
        Duration::from_millis(20),
        Duration::from_secs(2),
    );
    let stats = services.stop();
    let capture = std::fs::read(&path).expect("host-services wrote the pcap file");
    let _ = std::fs::remove_file(&path);
    assert_eq!((transmitted, received), (5, 5), "{}", stats.non_zero());
    // Records after the 24-byte header: 16-byte record header plus the frame each.
    let mut records = 0u64;
    let mut rest = capture.get(24..).expect("a pcap header");
    while rest.len() >= 16 {
        let len = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes")) as usize;
        rest = &rest[(16 + len).min(rest.len())..];
        records += 1;
    }
    assert_eq!(records, stats.get("pcap_records"));
    assert_eq!(
        records,
        stats.get("fault_rx_passed") + stats.get("fault_tx_frames_in"),
        "the capture holds what the stack received and sent\n{}",
        stats.non_zero()
    );
    for direction in ["rx", "tx"] {
        let frames = stats.get(&format!("fault_{direction}_frames_in"));
        assert!(frames >= 5, "{}", stats.non_zero());
        assert_eq!(stats.get(&format!("fault_{direction}_delayed")), frames);
        // Frames still in flight when it stopped (kernel chatter) are not passed yet.
        let passed = stats.get(&format!("fault_{direction}_passed"));
        assert!(
            passed + 3 >= frames && passed <= frames,
            "{}",
            stats.non_zero()
        );
        for fault in [
            "dropped",
            "reordered",
            "duplicated",
            "corrupted",
            "overflow",
        ] {
            assert_eq!(stats.get(&format!("fault_{direction}_{fault}")), 0);
        }
    }
}
