//! Sizing warnings: a valid profile that will fail in the field the way lwIP devices do (PCB
//! exhaustion by TIME_WAIT, pbuf starvation, stop-and-wait windows…). Each names the knob and a
//! value that fixes it.

use std::time::Duration;

use crate::diagnostic::{Diagnostic, Severity, ToDiagnostic};
use crate::source::Span;
use crate::units::{format_duration, format_rate};

/// A sizing warning, with the span of the knob to change (if the profile wrote it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}")]
pub struct Warning {
    /// What is wrong and the numbers behind it.
    pub kind: WarningKind,
    /// The value to underline, or the section header when the knob was left at its default.
    pub span: Option<Span>,
}

/// The sizing problems stackgen warns about. docs/warnings.md explains each.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WarningKind {
    /// Receive window under 4 MSS: throughput capped at window / RTT.
    #[error("tcp.rx_window of {window} B is under 4 × MSS: at most {} per connection at {} RTT", format_rate(*window as f64 * 8.0 / rtt.as_secs_f64()), format_duration(*rtt))]
    SmallRxWindow {
        /// The window in bytes.
        window: u64,
        /// The MSS.
        mss: u64,
        /// The RTT used.
        rtt: Duration,
        /// Whether the RTT came from `workload.rtt` (else the 50 ms default).
        rtt_from_workload: bool,
        /// Rx buffers needed to hold a 4-MSS window (shared mode), if more than configured.
        rx_count_needed: Option<u64>,
    },
    /// Too few sockets for the connections plus those held in TIME_WAIT.
    #[error("{sockets} TCP sockets cannot cover {concurrent} concurrent connections plus {time_wait_slots} in TIME_WAIT ({} new/s × {})", format_number(*rate), format_duration(*time_wait))]
    TimeWaitExhaustion {
        /// `tcp.sockets`.
        sockets: u64,
        /// `workload.concurrent_connections` (0 when not given).
        concurrent: u64,
        /// `workload.new_connections_per_second` (0 when not given).
        rate: f64,
        /// `tcp.time_wait`.
        time_wait: Duration,
        /// ⌈rate × time_wait⌉.
        time_wait_slots: u64,
        /// A `time_wait` that would fit the current socket count, if one of at least 1 s does.
        time_wait_fit: Option<Duration>,
    },
    /// The rx pool cannot hold a full window for each busy connection.
    #[error(
        "{rx_count} rx buffers cannot hold a full receive window ({window_segments} segments) for each of {connections} busy connection(s) plus one frame for the rest of the stack"
    )]
    RxPoolStarvation {
        /// `buffers.rx_count`.
        rx_count: u64,
        /// Buffers one full window takes.
        window_segments: u64,
        /// Connections assumed busy at once.
        connections: u64,
        /// connections × window_segments + 1.
        needed: u64,
    },
    /// Fewer ARP entries than on-link peers.
    #[error(
        "arp.entries ({entries}) is smaller than the {peers} on-link peers the workload implies"
    )]
    SmallArpCache {
        /// `arp.entries`.
        entries: u64,
        /// Peers implied.
        peers: u64,
        /// Whether `peers` came from `workload.peers` (else connections + gateway).
        explicit: bool,
    },
    /// Send buffer under 2 MSS.
    #[error("tcp.send_buffer of {send_buffer} B holds fewer than 2 segments of {mss} B")]
    SmallSendBuffer {
        /// The send buffer.
        send_buffer: u64,
        /// The MSS.
        mss: u64,
    },
    /// One DNS server only.
    #[error("dns.servers is 1: name resolution stops whenever that server is unreachable")]
    SingleDnsServer,
    /// The DHCP client is compiled in but unused.
    #[error("protocols.dhcpv4 is on but no interface uses ipv4 = \"dhcp\"")]
    UnusedDhcp,
    /// Keepalive so slow that dead peers hold sockets for a long time.
    #[error("tcp.keepalive of {} notices a vanished peer only after that long, holding its socket meanwhile", format_duration(*idle))]
    SlowKeepalive {
        /// The idle time.
        idle: Duration,
    },
    /// The largest UDP datagram a socket may send or receive needs more packet buffers than
    /// the stack ever gives one socket.
    #[error(
        "a {bytes} B UDP datagram (the largest {knob} allows) takes {buffers} packet buffers, but one socket gets at most {available}"
    )]
    UdpDatagramOverPool {
        /// `udp.tx_buffer` or `udp.rx_buffer`.
        knob: &'static str,
        /// The datagram payload in bytes.
        bytes: u64,
        /// Packet buffers it takes.
        buffers: u64,
        /// Packet buffers one socket can have (pool less the frame reserve; for receive, also
        /// the socket's queue of buffer handles).
        available: u64,
        /// The largest datagram that fits, in bytes.
        fit: u64,
    },
    /// A section whose protocol is off.
    #[error("[{section}] is ignored: protocols.{protocol} is off")]
    IgnoredSection {
        /// The section.
        section: &'static str,
        /// The protocol that would use it.
        protocol: &'static str,
    },
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

impl WarningKind {
    /// The stable name of the warning, as documented in docs/warnings.md.
    pub fn code(&self) -> &'static str {
        use WarningKind::*;
        match self {
            SmallRxWindow { .. } => "small-rx-window",
            TimeWaitExhaustion { .. } => "time-wait-exhaustion",
            RxPoolStarvation { .. } => "rx-pool-starvation",
            SmallArpCache { .. } => "small-arp-cache",
            SmallSendBuffer { .. } => "small-send-buffer",
            SingleDnsServer => "single-dns-server",
            UnusedDhcp => "unused-dhcp",
            SlowKeepalive { .. } => "slow-keepalive",
            IgnoredSection { .. } => "ignored-section",
            UdpDatagramOverPool { .. } => "udp-datagram-over-pool",
        }
    }

    /// The knob that fixes it.
    pub fn knob(&self) -> &'static str {
        use WarningKind::*;
        match self {
            SmallRxWindow { .. } => "tcp.rx_window",
            TimeWaitExhaustion { .. } => "tcp.sockets",
            RxPoolStarvation { .. } => "buffers.rx_count",
            SmallArpCache { .. } => "arp.entries",
            SmallSendBuffer { .. } => "tcp.send_buffer",
            SingleDnsServer => "dns.servers",
            UnusedDhcp => "protocols.dhcpv4",
            SlowKeepalive { .. } => "tcp.keepalive",
            IgnoredSection { .. } => "protocols",
            UdpDatagramOverPool { knob, .. } => knob,
        }
    }

    fn label(&self) -> String {
        use WarningKind::*;
        match self {
            SmallRxWindow { mss, .. } => format!("under {} B (4 mss)", 4 * mss),
            TimeWaitExhaustion {
                concurrent,
                time_wait_slots,
                ..
            } => format!("needs {}", concurrent + time_wait_slots),
            RxPoolStarvation { needed, .. } => format!("needs {needed}"),
            SmallArpCache { peers, .. } => format!("needs {peers}"),
            SmallSendBuffer { mss, .. } => format!("under {} B (2 mss)", 2 * mss),
            SingleDnsServer => "one server".into(),
            UnusedDhcp => "unused".into(),
            SlowKeepalive { .. } => "slow".into(),
            IgnoredSection { .. } => "ignored".into(),
            UdpDatagramOverPool { buffers, .. } => format!("needs {buffers} buffers"),
        }
    }

    /// How to fix it: the knob and a value that works.
    pub fn help(&self) -> String {
        use WarningKind::*;
        match self {
            SmallRxWindow {
                mss,
                rtt,
                rtt_from_workload,
                rx_count_needed,
                ..
            } => {
                let ceiling = format_rate((4 * mss) as f64 * 8.0 / rtt.as_secs_f64());
                let mut help = format!(
                    "set tcp.rx_window = \"4 mss\" ({} B): up to {ceiling} at {}",
                    4 * mss,
                    format_duration(*rtt)
                );
                if let Some(count) = rx_count_needed {
                    help.push_str(&format!(", with buffers.rx_count = {count}"));
                }
                if !rtt_from_workload {
                    help.push_str("; RTT assumed, set workload.rtt for your network");
                }
                help
            }
            TimeWaitExhaustion {
                concurrent,
                time_wait_slots,
                time_wait_fit,
                ..
            } => {
                let mut help = format!("set tcp.sockets = {}", concurrent + time_wait_slots);
                if let Some(fit) = time_wait_fit {
                    help.push_str(&format!(
                        ", or shorten tcp.time_wait to \"{}\"",
                        format_duration(*fit)
                    ));
                }
                help
            }
            RxPoolStarvation { needed, .. } => format!(
                "set buffers.rx_count = {needed}, or lower tcp.rx_window; otherwise received frames are dropped when the pool runs dry"
            ),
            SmallArpCache { peers, .. } => format!(
                "set arp.entries = {peers}; otherwise entries are evicted and re-resolved while in use"
            ),
            SmallSendBuffer { mss, .. } => format!(
                "set tcp.send_buffer = \"2 mss\" ({} B) or more (\"4 mss\" for bulk sends); with less, Nagle and the peer's delayed ACK stall every write",
                2 * mss
            ),
            SingleDnsServer => "set dns.servers = 2 and configure a secondary server".into(),
            UnusedDhcp => {
                "set ipv4 = \"dhcp\" on an interface, or protocols.dhcpv4 = false to save its code and RAM".into()
            }
            SlowKeepalive { .. } => {
                "set tcp.keepalive = \"60 s\" (30 to 60 s suits most devices)".into()
            }
            IgnoredSection { section, protocol } => {
                format!("set protocols.{protocol} = true, or remove [{section}]")
            }
            UdpDatagramOverPool { knob, fit, .. } => format!(
                "set {knob} = \"{fit} B\" or less, or give the stack more or larger packet buffers (buffers.rx_count, buffers.tx_count, buffers.size); otherwise such datagrams are {}",
                if *knob == "udp.tx_buffer" {
                    "refused with UdpError::TooLarge"
                } else {
                    "dropped (udp_rx_full, udp_rx_no_buffer)"
                }
            ),
        }
    }
}

impl ToDiagnostic for Warning {
    fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code: Some(self.kind.code()),
            message: self.kind.to_string(),
            span: self.span.clone(),
            label: self.kind.label(),
            help: Some(self.kind.help()),
        }
    }
}
