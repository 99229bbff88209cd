//! Unused protocols leave no code in the firmware, checked on the linked ELF rather than by
//! belief.
//!
//! The same small application is built for `thumbv7em-none-eabihf` over crates generated from
//! profiles that differ by one protocol. For each pair the test reads the ELF's symbol table and
//! its allocated sections: the build with the protocol off has no symbol of that protocol's
//! code, the build with it on does, and the flash image (code + read-only data + initialised
//! data) shrinks when the protocol is off.
//!
//! The pairs: UDP (feature `udp`, with DHCP off in both builds since the client runs over UDP),
//! ICMPv4 (`icmp`), TCP (`tcp`) and the DHCPv4 client (`dhcpv4`).
//!
//! Skipped (with a message) when the `thumbv7em-none-eabihf` standard library is not installed
//! (`rustup target add thumbv7em-none-eabihf`; `cargo xtask deps` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{TARGET, target_dir, target_installed};
use stackgen::codegen::{self, RuntimeDependency};
use stackgen::source::Source;

/// The protocols of one firmware build (ARP and IPv4 are always on).
#[derive(Debug, Clone, Copy)]
struct Protocols {
    udp: bool,
    icmpv4: bool,
    tcp: bool,
    dhcpv4: bool,
}

impl Protocols {
    /// Everything on: the build every pair but UDP's compares with.
    const ALL: Protocols = Protocols {
        udp: true,
        icmpv4: true,
        tcp: true,
        dhcpv4: true,
    };

    /// A short name for directories and the profile's `[stack] name`.
    fn name(self) -> String {
        let mut name = String::from("fw");
        for (on, protocol) in [
            (self.udp, "udp"),
            (self.icmpv4, "icmp"),
            (self.tcp, "tcp"),
            (self.dhcpv4, "dhcp"),
        ] {
            if on {
                name.push('-');
                name.push_str(protocol);
            }
        }
        name
    }
}

/// The profile of one build: a small stack for the STM32F407, ARP always on.
fn profile(protocols: Protocols) -> String {
    let Protocols {
        udp,
        icmpv4,
        tcp,
        dhcpv4,
    } = protocols;
    let ipv4 = if dhcpv4 {
        "dhcp"
    } else {
        "static 192.0.2.2/24"
    };
    let mut sections = String::new();
    if udp {
        sections.push_str("\n[udp]\nsockets = 1\nrx_buffer = \"2 KiB\"\ntx_buffer = \"2 KiB\"\n");
    }
    if tcp {
        sections.push_str(
            "\n[tcp]\nsockets = 2\nlisteners = 1\nmss = 1460\nrx_window = \"2 mss\"\n\
             send_buffer = \"2 mss\"\n",
        );
    }
    format!(
        r#"[stack]
name = "{name}"
board = "stm32f407"

[[interface]]
name = "eth0"
mac = "02:00:00:00:00:02"
ipv4 = "{ipv4}"

[protocols]
arp = true
ipv4 = true
icmpv4 = {icmpv4}
udp = {udp}
tcp = {tcp}
dhcpv4 = {dhcpv4}

[buffers]
rx_count = 4
tx_count = 4
size = "1536 B"
{sections}
[arp]
entries = 4

[reassembly]
buffers = 0
"#,
        name = protocols.name(),
    )
}

/// The application: polls the stack over a driver whose frames the compiler cannot predict
/// (so no input path is optimised away), echoes UDP and TCP when the stack has them, and reads
/// the DHCP client's events when it runs.
fn application(protocols: Protocols) -> String {
    let mut setup = String::new();
    let mut serve = String::new();
    if protocols.udp {
        setup.push_str("let echo = net.udp_bind(7).ok();\n");
        serve.push_str(
            "if let Some(echo) = echo {
            let mut buf = [0u8; 256];
            if let Ok((n, from)) = net.udp_recv_from(echo, &mut buf) {
                let _ = net.udp_send_to(echo, &buf[..n], from);
            }
        }\n",
        );
    }
    if protocols.tcp {
        setup.push_str("let listener = net.tcp_listen(7).ok();\nlet mut conn = None;\n");
        serve.push_str(
            "if let Some(listener) = listener {
            if conn.is_none() {
                conn = net.tcp_accept(listener);
            }
        }
        if let Some(socket) = conn {
            let mut buf = [0u8; 256];
            match net.tcp_recv(socket, &mut buf) {
                Ok(0) => {
                    net.tcp_close(socket);
                    conn = None;
                }
                Ok(n) => {
                    let _ = net.tcp_send(socket, &buf[..n]);
                }
                Err(_) => {}
            }
        }\n",
        );
    }
    if protocols.dhcpv4 {
        serve.push_str(
            "if net.dhcp_take_event().is_some() {
            LINK.fetch_add(1, Ordering::Relaxed);
        }\n",
        );
    }
    format!(
        r#"#![no_std]
#![no_main]

use core::sync::atomic::{{AtomicU32, Ordering}};
use core::task::Context;

use embassy_net_driver::{{Capabilities, Driver, HardwareAddress, LinkState}};
use stack_runtime::Instant;

/// Stands in for a NIC's registers: the compiler cannot know what they hold.
static LINK: AtomicU32 = AtomicU32::new(0);

struct Nic;
struct Rx;
struct Tx;

impl embassy_net_driver::RxToken for Rx {{
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {{
        let mut frame = [0u8; 128];
        for (i, byte) in frame.iter_mut().enumerate() {{
            *byte = LINK.load(Ordering::Relaxed).wrapping_add(i as u32) as u8;
        }}
        let len = (LINK.load(Ordering::Relaxed) as usize) % frame.len();
        f(&mut frame[..len])
    }}
}}

impl embassy_net_driver::TxToken for Tx {{
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {{
        let mut frame = [0u8; 1514];
        let r = f(&mut frame[..len.min(1514)]);
        LINK.store(u32::from(frame[0]), Ordering::Relaxed);
        r
    }}
}}

impl Driver for Nic {{
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx;
    fn receive(&mut self, _: &mut Context) -> Option<(Rx, Tx)> {{
        (LINK.load(Ordering::Relaxed) & 1 == 1).then_some((Rx, Tx))
    }}
    fn transmit(&mut self, _: &mut Context) -> Option<Tx> {{
        Some(Tx)
    }}
    fn link_state(&mut self, _: &mut Context) -> LinkState {{
        LinkState::Up
    }}
    fn capabilities(&self) -> Capabilities {{
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = 1514;
        caps
    }}
    fn hardware_address(&self) -> HardwareAddress {{
        HardwareAddress::Ethernet(generated_net::HARDWARE_ADDR.0)
    }}
}}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {{
    // A seed the compiler cannot predict either (a hardware RNG on a real board).
    let word = LINK.load(Ordering::Relaxed).to_le_bytes();
    let mut seed = [0u8; 16];
    for (i, byte) in seed.iter_mut().enumerate() {{
        *byte = word[i % 4];
    }}
    let Some(mut net) =
        generated_net::init(generated_net::config(), generated_net::HARDWARE_ADDR, seed)
    else {{
        loop {{}}
    }};
    {setup}
    let mut nic = Nic;
    let mut ticks = 0u64;
    loop {{
        ticks += 1;
        net.poll(&mut nic, Instant::from_millis(ticks));
        {serve}
    }}
}}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {{
    loop {{}}
}}
"#
    )
}

/// Generates the stack crate and the application for one variant under `root`, builds the
/// application in release for the target, and returns the ELF's path.
fn build(root: &Path, protocols: Protocols) -> PathBuf {
    let name = protocols.name();
    let dir = root.join(&name);
    let _ = std::fs::remove_dir_all(&dir);
    let net_dir = dir.join("net");
    let app_dir = dir.join("app");
    std::fs::create_dir_all(&net_dir).unwrap();
    std::fs::create_dir_all(app_dir.join("src")).unwrap();

    let source = Source::new(format!("{name}.toml"), profile(protocols));
    let plan = codegen::plan_for_codegen(&source).expect("the test profile is valid");
    let runtime = codegen::repository_runtime().expect("stack-runtime is in this repository");
    let relative = codegen::relative_path(&net_dir.canonicalize().unwrap(), &runtime);
    let mut generated = codegen::generate_crate(
        &plan,
        &source,
        &RuntimeDependency::Path(relative.to_string_lossy().into_owned()),
    );
    // A path dependency of the application's workspace, not a workspace of its own.
    generated.cargo_toml = generated.cargo_toml.replace("\n[workspace]\n", "\n");
    generated.write_to(&net_dir).unwrap();

    let runtime_from_app = codegen::relative_path(&app_dir.canonicalize().unwrap(), &runtime);
    let manifest = format!(
        r#"[package]
name = "firmware-{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
generated-net = {{ path = "../net", package = "{package}" }}
stack-runtime = {{ path = "{runtime}", default-features = false }}
embassy-net-driver = "0.2"

[workspace]

[profile.release]
opt-level = "s"
codegen-units = 1
debug = false
panic = "abort"
"#,
        package = package_name(&generated.cargo_toml),
        runtime = runtime_from_app.to_string_lossy(),
    );
    std::fs::write(app_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(app_dir.join("src/main.rs"), application(protocols)).unwrap();
    std::fs::copy("../Cargo.lock", app_dir.join("Cargo.lock")).unwrap();

    let target_dir = root.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(app_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "building the {name} firmware failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir
        .join(TARGET)
        .join("release")
        .join(format!("firmware-{name}"))
}

/// The `name = "…"` of the generated `[package]`.
fn package_name(cargo_toml: &str) -> String {
    cargo_toml
        .lines()
        .find_map(|line| line.strip_prefix("name = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the generated Cargo.toml names its package")
        .to_string()
}

/// What the test reads from an ELF: every symbol name and the bytes the flash holds.
struct Image {
    symbols: Vec<String>,
    flash: u64,
}

/// Reads a 32-bit little-endian ELF (what the ARM targets produce): the names of `.symtab`
/// and the size of every allocated section that has contents in the file (`.text`,
/// `.rodata`, `.data`…; `.bss` takes no flash).
fn read_elf(path: &Path) -> Image {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is not an ELF", path.display());
    assert_eq!(bytes[4], 1, "expected a 32-bit ELF");
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let section_offset = u32_at(0x20) as usize;
    let section_size = u16_at(0x2e) as usize;
    let section_count = u16_at(0x30) as usize;
    // (type, flags, offset, size, link) of each section header.
    let sections: Vec<(u32, u32, usize, usize, usize)> = (0..section_count)
        .map(|i| {
            let at = section_offset + i * section_size;
            (
                u32_at(at + 4),
                u32_at(at + 8),
                u32_at(at + 16) as usize,
                u32_at(at + 20) as usize,
                u32_at(at + 24) as usize,
            )
        })
        .collect();
    const SHT_SYMTAB: u32 = 2;
    const SHT_NOBITS: u32 = 8;
    const SHF_ALLOC: u32 = 2;
    let flash = sections
        .iter()
        .filter(|(kind, flags, ..)| flags & SHF_ALLOC != 0 && *kind != SHT_NOBITS)
        .map(|(_, _, _, size, _)| *size as u64)
        .sum();
    let (_, _, symtab_offset, symtab_size, strtab_index) = *sections
        .iter()
        .find(|(kind, ..)| *kind == SHT_SYMTAB)
        .expect("the ELF has a symbol table (not stripped)");
    let strtab_offset = sections[strtab_index].2;
    let symbols = (0..symtab_size / 16)
        .filter_map(|i| {
            let name = u32_at(symtab_offset + i * 16) as usize;
            let start = strtab_offset + name;
            let end = start + bytes[start..].iter().position(|&b| b == 0)?;
            let text = String::from_utf8_lossy(&bytes[start..end]).into_owned();
            (!text.is_empty()).then_some(text)
        })
        .collect();
    Image { symbols, flash }
}

/// The symbols whose (mangled) name mentions one of `words`.
fn matching<'a>(image: &'a Image, words: &[&str]) -> Vec<&'a str> {
    image
        .symbols
        .iter()
        .filter(|symbol| words.iter().any(|word| symbol.contains(word)))
        .map(String::as_str)
        .collect()
}

/// Asserts that `on` has symbols matching `words` and `off` none, and that `off` needs less
/// flash; returns both flash sizes for the summary.
fn assert_pair(protocol: &str, on: &Image, off: &Image, words: &[&str]) -> (u64, u64) {
    assert!(
        !matching(on, words).is_empty(),
        "the firmware with {protocol} has no {protocol} symbol to look for: {:?}",
        on.symbols
    );
    assert_eq!(
        matching(off, words),
        Vec::<&str>::new(),
        "{protocol} symbols in the firmware without {protocol}"
    );
    assert!(
        off.flash < on.flash,
        "flash without {protocol} ({} B) is not smaller than with it ({} B)",
        off.flash,
        on.flash
    );
    (on.flash, off.flash)
}

#[test]
fn a_protocol_turned_off_leaves_no_code_in_the_firmware() {
    if !target_installed() {
        eprintln!(
            "skipped: the {TARGET} standard library is not installed (rustup target add {TARGET})"
        );
        return;
    }
    let root = target_dir().join("codegen-tests/firmware");
    let all = Protocols::ALL;
    let no_dhcp = Protocols {
        dhcpv4: false,
        ..all
    };
    let image = |protocols| read_elf(&build(&root, protocols));
    let full = image(all);
    let without_dhcp = image(no_dhcp);
    let without_udp = image(Protocols {
        udp: false,
        ..no_dhcp
    });
    let without_icmp = image(Protocols {
        icmpv4: false,
        ..all
    });
    let without_tcp = image(Protocols { tcp: false, ..all });

    // Code of stack-runtime's UDP: the interface's UDP input and output, the socket table, the
    // UDP API.
    let udp_words = [
        "udp_input",
        "udp_enqueue",
        "SocketTable",
        "udp_send_to",
        "udp_recv_from",
        "udp_bind",
    ];
    // Code of stack-runtime's ICMP: echo replies and destination-unreachable errors.
    let icmp_words = [
        "icmp_input",
        "send_dst_unreachable",
        "echo_to_answer",
        "TokenBucket",
    ];
    // Code of stack-runtime's TCP: segment input, the connection table, the segment pool, the
    // state machine of `tcp::socket`.
    let tcp_words = ["tcp_input", "TcpTable", "SegmentPool", "3tcp6socket"];
    // Code of the DHCPv4 client: its poll, input and messages (`dhcpv4` in the module path).
    let dhcp_words = ["dhcp_poll", "dhcp_input", "dhcp_transmit", "6dhcpv4"];

    let pairs = [
        (
            "UDP",
            assert_pair("UDP", &without_dhcp, &without_udp, &udp_words),
        ),
        (
            "ICMP",
            assert_pair("ICMP", &full, &without_icmp, &icmp_words),
        ),
        ("TCP", assert_pair("TCP", &full, &without_tcp, &tcp_words)),
        (
            "DHCPv4",
            assert_pair("DHCPv4", &full, &without_dhcp, &dhcp_words),
        ),
    ];
    for (protocol, (on, off)) in pairs {
        eprintln!(
            "flash: {protocol} on {on} B, off {off} B ({} B less)",
            on - off
        );
    }
}
