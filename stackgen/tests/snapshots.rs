//! Snapshot tests of `stackgen check` and `stackgen budget` (text, Markdown, JSON) for every
//! shipped profile. Accept deliberate changes with `cargo insta accept` (or
//! `INSTA_UPDATE=always`).

use stackgen::budget::Format;
use stackgen::cli::{budget, check};
use stackgen::source::Source;

const PROFILES: &[&str] = &["stm32f407", "minimal", "host-tap", "qemu-mps2-an386"];

fn source(name: &str) -> Source {
    let text = std::fs::read_to_string(format!("../profiles/{name}.toml")).unwrap();
    Source::new(format!("profiles/{name}.toml"), text)
}

fn transcript(code: u8, out: Vec<u8>, err: Vec<u8>) -> String {
    format!(
        "exit code: {code}\n--- stdout\n{}--- stderr\n{}",
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap()
    )
}

#[test]
fn check_output() {
    for name in PROFILES {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = check(&source(name), false, &mut out, &mut err);
        insta::assert_snapshot!(format!("check-{name}"), transcript(code, out, err));
    }
}

#[test]
fn budget_output() {
    for name in PROFILES {
        for (format, label) in [
            (Format::Text, "text"),
            (Format::Markdown, "markdown"),
            (Format::Json, "json"),
        ] {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = budget(&source(name), format, false, &mut out, &mut err);
            assert_eq!(code, 0, "{name}");
            if format == Format::Json {
                let value: serde_json::Value = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("{name}: budget JSON does not parse: {e}"));
                assert_eq!(value["profile"], format!("profiles/{name}.toml"));
            }
            insta::assert_snapshot!(format!("budget-{label}-{name}"), transcript(code, out, err));
        }
    }
}

#[test]
fn shipped_profiles_meet_the_issue() {
    use stackgen::plan::Plan;
    use stackgen::profile::Profile;
    let plan = |name: &str| Plan::resolve(&Profile::parse(&source(name)).unwrap()).unwrap();

    let stm = plan("stm32f407");
    let tcp = stm.tcp.as_ref().unwrap();
    assert_eq!(stm.buffers.size, 1536);
    // lwIP's MEMP_NUM_TCP_SEG = 32 counts descriptors over pbufs; `tcp.segments` counts the
    // packet buffers TCP data may hold: the workload's busy connections' full windows and
    // send buffers, and the pool is exactly that plus the buffers kept for frames.
    let busy = stm.workload.concurrent_connections.unwrap();
    assert_eq!(
        (tcp.sockets, tcp.listeners, tcp.segments, tcp.mss),
        (8, 4, busy * (4 + 4), 1460)
    );
    assert_eq!(
        stm.buffers.rx_count + stm.buffers.tx_count,
        tcp.segments + stackgen::plan::FRAME_RESERVE
    );
    assert_eq!((tcp.rx_window, tcp.send_buffer), (4 * 1460, 4 * 1460));
    assert!(stm.protocols.udp && stm.protocols.dhcpv4 && stm.protocols.dns);
    assert!(stm.limits.ram_max.is_some() && stm.limits.flash_max.is_some());
    assert!(stm.warnings.is_empty());

    let minimal = plan("minimal");
    let tcp = minimal.tcp.as_ref().unwrap();
    assert_eq!(
        (tcp.sockets, tcp.rx_window, minimal.buffers.rx_count),
        (1, 2 * 1460, 4)
    );
    assert!(minimal.protocols.arp && minimal.protocols.icmpv4 && !minimal.protocols.udp);
    assert_eq!(minimal.warnings.len(), 1, "minimal warns about its window");

    let host = plan("host-tap");
    assert_eq!(host.target, "x86_64-unknown-linux-gnu");
    assert_eq!(host.udp.unwrap().rx_buffer, 16 * 1024);
    let reassembly = host.reassembly.unwrap();
    assert!(reassembly.buffers == 2 && reassembly.size >= 8 * 1024);

    let qemu = plan("qemu-mps2-an386");
    assert_eq!(qemu.target, "thumbv7em-none-eabihf");
    assert!(qemu.tcp.as_ref().unwrap().rx_window <= 8 * 1024);
}
