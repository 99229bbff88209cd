//! `stackgen::build::measure` on real firmware: the fixture of `tests/fixtures/measure` (a
//! small stack-runtime firmware with UDP, TCP and ICMP) and `examples/qemu-services`, both
//! built here for thumbv7em-none-eabihf, checked against LLVM's own tools: section totals
//! equal `llvm-size`'s, the raw binary equals `llvm-objcopy -O binary`'s byte for byte, pools
//! have the sizes the source declares, and RAM and flash rows add up to the section totals.
//!
//! Skips (saying why) when the Cortex-M target is not installed, and skips the comparisons
//! with LLVM tools that are not installed (rustup component `llvm-tools`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

use common::{TARGET, llvm_size, llvm_tool, repository, target_installed};
use stackgen::build::measure::{self, MeasureOptions};
use stackgen::build::model::{FlashOwner, Measurement, PoolSymbol, RamSection};

/// The fixture firmware's crate directory.
fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/measure")
}

/// `cargo` as the test was started with.
fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // The firmware build must not inherit flags meant for the host build of this test.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(var);
    }
    command
}

/// Builds the fixture firmware once per test run; `None` (after saying why) when it cannot
/// be built here.
fn fixture_elf() -> Option<&'static Path> {
    static ELF: OnceLock<Option<PathBuf>> = OnceLock::new();
    ELF.get_or_init(|| {
        if !target_installed() {
            println!("skipped: the {TARGET} target is not installed (rustup target add {TARGET})");
            return None;
        }
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("measure-fixture");
        let status = cargo()
            .current_dir(fixture_dir())
            .args(["build", "--release", "--target", TARGET, "--target-dir"])
            .arg(&target_dir)
            .status()
            .expect("cannot run cargo");
        assert!(
            status.success(),
            "the measure fixture firmware does not build"
        );
        Some(
            target_dir
                .join(TARGET)
                .join("release")
                .join("measure-fixture"),
        )
    })
    .as_deref()
}

/// Compares `measure::write_bin` with `llvm-objcopy -O binary` (or rust-objcopy).
fn check_bin_matches_objcopy(elf: &Path, scratch: &Path) {
    let ours = scratch.join("ours.bin");
    let written = measure::write_bin(elf, &ours).expect("write_bin");
    let theirs_path = scratch.join("objcopy.bin");
    let Some(tool) = llvm_tool("llvm-objcopy").or_else(|| llvm_tool("rust-objcopy")) else {
        println!(
            "skipped the objcopy comparison: no llvm-objcopy (rustup component add llvm-tools)"
        );
        return;
    };
    let status = Command::new(tool)
        .args(["-O", "binary"])
        .arg(elf)
        .arg(&theirs_path)
        .status()
        .expect("cannot run llvm-objcopy");
    assert!(status.success(), "llvm-objcopy failed");
    let ours = std::fs::read(&ours).expect("read our binary");
    let theirs = std::fs::read(&theirs_path).expect("read objcopy's binary");
    assert_eq!(written, ours.len() as u64);
    assert_eq!(
        ours.len(),
        theirs.len(),
        "binary size differs from objcopy's"
    );
    assert!(ours == theirs, "binary differs from objcopy's");
}

/// The invariants every measurement keeps, and llvm-size's agreement.
fn check_totals(elf: &Path, m: &Measurement) {
    match llvm_size(elf) {
        Some((text, data, bss)) => assert_eq!(
            (m.sections.text, m.sections.data, m.sections.bss),
            (text, data, bss),
            "sections differ from llvm-size"
        ),
        None => println!(
            "skipped the llvm-size comparison: no llvm-size (rustup component add llvm-tools)"
        ),
    }
    let pools: u64 = m.pools.iter().map(|p| p.bytes).sum();
    let other: u64 = m.other_ram.iter().map(|g| g.data + g.bss).sum();
    assert_eq!(
        pools + other,
        m.sections.ram(),
        "pools + other RAM != data + bss"
    );
    let pool_data: u64 = m
        .pools
        .iter()
        .filter(|p| p.section == RamSection::Data)
        .map(|p| p.bytes)
        .sum();
    let other_data: u64 = m.other_ram.iter().map(|g| g.data).sum();
    assert_eq!(pool_data + other_data, m.sections.data, "RAM .data rows");
    let flash: u64 = m.flash.iter().map(|f| f.text + f.rodata).sum();
    assert_eq!(flash, m.sections.flash(), "flash modules != text + data");
    let data_image = m
        .flash
        .iter()
        .find(|f| f.module == measure::DATA_IMAGE)
        .map_or(0, |f| f.rodata);
    assert_eq!(data_image, m.sections.data);
    for pair in m.flash.windows(2) {
        assert!(pair[0].text + pair[0].rodata >= pair[1].text + pair[1].rodata);
    }
    for pair in m.other_ram.windows(2) {
        assert!(pair[0].data + pair[0].bss >= pair[1].data + pair[1].bss);
    }
}

/// Prints the measurement (visible with `--nocapture`).
fn print(name: &str, m: &Measurement) {
    println!(
        "{name}: text {} data {} bss {} (flash {}, RAM {})",
        m.sections.text,
        m.sections.data,
        m.sections.bss,
        m.sections.flash(),
        m.sections.ram()
    );
    for pool in &m.pools {
        println!(
            "  pool {:<18} {:>7} B {:?}  {}",
            pool.id, pool.bytes, pool.section, pool.symbol
        );
    }
    for group in &m.other_ram {
        println!(
            "  ram  {:<18} data {:>6} bss {:>6}",
            group.owner, group.data, group.bss
        );
    }
    for module in &m.flash {
        println!(
            "  flash {:<12} {:<20} text {:>7} rodata {:>6}",
            format!("{:?}", module.owner),
            module.module,
            module.text,
            module.rodata
        );
    }
}

/// The byte-array pools of the fixture: (static, bytes including the cell's flag, section).
const FIXTURE_BYTE_POOLS: &[(&str, u64, RamSection)] = &[
    ("PACKET_BYTES", (4 + 8) * 1536 + 1, RamSection::Bss),
    ("REASSEMBLY_BYTES", 2048 + 1, RamSection::Bss),
    ("ISN_SEED", 16 + 1, RamSection::Data),
];

/// The fixture's pools of stack-runtime types, whose size the test does not compute.
const FIXTURE_TYPED_POOLS: &[&str] = &[
    "TX_QUEUE",
    "ARP_CACHE",
    "REASSEMBLY",
    "UDP_SLOTS",
    "TCP_SLOTS",
    "TCP_LISTENERS",
    "TCP_QUOTAS",
    "STACK",
];

#[test]
fn fixture_firmware_measures_exactly() {
    let Some(elf) = fixture_elf() else {
        return;
    };
    let pools: Vec<PoolSymbol> = FIXTURE_BYTE_POOLS
        .iter()
        .map(|p| p.0)
        .chain(FIXTURE_TYPED_POOLS.iter().copied())
        .map(|name| PoolSymbol {
            id: name.to_lowercase(),
            static_name: name.to_owned(),
        })
        .collect();
    let app_dir = fixture_dir();
    let options = MeasureOptions {
        pools: &pools,
        app_dir: Some(&app_dir),
        app_crate: None,
        generated_dirs: &[],
    };
    let m = measure::measure(elf, &options).expect("measure the fixture");
    print("measure-fixture", &m);
    check_totals(elf, &m);

    for &(name, bytes, section) in FIXTURE_BYTE_POOLS {
        let pool = m
            .pools
            .iter()
            .find(|p| p.id == name.to_lowercase())
            .expect("every pool is reported");
        assert_eq!(pool.symbol, format!("measure_fixture::{name}"));
        assert_eq!((pool.bytes, pool.section), (bytes, section), "{name}");
    }
    for name in FIXTURE_TYPED_POOLS {
        let pool = m
            .pools
            .iter()
            .find(|p| p.static_name_is(name))
            .expect("every pool is reported");
        assert!(pool.bytes > 0, "{name}");
    }

    let stack: Vec<&str> = m
        .flash
        .iter()
        .filter(|f| f.owner == FlashOwner::Stack && f.text > 0)
        .map(|f| f.module.as_str())
        .collect();
    for module in [
        "tcp", "udp", "ipv4", "arp", "icmp", "ethernet", "checksum", "core",
    ] {
        assert!(
            stack.contains(&module),
            "no code of stack module {module}: {stack:?}"
        );
    }
    for off in ["dhcp", "dns", "async"] {
        assert!(
            !stack.contains(&off),
            "{off} is off in the fixture but has code"
        );
    }
    let has = |owner: FlashOwner, module: &str| {
        m.flash
            .iter()
            .any(|f| f.owner == owner && f.module == module && f.text + f.rodata > 0)
    };
    assert!(has(FlashOwner::Application, "measure_fixture"));
    assert!(has(FlashOwner::Core, "core"));
    assert!(has(FlashOwner::Dependency, "cortex_m_rt"));
    assert!(has(FlashOwner::Other, measure::VECTOR_TABLE));
    // The fixture's code is Rust with line tables: almost everything is attributed.
    let unattributed = m
        .flash
        .iter()
        .find(|f| f.module == measure::NO_LINE_INFO)
        .map_or(0, |f| f.text);
    assert!(
        unattributed * 20 < m.sections.text,
        "{unattributed} bytes of code without line information"
    );
    // Other RAM: the rest is the application's, cortex-m-rt's, or padding.
    assert!(m.other_ram.iter().all(|g| g.data + g.bss > 0));

    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("measure-fixture-bin");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    check_bin_matches_objcopy(elf, &scratch);
}

#[test]
fn pools_must_match_exactly_one_static() {
    let Some(elf) = fixture_elf() else {
        return;
    };
    let missing = [PoolSymbol {
        id: "nothing".into(),
        static_name: "NO_SUCH_POOL".into(),
    }];
    let err = measure::measure(elf, &MeasureOptions::new(&missing)).unwrap_err();
    assert!(
        matches!(
            err,
            stackgen::build::model::MeasureError::MissingPool { .. }
        ),
        "{err}"
    );
    // `PACKET_BYTES` and `REASSEMBLY_BYTES` are distinct statics; a name that is a suffix of
    // both paths (`BYTES` of `measure_fixture::PACKET_BYTES`) only matches whole segments.
    let partial = [PoolSymbol {
        id: "bytes".into(),
        static_name: "BYTES".into(),
    }];
    let err = measure::measure(elf, &MeasureOptions::new(&partial)).unwrap_err();
    assert!(
        matches!(
            err,
            stackgen::build::model::MeasureError::MissingPool { .. }
        ),
        "{err}"
    );
}

#[test]
fn not_an_elf_is_an_error() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("measure-not-elf");
    std::fs::write(&path, b"\x7fELF garbage").expect("write");
    let err = measure::measure(&path, &MeasureOptions::default()).unwrap_err();
    assert!(
        matches!(err, stackgen::build::model::MeasureError::NotElf { .. }),
        "{err}"
    );
    let err = measure::write_bin(&path, &dir.join("measure-not-elf.bin")).unwrap_err();
    assert!(
        matches!(err, stackgen::build::model::MeasureError::NotElf { .. }),
        "{err}"
    );
    let err = measure::measure(
        &dir.join("measure-no-such-file"),
        &MeasureOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, stackgen::build::model::MeasureError::Read { .. }),
        "{err}"
    );
}

#[test]
fn qemu_services_measures_exactly() {
    if !target_installed() {
        println!("skipped: the {TARGET} target is not installed");
        return;
    }
    // Where `cargo xtask test` builds the firmware (tests/src/qemu.rs reads it there too):
    // `<target>/firmware`, `<target>` holding this test executable (`<target>/debug/deps/`).
    let exe = std::env::current_exe().expect("test executable");
    let Some(target_dir) = exe.ancestors().nth(3) else {
        println!(
            "skipped: cannot locate the target directory from {}",
            exe.display()
        );
        return;
    };
    let firmware_dir = target_dir.join("firmware");
    let manifest = repository().join("examples/qemu-services/Cargo.toml");
    let status = cargo()
        .current_dir(repository().join("examples/qemu-services"))
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&firmware_dir)
        .status()
        .expect("cannot run cargo");
    if !status.success() {
        // `cargo xtask test` builds this firmware on its own and fails there: say it here.
        println!("skipped: examples/qemu-services does not build");
        return;
    }
    let elf = firmware_dir
        .join(TARGET)
        .join("release")
        .join("qemu-services");
    let app_dir = repository().join("examples/qemu-services");
    let options = MeasureOptions {
        pools: &[],
        app_dir: Some(&app_dir),
        app_crate: None,
        generated_dirs: &[],
    };
    let m = measure::measure(&elf, &options).expect("measure qemu-services");
    print("qemu-services", &m);
    check_totals(&elf, &m);
    let has = |owner: FlashOwner, module: &str| {
        m.flash
            .iter()
            .any(|f| f.owner == owner && f.module == module && f.text > 0)
    };
    for module in ["udp", "ipv4", "arp", "icmp", "ethernet"] {
        assert!(
            has(FlashOwner::Stack, module),
            "no code of stack module {module}"
        );
    }
    assert!(has(FlashOwner::Board, "qemu-mps2-an386"));
    assert!(has(FlashOwner::Application, "qemu_services"));
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("measure-qemu-bin");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    check_bin_matches_objcopy(&elf, &scratch);
}

/// Test helper: whether a measured pool is the one of a static name.
trait PoolName {
    fn static_name_is(&self, name: &str) -> bool;
}

impl PoolName for stackgen::build::model::MeasuredPool {
    fn static_name_is(&self, name: &str) -> bool {
        self.symbol.ends_with(&format!("::{name}"))
    }
}
