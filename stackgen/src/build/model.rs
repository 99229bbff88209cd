//! What `stackgen build` measures in a linked firmware ELF, and the report it writes from it.
//!
//! [`Measurement`] is the linker's truth about one ELF (filled by [`super::measure`]);
//! [`BuildReport`](super::report::BuildReport) puts it next to the plan's estimate and the profile's limits (rendered by
//! [`super::report`] as Markdown, JSON and HTML).

use serde::Serialize;

/// The output section a RAM symbol lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RamSection {
    /// Initialised data: takes RAM and, for its initial image, flash.
    Data,
    /// Zero-initialised data: RAM only.
    Bss,
}

/// A pool of the plan, looked up in the ELF's symbol table by the name of its `static`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolSymbol {
    /// The plan's pool id (`tcp_slots`).
    pub id: String,
    /// The name of the generated `static` (`TCP_SLOTS`); matched against the last path
    /// segment of demangled symbol names.
    pub static_name: String,
}

/// One pool found in the ELF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasuredPool {
    /// The plan's pool id.
    pub id: String,
    /// The demangled symbol, without its hash (`app::net::TCP_SLOTS`).
    pub symbol: String,
    /// The symbol's size in the symbol table, bytes.
    pub bytes: u64,
    /// Where it lives.
    pub section: RamSection,
}

/// The rest of RAM, one row per crate that owns statics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RamGroup {
    /// Crate name from the demangled symbol (`embassy_stm32`), or `(unnamed)` for symbols
    /// without a Rust path (linker-defined, C, assembly).
    pub owner: String,
    /// Bytes in `.data`.
    pub data: u64,
    /// Bytes in `.bss` (and other zero-initialised RAM sections).
    pub bss: u64,
}

/// What a piece of flash belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashOwner {
    /// A protocol module of stack-runtime (`module` names it).
    Stack,
    /// The code generated from the profile (the `#[stack_config]` module or generated crate).
    Generated,
    /// The board support crate and its driver.
    Board,
    /// The application.
    Application,
    /// Other crates (HAL, executor, static_cell…).
    Dependency,
    /// `core`, `alloc` and `compiler_builtins`.
    Core,
    /// Vector table, padding, and bytes no line or symbol information covers.
    Other,
}

/// Flash attributed to one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashModule {
    /// Who owns it.
    pub owner: FlashOwner,
    /// The module: for stack-runtime the protocol (`tcp`, `arp`, `ipv4`, `icmp`, `udp`, `dhcp`,
    /// `dns`, `ethernet`, `checksum`, `pool`, `stats`, `core`…), else the crate name.
    pub module: String,
    /// Bytes of code (`.text`).
    pub text: u64,
    /// Bytes of read-only data (`.rodata`).
    pub rodata: u64,
}

/// Section totals as `llvm-size` (Berkeley format) counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SectionTotals {
    /// Allocated, executable or read-only sections in flash (`.vector_table`, `.text`,
    /// `.rodata`…): llvm-size's `text` column.
    pub text: u64,
    /// Allocated, writable sections with contents (`.data`): llvm-size's `data` column.
    pub data: u64,
    /// Allocated sections without contents (`.bss`, `.uninit`): llvm-size's `bss` column.
    pub bss: u64,
}

impl SectionTotals {
    /// Flash the image takes: code, read-only data and the initial image of `.data`.
    pub fn flash(&self) -> u64 {
        self.text + self.data
    }

    /// Static RAM: `.data` + `.bss`.
    pub fn ram(&self) -> u64 {
        self.data + self.bss
    }
}

/// Everything measured in one linked ELF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Measurement {
    /// Section totals (must equal `llvm-size`'s).
    pub sections: SectionTotals,
    /// The plan's pools, as found.
    pub pools: Vec<MeasuredPool>,
    /// Static RAM not in a pool, by owning crate, largest first.
    pub other_ram: Vec<RamGroup>,
    /// Flash by module, largest first; sums to `sections.text` + the `.data` image.
    pub flash: Vec<FlashModule>,
}

/// Why an ELF could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The ELF's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an ELF this tool understands.
    #[error("{path} is not a readable ELF file: {reason}")]
    NotElf {
        /// The ELF's path.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// The ELF has no symbol table (stripped): RAM cannot be attributed.
    #[error("{path} has no symbol table; build without `strip`")]
    NoSymbols {
        /// The ELF's path.
        path: String,
    },
    /// A pool's static is not in the symbol table.
    #[error("no symbol for pool `{id}` (static `{static_name}`) in {path}")]
    MissingPool {
        /// The pool id.
        id: String,
        /// The static's name.
        static_name: String,
        /// The ELF's path.
        path: String,
    },
    /// Several symbols end in the same static name.
    #[error("pool `{id}`: several symbols end in `{static_name}`: {candidates:?}")]
    AmbiguousPool {
        /// The pool id.
        id: String,
        /// The static's name.
        static_name: String,
        /// The demangled names found.
        candidates: Vec<String>,
    },
    /// A pool's symbol is not in a RAM section (`.data`, `.bss`): not the pool's static.
    #[error("pool `{id}`: symbol `{symbol}` is in section {section}, not in RAM")]
    PoolNotInRam {
        /// The pool id.
        id: String,
        /// The demangled symbol found.
        symbol: String,
        /// The section it is in.
        section: String,
    },
    /// The DWARF debug information (line tables) could not be read.
    #[error("cannot read the debug information of {path}: {reason}")]
    Dwarf {
        /// The ELF's path.
        path: String,
        /// What the DWARF reader said.
        reason: String,
    },
    /// The raw binary could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The raw binary would be too large: sections far apart in the address space (RAM
    /// contents with a RAM load address).
    #[error(
        "the raw binary of {path} would take {bytes} bytes: its loadable sections are too far apart"
    )]
    BinaryTooLarge {
        /// The ELF's path.
        path: String,
        /// The image size, bytes.
        bytes: u64,
    },
}
