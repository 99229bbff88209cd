//! The resolved plan as `stackgen check` prints it: every value after defaults, so what the
//! stack will be is visible without reading the catalogue.

use std::fmt::Write as _;

use crate::plan::{Plan, TcpPlan};
use crate::profile::{InterfaceKind, Ipv4Setting, MacSetting, TcpBuffers};
use crate::units::{TcpSize, format_duration, format_size};

fn on_off(flag: bool) -> &'static str {
    if flag { "on" } else { "off" }
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn tcp_size(bytes: u64, written: TcpSize) -> String {
    match written {
        TcpSize::Mss(_) => format!("{bytes} B ({written})"),
        TcpSize::Bytes(_) => format!("{bytes} B"),
    }
}

fn mac_text(mac: Option<MacSetting>) -> String {
    match mac {
        None => "none".into(),
        Some(MacSetting::FromBoard) => "from-board".into(),
        Some(MacSetting::Address(bytes)) => bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

fn ipv4_text(setting: Ipv4Setting) -> String {
    match setting {
        Ipv4Setting::Off => "off".into(),
        Ipv4Setting::Dhcp => "dhcp".into(),
        Ipv4Setting::Static { address, prefix } => format!("static {address}/{prefix}"),
    }
}

fn tcp_lines(out: &mut String, tcp: &TcpPlan) {
    let _ = writeln!(
        out,
        "tcp          {}, {} (backlog {}), mss {} B",
        plural(tcp.sockets, "socket"),
        plural(tcp.listeners, "listener"),
        tcp.backlog,
        tcp.mss
    );
    let _ = writeln!(
        out,
        "             rx_window {}, send_buffer {}, buffers {}",
        tcp_size(tcp.rx_window, tcp.rx_window_written),
        tcp_size(tcp.send_buffer, tcp.send_buffer_written),
        match tcp.buffers {
            TcpBuffers::Shared => "shared",
            TcpBuffers::Reserved => "reserved",
        }
    );
    let _ = writeln!(
        out,
        "             {} segments, {} out-of-order per socket, time_wait {}, keepalive {}",
        tcp.segments,
        tcp.out_of_order_segments,
        format_duration(tcp.time_wait),
        tcp.keepalive.map_or("off".into(), format_duration)
    );
    let _ = writeln!(
        out,
        "             window_scaling {}, timestamps {}, sack {}",
        on_off(tcp.window_scaling),
        on_off(tcp.timestamps),
        on_off(tcp.sack)
    );
}

/// The plan summary printed by `stackgen check` (to standard output).
pub fn plan_summary(plan: &Plan, profile: &str) -> String {
    let mut out = String::new();
    let board = plan.board;
    let memory = match (board.ram, board.flash) {
        (Some(ram), Some(flash)) => {
            format!("{} RAM, {} flash", format_size(ram), format_size(flash))
        }
        _ => "hosted".into(),
    };
    let _ = writeln!(out, "profile      {profile}");
    let _ = writeln!(
        out,
        "stack        {} on {} ({}; {memory})",
        plan.name, board.name, plan.target
    );
    let _ = writeln!(out);
    for interface in &plan.interfaces {
        let kind = match interface.kind {
            InterfaceKind::Ethernet => "ethernet",
            InterfaceKind::Loopback => "loopback",
        };
        let mut line = format!(
            "interface    {} {kind}, mac {}, ipv4 {}",
            interface.name,
            mac_text(interface.mac),
            ipv4_text(interface.ipv4)
        );
        if let Some(gateway) = interface.gateway {
            let _ = write!(line, " via {gateway}");
        }
        let _ = write!(
            line,
            ", ipv6 {}, mtu {}",
            on_off(interface.ipv6),
            interface.mtu
        );
        let _ = writeln!(out, "{line}");
    }
    let on = plan.protocols.names(true);
    let off = plan.protocols.names(false);
    let _ = writeln!(out, "protocols    on: {}", on.join(" "));
    if !off.is_empty() {
        let _ = writeln!(out, "             off: {}", off.join(" "));
    }
    let _ = writeln!(
        out,
        "buffers      {} rx + {} tx, {} B each",
        plan.buffers.rx_count, plan.buffers.tx_count, plan.buffers.size
    );
    if let Some(tcp) = &plan.tcp {
        tcp_lines(&mut out, tcp);
    }
    if let Some(udp) = plan.udp {
        let mut line = format!(
            "udp          {} (rx {}, tx {})",
            plural(udp.sockets, "application socket"),
            format_size(udp.rx_buffer),
            format_size(udp.tx_buffer)
        );
        if plan.dhcp_clients > 0 {
            let _ = write!(line, " + {} for the DHCPv4 client", plan.dhcp_clients);
        }
        if plan.dns.is_some() {
            line.push_str(" + 1 for the DNS resolver");
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(entries) = plan.arp_entries {
        let _ = writeln!(
            out,
            "arp          {}",
            plural(entries, "entry").replace("entrys", "entries")
        );
    }
    if let Some(entries) = plan.ndp_entries {
        let _ = writeln!(
            out,
            "ndp          {}",
            plural(entries, "entry").replace("entrys", "entries")
        );
    }
    match plan.reassembly {
        Some(r) => {
            let _ = writeln!(out, "reassembly   {} × {}", r.buffers, format_size(r.size));
        }
        None if plan.protocols.ipv4 => {
            let _ = writeln!(out, "reassembly   off (fragments dropped)");
        }
        None => {}
    }
    if let Some(dns) = plan.dns {
        let _ = writeln!(
            out,
            "dns          {} servers, {} cache entries",
            dns.servers, dns.cache_entries
        );
    }
    let w = &plan.workload;
    let mut workload = Vec::new();
    if let Some(c) = w.concurrent_connections {
        workload.push(format!("{c} concurrent connections"));
    }
    if let Some(rate) = w.new_connections_per_second {
        workload.push(format!("{rate} new/s"));
    }
    if let Some(peers) = w.peers {
        workload.push(format!("{peers} peers"));
    }
    workload.push(format!(
        "rtt {}{}",
        format_duration(w.rtt),
        if w.rtt_from_profile { "" } else { " (assumed)" }
    ));
    let _ = writeln!(out, "workload     {}", workload.join(", "));
    let _ = writeln!(out);
    let total = plan.ram_total();
    let mut ram = format!("ram          {total} B in {} pools", plan.pools.len());
    if let Some(max) = plan.limits.ram_max {
        let _ = write!(
            ram,
            " of budget.ram_max {} ({}% used)",
            format_size(max),
            (total * 100).div_ceil(max.max(1))
        );
    }
    let _ = writeln!(out, "{ram}; `stackgen budget` shows the table");
    if let Some(flash) = plan.limits.flash_max {
        let _ = writeln!(
            out,
            "flash        budget.flash_max {} (checked on the linked image once `stackgen build` exists)",
            format_size(flash)
        );
    }
    out
}
