//! Lays a [`BuildReport`] out as Markdown, HTML (askama templates `build.md` and `build.html`)
//! and the terminal summary. Every number is formatted here once, into a [`View`], so the
//! templates only place strings.

use askama::Template;

use super::advice::{FlashAdvice, PoolShrink, RamAdvice, RamFix};
use super::chart::{Chart, chart};
use super::numbers::{bytes, limit, percent_text, thousands};
use super::{BuildReport, PoolRow, Usage};

/// A total against its limit, as text.
struct UsageView {
    /// The profile key of the limit.
    key: &'static str,
    /// `30,724 B`.
    total: String,
    /// `64 KiB (65,536 B)`.
    limit: Option<String>,
    /// `46.9%`.
    percent: Option<String>,
    /// `5,000 B` when over.
    over_by: Option<String>,
    /// `34,812 B` when under.
    spare: Option<String>,
}

impl UsageView {
    fn new(key: &'static str, usage: &Usage) -> UsageView {
        UsageView {
            key,
            total: bytes(usage.total),
            limit: usage.limit.map(limit),
            percent: usage.per_mille().map(percent_text),
            over_by: usage.over_by.map(bytes),
            spare: usage.spare.map(bytes),
        }
    }

    /// `30,724 B of 64 KiB (65,536 B), 46.9%`, or `30,724 B, no budget.ram_max`.
    fn headline(&self) -> String {
        match (&self.limit, &self.percent) {
            (Some(l), Some(p)) => format!("{} of {l}, {p}", self.total),
            (Some(l), None) => format!("{} of {l}", self.total),
            _ => format!("{}, no {}", self.total, self.key),
        }
    }
}

struct PoolLine {
    id: String,
    name: String,
    knob: String,
    count_element: String,
    estimate: String,
    measured: String,
    differs: bool,
}

struct Mismatch {
    id: String,
    text: String,
}

struct OtherLine {
    owner: String,
    data: String,
    bss: String,
    bytes: String,
}

struct ModuleLine {
    module: String,
    text: String,
    rodata: String,
    bytes: String,
}

struct GroupLine {
    label: &'static str,
    modules: Vec<ModuleLine>,
    text: String,
    rodata: String,
    bytes: String,
}

struct ShrinkLine {
    knob: String,
    name: String,
    change: String,
    saves: String,
}

struct RamAdviceView {
    over_by: String,
    intro: &'static str,
    items: Vec<ShrinkLine>,
    /// What is left when even all changes are not enough.
    still_over: Option<String>,
}

struct CutLine {
    key: String,
    bytes: String,
    enough: bool,
    note: Option<String>,
}

struct FlashAdviceView {
    over_by: String,
    items: Vec<CutLine>,
    hint: &'static str,
}

/// Everything the templates print, formatted.
struct View<'a> {
    r: &'a BuildReport,
    ram: UsageView,
    pools: Vec<PoolLine>,
    pools_estimate: String,
    pools_measured: String,
    mismatches: Vec<Mismatch>,
    other: Vec<OtherLine>,
    unattributed_ram: Option<String>,
    stack_reserve: String,
    ram_stack: String,
    flash: UsageView,
    groups: Vec<GroupLine>,
    flash_stack: String,
    flash_stack_share: Option<String>,
    sections: [String; 3],
    ram_advice: Option<RamAdviceView>,
    flash_advice: Option<FlashAdviceView>,
}

fn or_dash(value: Option<u64>) -> String {
    value.map_or_else(|| "—".to_string(), bytes)
}

fn mismatch(p: &PoolRow) -> Mismatch {
    let text = match (p.estimate, p.measured) {
        (Some(e), Some(m)) => {
            let delta = if m >= e {
                format!("+{}", bytes(m - e))
            } else {
                format!("−{}", bytes(e - m))
            };
            format!("estimate {}, measured {} ({delta})", bytes(e), bytes(m))
        }
        (Some(e), None) => format!("estimate {}, no symbol found in the ELF", bytes(e)),
        (None, Some(m)) => format!("measured {}, not a pool of the plan", bytes(m)),
        (None, None) => "neither estimated nor measured".into(),
    };
    Mismatch {
        id: p.id.clone(),
        text,
    }
}

fn shrink_line(s: &PoolShrink) -> ShrinkLine {
    let per = if s.per_socket { " per socket" } else { "" };
    ShrinkLine {
        knob: s.knob.clone(),
        name: s.name.clone(),
        change: format!("{} → {}{per}", thousands(s.from), thousands(s.to)),
        saves: bytes(s.saves),
    }
}

fn ram_advice_view(a: &RamAdvice) -> RamAdviceView {
    RamAdviceView {
        over_by: bytes(a.over_by),
        intro: match a.fix {
            RamFix::AnyOne if a.shrinks.len() == 1 => "This change fixes it:",
            RamFix::AnyOne => "Any one of these changes fixes it:",
            RamFix::Together => "No single pool frees enough; these changes together fix it:",
            RamFix::NotEnough => "Shrinking every pool to one element is not enough:",
        },
        items: a.shrinks.iter().map(shrink_line).collect(),
        still_over: (a.still_over > 0).then(|| bytes(a.still_over)),
    }
}

fn flash_advice_view(a: &FlashAdvice) -> FlashAdviceView {
    FlashAdviceView {
        over_by: bytes(a.over_by),
        items: a
            .cuts
            .iter()
            .map(|c| CutLine {
                key: c.key.clone(),
                bytes: bytes(c.bytes),
                enough: c.enough_alone,
                note: c.note.clone(),
            })
            .collect(),
        hint: a.hint,
    }
}

impl<'a> View<'a> {
    /// `1 pool differs` / `2 pools differ`.
    fn mismatch_headline(&self) -> String {
        match self.mismatches.len() {
            1 => "1 pool differs".to_string(),
            n => format!("{n} pools differ"),
        }
    }

    fn new(r: &'a BuildReport) -> View<'a> {
        let ram = &r.ram;
        let flash = &r.flash;
        View {
            r,
            ram: UsageView::new("budget.ram_max", &ram.usage),
            pools: ram
                .pools
                .iter()
                .map(|p| PoolLine {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    knob: p.knob.clone(),
                    count_element: if p.estimate.is_some() {
                        format!("{} × {}", thousands(p.count), bytes(p.element))
                    } else {
                        "—".into()
                    },
                    estimate: or_dash(p.estimate),
                    measured: or_dash(p.measured),
                    differs: p.differs,
                })
                .collect(),
            pools_estimate: bytes(ram.pools_estimate),
            pools_measured: bytes(ram.pools_measured),
            mismatches: ram
                .pools
                .iter()
                .filter(|p| p.differs)
                .map(mismatch)
                .collect(),
            other: ram
                .other
                .iter()
                .map(|o| OtherLine {
                    owner: o.owner.clone(),
                    data: bytes(o.data),
                    bss: bytes(o.bss),
                    bytes: bytes(o.bytes),
                })
                .collect(),
            unattributed_ram: (ram.unattributed > 0).then(|| bytes(ram.unattributed)),
            ram_stack: bytes(ram.stack_bytes),
            stack_reserve: bytes(ram.stack_reserve),
            flash: UsageView::new("budget.flash_max", &flash.usage),
            groups: flash
                .groups
                .iter()
                .map(|g| GroupLine {
                    label: g.label,
                    modules: g
                        .modules
                        .iter()
                        .map(|m| ModuleLine {
                            module: m.module.clone(),
                            text: bytes(m.text),
                            rodata: bytes(m.rodata),
                            bytes: bytes(m.bytes),
                        })
                        .collect(),
                    text: bytes(g.text),
                    rodata: bytes(g.rodata),
                    bytes: bytes(g.bytes),
                })
                .collect(),
            flash_stack: bytes(flash.stack_bytes),
            flash_stack_share: super::numbers::per_mille(flash.stack_bytes, flash.usage.total)
                .map(percent_text),
            sections: [
                bytes(r.sections.text),
                bytes(r.sections.data),
                bytes(r.sections.bss),
            ],
            ram_advice: r.advice.ram.as_ref().map(ram_advice_view),
            flash_advice: r.advice.flash.as_ref().map(flash_advice_view),
        }
    }
}

#[derive(Template)]
#[template(path = "build.md", escape = "none")]
struct MarkdownTemplate<'a> {
    v: View<'a>,
}

impl MarkdownTemplate<'_> {
    /// Text for a Markdown table cell: `|` would end the cell.
    fn cell(&self, text: &str) -> String {
        text.replace('|', "\\|")
    }
}

#[derive(Template)]
#[template(path = "build.html")]
struct HtmlTemplate<'a> {
    v: View<'a>,
    chart: Chart,
}

fn finish(result: askama::Result<String>) -> String {
    // The templates only print strings of the view; rendering cannot fail.
    let mut text =
        result.unwrap_or_else(|error| format!("stackgen: could not render the report: {error}"));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// `budget.md`.
pub fn markdown(report: &BuildReport) -> String {
    finish(
        MarkdownTemplate {
            v: View::new(report),
        }
        .render(),
    )
}

/// `budget.html`.
pub fn html(report: &BuildReport) -> String {
    let v = View::new(report);
    let chart = chart(
        report,
        format!("RAM: {}", v.ram.headline()),
        format!("Flash: {}", v.flash.headline()),
    );
    finish(HtmlTemplate { v, chart }.render())
}

/// The terminal summary: 3 to 6 lines.
pub fn summary(report: &BuildReport) -> String {
    let v = View::new(report);
    let ram = &report.ram;
    let mut lines = vec![
        format!(
            "RAM    {} (pools {}, other statics {}, stack reserve {})",
            v.ram.headline(),
            v.pools_measured,
            bytes(ram.other_total + ram.unattributed),
            v.stack_reserve
        ),
        format!("flash  {}", v.flash.headline()),
    ];
    let parts: Vec<String> = report
        .flash
        .groups
        .iter()
        .filter(|g| {
            matches!(
                g.owner,
                crate::build::model::FlashOwner::Stack | crate::build::model::FlashOwner::Generated
            )
        })
        .map(|g| format!("{} {}", g.label, bytes(g.bytes)))
        .collect();
    lines.push(format!(
        "stack  {} of flash{}{}; {} of static RAM",
        v.flash_stack,
        v.flash_stack_share
            .as_ref()
            .map_or(String::new(), |s| format!(", {s} of the image")),
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(" + "))
        },
        v.ram_stack
    ));
    if let Some(a) = &v.ram_advice {
        let changes: Vec<String> = a
            .items
            .iter()
            .map(|s| format!("{} {} (saves {})", s.knob, s.change, s.saves))
            .collect();
        let joiner = match report.advice.ram.as_ref().map(|a| a.fix) {
            Some(RamFix::AnyOne) => " or ",
            _ => " and ",
        };
        let tail = match &a.still_over {
            Some(left) => {
                format!("; still {left} over: raise budget.ram_max or turn protocols off")
            }
            None => String::new(),
        };
        lines.push(format!(
            "RAM over budget.ram_max by {}: lower {}{tail}",
            a.over_by,
            if changes.is_empty() {
                "no pool can shrink".to_string()
            } else {
                changes.join(joiner)
            }
        ));
    }
    if let Some(a) = &v.flash_advice {
        let cuts: Vec<String> = a
            .items
            .iter()
            .map(|c| format!("{} (about {})", c.key, c.bytes))
            .collect();
        let off = if cuts.is_empty() {
            String::new()
        } else {
            format!("turn off {} in the profile; ", cuts.join(" or "))
        };
        lines.push(format!(
            "flash over budget.flash_max by {}: {off}try opt-level = \"z\"",
            a.over_by
        ));
    }
    if !v.mismatches.is_empty() {
        let ids: Vec<&str> = v.mismatches.iter().map(|m| m.id.as_str()).collect();
        lines.push(format!(
            "error: {} from the plan's estimate ({}): a stackgen bug, see budget.md",
            v.mismatch_headline(),
            ids.join(", ")
        ));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
