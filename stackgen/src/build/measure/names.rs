//! Names: Rust symbol demangling, the crate that owns a symbol, and which module of the
//! firmware a source file or a symbol belongs to.
//!
//! Both flash attributions (DWARF line rows by source file, `.rodata` by symbol) end up in
//! [`STACK_MODULES`], the one table that splits stack-runtime into protocol modules.

use std::path::{Component, Path};

use crate::build::model::FlashOwner;

/// Which protocol module of stack-runtime a module path belongs to.
///
/// Keys are module paths inside stack-runtime's `src/` (`["wire", "tcp"]` is `wire/tcp.rs`,
/// `["tcp"]` is `tcp.rs`, `tcp/mod.rs` and everything under `tcp/`); the first key that is a
/// prefix of the path wins. Source files give the path from their location
/// (`src/iface/tcp.rs` → `["iface", "tcp"]`), symbols from their demangled name
/// (`stack_runtime::iface::tcp::enabled::…` → `["iface", "tcp", "enabled", …]`). A path no key
/// matches (`lib.rs`, `iface/mod.rs`, `iface/tx.rs`, `wire/mod.rs`…) is the stack
/// core, [`STACK_CORE`]. `fault` and `testing` exist only in test builds (features
/// `fault-injection`, `testing`) and keep their own names.
pub const STACK_MODULES: &[(&[&str], &str)] = &[
    (&["asynch"], "async"),
    (&["wire", "tcp"], "tcp"),
    (&["iface", "tcp"], "tcp"),
    (&["tcp"], "tcp"),
    (&["wire", "udp"], "udp"),
    (&["iface", "udp"], "udp"),
    (&["udp"], "udp"),
    (&["wire", "arp"], "arp"),
    (&["iface", "arp"], "arp"),
    (&["arp_cache"], "arp"),
    (&["wire", "ipv4"], "ipv4"),
    (&["iface", "ipv4"], "ipv4"),
    (&["ipv4_reassembly"], "ipv4"),
    (&["wire", "icmpv4"], "icmp"),
    (&["iface", "icmp"], "icmp"),
    (&["icmp"], "icmp"),
    (&["wire", "ethernet"], "ethernet"),
    (&["iface", "ethernet"], "ethernet"),
    (&["wire", "dhcpv4"], "dhcp"),
    (&["dhcpv4"], "dhcp"),
    (&["wire", "dns"], "dns"),
    (&["dns"], "dns"),
    (&["wire", "checksum"], "checksum"),
    (&["pool"], "pool"),
    (&["stats"], "stats"),
    (&["time"], "time"),
    (&["fault"], "fault"),
    (&["testing"], "testing"),
];

/// The module of stack-runtime code that [`STACK_MODULES`] does not name: the interface
/// (`iface/mod.rs`, `iface/tx.rs`), `lib.rs`, the `wire` re-exports.
pub const STACK_CORE: &str = "core";

/// The module of the generated stack's code.
pub const GENERATED_MODULE: &str = "generated";

/// The module for source files that match no rule.
pub const OTHER_MODULE: &str = "other";

/// The stack-runtime module of a module path inside its `src/` (see [`STACK_MODULES`]).
pub fn stack_module<S: AsRef<str>>(path: &[S]) -> &'static str {
    STACK_MODULES
        .iter()
        .find(|(key, _)| {
            key.len() <= path.len() && key.iter().zip(path).all(|(k, p)| *k == p.as_ref())
        })
        .map_or(STACK_CORE, |(_, module)| module)
}

/// Demangles a Rust symbol name (legacy or v0 mangling) without its hash
/// (`app::net::TCP_SLOTS`); `None` when the name is not a Rust symbol.
pub fn demangle(raw: &str) -> Option<String> {
    let demangled = rustc_demangle::try_demangle(raw).ok()?;
    Some(format!("{demangled:#}"))
}

/// Splits a demangled path on `::` outside angle brackets, parentheses and square brackets, so
/// `a::<impl b::C as d::E>::f` is `["a", "<impl b::C as d::E>", "f"]`.
pub fn split_path(path: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' | b'(' | b'[' => depth += 1,
            // `->` in a fn pointer type is not a closing bracket.
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                segments.push(&path[start..i]);
                i += 2;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    segments.push(&path[start..]);
    segments
}

/// True when `s` is a Rust identifier (what a crate name in a path looks like).
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The crate path of a demangled symbol: the segments of the defining item, starting with its
/// crate. For `<impl T>` / `<impl Trait for T>` / `<T as Trait>` forms this is the path of the
/// implementing type `T` (or of the trait when `T` is a primitive, a slice or a tuple);
/// `None` when no crate can be read from the name.
pub fn item_path(demangled: &str) -> Option<Vec<String>> {
    let segments = split_path(demangled);
    let first = segments.first()?;
    if let Some(inner) = first.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
        let (ty, trait_) = split_qualified(inner);
        if let Some(path) = type_path(ty) {
            return Some(path);
        }
        return trait_.and_then(type_path);
    }
    if is_ident(first) {
        // `a::b::<impl c::D>::f`: the crate is `a`, the module path stops at the impl.
        let path: Vec<String> = segments
            .iter()
            .take_while(|s| is_ident(s))
            .map(|s| (*s).to_owned())
            .collect();
        return Some(path);
    }
    None
}

/// Splits the inside of `<…>` into the type and the trait: `impl Trait for T` → (`T`,
/// `Trait`), `impl T` → (`T`, none), `T as Trait` → (`T`, `Trait`).
fn split_qualified(inner: &str) -> (&str, Option<&str>) {
    if let Some(rest) = inner.strip_prefix("impl ") {
        return match find_top_level(rest, " for ") {
            Some(at) => (&rest[at + 5..], Some(&rest[..at])),
            None => (rest, None),
        };
    }
    match find_top_level(inner, " as ") {
        Some(at) => (&inner[..at], Some(&inner[at + 4..])),
        None => (inner, None),
    }
}

/// The byte offset of `needle` in `s` outside brackets.
fn find_top_level(s: &str, needle: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'<' | b'(' | b'[' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b'>' | b')' | b']' => depth = depth.saturating_sub(1),
            _ if depth == 0 && s[i..].starts_with(needle) => return Some(i),
            _ => {}
        }
    }
    None
}

/// The path segments of a type or trait (`&mut dyn a::b::C<T>` → `["a", "b", "C"]`); `None`
/// for a primitive or a type without a crate path.
fn type_path(ty: &str) -> Option<Vec<String>> {
    let mut ty = ty.trim();
    loop {
        let before = ty;
        for prefix in [
            "&", "mut ", "*const ", "*mut ", "dyn ", "impl ", "unsafe ", "'static ",
        ] {
            ty = ty.strip_prefix(prefix).unwrap_or(ty).trim_start();
        }
        if ty == before {
            break;
        }
    }
    let segments = split_path(ty);
    if segments.len() < 2 {
        return None;
    }
    let path: Vec<String> = segments
        .iter()
        .map(|s| s.split('<').next().unwrap_or(s))
        .take_while(|s| is_ident(s))
        .map(str::to_owned)
        .collect();
    (!path.is_empty()).then_some(path)
}

/// The crate owning a symbol, from its raw (mangled) name: the first path segment of the
/// demangled name, `None` when the symbol is not Rust.
pub fn symbol_crate(raw: &str) -> Option<String> {
    let demangled = demangle(raw)?;
    item_path(&demangled).and_then(|path| path.into_iter().next())
}

/// Where the source files of the firmware come from, as far as the caller knows; see
/// [`classify_path`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PathRules<'a> {
    /// The application crate's directory.
    pub app_dir: Option<&'a Path>,
    /// The application crate's name (the module of its files); defaults to the directory name.
    pub app_crate: Option<&'a str>,
    /// Directories holding generated stack code.
    pub generated_dirs: &'a [std::path::PathBuf],
}

/// The owner and module of the code of one source file.
///
/// Rules, in order: generated code (a path under one of `rules.generated_dirs`, or containing
/// a `stackgen-generated` or `target/stackgen` directory); stack-runtime (`…/stack-runtime/src/…`,
/// or a registry copy `stack-runtime-<version>/src/…`, module from [`STACK_MODULES`]); the
/// Rust library (`/rustc/<hash>/library/<crate>/…`, `…/rustlib/src/rust/library/<crate>/…`,
/// `…/library/core|alloc/…`, anything of `compiler_builtins`) as [`FlashOwner::Core`]; crates
/// of cargo's registry or git checkouts as [`FlashOwner::Dependency`] named by crate; then the
/// application directory and `…/boards/<name>/…`, the deeper of the two when both match;
/// anything else is [`FlashOwner::Other`] `other`.
pub fn classify_path(path: &str, rules: &PathRules<'_>) -> (FlashOwner, String) {
    let normalized = path.replace('\\', "/");
    let parts: Vec<&str> = normalized.split('/').filter(|p| !p.is_empty()).collect();
    let file = Path::new(&normalized);

    if rules.generated_dirs.iter().any(|dir| file.starts_with(dir))
        || parts.contains(&"stackgen-generated")
        || parts.windows(2).any(|w| w == ["target", "stackgen"])
    {
        return (FlashOwner::Generated, GENERATED_MODULE.to_owned());
    }
    if let Some(i) = parts.iter().position(|p| {
        *p == "stack-runtime" || p.strip_prefix("stack-runtime-").is_some_and(is_version)
    }) && parts.get(i + 1) == Some(&"src")
    {
        let mut inside: Vec<&str> = parts[i + 2..].to_vec();
        if let Some(last) = inside.last_mut() {
            *last = last.strip_suffix(".rs").unwrap_or(last);
            if matches!(*last, "mod" | "lib" | "main") {
                inside.pop();
            }
        }
        return (FlashOwner::Stack, stack_module(&inside).to_owned());
    }
    if parts
        .iter()
        .any(|p| p.starts_with("compiler_builtins") || p.starts_with("compiler-builtins"))
    {
        return (FlashOwner::Core, "compiler_builtins".to_owned());
    }
    if let Some(i) = parts.iter().position(|p| *p == "library")
        && let Some(krate) = parts.get(i + 1)
        && parts.get(i + 2).is_some()
        && (matches!(*krate, "core" | "alloc")
            || parts.first() == Some(&"rustc")
            || parts[..i].ends_with(&["rustlib", "src", "rust"]))
    {
        return (FlashOwner::Core, krate.replace('-', "_"));
    }
    if let Some(i) = parts.iter().position(|p| *p == "registry")
        && parts.get(i + 1) == Some(&"src")
        && let Some(dir) = parts.get(i + 3)
        && parts.get(i + 4).is_some()
    {
        return (FlashOwner::Dependency, crate_of_versioned_dir(dir));
    }
    if let Some(i) = parts.windows(2).position(|w| w == ["git", "checkouts"])
        && let (Some(repo), Some(_rev)) = (parts.get(i + 2), parts.get(i + 3))
    {
        let rest = &parts[i + 4..];
        let krate = match rest.iter().position(|p| *p == "src") {
            Some(0) | None => strip_hash(repo),
            Some(at) => rest[at - 1],
        };
        return (FlashOwner::Dependency, krate.replace('-', "_"));
    }

    let app = rules
        .app_dir
        .filter(|dir| file.starts_with(dir))
        .map(|dir| {
            let name = rules.app_crate.map(str::to_owned).unwrap_or_else(|| {
                dir.file_name().map_or_else(
                    || "app".to_owned(),
                    |n| n.to_string_lossy().replace('-', "_"),
                )
            });
            (depth(dir), name)
        });
    let board = parts
        .iter()
        .position(|p| *p == "boards")
        .filter(|i| parts.len() > i + 2)
        .map(|i| (i + 2, parts[i + 1].to_owned()));
    match (app, board) {
        (Some((app_depth, name)), Some((board_depth, board))) => {
            if board_depth > app_depth {
                (FlashOwner::Board, board)
            } else {
                (FlashOwner::Application, name)
            }
        }
        (Some((_, name)), None) => (FlashOwner::Application, name),
        (None, Some((_, board))) => (FlashOwner::Board, board),
        (None, None) => (FlashOwner::Other, OTHER_MODULE.to_owned()),
    }
}

/// How many named components a directory path has (to compare rule specificity).
fn depth(dir: &Path) -> usize {
    dir.components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// True for `1.2.3`, `0.7.7-alpha.1`: a semver version at the end of a registry directory.
fn is_version(s: &str) -> bool {
    let mut numbers = s.splitn(3, '.');
    let major = numbers.next().unwrap_or("");
    let minor = numbers.next().unwrap_or("");
    let patch = numbers.next().unwrap_or("");
    let patch_digits: String = patch.chars().take_while(char::is_ascii_digit).collect();
    [major, minor, patch_digits.as_str()]
        .iter()
        .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// `cortex-m-rt-0.7.7` → `cortex_m_rt`: the crate of a registry source directory.
pub fn crate_of_versioned_dir(dir: &str) -> String {
    let name = dir
        .match_indices('-')
        .find(|(at, _)| is_version(&dir[at + 1..]))
        .map_or(dir, |(at, _)| &dir[..at]);
    name.replace('-', "_")
}

/// `embassy-2f1e3c4d5b6a7980` → `embassy`: a git checkout directory without its hash.
fn strip_hash(dir: &str) -> &str {
    match dir.rsplit_once('-') {
        Some((name, hash)) if !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name
        }
        _ => dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn classify(path: &str) -> (FlashOwner, String) {
        classify_path(path, &PathRules::default())
    }

    fn stack(path: &str) -> String {
        let (owner, module) = classify(&format!("/work/main/stack-runtime/src/{path}"));
        assert_eq!(owner, FlashOwner::Stack, "{path}");
        module
    }

    #[test]
    fn stack_runtime_files_map_to_protocol_modules() {
        for (path, module) in [
            ("wire/tcp.rs", "tcp"),
            ("tcp/mod.rs", "tcp"),
            ("tcp/socket.rs", "tcp"),
            ("tcp/socket/tests.rs", "tcp"),
            ("tcp/segment_pool.rs", "tcp"),
            ("iface/tcp.rs", "tcp"),
            ("wire/udp.rs", "udp"),
            ("iface/udp.rs", "udp"),
            ("udp.rs", "udp"),
            ("wire/arp.rs", "arp"),
            ("iface/arp.rs", "arp"),
            ("arp_cache.rs", "arp"),
            ("wire/ipv4.rs", "ipv4"),
            ("iface/ipv4.rs", "ipv4"),
            ("ipv4_reassembly.rs", "ipv4"),
            ("wire/icmpv4.rs", "icmp"),
            ("iface/icmp.rs", "icmp"),
            ("icmp.rs", "icmp"),
            ("wire/ethernet.rs", "ethernet"),
            ("iface/ethernet.rs", "ethernet"),
            ("wire/dhcpv4.rs", "dhcp"),
            ("dhcpv4.rs", "dhcp"),
            ("dhcpv4/client.rs", "dhcp"),
            ("wire/dns.rs", "dns"),
            ("dns.rs", "dns"),
            ("dns/cache.rs", "dns"),
            ("wire/checksum.rs", "checksum"),
            ("pool.rs", "pool"),
            ("stats.rs", "stats"),
            ("time.rs", "time"),
            ("asynch/mod.rs", "async"),
            ("asynch/tcp.rs", "async"),
            ("iface/mod.rs", "core"),
            ("iface/tx.rs", "core"),
            ("lib.rs", "core"),
            ("wire/mod.rs", "core"),
        ] {
            assert_eq!(stack(path), module, "{path}");
        }
    }

    #[test]
    fn stack_runtime_from_the_registry_and_relative_paths() {
        assert_eq!(
            classify(
                "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/stack-runtime-0.1.0/src/wire/udp.rs"
            ),
            (FlashOwner::Stack, "udp".to_owned())
        );
        assert_eq!(
            classify("stack-runtime/src/iface/arp.rs"),
            (FlashOwner::Stack, "arp".to_owned())
        );
    }

    #[test]
    fn rust_library_is_core() {
        for (path, module) in [
            (
                "/rustc/17067e9ac6d7e98f18d4d7b8d6bd4f7e2f0e2c3a/library/core/src/slice/index.rs",
                "core",
            ),
            (
                "/rustc/17067e9ac6d7e98f18d4d7b8d6bd4f7e2f0e2c3a/library/alloc/src/vec/mod.rs",
                "alloc",
            ),
            (
                "/rustc/17067e9ac6d7e98f18d4d7b8d6bd4f7e2f0e2c3a/library/compiler-builtins/compiler-builtins/src/mem/mod.rs",
                "compiler_builtins",
            ),
            (
                "/cargo/registry/src/index.crates.io-6f17d22bba15001f/compiler_builtins-0.1.146/src/mem/impls.rs",
                "compiler_builtins",
            ),
            (
                "/root/.rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/fmt/mod.rs",
                "core",
            ),
            ("/somewhere/library/core/src/num/mod.rs", "core"),
        ] {
            assert_eq!(
                classify(path),
                (FlashOwner::Core, module.to_owned()),
                "{path}"
            );
        }
    }

    #[test]
    fn registry_and_git_crates_are_dependencies() {
        for (path, module) in [
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/cortex-m-rt-0.7.7/src/lib.rs",
                "cortex_m_rt",
            ),
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/static_cell-2.1.1/src/lib.rs",
                "static_cell",
            ),
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/sha-1-0.10.0-rc.1/src/lib.rs",
                "sha_1",
            ),
            (
                "/root/.cargo/git/checkouts/embassy-2f1e3c4d5b6a7980/a1b2c3d/embassy-stm32/src/eth/mod.rs",
                "embassy_stm32",
            ),
            (
                "/root/.cargo/git/checkouts/heapless-0123456789abcdef/a1b2c3d/src/vec.rs",
                "heapless",
            ),
        ] {
            assert_eq!(
                classify(path),
                (FlashOwner::Dependency, module.to_owned()),
                "{path}"
            );
        }
    }

    #[test]
    fn boards_application_generated_and_other() {
        assert_eq!(
            classify("/work/main/boards/qemu-mps2-an386/src/lan9118.rs"),
            (FlashOwner::Board, "qemu-mps2-an386".to_owned())
        );
        let generated = [PathBuf::from("/tmp/build/out")];
        let rules = PathRules {
            app_dir: Some(Path::new("/work/main/examples/qemu-services")),
            app_crate: None,
            generated_dirs: &generated,
        };
        assert_eq!(
            classify_path("/work/main/examples/qemu-services/src/main.rs", &rules),
            (FlashOwner::Application, "qemu_services".to_owned())
        );
        let named = PathRules {
            app_crate: Some("firmware"),
            ..rules
        };
        assert_eq!(
            classify_path("/work/main/examples/qemu-services/src/services.rs", &named),
            (FlashOwner::Application, "firmware".to_owned())
        );
        assert_eq!(
            classify_path("/tmp/build/out/stack.rs", &rules),
            (FlashOwner::Generated, GENERATED_MODULE.to_owned())
        );
        assert_eq!(
            classify("/work/app/target/stackgen/net/src/lib.rs"),
            (FlashOwner::Generated, GENERATED_MODULE.to_owned())
        );
        assert_eq!(
            classify("/x/stackgen-generated/lib.rs"),
            (FlashOwner::Generated, GENERATED_MODULE.to_owned())
        );
        // An application whose directory holds boards/: the deeper rule wins.
        let root = PathRules {
            app_dir: Some(Path::new("/work/fw")),
            ..PathRules::default()
        };
        assert_eq!(
            classify_path("/work/fw/boards/custom/src/lib.rs", &root),
            (FlashOwner::Board, "custom".to_owned())
        );
        assert_eq!(
            classify_path("/work/fw/src/main.rs", &root),
            (FlashOwner::Application, "fw".to_owned())
        );
        assert_eq!(
            classify("/usr/include/stdio.h"),
            (FlashOwner::Other, OTHER_MODULE.to_owned())
        );
    }

    #[test]
    fn symbols_name_their_crate() {
        for (demangled, path) in [
            ("app::net::TCP_SLOTS", vec!["app", "net", "TCP_SLOTS"]),
            (
                "stack_runtime::iface::udp::<impl stack_runtime::iface::Stack>::udp_input",
                vec!["stack_runtime", "iface", "udp"],
            ),
            (
                "<stack_runtime::wire::Error as core::fmt::Display>::fmt",
                vec!["stack_runtime", "wire", "Error"],
            ),
            (
                "<impl core::fmt::Debug for stack_runtime::tcp::TcpState>::fmt",
                vec!["stack_runtime", "tcp", "TcpState"],
            ),
            (
                "<&mut heapless::vec::Vec<u8, 4> as core::fmt::Write>::write_str",
                vec!["heapless", "vec", "Vec"],
            ),
            (
                "<u32 as core::fmt::Debug>::fmt",
                vec!["core", "fmt", "Debug"],
            ),
            (
                "<[u8] as core::fmt::Debug>::fmt",
                vec!["core", "fmt", "Debug"],
            ),
            (
                "<stack_runtime::iface::Stack>::poll::<qemu_mps2_an386::lan9118::Lan9118>",
                vec!["stack_runtime", "iface", "Stack"],
            ),
        ] {
            assert_eq!(
                item_path(demangled),
                Some(path.iter().map(|s| s.to_string()).collect()),
                "{demangled}"
            );
        }
        assert_eq!(
            item_path("<fn() -> u8 as x::Y>::z"),
            Some(vec!["x".into(), "Y".into()])
        );
        assert_eq!(item_path("memcpy"), Some(vec!["memcpy".to_owned()]));
        assert_eq!(item_path(".Lanon.1"), None);
        assert_eq!(symbol_crate("memcpy"), None);
        assert_eq!(
            symbol_crate("_ZN13stack_runtime4wire3tcp6Packet3new17h0123456789abcdefE").as_deref(),
            Some("stack_runtime")
        );
        assert_eq!(
            demangle("_ZN3app3net9TCP_SLOTS17h0123456789abcdefE").as_deref(),
            Some("app::net::TCP_SLOTS")
        );
    }

    #[test]
    fn stack_modules_from_symbol_paths() {
        assert_eq!(
            stack_module(&["tcp", "socket", "TcpSlot", "process"]),
            "tcp"
        );
        assert_eq!(stack_module(&["wire", "dhcpv4", "Packet"]), "dhcp");
        assert_eq!(stack_module(&["iface", "Stack", "poll"]), "core");
        assert_eq!(stack_module::<&str>(&[]), "core");
    }
}
