//! Profile → Plan: defaults from the key catalogue, cross-field checks, pools, warnings.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::error::{PlanError, PlanErrorKind as E};
use super::warning::{Warning, WarningKind as W};
use super::*;
use crate::profile::keys::{self, Default as D, Section};
use crate::profile::{Interface, Val};

/// The catalogue default of a count or size key.
fn number_default(section: &Section, key: &str) -> u64 {
    match section.expect_key(key).default {
        D::Count(n) | D::Size(n) => n,
        other => panic!(
            "stackgen bug: [{}] {key} has no numeric default ({other:?})",
            section.name
        ),
    }
}

fn number(value: &Option<Val<u64>>, section: &Section, key: &str) -> u64 {
    value
        .as_ref()
        .map_or_else(|| number_default(section, key), |v| v.value)
}

fn flag(value: &Option<Val<bool>>, section: &Section, key: &str) -> bool {
    value.as_ref().map_or_else(
        || match section.expect_key(key).default {
            D::Bool(b) => b,
            other => panic!(
                "stackgen bug: [{}] {key} has no boolean default ({other:?})",
                section.name
            ),
        },
        |v| v.value,
    )
}

fn duration(value: &Option<Val<Duration>>, section: &Section, key: &str) -> Duration {
    value.as_ref().map_or_else(
        || match section.expect_key(key).default {
            D::Duration(us) => Duration::from_micros(us),
            other => panic!(
                "stackgen bug: [{}] {key} has no duration default ({other:?})",
                section.name
            ),
        },
        |v| v.value,
    )
}

fn tcp_size(value: &Option<Val<TcpSize>>, key: &str) -> TcpSize {
    value.as_ref().map_or_else(
        || match keys::TCP.expect_key(key).default {
            D::Mss(n) => TcpSize::Mss(n),
            D::Size(n) => TcpSize::Bytes(n),
            other => panic!("stackgen bug: [tcp] {key} has no size default ({other:?})"),
        },
        |v| v.value,
    )
}

/// The span of a value if written, else of its section header.
fn at<T>(value: &Option<Val<T>>, header: &Option<Span>) -> Option<Span> {
    value
        .as_ref()
        .map(|v| v.span.clone())
        .or_else(|| header.clone())
}

fn err(kind: E, span: Option<Span>) -> PlanError {
    PlanError { kind, span }
}

fn network_of(address: Ipv4Addr, prefix: u8) -> (u32, u32) {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    };
    (u32::from(address) & mask, mask)
}

pub(super) fn resolve(profile: &Profile) -> Result<Plan, Vec<PlanError>> {
    let mut errors = Vec::new();
    let Some(board) = crate::board::find(&profile.stack.board.value) else {
        // Profile::parse rejects unknown boards; a hand-built Profile may still carry one.
        return Err(vec![err(
            E::UnknownBoard {
                board: profile.stack.board.value.clone(),
            },
            Some(profile.stack.board.span.clone()),
        )]);
    };
    let target = profile
        .stack
        .target
        .as_ref()
        .map_or_else(|| board.default_target.to_string(), |t| t.value.clone());

    let protocols = resolve_protocols(profile, &mut errors);
    let interfaces = resolve_interfaces(profile, &protocols, &mut errors);

    let b = &profile.buffers;
    let buffers = BufferPlan {
        rx_count: number(&b.rx_count, &keys::BUFFERS, "rx_count"),
        tx_count: number(&b.tx_count, &keys::BUFFERS, "tx_count"),
        size: number(&b.size, &keys::BUFFERS, "size"),
    };
    for (interface, written) in interfaces.iter().zip(&profile.interfaces) {
        let frame = interface.mtu + sizes::ETHERNET_HEADER;
        if frame > buffers.size {
            errors.push(err(
                E::FrameExceedsBuffer {
                    interface: interface.name.clone(),
                    mtu: interface.mtu,
                    frame,
                    size: buffers.size,
                },
                b.size
                    .as_ref()
                    .map(|v| v.span.clone())
                    .or_else(|| written.mtu.as_ref().map(|v| v.span.clone())),
            ));
        }
    }

    let tcp = if protocols.tcp {
        resolve_tcp(profile, &protocols, &interfaces, &buffers, &mut errors)
    } else {
        None
    };
    let udp = protocols.udp.then(|| UdpPlan {
        sockets: number(&profile.udp.sockets, &keys::UDP, "sockets"),
        rx_buffer: number(&profile.udp.rx_buffer, &keys::UDP, "rx_buffer"),
        tx_buffer: number(&profile.udp.tx_buffer, &keys::UDP, "tx_buffer"),
    });
    let arp_entries = protocols
        .arp
        .then(|| number(&profile.arp.entries, &keys::ARP, "entries"));
    let ndp_entries = protocols
        .ipv6
        .then(|| number(&profile.ndp.entries, &keys::NDP, "entries"));
    let reassembly = if protocols.ipv4 {
        let r = &profile.reassembly;
        let count = number(&r.buffers, &keys::REASSEMBLY, "buffers");
        (count > 0).then(|| ReassemblyPlan {
            buffers: count,
            size: number(&r.size, &keys::REASSEMBLY, "size"),
        })
    } else {
        None
    };
    let dns = protocols.dns.then(|| DnsPlan {
        servers: number(&profile.dns.servers, &keys::DNS, "servers"),
        cache_entries: number(&profile.dns.cache_entries, &keys::DNS, "cache_entries"),
    });
    let dhcp_clients = if protocols.dhcpv4 {
        interfaces
            .iter()
            .filter(|i| i.ipv4 == Ipv4Setting::Dhcp)
            .count() as u64
    } else {
        0
    };

    let limits = resolve_limits(profile, board, &mut errors);
    let w = &profile.workload;
    let workload = WorkloadPlan {
        concurrent_connections: w.concurrent_connections.as_ref().map(|v| v.value),
        new_connections_per_second: w.new_connections_per_second.as_ref().map(|v| v.value),
        rtt: duration(&w.rtt, &keys::WORKLOAD, "rtt"),
        rtt_from_profile: w.rtt.is_some(),
        peers: w.peers.as_ref().map(|v| v.value),
    };

    if !errors.is_empty() {
        errors.sort_by_key(|e| e.span.as_ref().map_or(usize::MAX, |s| s.start));
        return Err(errors);
    }
    let mut plan = Plan {
        name: profile.stack.name.value.clone(),
        board,
        target,
        app: profile.stack.app.as_ref().map(|app| app.value.clone()),
        interfaces,
        protocols,
        buffers,
        tcp,
        udp,
        arp_entries,
        ndp_entries,
        reassembly,
        dns,
        dhcp_clients,
        limits,
        workload,
        pools: Vec::new(),
        warnings: Vec::new(),
    };
    plan.pools = pools::compute(&plan);
    plan.warnings = warnings(profile, &plan);
    Ok(plan)
}

fn resolve_protocols(profile: &Profile, errors: &mut Vec<PlanError>) -> ProtocolSet {
    let p = &profile.protocols;
    let s = &keys::PROTOCOLS;
    let ipv4 = flag(&p.ipv4, s, "ipv4");
    let ipv6 = flag(&p.ipv6, s, "ipv6");
    let has_ethernet = profile.interfaces.iter().any(|i| {
        i.kind
            .as_ref()
            .is_none_or(|k| k.value == InterfaceKind::Ethernet)
    });
    // ARP follows IPv4 over Ethernet unless written; ICMPv6 follows IPv6 unless written.
    let arp = match &p.arp {
        Some(v) => v.value,
        None => ipv4 && has_ethernet,
    };
    let icmpv6 = p.icmpv6.as_ref().map_or(ipv6, |v| v.value);
    let set = ProtocolSet {
        arp,
        ipv4,
        ipv6,
        icmpv4: p.icmpv4.as_ref().map_or(ipv4, |v| v.value),
        icmpv6,
        udp: flag(&p.udp, s, "udp"),
        tcp: flag(&p.tcp, s, "tcp"),
        dhcpv4: flag(&p.dhcpv4, s, "dhcpv4"),
        dns: flag(&p.dns, s, "dns"),
    };
    if !ipv4 && !ipv6 {
        errors.push(err(E::NoIp, at(&p.ipv4, &p.header)));
    }
    if set.icmpv4 && !ipv4 && p.icmpv4.is_some() {
        errors.push(err(E::Icmpv4WithoutIpv4, at(&p.icmpv4, &p.header)));
    }
    if set.arp && !ipv4 {
        errors.push(err(E::ArpWithoutIpv4, at(&p.arp, &p.header)));
    }
    if ipv6 && !icmpv6 {
        errors.push(err(E::Ipv6WithoutIcmpv6, at(&p.icmpv6, &p.header)));
    }
    if icmpv6 && !ipv6 {
        errors.push(err(E::Icmpv6WithoutIpv6, at(&p.icmpv6, &p.header)));
    }
    if !ipv4 && !ipv6 {
        for (protocol, on, value) in [("tcp", set.tcp, &p.tcp), ("udp", set.udp, &p.udp)] {
            if on {
                errors.push(err(
                    E::TransportWithoutIp { protocol },
                    at(value, &p.header),
                ));
            }
        }
    }
    if set.dhcpv4 && !ipv4 {
        errors.push(err(E::DhcpWithoutIpv4, at(&p.dhcpv4, &p.header)));
    }
    for (service, on, value) in [("dhcpv4", set.dhcpv4, &p.dhcpv4), ("dns", set.dns, &p.dns)] {
        if on && !set.udp {
            errors.push(err(E::ServiceWithoutUdp { service }, at(value, &p.header)));
        }
    }
    set
}

fn resolve_interfaces(
    profile: &Profile,
    protocols: &ProtocolSet,
    errors: &mut Vec<PlanError>,
) -> Vec<InterfacePlan> {
    let mut plans: Vec<InterfacePlan> = Vec::new();
    let mut macs: Vec<([u8; 6], String)> = Vec::new();
    for written in &profile.interfaces {
        let plan = resolve_interface(written, protocols, errors);
        if plans.iter().any(|p| p.name == plan.name) {
            errors.push(err(
                E::DuplicateInterfaceName {
                    name: plan.name.clone(),
                },
                Some(written.name.span.clone()),
            ));
        }
        if let (Some(MacSetting::Address(mac)), Some(span)) =
            (plan.mac, written.mac.as_ref().map(|v| v.span.clone()))
        {
            if let Some((_, first)) = macs.iter().find(|(m, _)| *m == mac) {
                errors.push(err(
                    E::DuplicateMac {
                        first: first.clone(),
                        second: plan.name.clone(),
                        mac: mac
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                    },
                    Some(span),
                ));
            }
            macs.push((mac, plan.name.clone()));
        }
        plans.push(plan);
    }
    plans
}

fn resolve_interface(
    written: &Interface,
    protocols: &ProtocolSet,
    errors: &mut Vec<PlanError>,
) -> InterfacePlan {
    let name = written.name.value.clone();
    let kind = written
        .kind
        .as_ref()
        .map_or(InterfaceKind::Ethernet, |v| v.value);
    let mac = match kind {
        InterfaceKind::Ethernet => Some(
            written
                .mac
                .as_ref()
                .map_or(MacSetting::FromBoard, |v| v.value),
        ),
        InterfaceKind::Loopback => {
            if let Some(mac) = &written.mac {
                errors.push(err(
                    E::MacOnLoopback {
                        interface: name.clone(),
                    },
                    Some(mac.span.clone()),
                ));
            }
            None
        }
    };
    let ipv4 = written.ipv4.as_ref().map_or(Ipv4Setting::Off, |v| v.value);
    let ipv4_span = written.ipv4.as_ref().map(|v| v.span.clone());
    match ipv4 {
        Ipv4Setting::Off => {}
        _ if !protocols.ipv4 => errors.push(err(
            E::InterfaceIpv4WhileOff {
                interface: name.clone(),
                setting: if ipv4 == Ipv4Setting::Dhcp {
                    "DHCP"
                } else {
                    "a static address"
                },
            },
            ipv4_span.clone(),
        )),
        Ipv4Setting::Dhcp if !protocols.dhcpv4 => errors.push(err(
            E::InterfaceDhcpWithoutClient {
                interface: name.clone(),
            },
            ipv4_span.clone(),
        )),
        _ => {}
    }
    if protocols.ipv4
        && ipv4 != Ipv4Setting::Off
        && kind == InterfaceKind::Ethernet
        && !protocols.arp
    {
        errors.push(err(
            E::Ipv4EthernetWithoutArp {
                interface: name.clone(),
            },
            ipv4_span.clone(),
        ));
    }
    if let Ipv4Setting::Static { address, prefix } = ipv4 {
        let (network, mask) = network_of(address, prefix);
        let broadcast = network | !mask;
        let host = u32::from(address);
        if host == network || host == broadcast {
            errors.push(err(
                E::AddressNotHost {
                    address,
                    prefix,
                    which: if host == network {
                        "network"
                    } else {
                        "broadcast"
                    },
                    first: Ipv4Addr::from(network.saturating_add(1)),
                    last: Ipv4Addr::from(broadcast.saturating_sub(1)),
                },
                ipv4_span.clone(),
            ));
        }
        if let Some(gateway) = &written.gateway {
            let g = u32::from(gateway.value);
            if g & mask != network || g == broadcast || g == network {
                errors.push(err(
                    E::GatewayOffLink {
                        gateway: gateway.value,
                        network: Ipv4Addr::from(network),
                        prefix,
                    },
                    Some(gateway.span.clone()),
                ));
            } else if g == host {
                errors.push(err(
                    E::GatewayIsSelf {
                        gateway: gateway.value,
                    },
                    Some(gateway.span.clone()),
                ));
            }
        }
    } else if let Some(gateway) = &written.gateway {
        errors.push(err(
            E::GatewayWithoutStatic {
                interface: name.clone(),
                dhcp: ipv4 == Ipv4Setting::Dhcp,
            },
            Some(gateway.span.clone()),
        ));
    }
    let ipv6 = written.ipv6.as_ref().is_some_and(|v| v.value);
    if ipv6 && !protocols.ipv6 {
        errors.push(err(
            E::InterfaceIpv6WhileOff {
                interface: name.clone(),
            },
            written.ipv6.as_ref().map(|v| v.span.clone()),
        ));
    }
    InterfacePlan {
        name,
        kind,
        mac,
        ipv4,
        gateway: written.gateway.as_ref().map(|v| v.value),
        ipv6,
        mtu: number(&written.mtu, &keys::INTERFACE, "mtu"),
    }
}

fn resolve_tcp(
    profile: &Profile,
    protocols: &ProtocolSet,
    interfaces: &[InterfacePlan],
    buffers: &BufferPlan,
    errors: &mut Vec<PlanError>,
) -> Option<TcpPlan> {
    let t = &profile.tcp;
    let s = &keys::TCP;
    let sockets = number(&t.sockets, s, "sockets");
    let listeners = number(&t.listeners, s, "listeners");
    let mss = number(&t.mss, s, "mss");
    let window_scaling = flag(&t.window_scaling, s, "window_scaling");
    if sockets == 0 {
        errors.push(err(E::ZeroTcpSockets, at(&t.sockets, &t.header)));
    }
    if listeners > sockets && sockets > 0 {
        errors.push(err(
            E::ListenersExceedSockets { listeners, sockets },
            at(&t.listeners, &t.header),
        ));
    }
    // The smallest MTU among interfaces carrying IP bounds the MSS.
    let ip_headers = sizes::TCP_HEADER
        + if protocols.ipv6 {
            sizes::IPV6_HEADER
        } else {
            sizes::IPV4_HEADER
        };
    if let Some(smallest) = interfaces.iter().min_by_key(|i| i.mtu) {
        let max = smallest.mtu.saturating_sub(ip_headers);
        if mss > max {
            errors.push(err(
                E::MssExceedsMtu {
                    mss,
                    interface: smallest.name.clone(),
                    mtu: smallest.mtu,
                    max,
                },
                at(&t.mss, &t.header),
            ));
        }
    }
    let rx_written = tcp_size(&t.rx_window, "rx_window");
    let tx_written = tcp_size(&t.send_buffer, "send_buffer");
    let rx_window = rx_written.bytes(mss);
    let send_buffer = tx_written.bytes(mss);
    if rx_window > 65535 && !window_scaling {
        errors.push(err(
            E::WindowNeedsScaling { window: rx_window },
            at(&t.rx_window, &t.header),
        ));
    }
    for (key, bytes, value) in [
        ("rx_window", rx_window, &t.rx_window),
        ("send_buffer", send_buffer, &t.send_buffer),
    ] {
        if bytes < mss {
            errors.push(err(
                E::BelowOneSegment { key, bytes, mss },
                at(value, &t.header),
            ));
        }
    }
    let tcp_payload = |size: u64| {
        size.saturating_sub(sizes::ETHERNET_HEADER + ip_headers)
            .min(mss)
    };
    let per_buffer = tcp_payload(buffers.size).max(1);
    let buffers_mode = t.buffers.as_ref().map_or(TcpBuffers::Shared, |v| v.value);
    if buffers_mode == TcpBuffers::Shared {
        let rx_capacity = buffers.rx_count * per_buffer;
        if rx_window > rx_capacity && rx_window >= mss {
            errors.push(err(
                E::WindowExceedsRxPool {
                    window: rx_window,
                    count: buffers.rx_count,
                    per_buffer,
                    capacity: rx_capacity,
                },
                at(&t.rx_window, &t.header),
            ));
        }
        let tx_capacity = buffers.tx_count * per_buffer;
        if send_buffer > tx_capacity && send_buffer >= mss {
            errors.push(err(
                E::SendBufferExceedsTxPool {
                    send_buffer,
                    count: buffers.tx_count,
                    per_buffer,
                    capacity: tx_capacity,
                },
                at(&t.send_buffer, &t.header),
            ));
        }
    }
    let send_segments = send_buffer.div_ceil(per_buffer);
    // TCP data lives in the packet pool and never takes its frame reserve.
    let pool = buffers.rx_count + buffers.tx_count;
    let for_tcp = super::sizes::data_buffers(pool);
    let segments = t
        .segments
        .as_ref()
        .map_or(for_tcp.min(super::TCP_SEGMENTS_MAX), |v| v.value);
    if segments > for_tcp {
        errors.push(err(
            E::SegmentsExceedPool {
                segments,
                pool,
                reserve: pool - for_tcp,
            },
            at(&t.segments, &t.header),
        ));
    } else if segments < send_segments {
        errors.push(err(
            E::SendBufferExceedsSegments {
                segments,
                needed: send_segments,
                mss: per_buffer,
            },
            at(&t.segments, &t.header),
        ));
    }
    Some(TcpPlan {
        sockets,
        listeners,
        backlog: number(&t.backlog, s, "backlog"),
        mss,
        rx_window,
        rx_window_written: rx_written,
        send_buffer,
        send_buffer_written: tx_written,
        segments,
        out_of_order_segments: number(&t.out_of_order_segments, s, "out_of_order_segments"),
        time_wait: duration(&t.time_wait, s, "time_wait"),
        keepalive: t.keepalive.as_ref().and_then(|v| v.value),
        window_scaling,
        timestamps: flag(&t.timestamps, s, "timestamps"),
        sack: flag(&t.sack, s, "sack"),
        buffers: buffers_mode,
        rx_payload_per_buffer: per_buffer,
        tx_payload_per_buffer: per_buffer,
    })
}

fn resolve_limits(
    profile: &Profile,
    board: &'static crate::board::Board,
    errors: &mut Vec<PlanError>,
) -> Limits {
    let b = &profile.budget;
    for (key, value, available) in [
        ("ram_max", &b.ram_max, board.ram),
        ("flash_max", &b.flash_max, board.flash),
    ] {
        if let (Some(value), Some(available)) = (value, available)
            && value.value > available
        {
            errors.push(err(
                E::LimitAboveBoard {
                    key,
                    limit: crate::units::format_size(value.value),
                    board: board.name,
                    available: crate::units::format_size(available),
                },
                Some(value.span.clone()),
            ));
        }
    }
    Limits {
        ram_max: b.ram_max.as_ref().map(|v| v.value),
        ram_max_span: b.ram_max.as_ref().map(|v| v.span.clone()),
        flash_max: b.flash_max.as_ref().map(|v| v.value),
    }
}

fn warn(kind: W, span: Option<Span>) -> Warning {
    Warning { kind, span }
}

/// UDP datagrams live in the packet buffers: warn when the largest one a socket may send or
/// receive needs more of them than one socket can ever have.
fn udp_warnings(profile: &Profile, plan: &Plan, udp: UdpPlan, out: &mut Vec<Warning>) {
    let size = plan.buffers.size;
    let data = sizes::data_buffers(plan.buffers.rx_count + plan.buffers.tx_count);
    let mtu = plan.interfaces.iter().map(|i| i.mtu).max().unwrap_or(1500);
    let u = &profile.udp;
    let frames = sizes::udp_tx_frames(udp.tx_buffer, size, mtu).unwrap_or(u64::MAX);
    if frames > data {
        // `data` fragments of the largest multiple of 8 a frame carries, less the UDP header.
        let room = size.saturating_sub(sizes::ETHERNET_HEADER + sizes::IPV4_HEADER);
        let chunk = mtu.saturating_sub(sizes::IPV4_HEADER).min(room) / 8 * 8;
        let fit = (data * chunk).saturating_sub(sizes::UDP_HEADER);
        out.push(warn(
            W::UdpDatagramOverPool {
                knob: "udp.tx_buffer",
                bytes: udp.tx_buffer,
                buffers: frames,
                available: data,
                fit,
            },
            at(&u.tx_buffer, &u.header),
        ));
    }
    // The largest datagram that arrives: one frame, or a reassembled one.
    let one_frame = mtu.saturating_sub(sizes::IPV4_HEADER + sizes::UDP_HEADER);
    let reassembled = plan
        .reassembly
        .map_or(0, |r| r.size.saturating_sub(sizes::UDP_HEADER));
    let largest = udp.rx_buffer.min(one_frame.max(reassembled));
    let available = data.min(sizes::UDP_RX_QUEUE);
    let buffers = sizes::udp_rx_buffers(largest, size).unwrap_or(u64::MAX);
    if buffers > available {
        let fit = (size.saturating_sub(sizes::UDP_RX_HEAD) & !1)
            + available.saturating_sub(1) * (size & !1);
        out.push(warn(
            W::UdpDatagramOverPool {
                knob: "udp.rx_buffer",
                bytes: largest,
                buffers,
                available,
                fit,
            },
            at(&u.rx_buffer, &u.header),
        ));
    }
}

fn warnings(profile: &Profile, plan: &Plan) -> Vec<Warning> {
    let mut out = Vec::new();
    let t = &profile.tcp;
    let workload = &plan.workload;
    if let Some(tcp) = &plan.tcp {
        if tcp.rx_window < 4 * tcp.mss {
            let wanted_segments = (4 * tcp.mss).div_ceil(tcp.rx_payload_per_buffer);
            let rx_count_needed = (tcp.buffers == TcpBuffers::Shared
                && plan.buffers.rx_count < wanted_segments + 1)
                .then_some(wanted_segments + 1);
            out.push(warn(
                W::SmallRxWindow {
                    window: tcp.rx_window,
                    mss: tcp.mss,
                    rtt: workload.rtt,
                    rtt_from_workload: workload.rtt_from_profile,
                    rx_count_needed,
                },
                at(&t.rx_window, &t.header),
            ));
        }
        if tcp.send_buffer < 2 * tcp.mss {
            out.push(warn(
                W::SmallSendBuffer {
                    send_buffer: tcp.send_buffer,
                    mss: tcp.mss,
                },
                at(&t.send_buffer, &t.header),
            ));
        }
        if workload.concurrent_connections.is_some()
            || workload.new_connections_per_second.is_some()
        {
            let concurrent = workload.concurrent_connections.unwrap_or(0);
            let rate = workload.new_connections_per_second.unwrap_or(0.0);
            let slots = (rate * tcp.time_wait.as_secs_f64()).ceil() as u64;
            if tcp.sockets < concurrent + slots {
                let time_wait_fit = (rate > 0.0 && tcp.sockets > concurrent)
                    .then(|| ((tcp.sockets - concurrent) as f64 / rate).floor() as u64)
                    .filter(|seconds| *seconds >= 1)
                    .map(Duration::from_secs);
                out.push(warn(
                    W::TimeWaitExhaustion {
                        sockets: tcp.sockets,
                        concurrent,
                        rate,
                        time_wait: tcp.time_wait,
                        time_wait_slots: slots,
                        time_wait_fit,
                    },
                    at(&t.sockets, &t.header),
                ));
            }
        }
        if tcp.buffers == TcpBuffers::Shared {
            let window_segments = tcp.rx_window.div_ceil(tcp.rx_payload_per_buffer);
            let connections = workload
                .concurrent_connections
                .unwrap_or(1)
                .clamp(1, tcp.sockets.max(1));
            let needed = connections * window_segments + 1;
            if plan.buffers.rx_count < needed {
                out.push(warn(
                    W::RxPoolStarvation {
                        rx_count: plan.buffers.rx_count,
                        window_segments,
                        connections,
                        needed,
                    },
                    at(&profile.buffers.rx_count, &profile.buffers.header),
                ));
            }
        }
        if let Some(idle) = tcp.keepalive
            && idle > Duration::from_secs(600)
        {
            out.push(warn(W::SlowKeepalive { idle }, at(&t.keepalive, &t.header)));
        }
    }
    if let Some(entries) = plan.arp_entries {
        let has_gateway = plan
            .interfaces
            .iter()
            .any(|i| i.gateway.is_some() || i.ipv4 == Ipv4Setting::Dhcp);
        let implied = match (workload.peers, workload.concurrent_connections) {
            (Some(peers), _) => Some((peers, true)),
            (None, Some(connections)) => Some((connections + u64::from(has_gateway), false)),
            (None, None) => None,
        };
        if let Some((peers, explicit)) = implied
            && entries < peers
        {
            out.push(warn(
                W::SmallArpCache {
                    entries,
                    peers,
                    explicit,
                },
                at(&profile.arp.entries, &profile.arp.header),
            ));
        }
    }
    if let Some(udp) = plan.udp {
        udp_warnings(profile, plan, udp, &mut out);
    }
    if let Some(dns) = plan.dns
        && dns.servers == 1
    {
        out.push(warn(
            W::SingleDnsServer,
            at(&profile.dns.servers, &profile.dns.header),
        ));
    }
    if plan.protocols.dhcpv4 && plan.dhcp_clients == 0 {
        out.push(warn(
            W::UnusedDhcp,
            at(&profile.protocols.dhcpv4, &profile.protocols.header),
        ));
    }
    let ignored = [
        ("tcp", "tcp", plan.protocols.tcp, &t.header),
        ("udp", "udp", plan.protocols.udp, &profile.udp.header),
        ("dns", "dns", plan.protocols.dns, &profile.dns.header),
        ("ndp", "ipv6", plan.protocols.ipv6, &profile.ndp.header),
        ("arp", "arp", plan.protocols.arp, &profile.arp.header),
    ];
    for (section, protocol, on, header) in ignored {
        if !on && header.is_some() {
            out.push(warn(
                W::IgnoredSection { section, protocol },
                header.clone(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    const BASE: &str = r#"
[stack]
name = "t"
board = "stm32f407"

[[interface]]
name = "eth0"
ipv4 = "static 192.0.2.2/24"
gateway = "192.0.2.1"
"#;

    fn resolve_text(extra: &str) -> Result<Plan, Vec<PlanError>> {
        let text = format!("{BASE}{extra}");
        let profile = Profile::parse(&Source::new("t.toml", text)).expect("the profile parses");
        Plan::resolve(&profile)
    }

    fn plan(extra: &str) -> Plan {
        resolve_text(extra).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    fn error_kinds(extra: &str) -> Vec<E> {
        resolve_text(extra)
            .expect_err("the profile is contradictory")
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    fn warning_codes(plan: &Plan) -> Vec<&'static str> {
        plan.warnings.iter().map(|w| w.kind.code()).collect()
    }

    #[test]
    fn defaults_come_from_the_catalogue() {
        let plan = plan("[protocols]\ntcp = true\nudp = true\n");
        assert_eq!(plan.target, "thumbv7em-none-eabihf");
        assert_eq!(
            plan.buffers,
            BufferPlan {
                rx_count: 8,
                tx_count: 4,
                size: 1536
            }
        );
        let tcp = plan.tcp.unwrap();
        assert_eq!((tcp.sockets, tcp.mss, tcp.rx_window), (4, 1460, 5840));
        assert_eq!(
            tcp.segments,
            8 + 4 - 2,
            "the packet pool but the frame reserve"
        );
        assert_eq!(tcp.time_wait, Duration::from_secs(120));
        assert_eq!(tcp.buffers, TcpBuffers::Shared);
        assert_eq!(plan.arp_entries, Some(8));
        assert!(plan.protocols.arp && plan.protocols.icmpv4 && !plan.protocols.ipv6);
        assert_eq!(plan.udp.unwrap().sockets, 2);
        assert_eq!(plan.workload.rtt, DEFAULT_RTT);
    }

    #[test]
    fn stack_sockets_are_their_own_rows() {
        let text = r#"
[stack]
name = "t"
board = "stm32f407"

[[interface]]
name = "eth0"
ipv4 = "dhcp"

[protocols]
udp = true
dhcpv4 = true
dns = true

[udp]
sockets = 1
"#;
        let profile = Profile::parse(&Source::new("t.toml", text)).unwrap();
        let plan = Plan::resolve(&profile).unwrap();
        let pool = |id: &str| plan.pools.iter().find(|p| p.id == id).unwrap();
        assert_eq!(pool("udp_sockets").count, 1, "application count untouched");
        assert_eq!(pool("dhcpv4_client").count, 1);
        assert_eq!(pool("dhcpv4_client").owner, Owner::Stack);
        assert_eq!(pool("dns_queries").count, 1);
        assert_eq!(pool("dns_queries").owner, Owner::Stack);
        assert_eq!(plan.dhcp_clients, 1);
    }

    #[test]
    fn tcp_data_lives_in_the_packet_pool() {
        let shared = plan("[protocols]\ntcp = true\n[tcp]\nsockets = 2\n");
        let reserved =
            plan("[protocols]\ntcp = true\n[tcp]\nsockets = 2\nbuffers = \"reserved\"\n");
        let ids = |plan: &Plan| {
            plan.pools
                .iter()
                .map(|p| (p.id, p.bytes()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&shared), ids(&reserved));
        assert!(
            ids(&shared).iter().all(|(id, _)| !id.contains("segment")),
            "no pool of TCP data: {:?}",
            ids(&shared)
        );
        let tcp = shared.tcp.unwrap();
        assert_eq!(
            tcp.tx_payload_per_buffer, 1460,
            "one segment per 1536-byte buffer"
        );
    }

    #[test]
    fn segments_leave_the_frame_reserve() {
        // 8 + 4 packet buffers: TCP data may hold 10.
        assert!(
            plan("[protocols]\ntcp = true\n[tcp]\nsegments = 10\n")
                .tcp
                .is_some()
        );
        assert_eq!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nsegments = 11\n"),
            vec![E::SegmentsExceedPool {
                segments: 11,
                pool: 12,
                reserve: 2
            }]
        );
        // The default follows the pool.
        let tcp = plan("[protocols]\ntcp = true\n[buffers]\nrx_count = 20\ntx_count = 10\n")
            .tcp
            .unwrap();
        assert_eq!(tcp.segments, 28);
    }

    #[test]
    fn cross_field_errors() {
        assert_eq!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nsockets = 0\n"),
            vec![E::ZeroTcpSockets]
        );
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[buffers]\nrx_count = 2\n")[..],
            [E::WindowExceedsRxPool {
                window: 5840,
                capacity: 2920,
                ..
            }]
        ));
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[buffers]\ntx_count = 1\n")[..],
            [E::SendBufferExceedsTxPool { .. }]
        ));
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nsegments = 3\n")[..],
            [E::SendBufferExceedsSegments { needed: 4, .. }]
        ));
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nrx_window = \"500 B\"\n")[..],
            [E::BelowOneSegment {
                key: "rx_window",
                ..
            }]
        ));
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nsockets = 1\nlisteners = 2\n")[..],
            [E::ListenersExceedSockets { .. }]
        ));
        assert!(matches!(
            error_kinds("[protocols]\nipv4 = false\nipv6 = true\n")[..],
            [E::ArpWithoutIpv4 | E::InterfaceIpv4WhileOff { .. }, ..]
        ));
        assert_eq!(
            error_kinds(
                "[protocols]\ndhcpv4 = true\nudp = true\nipv4 = false\nipv6 = true\narp = false\nicmpv4 = false\n"
            ),
            vec![
                E::DhcpWithoutIpv4,
                E::InterfaceIpv4WhileOff {
                    interface: "eth0".into(),
                    setting: "a static address"
                }
            ]
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
        );
        assert_eq!(
            error_kinds("[protocols]\ndns = true\n"),
            vec![E::ServiceWithoutUdp { service: "dns" }]
        );
        assert_eq!(
            error_kinds("[protocols]\nipv6 = true\nicmpv6 = false\n"),
            vec![E::Ipv6WithoutIcmpv6]
        );
        assert_eq!(
            error_kinds("[protocols]\nicmpv6 = true\n"),
            vec![E::Icmpv6WithoutIpv6]
        );
        assert_eq!(
            error_kinds("[protocols]\narp = false\n"),
            vec![E::Ipv4EthernetWithoutArp {
                interface: "eth0".into()
            }]
        );
        assert!(matches!(
            error_kinds("[budget]\nflash_max = \"2 MiB\"\n")[..],
            [E::LimitAboveBoard {
                key: "flash_max",
                ..
            }]
        ));
    }

    #[test]
    fn protocol_dependency_errors() {
        assert_eq!(
            error_kinds("[protocols]\nipv4 = false\narp = false\nicmpv4 = false\nudp = true\n"),
            vec![
                E::InterfaceIpv4WhileOff {
                    interface: "eth0".into(),
                    setting: "a static address"
                },
                E::NoIp,
                E::TransportWithoutIp { protocol: "udp" },
            ]
        );
        assert!(
            error_kinds("[protocols]\nipv4 = false\nipv6 = true\narp = false\nicmpv4 = true\n")
                .contains(&E::Icmpv4WithoutIpv4)
        );
        assert!(matches!(
            error_kinds("[protocols]\ntcp = true\n[tcp]\nmss = 1480\n")[..],
            [E::MssExceedsMtu { max: 1460, .. }]
        ));
        assert!(matches!(
            error_kinds(
                "[protocols]\ntcp = true\n[buffers]\nrx_count = 64\n[tcp]\nrx_window = \"48 mss\"\n"
            )[..],
            [E::WindowNeedsScaling { window: 70080 }]
        ));
        let plan = plan(
            "[protocols]\ntcp = true\n[buffers]\nrx_count = 64\n[tcp]\nrx_window = \"48 mss\"\nwindow_scaling = true\n",
        );
        assert_eq!(plan.tcp.unwrap().rx_window, 70080);
    }

    #[test]
    fn interface_errors() {
        let with = |interface: &str| {
            let text = format!("[stack]\nname = \"t\"\nboard = \"stm32f407\"\n{interface}");
            let profile = Profile::parse(&Source::new("t.toml", text)).unwrap();
            Plan::resolve(&profile)
                .expect_err("contradictory")
                .into_iter()
                .map(|e| e.kind)
                .collect::<Vec<_>>()
        };
        assert!(matches!(
            with(
                "[[interface]]\nname = \"e\"\nipv4 = \"static 192.0.2.2/24\"\ngateway = \"192.0.3.1\"\n"
            )[..],
            [E::GatewayOffLink { .. }]
        ));
        assert!(matches!(
            with(
                "[[interface]]\nname = \"e\"\nipv4 = \"static 192.0.2.2/24\"\ngateway = \"192.0.2.2\"\n"
            )[..],
            [E::GatewayIsSelf { .. }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\ngateway = \"192.0.2.1\"\n")[..],
            [E::GatewayWithoutStatic { dhcp: false, .. }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\nipv4 = \"static 192.0.2.255/24\"\n")[..],
            [E::AddressNotHost {
                which: "broadcast",
                ..
            }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\n[[interface]]\nname = \"e\"\n")[..],
            [E::DuplicateInterfaceName { .. }]
        ));
        assert!(matches!(
            with(
                "[[interface]]\nname = \"a\"\nmac = \"02:00:00:00:00:01\"\n[[interface]]\nname = \"b\"\nmac = \"02:00:00:00:00:01\"\n"
            )[..],
            [E::DuplicateMac { .. }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\nipv6 = true\n")[..],
            [E::InterfaceIpv6WhileOff { .. }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\nipv4 = \"dhcp\"\n")[..],
            [E::InterfaceDhcpWithoutClient { .. }]
        ));
        assert!(matches!(
            with("[[interface]]\nname = \"e\"\nmtu = 2000\n")[..],
            [E::FrameExceedsBuffer { frame: 2014, .. }]
        ));
        assert!(matches!(
            with(
                "[[interface]]\nname = \"lo\"\nkind = \"loopback\"\nmac = \"02:00:00:00:00:01\"\n"
            )[..],
            [E::MacOnLoopback { .. }]
        ));
    }

    #[test]
    fn small_window_states_the_throughput_ceiling() {
        let plan = plan("[protocols]\ntcp = true\n[tcp]\nrx_window = \"2 mss\"\n");
        assert_eq!(warning_codes(&plan), vec!["small-rx-window"]);
        // 2920 B per 50 ms = 467 kbit/s.
        assert!(plan.warnings[0].to_string().contains("467 kbit/s"));
        let plan = plan_with_rtt();
        assert!(plan.warnings[0].to_string().contains("at 1 ms RTT"));
    }

    fn plan_with_rtt() -> Plan {
        plan("[protocols]\ntcp = true\n[tcp]\nrx_window = \"1 mss\"\n[workload]\nrtt = \"1 ms\"\n")
    }

    #[test]
    fn time_wait_exhaustion() {
        let plan = plan(
            "[protocols]\ntcp = true\n[tcp]\nsockets = 8\ntime_wait = \"60 s\"\n[workload]\nconcurrent_connections = 6\nnew_connections_per_second = 2\n[arp]\nentries = 8\n",
        );
        assert_eq!(
            warning_codes(&plan),
            vec!["time-wait-exhaustion", "rx-pool-starvation"]
        );
        let WarningKind::TimeWaitExhaustion {
            time_wait_slots,
            time_wait_fit,
            ..
        } = &plan.warnings[0].kind
        else {
            panic!()
        };
        assert_eq!(*time_wait_slots, 120);
        assert_eq!(*time_wait_fit, Some(Duration::from_secs(1)));
        assert!(plan.warnings[0].kind.help().contains("tcp.sockets = 126"));
    }

    #[test]
    fn udp_datagrams_larger_than_the_packet_buffers_allow() {
        assert_eq!(
            warning_codes(&plan("[protocols]\nudp = true\n")),
            Vec::<&str>::new()
        );
        // 12 buffers of 1536 B, 10 beyond the frame reserve: 10 fragments of 1480 B.
        let tx = plan("[protocols]\nudp = true\n[udp]\ntx_buffer = \"16 KiB\"\n");
        assert_eq!(warning_codes(&tx), vec!["udp-datagram-over-pool"]);
        let WarningKind::UdpDatagramOverPool {
            knob,
            buffers,
            available,
            fit,
            ..
        } = &tx.warnings[0].kind
        else {
            panic!()
        };
        assert_eq!(
            (*knob, *buffers, *available, *fit),
            ("udp.tx_buffer", 12, 10, 14792)
        );
        let at_fit = plan("[protocols]\nudp = true\n[udp]\ntx_buffer = \"14792 B\"\n");
        assert!(at_fit.warnings.is_empty(), "{:?}", at_fit.warnings);
        // A 16 KiB reassembled datagram takes 11 buffers; a socket queues 8 at most.
        let rx = plan(
            "[protocols]\nudp = true\n[udp]\nrx_buffer = \"16 KiB\"\n[reassembly]\nbuffers = 1\nsize = \"16 KiB\"\n",
        );
        assert_eq!(warning_codes(&rx), vec!["udp-datagram-over-pool"]);
        let help = rx.warnings[0].kind.help();
        assert!(help.contains("udp.rx_buffer = \"12280 B\""), "{help}");
    }

    #[test]
    fn rx_pool_starvation_and_arp_cache() {
        let plan = plan(
            "[protocols]\ntcp = true\n[workload]\nconcurrent_connections = 3\n[arp]\nentries = 2\n",
        );
        assert_eq!(
            warning_codes(&plan),
            vec!["rx-pool-starvation", "small-arp-cache"]
        );
        let help = plan.warnings[0].kind.help();
        assert!(help.contains("buffers.rx_count = 13"), "{help}");
        assert!(plan.warnings[1].kind.help().contains("arp.entries = 4"));
    }

    #[test]
    fn other_warnings() {
        let plan = plan(
            "[protocols]\ntcp = true\n[tcp]\nsend_buffer = \"1 mss\"\nkeepalive = \"2 h\"\n[udp]\nsockets = 1\n",
        );
        assert_eq!(
            warning_codes(&plan),
            vec!["small-send-buffer", "slow-keepalive", "ignored-section"]
        );
        let text = r#"
[stack]
name = "t"
board = "stm32f407"

[[interface]]
name = "eth0"
ipv4 = "static 192.0.2.2/24"

[protocols]
udp = true
dhcpv4 = true
dns = true

[dns]
servers = 1
"#;
        let plan = Plan::resolve(&Profile::parse(&Source::new("t.toml", text)).unwrap()).unwrap();
        assert_eq!(
            warning_codes(&plan),
            vec!["single-dns-server", "unused-dhcp"]
        );
    }

    #[test]
    fn hand_built_profile_with_unknown_board_is_an_error_not_a_panic() {
        let text = BASE.to_string();
        let mut profile = Profile::parse(&Source::new("t.toml", text)).unwrap();
        profile.stack.board.value = "esp32".into();
        assert!(matches!(
            Plan::resolve(&profile).unwrap_err()[..],
            [PlanError {
                kind: E::UnknownBoard { .. },
                ..
            }]
        ));
    }

    #[test]
    fn limits() {
        let plan = plan("[budget]\nram_max = \"1 KiB\"\n");
        assert!(matches!(
            plan.limit_errors()[..],
            [PlanError {
                kind: E::OverRamBudget { limit: 1024, .. },
                ..
            }]
        ));
        let plan = plan_big();
        assert!(matches!(
            plan.limit_errors()[..],
            [PlanError {
                kind: E::OverBoardRam { .. },
                ..
            }]
        ));
    }

    fn plan_big() -> Plan {
        plan("[buffers]\nrx_count = 200\n")
    }
}
