//! The boards stackgen knows: their default target triple and memory sizes.
//!
//! A profile's `stack.board` names one of these (a folder under `boards/` once its support
//! crate exists). The memory sizes feed sanity checks: a plan that needs more RAM than the chip
//! has is an error, whatever `budget.ram_max` says.

use crate::units::{KIB, MIB};

/// One board: what it is, what it compiles for, and how much memory it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// The name a profile uses in `stack.board`.
    pub name: &'static str,
    /// One line saying what the board is.
    pub description: &'static str,
    /// The target triple used when the profile does not set `stack.target`.
    pub default_target: &'static str,
    /// RAM statics may use at most, in bytes; `None` for a hosted board (no fixed limit).
    pub ram: Option<u64>,
    /// Flash (code memory) in bytes; `None` for a hosted board.
    pub flash: Option<u64>,
    /// Bytes of `ram` the call stack keeps for itself, which statics cannot use: `stackgen
    /// build` adds it to the RAM total. 0 when the stack lives in memory of its own (the
    /// STM32F407's CCM) or on a hosted board.
    pub stack_reserve: u64,
    /// The board support crate, relative to the repository root (`None`: no firmware board).
    pub crate_dir: Option<&'static str>,
}

/// Every board stackgen knows, in the order `stackgen` lists them.
pub const BOARDS: &[Board] = &[
    Board {
        name: "host-tap",
        description: "Linux host, frames through a TAP device",
        default_target: "x86_64-unknown-linux-gnu",
        ram: None,
        flash: None,
        stack_reserve: 0,
        crate_dir: Some("boards/host-tap"),
    },
    Board {
        name: "qemu-mps2-an386",
        description: "QEMU mps2-an386 (Cortex-M4) with its emulated LAN9118 Ethernet controller",
        default_target: "thumbv7em-none-eabihf",
        ram: Some(4 * MIB),
        flash: Some(4 * MIB),
        stack_reserve: 64 * KIB,
        crate_dir: Some("boards/qemu-mps2-an386"),
    },
    Board {
        name: "stm32f407",
        description: "STM32F407 (Cortex-M4F, 168 MHz) with its Ethernet MAC",
        default_target: "thumbv7em-none-eabihf",
        // The 128 KiB of SRAM the Ethernet DMA reaches; the 64 KiB of CCM hold the call stack.
        ram: Some(128 * KIB),
        flash: Some(MIB),
        stack_reserve: 0,
        crate_dir: Some("boards/stm32f407"),
    },
];

/// Looks a board up by the name a profile uses.
pub fn find(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|board| board.name == name)
}

/// The names of all boards, comma separated, for messages.
pub fn names() -> String {
    BOARDS
        .iter()
        .map(|board| format!("`{}`", board.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_targets() {
        assert_eq!(
            find("host-tap").unwrap().default_target,
            "x86_64-unknown-linux-gnu"
        );
        assert_eq!(
            find("qemu-mps2-an386").unwrap().default_target,
            "thumbv7em-none-eabihf"
        );
        assert_eq!(find("stm32f407").unwrap().ram, Some(128 * 1024));
        assert!(find("esp32").is_none());
    }
}
