//! The measured budget report of `stackgen build` (`stackgen::build::report`), from hand-made
//! measurements: snapshots of the Markdown, JSON and HTML with every number masked (so the
//! layout is pinned but a size change does not churn them), and assertions on the real numbers:
//! totals, percentages, the over-limit advice and the estimate ≠ measured alarm.
//!
//! Accept deliberate layout changes with `cargo insta accept` (or `INSTA_UPDATE=always`).

use stackgen::build::model::{
    FlashModule, FlashOwner, MeasuredPool, Measurement, RamGroup, RamSection, SectionTotals,
};
use stackgen::build::report::{BuildReport, PoolEstimate, ReportInputs};

/// (id, name, knob, count, element) of a small TCP/UDP/DHCP/DNS stack on an STM32F407.
const POOLS: &[(&str, &str, &str, u64, u64)] = &[
    ("interfaces", "interfaces", "[[interface]]", 1, 32),
    (
        "rx_packet_buffers",
        "rx packet buffers",
        "buffers.rx_count",
        12,
        1544,
    ),
    (
        "tx_packet_buffers",
        "tx packet buffers",
        "buffers.tx_count",
        8,
        1544,
    ),
    ("arp_cache", "ARP cache", "arp.entries", 10, 16),
    (
        "tcp_control_blocks",
        "TCP control blocks",
        "tcp.sockets",
        8,
        124,
    ),
    ("tcp_listeners", "TCP listeners", "tcp.listeners", 4, 12),
    (
        "tcp_segments",
        "TCP segment descriptors",
        "tcp.segments",
        32,
        16,
    ),
    (
        "tcp_out_of_order",
        "TCP out-of-order slots",
        "tcp.out_of_order_segments",
        32,
        8,
    ),
    (
        "udp_sockets",
        "UDP sockets (application)",
        "udp.sockets",
        4,
        4136,
    ),
    (
        "dhcpv4_socket",
        "UDP socket of the DHCPv4 client",
        "protocols.dhcpv4",
        1,
        1240,
    ),
    (
        "dns_socket",
        "UDP socket of the DNS resolver",
        "protocols.dns",
        1,
        1064,
    ),
];

/// (owner, module, text, rodata).
const FLASH: &[(FlashOwner, &str, u64, u64)] = &[
    (FlashOwner::Stack, "tcp", 21_480, 1_024),
    (FlashOwner::Stack, "ipv4", 6_200, 300),
    (FlashOwner::Stack, "dhcp", 3_900, 420),
    (FlashOwner::Stack, "dns", 2_800, 200),
    (FlashOwner::Stack, "udp", 2_100, 0),
    (FlashOwner::Stack, "arp", 1_800, 64),
    (FlashOwner::Stack, "icmp", 900, 0),
    (FlashOwner::Generated, "stm32f407_services::net", 1_200, 96),
    (FlashOwner::Board, "stackgen_board_stm32f407", 4_800, 200),
    (FlashOwner::Application, "stm32f407_services", 2_000, 400),
    (FlashOwner::Dependency, "embassy_stm32", 9_000, 1_100),
    (FlashOwner::Dependency, "embassy_executor", 1_500, 40),
    (FlashOwner::Core, "core", 6_500, 2_000),
    (FlashOwner::Core, "compiler_builtins", 1_300, 0),
    (FlashOwner::Other, "vector table", 0, 392),
];

/// `.data` of the image: embassy_stm32's initialised statics.
const DATA: u64 = 24;
const STACK_RESERVE: u64 = 8192;

fn estimates() -> Vec<PoolEstimate> {
    POOLS
        .iter()
        .map(|&(id, name, knob, count, element)| PoolEstimate {
            id: id.into(),
            name: name.into(),
            knob: knob.into(),
            count,
            element,
            bytes: count * element,
        })
        .collect()
}

fn measurement() -> Measurement {
    let pools: Vec<MeasuredPool> = POOLS
        .iter()
        .map(|&(id, _, _, count, element)| MeasuredPool {
            id: id.into(),
            symbol: format!("stm32f407_services::net::{}", id.to_uppercase()),
            bytes: count * element,
            section: RamSection::Bss,
        })
        .collect();
    let other_ram = vec![
        RamGroup {
            owner: "embassy_stm32".into(),
            data: DATA,
            bss: 1_392,
        },
        RamGroup {
            owner: "embassy_executor".into(),
            data: 0,
            bss: 256,
        },
    ];
    let flash: Vec<FlashModule> = FLASH
        .iter()
        .map(|&(owner, module, text, rodata)| FlashModule {
            owner,
            module: module.into(),
            text,
            rodata,
        })
        .collect();
    let ram: u64 = pools.iter().map(|p| p.bytes).sum::<u64>()
        + other_ram.iter().map(|g| g.data + g.bss).sum::<u64>();
    let image: u64 = flash.iter().map(|m| m.text + m.rodata).sum();
    Measurement {
        sections: SectionTotals {
            text: image - DATA,
            data: DATA,
            bss: ram - DATA,
        },
        pools,
        other_ram,
        flash,
    }
}

fn inputs() -> ReportInputs {
    ReportInputs {
        profile: "profiles/stm32f407.toml".into(),
        stack: "stm32f407-reference".into(),
        board: "stm32f407".into(),
        target: "thumbv7em-none-eabihf".into(),
        app: "stm32f407-services".into(),
        firmware: "target/stackgen/stm32f407/firmware.elf".into(),
        estimates: estimates(),
        measurement: measurement(),
        stack_reserve: STACK_RESERVE,
        ram_max: Some(64 * 1024),
        flash_max: Some(128 * 1024),
    }
}

/// Pool bytes: 32 + 18,528 + 12,352 + 160 + 992 + 48 + 512 + 256 + 16,544 + 1,240 + 1,064.
const POOLS_TOTAL: u64 = 51_728;
/// Pools + other statics (1,672 B) + stack reserve.
const RAM_TOTAL: u64 = POOLS_TOTAL + 1_672 + STACK_RESERVE;
/// Every flash module.
const FLASH_TOTAL: u64 = 71_716;

/// Replaces every number (digits with `,` and `.` separators) that does not continue a word or
/// a hex colour by `N`: the snapshots keep the layout, not the sizes.
fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let joined = i > 0 && (chars[i - 1].is_alphanumeric() || matches!(chars[i - 1], '_' | '#'));
        if c.is_ascii_digit() && !joined {
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], ',' | '.')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            out.push('N');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[test]
fn mask_keeps_names_and_hides_sizes() {
    assert_eq!(
        mask("30,724 B of 64 KiB (46.9%) thumbv7em stm32f407 #4e79a7 x=\"12.5\""),
        "N B of N KiB (N%) thumbv7em stm32f407 #4e79a7 x=\"N\""
    );
}

#[test]
fn snapshots_masked() {
    let report = BuildReport::new(inputs());
    insta::assert_snapshot!("markdown-masked", mask(&report.markdown()));
    insta::assert_snapshot!("json-masked", mask(&report.json()));
    insta::assert_snapshot!("html-masked", mask(&report.html()));
    insta::assert_snapshot!("summary-masked", mask(&report.summary()));
}

#[test]
fn totals_and_percentages() {
    let report = BuildReport::new(inputs());
    assert_eq!(report.ram.pools_measured, POOLS_TOTAL);
    assert_eq!(report.ram.pools_estimate, POOLS_TOTAL);
    assert_eq!(report.ram.other_total, 1_672);
    assert_eq!(report.ram.unattributed, 0);
    assert_eq!(
        report.ram.stack_bytes, POOLS_TOTAL,
        "no stack_runtime statics here"
    );
    assert_eq!(report.ram.usage.total, RAM_TOTAL);
    assert_eq!(RAM_TOTAL, 61_592);
    assert_eq!(report.ram.usage.spare, Some(65_536 - 61_592));
    assert_eq!(report.ram.usage.percent, Some(94.0));
    assert_eq!(report.flash.usage.total, FLASH_TOTAL);
    assert_eq!(report.flash.unattributed, 0);
    assert_eq!(report.flash.usage.percent, Some(54.7));
    // stack-runtime 41,188 + generated 1,296.
    assert_eq!(report.flash.stack_bytes, 42_484);
    assert_eq!(report.flash.stack_percent, Some(59.2));
    assert!(!report.over_limit());
    assert!(!report.has_mismatches());

    let owners: Vec<_> = report.flash.groups.iter().map(|g| g.owner).collect();
    assert_eq!(
        owners,
        [
            FlashOwner::Stack,
            FlashOwner::Generated,
            FlashOwner::Board,
            FlashOwner::Application,
            FlashOwner::Dependency,
            FlashOwner::Core,
            FlashOwner::Other
        ]
    );
    let stack = &report.flash.groups[0];
    assert_eq!(stack.modules[0].module, "tcp", "largest module first");
    assert_eq!(
        (stack.text, stack.rodata, stack.bytes),
        (39_180, 2_008, 41_188)
    );

    let md = report.markdown();
    assert!(
        md.contains("## RAM: 61,592 B of 64 KiB (65,536 B), 94.0%"),
        "{md}"
    );
    assert!(md.contains("| `tcp_segments` | TCP segment descriptors | `tcp.segments` | 32 × 16 B | 512 B | 512 B |  |"), "{md}");
    assert!(
        md.contains("| stack reserve (board) | | | 8,192 B |"),
        "{md}"
    );
    assert!(
        md.contains("94.0% of `budget.ram_max` used, 3,944 B to spare."),
        "{md}"
    );
    assert!(
        md.contains("## Flash: 71,716 B of 128 KiB (131,072 B), 54.7%"),
        "{md}"
    );
    assert!(
        md.contains("| **network stack** (stack-runtime + generated code) | | | | **42,484 B** |"),
        "{md}"
    );
    assert!(md.contains(
        "Measured from the linked ELF (symbol table for RAM, DWARF line tables for flash)"
    ));
    assert!(!md.contains("Over budget"));

    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["ram"]["usage"]["total"], 61_592);
    assert_eq!(json["ram"]["usage"]["limit"], 65_536);
    assert_eq!(json["flash"]["usage"]["total"], FLASH_TOTAL);
    assert_eq!(json["flash"]["stack_bytes"], 42_484);
    assert_eq!(json["ram"]["pools"][6]["measured"], 512);
    assert_eq!(json["ram"]["pools"][6]["differs"], false);
    assert_eq!(json["advice"]["ram"], serde_json::Value::Null);
    assert_eq!(json["firmware"], "target/stackgen/stm32f407/firmware.elf");

    let summary = report.summary();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 3, "{summary}");
    assert_eq!(
        lines[0],
        "RAM    61,592 B of 64 KiB (65,536 B), 94.0% (pools 51,728 B, other statics 1,672 B, stack reserve 8,192 B)"
    );
    assert_eq!(lines[1], "flash  71,716 B of 128 KiB (131,072 B), 54.7%");
    assert_eq!(
        lines[2],
        "stack  42,484 B of flash, 59.2% of the image (stack-runtime 41,188 B + generated code 1,296 B); 51,728 B of static RAM"
    );
}

#[test]
fn ram_over_the_limit_names_the_knob_and_the_count() {
    let mut inputs = inputs();
    // 5,000 B too little: only the rx buffers (11 × 1,544 B to give), the UDP sockets
    // (3 × 4,136 B) and the tx buffers (7 × 1,544 B) can free that much alone.
    inputs.ram_max = Some(RAM_TOTAL - 5_000);
    let report = BuildReport::new(inputs);
    assert!(report.over_limit());
    assert_eq!(report.ram.usage.over_by, Some(5_000));
    let advice = report.advice.ram.as_ref().unwrap();
    let changes: Vec<_> = advice
        .shrinks
        .iter()
        .map(|s| (s.knob.as_str(), s.from, s.to, s.saves))
        .collect();
    assert_eq!(
        changes,
        [
            ("buffers.rx_count", 12, 8, 6_176),
            ("udp.sockets", 4, 2, 8_272),
            ("buffers.tx_count", 8, 4, 6_176),
        ]
    );
    assert!(report.advice.flash.is_none());

    let md = report.markdown();
    assert!(
        md.contains(
            "**RAM is over `budget.ram_max` by 5,000 B.** Any one of these changes fixes it:"
        ),
        "{md}"
    );
    assert!(
        md.contains("- `buffers.rx_count`: 12 → 8 saves 6,176 B of rx packet buffers"),
        "{md}"
    );
    assert!(
        md.contains("**Over `budget.ram_max` by 5,000 B** (108.8% of it)."),
        "{md}"
    );
    let html = report.html();
    assert!(html.contains("<code>buffers.rx_count</code>: 12 → 8 saves 6,176 B"));
    let summary = report.summary();
    assert!(
        summary.contains("RAM over budget.ram_max by 5,000 B: lower buffers.rx_count 12 → 8 (saves 6,176 B) or udp.sockets 4 → 2 (saves 8,272 B) or buffers.tx_count 8 → 4 (saves 6,176 B)"),
        "{summary}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["advice"]["ram"]["fix"], "any_one");
    assert_eq!(json["advice"]["ram"]["shrinks"][0]["to"], 8);
    insta::assert_snapshot!("markdown-ram-over-masked", mask(&md));
}

#[test]
fn ram_far_over_the_limit_combines_pools() {
    let mut inputs = inputs();
    inputs.ram_max = Some(32 * 1024);
    let report = BuildReport::new(inputs);
    let over = RAM_TOTAL - 32 * 1024;
    assert_eq!(report.ram.usage.over_by, Some(over));
    let advice = report.advice.ram.as_ref().unwrap();
    // rx buffers free at most 16,984 B: not enough alone for 28,824 B; with the UDP sockets
    // (12,408 B at most), together they are.
    assert_eq!(over, 28_824);
    assert_eq!(
        advice.fix,
        stackgen::build::report::advice::RamFix::Together
    );
    let changes: Vec<_> = advice
        .shrinks
        .iter()
        .map(|s| (s.knob.as_str(), s.from, s.to))
        .collect();
    assert_eq!(
        changes,
        [("buffers.rx_count", 12, 1), ("udp.sockets", 4, 1)]
    );
    assert!(
        report
            .markdown()
            .contains("No single pool frees enough; these changes together fix it:")
    );
    assert!(
        report
            .summary()
            .contains("buffers.rx_count 12 → 1 (saves 16,984 B) and udp.sockets 4 → 1")
    );
}

#[test]
fn flash_over_the_limit_names_the_protocols_to_turn_off() {
    let mut inputs = inputs();
    inputs.flash_max = Some(FLASH_TOTAL - 3_000);
    let report = BuildReport::new(inputs);
    assert!(report.over_limit());
    assert!(report.advice.ram.is_none());
    let advice = report.advice.flash.as_ref().unwrap();
    assert_eq!(advice.over_by, 3_000);
    let cuts: Vec<_> = advice
        .cuts
        .iter()
        .map(|c| (c.key.as_str(), c.bytes, c.enough_alone))
        .collect();
    assert_eq!(
        cuts,
        [
            ("protocols.tcp", 22_504, true),
            ("protocols.dhcpv4", 4_320, true),
            ("protocols.dns", 3_000, true),
        ]
    );
    let md = report.markdown();
    assert!(
        md.contains("**Flash is over `budget.flash_max` by 3,000 B.**"),
        "{md}"
    );
    assert!(
        md.contains("- turn off `protocols.tcp` in the profile: about 22,504 B (enough alone)"),
        "{md}"
    );
    assert!(md.contains("opt-level = \"z\""));
    let summary = report.summary();
    assert!(
        summary.contains("flash over budget.flash_max by 3,000 B: turn off protocols.tcp (about 22,504 B) or protocols.dhcpv4 (about 4,320 B) or protocols.dns (about 3,000 B) in the profile; try opt-level = \"z\""),
        "{summary}"
    );
    assert!(
        report
            .html()
            .contains("turn off <code>protocols.tcp</code>")
    );
    insta::assert_snapshot!("markdown-flash-over-masked", mask(&md));
}

#[test]
fn estimate_differing_from_the_elf_is_loud() {
    let mut inputs = inputs();
    let segments = inputs
        .measurement
        .pools
        .iter_mut()
        .find(|p| p.id == "tcp_segments")
        .unwrap();
    segments.bytes = 640;
    inputs.measurement.sections.bss += 128;
    let report = BuildReport::new(inputs);
    assert!(report.has_mismatches());
    assert_eq!(report.ram.mismatches, ["tcp_segments"]);
    assert_eq!(report.ram.pools_measured, POOLS_TOTAL + 128);
    assert_eq!(report.ram.usage.total, RAM_TOTAL + 128);

    let md = report.markdown();
    assert!(md.contains("| 32 × 16 B | 512 B | 640 B | **≠** |"), "{md}");
    assert!(
        md.contains("**≠ 1 pool differs from the plan's estimate.**"),
        "{md}"
    );
    assert!(
        md.contains("> - `tcp_segments`: estimate 512 B, measured 640 B (+128 B)"),
        "{md}"
    );
    let html = report.html();
    assert!(html.contains("<tr class=\"differs\"><td><code>tcp_segments</code>"));
    assert!(html.contains("estimate 512 B, measured 640 B (+128 B)"));
    let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
    assert_eq!(json["ram"]["mismatches"][0], "tcp_segments");
    assert_eq!(json["ram"]["pools"][6]["differs"], true);
    let summary = report.summary();
    assert!(
        summary.ends_with(
            "error: 1 pool differs from the plan's estimate (tcp_segments): a stackgen bug, see budget.md\n"
        ),
        "{summary}"
    );
    insta::assert_snapshot!("markdown-mismatch-masked", mask(&md));
}

#[test]
fn missing_and_unknown_pools_are_mismatches() {
    let mut inputs = inputs();
    inputs.measurement.pools.retain(|p| p.id != "arp_cache");
    inputs.measurement.pools.push(MeasuredPool {
        id: "mystery".into(),
        symbol: "app::MYSTERY".into(),
        bytes: 160,
        section: RamSection::Data,
    });
    let report = BuildReport::new(inputs);
    assert_eq!(report.ram.mismatches, ["arp_cache", "mystery"]);
    let md = report.markdown();
    assert!(
        md.contains("`arp_cache`: estimate 160 B, no symbol found in the ELF"),
        "{md}"
    );
    assert!(
        md.contains("`mystery`: measured 160 B, not a pool of the plan"),
        "{md}"
    );
}

#[test]
fn no_limits() {
    let mut inputs = inputs();
    inputs.ram_max = None;
    inputs.flash_max = None;
    let report = BuildReport::new(inputs);
    assert!(!report.over_limit());
    assert_eq!(report.ram.usage.percent, None);
    let md = report.markdown();
    assert!(md.contains("## RAM: 61,592 B, no budget.ram_max"), "{md}");
    assert!(md.contains("No `budget.flash_max` in the profile."), "{md}");
    assert!(
        report
            .summary()
            .starts_with("RAM    61,592 B, no budget.ram_max")
    );
    assert!(report.html().contains("<svg"));
}

#[test]
fn stack_ram_is_the_pools_and_stack_runtime_statics() {
    let mut inputs = inputs();
    inputs.measurement.other_ram.push(RamGroup {
        owner: "stack_runtime".into(),
        data: 4,
        bss: 60,
    });
    inputs.measurement.sections.bss += 60;
    inputs.measurement.sections.data += 4;
    let report = BuildReport::new(inputs);
    // The driver's and the executor's statics stay out; stack-runtime's own count.
    assert_eq!(report.ram.stack_bytes, POOLS_TOTAL + 64);
    assert_eq!(report.ram.usage.total, RAM_TOTAL + 64);
    let md = report.markdown();
    let line = format!(
        "The network stack takes {} of static RAM",
        stackgen::build::report::numbers::bytes(POOLS_TOTAL + 64)
    );
    assert!(md.contains(&line), "{md}");
}

#[test]
fn unattributed_bytes_are_shown() {
    let mut inputs = inputs();
    inputs.measurement.sections.bss += 40;
    inputs.measurement.sections.text += 100;
    let report = BuildReport::new(inputs);
    assert_eq!(report.ram.unattributed, 40);
    assert_eq!(report.flash.unattributed, 100);
    let md = report.markdown();
    assert!(
        md.contains("| not attributed to a symbol | | | 40 B |"),
        "{md}"
    );
    assert!(
        md.contains("| other | `(unattributed)` | 0 B | 0 B | 100 B |"),
        "{md}"
    );
}

/// Checks that every element the report opens is closed, in order (void elements aside).
fn assert_balanced(html: &str) {
    const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("unclosed `<`");
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') || tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("`</{name}>` closes nothing"));
            assert_eq!(top, name, "`</{name}>` closes `<{top}>`");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !VOID.contains(&name.as_str()) {
                open.push(name);
            }
        }
    }
    assert!(open.is_empty(), "never closed: {open:?}");
}

#[test]
fn html_is_self_contained_and_balanced() {
    let mut over = inputs();
    over.ram_max = Some(40_000);
    over.flash_max = Some(60_000);
    over.measurement.pools[0].bytes = 1;
    for report in [BuildReport::new(inputs()), BuildReport::new(over)] {
        let html = report.html();
        assert!(html.contains("<svg"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<script") && !html.contains("<link"));
        assert_balanced(&html);
        assert!(html.contains("budget.ram_max 64 KiB") || html.contains("budget.ram_max 40,000 B"));
    }
}

#[test]
fn html_escapes_text() {
    let mut inputs = inputs();
    inputs.stack = "<script>alert(1)</script>".into();
    inputs.measurement.other_ram[0].owner = "a&b".into();
    let html = BuildReport::new(inputs).html();
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(html.contains("a&#38;b") || html.contains("a&amp;b"));
    assert_balanced(&html);
}
