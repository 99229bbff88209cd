//! `stackgen run PROFILE`: a built firmware started in QEMU, its console on standard output.
//!
//! Networking is one of:
//! * `--tap NAME`: the emulated NIC on an existing TAP device (create it, for example inside a
//!   network namespace: `ip netns exec NS stackgen run … --tap tap0`);
//! * QEMU's user-mode network, always with `restrict=on` (the guest reaches nothing outside),
//!   with TCP ports forwarded from 127.0.0.1 only (`--forward 7007:7`: host port 7007 to the
//!   firmware's port 7).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::path::Path;

use crate::plan::Plan;
use crate::profile::Ipv4Setting;

/// How the emulated NIC is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// An existing TAP device.
    Tap(String),
    /// QEMU user networking, `restrict=on`, with these TCP forwards.
    User(Vec<Forward>),
}

/// A TCP port forward from 127.0.0.1 to the firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// The port on 127.0.0.1.
    pub host: u16,
    /// The firmware's port.
    pub guest: u16,
}

impl std::str::FromStr for Forward {
    type Err = String;

    fn from_str(text: &str) -> Result<Forward, String> {
        let (host, guest) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}`: write HOST_PORT:FIRMWARE_PORT, e.g. 7007:7"))?;
        let port = |part: &str| {
            part.parse::<u16>()
                .ok()
                .filter(|port| *port != 0)
                .ok_or_else(|| format!("`{part}` is not a port (1 to 65535)"))
        };
        Ok(Forward {
            host: port(host)?,
            guest: port(guest)?,
        })
    }
}

/// Why the firmware cannot run in QEMU.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The board is not emulated.
    #[error("board `{board}` does not run in QEMU: `stackgen run` knows qemu-mps2-an386")]
    NotEmulated {
        /// The board.
        board: String,
    },
    /// User networking forwards to the firmware's static address, and the profile has none.
    #[error(
        "--forward needs the firmware's address, and the profile's first interface has no \
         static IPv4 address (use --tap with a DHCP server instead)"
    )]
    NoStaticAddress,
    /// QEMU could not be started.
    #[error("cannot start qemu-system-arm ({0}); install it: apt-get install qemu-system-arm")]
    Spawn(std::io::Error),
}

/// The QEMU command line for `plan`'s firmware at `elf` (program first).
pub fn qemu_command(plan: &Plan, elf: &Path, network: &Network) -> Result<Vec<OsString>, RunError> {
    if plan.board.name != "qemu-mps2-an386" {
        return Err(RunError::NotEmulated {
            board: plan.board.name.to_string(),
        });
    }
    let mut args: Vec<OsString> = [
        "qemu-system-arm",
        "-M",
        "mps2-an386",
        "-nographic",
        "-kernel",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.push(elf.as_os_str().to_owned());
    let netdev = match network {
        Network::Tap(name) => format!("tap,id=n0,ifname={name},script=no,downscript=no"),
        Network::User(forwards) => user_netdev(plan, forwards)?,
    };
    args.extend(["-netdev".into(), netdev.into()]);
    args.extend(["-net".into(), "nic,netdev=n0".into()]);
    Ok(args)
}

/// `user,id=n0,restrict=on,net=…,host=…,hostfwd=tcp:127.0.0.1:H-ADDR:G…`: QEMU's user network
/// placed on the firmware's subnet, with the gateway as QEMU's own address.
fn user_netdev(plan: &Plan, forwards: &[Forward]) -> Result<String, RunError> {
    let interface = plan.interfaces.first();
    let static_address = interface.and_then(|interface| match interface.ipv4 {
        Ipv4Setting::Static { address, prefix } => Some((address, prefix)),
        _ => None,
    });
    let mut netdev = String::from("user,id=n0,restrict=on");
    if let Some((address, prefix)) = static_address {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let network = Ipv4Addr::from(u32::from(address) & mask);
        netdev.push_str(&format!(",net={network}/{prefix}"));
        if let Some(gateway) = interface.and_then(|interface| interface.gateway) {
            netdev.push_str(&format!(",host={gateway}"));
        }
    }
    for forward in forwards {
        let (address, _) = static_address.ok_or(RunError::NoStaticAddress)?;
        netdev.push_str(&format!(
            ",hostfwd=tcp:127.0.0.1:{}-{address}:{}",
            forward.host, forward.guest
        ));
    }
    Ok(netdev)
}

/// Runs QEMU in the foreground (console on this process's standard output) until it exits;
/// returns its exit code.
pub fn run(plan: &Plan, elf: &Path, network: &Network) -> Result<i32, RunError> {
    let args = qemu_command(plan, elf, network)?;
    let status = std::process::Command::new(&args[0])
        .args(&args[1..])
        .status()
        .map_err(RunError::Spawn)?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::source::Source;

    fn plan(path: &str) -> Plan {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let source = Source::load(&root.join(path)).unwrap();
        Plan::resolve(&Profile::parse(&source).unwrap()).unwrap()
    }

    fn text(args: &[OsString]) -> String {
        args.iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn user_network_is_restricted_and_forwards_from_loopback_only() {
        let plan = plan("profiles/qemu-mps2-an386.toml");
        let forwards = vec!["7007:7".parse().unwrap(), "7009:9".parse().unwrap()];
        let args = qemu_command(&plan, Path::new("fw.elf"), &Network::User(forwards)).unwrap();
        assert_eq!(
            text(&args),
            "qemu-system-arm -M mps2-an386 -nographic -kernel fw.elf -netdev \
             user,id=n0,restrict=on,net=192.0.2.0/24,host=192.0.2.1,\
             hostfwd=tcp:127.0.0.1:7007-192.0.2.2:7,hostfwd=tcp:127.0.0.1:7009-192.0.2.2:9 \
             -net nic,netdev=n0"
        );
    }

    #[test]
    fn tap_network_names_the_device() {
        let plan = plan("profiles/qemu-mps2-an386.toml");
        let args = qemu_command(&plan, Path::new("fw.elf"), &Network::Tap("tap7".into())).unwrap();
        assert!(
            text(&args).contains("-netdev tap,id=n0,ifname=tap7,script=no,downscript=no"),
            "{}",
            text(&args)
        );
    }

    #[test]
    fn boards_without_an_emulator_and_bad_forwards_are_refused() {
        let plan = plan("profiles/stm32f407.toml");
        assert!(matches!(
            qemu_command(&plan, Path::new("fw.elf"), &Network::User(Vec::new())),
            Err(RunError::NotEmulated { .. })
        ));
        assert!("7007".parse::<Forward>().is_err());
        assert!("0:7".parse::<Forward>().is_err());
        assert!("7007:70000".parse::<Forward>().is_err());
    }
}
