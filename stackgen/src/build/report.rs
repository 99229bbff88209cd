//! The measured budget report of `stackgen build`: the plan's pool estimates next to the
//! bytes the linker gave them, the rest of RAM by crate, flash by owner and module, all against
//! `budget.ram_max` and `budget.flash_max`, with advice when over.
//!
//! [`BuildReport::new`] does all the arithmetic once; the formats only lay it out:
//! [`BuildReport::markdown`] (`budget.md`), [`BuildReport::json`] (`budget.json`, serde of the
//! report itself), [`BuildReport::html`] (`budget.html`, self-contained with an inline SVG chart)
//! and [`BuildReport::summary`] (a few lines for the terminal).

pub mod advice;
mod chart;
pub mod numbers;
mod render;

use serde::Serialize;

use crate::build::model::{FlashModule, FlashOwner, Measurement, RamSection, SectionTotals};
use advice::{FlashAdvice, RamAdvice};

/// How the numbers were obtained; printed under the header of every report.
pub const METHOD: &str =
    "Measured from the linked ELF (symbol table for RAM, DWARF line tables for flash)";

/// One pool as the plan estimates it (built from the plan's pools).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolEstimate {
    /// The plan's pool id (`tcp_segments`), matched against [`crate::build::model::MeasuredPool::id`].
    pub id: String,
    /// What the pool holds, for people.
    pub name: String,
    /// The profile key that sets it (`tcp.segments`).
    pub knob: String,
    /// Elements.
    pub count: u64,
    /// Bytes per element.
    pub element: u64,
    /// count × element: what the plan expects the linker to allocate.
    pub bytes: u64,
}

/// Everything the report is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportInputs {
    /// The profile's display path.
    pub profile: String,
    /// `[stack] name`.
    pub stack: String,
    /// The board.
    pub board: String,
    /// The target triple.
    pub target: String,
    /// The application crate.
    pub app: String,
    /// The firmware ELF, relative to where the user ran the command.
    pub firmware: String,
    /// The plan's pools.
    pub estimates: Vec<PoolEstimate>,
    /// What the ELF holds.
    pub measurement: Measurement,
    /// Bytes the board reserves for the call stack.
    pub stack_reserve: u64,
    /// `budget.ram_max`.
    pub ram_max: Option<u64>,
    /// `budget.flash_max`.
    pub flash_max: Option<u64>,
}

/// A total against an optional limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    /// Bytes used.
    pub total: u64,
    /// The limit, when the profile sets one.
    pub limit: Option<u64>,
    /// `total / limit` in percent, one decimal.
    pub percent: Option<f64>,
    /// Bytes over the limit (absent when under or without a limit).
    pub over_by: Option<u64>,
    /// Bytes left under the limit (absent when over or without a limit).
    pub spare: Option<u64>,
}

impl Usage {
    fn new(total: u64, limit: Option<u64>) -> Usage {
        Usage {
            total,
            limit,
            percent: limit
                .and_then(|l| numbers::per_mille(total, l))
                .map(numbers::percent_value),
            over_by: limit.filter(|l| total > *l).map(|l| total - l),
            spare: limit.filter(|l| total <= *l).map(|l| l - total),
        }
    }

    /// The share of the limit in tenths of a percent (for exact text).
    fn per_mille(&self) -> Option<u64> {
        self.limit.and_then(|l| numbers::per_mille(self.total, l))
    }
}

/// One pool: the plan's estimate next to the measured symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolRow {
    /// The plan's pool id.
    pub id: String,
    /// What it holds (empty for a measured pool the plan does not know).
    pub name: String,
    /// The profile key that sets it.
    pub knob: String,
    /// Elements (plan).
    pub count: u64,
    /// Bytes per element (plan).
    pub element: u64,
    /// The plan's bytes (absent for a measured pool the plan does not know).
    pub estimate: Option<u64>,
    /// The symbol's size in the ELF (absent when no symbol was found).
    pub measured: Option<u64>,
    /// The demangled symbol.
    pub symbol: Option<String>,
    /// `.data` or `.bss`.
    pub section: Option<RamSection>,
    /// Estimate and measurement disagree: a bug in the size model or the generated code.
    pub differs: bool,
}

/// Static RAM of one crate outside the pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherRamRow {
    /// The crate (`embassy_stm32`, `(unnamed)`).
    pub owner: String,
    /// Bytes in `.data`.
    pub data: u64,
    /// Bytes in `.bss`.
    pub bss: u64,
    /// data + bss.
    pub bytes: u64,
}

/// RAM: pools, the rest by crate, the call-stack reserve, and the total against the limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RamReport {
    /// One row per pool, in the plan's order (measured pools the plan lacks at the end).
    pub pools: Vec<PoolRow>,
    /// Sum of the plan's estimates.
    pub pools_estimate: u64,
    /// Sum of the measured pool symbols.
    pub pools_measured: u64,
    /// Ids of the pools whose estimate and measurement differ.
    pub mismatches: Vec<String>,
    /// The rest of `.data`/`.bss`, by crate, largest first.
    pub other: Vec<OtherRamRow>,
    /// Sum of `other`.
    pub other_total: u64,
    /// `.data` + `.bss` bytes no symbol accounts for (alignment padding, linker fill).
    pub unattributed: u64,
    /// The board's call-stack reserve.
    pub stack_reserve: u64,
    /// The network stack's static RAM: the pools plus stack-runtime's own statics. The board
    /// driver's buffers (the Ethernet DMA rings) and the application's statics are not in it,
    /// as lwIP's RAM figure leaves out the vendor HAL's; they are in the total.
    pub stack_bytes: u64,
    /// `.data` + `.bss` + stack reserve against `budget.ram_max`.
    pub usage: Usage,
}

/// Flash of one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashRow {
    /// The module (stack-runtime protocol) or crate.
    pub module: String,
    /// Code bytes.
    pub text: u64,
    /// Read-only data bytes.
    pub rodata: u64,
    /// text + rodata.
    pub bytes: u64,
}

/// The modules of one owner, with the owner's subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashGroup {
    /// Who owns them.
    pub owner: FlashOwner,
    /// The owner for people (`stack-runtime`, `core / compiler builtins`).
    pub label: &'static str,
    /// Largest first.
    pub modules: Vec<FlashRow>,
    /// Sum of text.
    pub text: u64,
    /// Sum of rodata.
    pub rodata: u64,
    /// Sum of bytes.
    pub bytes: u64,
}

/// Flash by owner and module, the stack's share and the image against the limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlashReport {
    /// One group per owner that has flash, in [`FlashOwner`] order.
    pub groups: Vec<FlashGroup>,
    /// The network stack's flash: stack-runtime + generated code.
    pub stack_bytes: u64,
    /// `stack_bytes` as a share of the image, percent with one decimal.
    pub stack_percent: Option<f64>,
    /// Image bytes no module accounts for (counted under `other`).
    pub unattributed: u64,
    /// `.text` + `.data` image against `budget.flash_max`.
    pub usage: Usage,
}

/// What to do when over a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Advice {
    /// When RAM is over `budget.ram_max`.
    pub ram: Option<RamAdvice>,
    /// When flash is over `budget.flash_max`.
    pub flash: Option<FlashAdvice>,
}

/// The measured budget of one firmware build. Serialises to the `budget.json` schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    /// The profile's display path.
    pub profile: String,
    /// `[stack] name`.
    pub stack: String,
    /// The board.
    pub board: String,
    /// The target triple.
    pub target: String,
    /// The application crate.
    pub app: String,
    /// The firmware ELF.
    pub firmware: String,
    /// How the numbers were measured ([`METHOD`]).
    pub method: &'static str,
    /// Section totals as `llvm-size` gives them.
    pub sections: SectionTotals,
    /// RAM.
    pub ram: RamReport,
    /// Flash.
    pub flash: FlashReport,
    /// Advice when over a limit.
    pub advice: Advice,
}

impl BuildReport {
    /// Puts the measurement next to the plan and the limits, and works out the advice.
    pub fn new(inputs: ReportInputs) -> BuildReport {
        let ReportInputs {
            profile,
            stack,
            board,
            target,
            app,
            firmware,
            estimates,
            measurement,
            stack_reserve,
            ram_max,
            flash_max,
        } = inputs;
        let sections = measurement.sections;
        let ram = ram_report(&estimates, &measurement, stack_reserve, ram_max);
        let flash = flash_report(&measurement.flash, sections, flash_max);
        let advice = Advice {
            ram: ram
                .usage
                .over_by
                .map(|over| advice::ram_advice(&estimates, over)),
            flash: flash
                .usage
                .over_by
                .map(|over| advice::flash_advice(&measurement.flash, over)),
        };
        BuildReport {
            profile,
            stack,
            board,
            target,
            app,
            firmware,
            method: METHOD,
            sections,
            ram,
            flash,
            advice,
        }
    }

    /// True when RAM is over `budget.ram_max` or flash over `budget.flash_max`: the build
    /// should fail.
    pub fn over_limit(&self) -> bool {
        self.ram.usage.over_by.is_some() || self.flash.usage.over_by.is_some()
    }

    /// True when a pool's measured size differs from the plan's estimate (a stackgen bug).
    pub fn has_mismatches(&self) -> bool {
        !self.ram.mismatches.is_empty()
    }

    /// `budget.md`: GitHub-flavoured Markdown.
    pub fn markdown(&self) -> String {
        render::markdown(self)
    }

    /// `budget.json`: the report as pretty-printed JSON, sizes as plain integers.
    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
        text.push('\n');
        text
    }

    /// `budget.html`: one self-contained page (inline CSS and SVG, nothing fetched).
    pub fn html(&self) -> String {
        render::html(self)
    }

    /// A few lines for the terminal: RAM and flash against their limits, the stack's flash
    /// share, and what to shrink when over.
    pub fn summary(&self) -> String {
        render::summary(self)
    }
}

fn ram_report(
    estimates: &[PoolEstimate],
    measurement: &Measurement,
    stack_reserve: u64,
    ram_max: Option<u64>,
) -> RamReport {
    let mut pools: Vec<PoolRow> = estimates
        .iter()
        .map(|e| {
            let found = measurement.pools.iter().find(|m| m.id == e.id);
            PoolRow {
                id: e.id.clone(),
                name: e.name.clone(),
                knob: e.knob.clone(),
                count: e.count,
                element: e.element,
                estimate: Some(e.bytes),
                measured: found.map(|m| m.bytes),
                symbol: found.map(|m| m.symbol.clone()),
                section: found.map(|m| m.section),
                differs: found.map(|m| m.bytes) != Some(e.bytes),
            }
        })
        .collect();
    for m in &measurement.pools {
        if !estimates.iter().any(|e| e.id == m.id) {
            pools.push(PoolRow {
                id: m.id.clone(),
                name: String::new(),
                knob: String::new(),
                count: 0,
                element: 0,
                estimate: None,
                measured: Some(m.bytes),
                symbol: Some(m.symbol.clone()),
                section: Some(m.section),
                differs: true,
            });
        }
    }
    let pools_estimate = pools.iter().filter_map(|p| p.estimate).sum();
    let pools_measured: u64 = pools.iter().filter_map(|p| p.measured).sum();
    let mismatches = pools
        .iter()
        .filter(|p| p.differs)
        .map(|p| p.id.clone())
        .collect();
    let mut other: Vec<OtherRamRow> = measurement
        .other_ram
        .iter()
        .map(|g| OtherRamRow {
            owner: g.owner.clone(),
            data: g.data,
            bss: g.bss,
            bytes: g.data + g.bss,
        })
        .collect();
    other.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.owner.cmp(&b.owner)));
    let other_total: u64 = other.iter().map(|o| o.bytes).sum();
    let statics = measurement.sections.ram();
    let stack_bytes = pools_measured
        + other
            .iter()
            .filter(|o| o.owner == STACK_CRATE)
            .map(|o| o.bytes)
            .sum::<u64>();
    RamReport {
        pools,
        pools_estimate,
        pools_measured,
        mismatches,
        other,
        other_total,
        unattributed: statics.saturating_sub(pools_measured + other_total),
        stack_reserve,
        stack_bytes,
        usage: Usage::new(statics + stack_reserve, ram_max),
    }
}

/// The crate whose statics count as the network stack's RAM besides the pools.
const STACK_CRATE: &str = "stack_runtime";

/// The owner for people.
pub fn owner_label(owner: FlashOwner) -> &'static str {
    match owner {
        FlashOwner::Stack => "stack-runtime",
        FlashOwner::Generated => "generated code",
        FlashOwner::Board => "board",
        FlashOwner::Application => "application",
        FlashOwner::Dependency => "dependencies",
        FlashOwner::Core => "core / compiler builtins",
        FlashOwner::Other => "other",
    }
}

const OWNERS: [FlashOwner; 7] = [
    FlashOwner::Stack,
    FlashOwner::Generated,
    FlashOwner::Board,
    FlashOwner::Application,
    FlashOwner::Dependency,
    FlashOwner::Core,
    FlashOwner::Other,
];

/// The name of the row that holds image bytes no module accounts for.
pub const UNATTRIBUTED: &str = "(unattributed)";

fn flash_report(
    modules: &[FlashModule],
    sections: SectionTotals,
    flash_max: Option<u64>,
) -> FlashReport {
    let image = sections.flash();
    let attributed: u64 = modules.iter().map(|m| m.text + m.rodata).sum();
    let unattributed = image.saturating_sub(attributed);
    let mut groups = Vec::new();
    for owner in OWNERS {
        let mut rows: Vec<FlashRow> = modules
            .iter()
            .filter(|m| m.owner == owner)
            .map(|m| FlashRow {
                module: m.module.clone(),
                text: m.text,
                rodata: m.rodata,
                bytes: m.text + m.rodata,
            })
            .collect();
        rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.module.cmp(&b.module)));
        if owner == FlashOwner::Other && unattributed > 0 {
            rows.push(FlashRow {
                module: UNATTRIBUTED.into(),
                text: 0,
                rodata: 0,
                bytes: unattributed,
            });
        }
        if rows.is_empty() {
            continue;
        }
        groups.push(FlashGroup {
            owner,
            label: owner_label(owner),
            text: rows.iter().map(|r| r.text).sum(),
            rodata: rows.iter().map(|r| r.rodata).sum(),
            bytes: rows.iter().map(|r| r.bytes).sum(),
            modules: rows,
        });
    }
    let stack_bytes = groups
        .iter()
        .filter(|g| matches!(g.owner, FlashOwner::Stack | FlashOwner::Generated))
        .map(|g| g.bytes)
        .sum();
    FlashReport {
        groups,
        stack_bytes,
        stack_percent: numbers::per_mille(stack_bytes, image).map(numbers::percent_value),
        unattributed,
        usage: Usage::new(image, flash_max),
    }
}
