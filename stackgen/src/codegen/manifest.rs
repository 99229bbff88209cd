//! The generated crate's `Cargo.toml`, where it finds stack-runtime, and writing it to disk.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::GeneratedCrate;
use crate::plan::Plan;

/// How the generated crate depends on `stack-runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeDependency {
    /// `stack-runtime = { path = "…" }`, the path relative to the generated crate's directory
    /// (or absolute). stack-runtime is not published, so a path is the only source today.
    Path(String),
}

/// Why `stackgen generate` could not write its crate.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// No `--runtime-path` was given and this build of stackgen does not sit in a repository
    /// that has `stack-runtime/`.
    #[error(
        "error: cannot find stack-runtime next to this stackgen build ({looked_at}); pass \
         --runtime-path PATH to the stack-runtime crate"
    )]
    RuntimeNotFound {
        /// Where it was looked for.
        looked_at: String,
    },
    /// `--runtime-path` does not name a directory with a `Cargo.toml`.
    #[error("error: --runtime-path {path}: not a crate directory (no Cargo.toml in it)")]
    NotACrate {
        /// The path as given.
        path: String,
    },
    /// Creating a directory or writing a file failed.
    #[error("error: {path}: cannot write: {source}")]
    Write {
        /// The directory or file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The `stack-runtime` crate of the repository this stackgen was built in, if it is still
/// there: the default for generated crates.
pub fn repository_runtime() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack-runtime");
    path.join("Cargo.toml")
        .is_file()
        .then(|| path.canonicalize().ok())
        .flatten()
}

/// `to` written relative to the directory `from`; both must be absolute and free of `.`/`..`
/// (canonical), e.g. `relative_path("/r/target/gen", "/r/stack-runtime") == "../../stack-runtime"`.
pub fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component.as_os_str());
    }
    if path.as_os_str().is_empty() {
        path.push(".");
    }
    path
}

/// A Cargo package name from the profile's `[stack] name`: `<name>-net`, lower case, every
/// character other than a letter, digit, `-` or `_` replaced by `-`.
fn package_name(stack_name: &str) -> String {
    let mut name: String = stack_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "stack-");
    }
    name.push_str("-net");
    name
}

/// The stack-runtime cargo features of the protocols the generated code uses: `udp`, `icmp`
/// (ICMPv4), `tcp` with the TCP options the profile turns on (`tcp-sack`, `tcp-timestamps`,
/// `tcp-window-scaling`), `dhcpv4` (when the client runs on the interface) and `dns`. Every
/// other protocol and option stays out of the firmware.
pub fn runtime_features(plan: &Plan) -> Vec<&'static str> {
    let mut features = Vec::new();
    if plan.protocols.udp {
        features.push("udp");
    }
    if plan.protocols.icmpv4 {
        features.push("icmp");
    }
    if let Some(tcp) = &plan.tcp {
        features.push("tcp");
        if tcp.sack {
            features.push("tcp-sack");
        }
        if tcp.timestamps {
            features.push("tcp-timestamps");
        }
        if tcp.window_scaling {
            features.push("tcp-window-scaling");
        }
    }
    if super::protocols::runs_dhcp(plan) {
        features.push("dhcpv4");
    }
    if plan.dns.is_some() {
        features.push("dns");
    }
    features
}

/// A TOML basic string with `"` and `\` escaped.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The generated `Cargo.toml`: the same header as `lib.rs` (`#` comments), the package, its
/// three dependencies, and an empty `[workspace]` so the crate builds on its own even when it
/// is generated inside another workspace's directory.
pub(super) fn cargo_toml(plan: &Plan, header: &str, runtime: &RuntimeDependency) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "#{}", line.trim_start_matches('/'));
    }
    let RuntimeDependency::Path(runtime_path) = runtime;
    let _ = write!(
        out,
        "\n[package]\n\
         name = {name}\n\
         description = {description}\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         [dependencies]\n\
         # Only the profile's protocols are compiled into the runtime.\n\
         stack-runtime = {{ path = {runtime}, default-features = false, features = [{features}] }}\n\
         # The pools' `static` cells (`ConstStaticCell`, `StaticCell`): no heap, no `unsafe`.\n\
         static_cell = \"2.1\"\n\
         # `Net::poll` takes any driver implementing `embassy_net_driver::Driver`.\n\
         embassy-net-driver = \"0.2\"\n\
         \n\
         # A workspace of its own: generated into another workspace's tree, it is not a member.\n\
         [workspace]\n",
        name = toml_string(&package_name(&plan.name)),
        description = toml_string(&format!(
            "The network stack of stackgen profile `{}`.",
            plan.name
        )),
        runtime = toml_string(runtime_path),
        features = runtime_features(plan)
            .iter()
            .map(|feature| toml_string(feature))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out
}

impl GeneratedCrate {
    /// Writes `Cargo.toml` and `src/lib.rs` under `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<(), GenerateError> {
        let write_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| GenerateError::Write { path, source }
        };
        let src = dir.join("src");
        std::fs::create_dir_all(&src).map_err(write_error(&src))?;
        let cargo_toml = dir.join("Cargo.toml");
        std::fs::write(&cargo_toml, &self.cargo_toml).map_err(write_error(&cargo_toml))?;
        let lib_rs = src.join("lib.rs");
        std::fs::write(&lib_rs, &self.lib_rs).map_err(write_error(&lib_rs))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/r/target/gen"), Path::new("/r/stack-runtime")),
            PathBuf::from("../../stack-runtime")
        );
        assert_eq!(
            relative_path(Path::new("/r"), Path::new("/r/stack-runtime")),
            PathBuf::from("stack-runtime")
        );
        assert_eq!(
            relative_path(Path::new("/r/x"), Path::new("/r/x")),
            PathBuf::from(".")
        );
    }

    fn plan(text: &str) -> Plan {
        super::super::plan_for_codegen(&crate::source::Source::new("t.toml", text))
            .expect("valid profile")
    }

    const TCP: &str = r#"
[stack]
name = "t"
board = "host-tap"
[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"
[protocols]
arp = true
ipv4 = true
icmpv4 = true
udp = true
tcp = true
"#;

    #[test]
    fn tcp_options_are_features_of_their_own() {
        let all = format!("{TCP}[tcp]\nsack = true\ntimestamps = true\nwindow_scaling = true\n");
        assert_eq!(
            runtime_features(&plan(&all)),
            [
                "udp",
                "icmp",
                "tcp",
                "tcp-sack",
                "tcp-timestamps",
                "tcp-window-scaling"
            ]
        );
        let none =
            format!("{TCP}[tcp]\nsack = false\ntimestamps = false\nwindow_scaling = false\n");
        assert_eq!(runtime_features(&plan(&none)), ["udp", "icmp", "tcp"]);
        let sack = format!("{TCP}[tcp]\nsack = true\ntimestamps = false\nwindow_scaling = false\n");
        assert_eq!(
            runtime_features(&plan(&sack)),
            ["udp", "icmp", "tcp", "tcp-sack"]
        );
    }

    #[test]
    fn package_names_are_valid() {
        assert_eq!(package_name("host-tap"), "host-tap-net");
        assert_eq!(package_name("STM32 ref"), "stm32-ref-net");
        assert_eq!(package_name("9lives"), "stack-9lives-net");
    }
}
