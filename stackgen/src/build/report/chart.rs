//! The geometry of the HTML report's SVG chart: one horizontal stacked bar for RAM (pools,
//! other statics, stack reserve) and one for flash (by owner), each on its own scale with the
//! limit marked, and a legend under each bar. Coordinates are computed here so the template only
//! prints them.

use super::numbers::{bytes, limit as limit_text};
use super::{BuildReport, UNATTRIBUTED};

/// Width of the drawing.
const WIDTH: f64 = 720.0;
/// Left edge of the bars.
const LEFT: f64 = 20.0;
/// Length of a bar at full scale.
const LENGTH: f64 = 640.0;
/// Height of a bar.
const BAR: f64 = 24.0;
/// Height of one legend line.
const LINE: f64 = 18.0;
/// Rough width of one character of legend text at 12 px.
const CHAR: f64 = 6.6;

/// Colours of the segments, in order (Tableau 10: distinct, readable on white).
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// One filled part of a bar.
pub struct Segment {
    /// Left edge.
    pub x: String,
    /// Width.
    pub width: String,
    /// Fill colour.
    pub color: &'static str,
    /// Tooltip: what and how much.
    pub tooltip: String,
}

/// One legend entry: a swatch and its text.
pub struct LegendItem {
    /// Swatch left edge.
    pub x: String,
    /// Swatch top edge.
    pub y: String,
    /// Text left edge.
    pub text_x: String,
    /// Text baseline.
    pub text_y: String,
    /// Swatch colour.
    pub color: &'static str,
    /// `pools 20,000 B`.
    pub text: String,
}

/// The dashed line at the limit.
pub struct Marker {
    /// Where the line is.
    pub x: String,
    /// Top of the line.
    pub y1: String,
    /// Bottom of the line.
    pub y2: String,
    /// Where the label starts.
    pub text_x: String,
    /// The label's baseline.
    pub text_y: String,
    /// `text-anchor` of the label, so it stays inside the drawing.
    pub anchor: &'static str,
    /// `budget.ram_max 64 KiB (65,536 B)`.
    pub label: String,
}

/// One bar with its title, segments, limit and legend.
pub struct Bar {
    /// `RAM: 30,724 B of 64 KiB (46.9%)`.
    pub title: String,
    /// Baseline of the title.
    pub title_y: String,
    /// Top of the bar.
    pub y: String,
    /// Height of the bar.
    pub height: String,
    /// Whether the total exceeds the limit.
    pub over: bool,
    /// The filled parts.
    pub segments: Vec<Segment>,
    /// The limit, when set.
    pub limit: Option<Marker>,
    /// The legend.
    pub legend: Vec<LegendItem>,
}

/// The whole drawing.
pub struct Chart {
    /// Width in px.
    pub width: String,
    /// Height in px.
    pub height: String,
    /// RAM, then flash.
    pub bars: Vec<Bar>,
}

fn px(value: f64) -> String {
    format!("{value:.1}")
}

/// Lays out one bar whose top (title line included) is at `top`; returns it and its bottom.
fn bar(
    title: String,
    parts: &[(String, u64)],
    total: u64,
    limit: Option<(&str, u64)>,
    top: f64,
) -> (Bar, f64) {
    let scale = limit.map_or(total, |(_, l)| l.max(total)).max(1) as f64;
    let title_y = top + 14.0;
    let y = top + 32.0;
    let mut x = LEFT;
    let mut segments = Vec::new();
    for (i, (label, value)) in parts.iter().enumerate() {
        let width = *value as f64 / scale * LENGTH;
        segments.push(Segment {
            x: px(x),
            width: px(width),
            color: PALETTE[i % PALETTE.len()],
            tooltip: format!("{label}: {}", bytes(*value)),
        });
        x += width;
    }
    let marker = limit.map(|(name, l)| {
        let lx = LEFT + l as f64 / scale * LENGTH;
        let right = lx > LEFT + LENGTH / 2.0;
        Marker {
            x: px(lx),
            y1: px(y - 8.0),
            y2: px(y + BAR + 8.0),
            text_x: px(if right { lx - 4.0 } else { lx + 4.0 }),
            text_y: px(y - 10.0),
            anchor: if right { "end" } else { "start" },
            label: format!("{name} {}", limit_text(l)),
        }
    });
    let mut legend = Vec::new();
    let (mut lx, mut ly) = (LEFT, y + BAR + 16.0);
    for (i, (label, value)) in parts.iter().enumerate() {
        let text = format!("{label} {}", bytes(*value));
        let width = 18.0 + text.chars().count() as f64 * CHAR + 16.0;
        if lx > LEFT && lx + width > WIDTH - LEFT {
            lx = LEFT;
            ly += LINE;
        }
        legend.push(LegendItem {
            x: px(lx),
            y: px(ly),
            text_x: px(lx + 18.0),
            text_y: px(ly + 10.5),
            color: PALETTE[i % PALETTE.len()],
            text,
        });
        lx += width;
    }
    let over = limit.is_some_and(|(_, l)| total > l);
    let bar = Bar {
        title,
        title_y: px(title_y),
        y: px(y),
        height: px(BAR),
        over,
        segments,
        limit: marker,
        legend,
    };
    (bar, ly + LINE + 12.0)
}

/// The chart of a report.
pub fn chart(report: &BuildReport, ram_title: String, flash_title: String) -> Chart {
    let ram = &report.ram;
    let ram_parts = vec![
        ("pools".to_string(), ram.pools_measured),
        (
            "other statics".to_string(),
            ram.other_total + ram.unattributed,
        ),
        ("stack reserve".to_string(), ram.stack_reserve),
    ];
    let (ram_bar, bottom) = bar(
        ram_title,
        &ram_parts,
        ram.usage.total,
        ram.usage.limit.map(|l| ("budget.ram_max", l)),
        8.0,
    );
    let flash = &report.flash;
    let flash_parts: Vec<(String, u64)> = flash
        .groups
        .iter()
        .map(|g| {
            let label = if g.modules.iter().all(|m| m.module == UNATTRIBUTED) {
                format!("{} {UNATTRIBUTED}", g.label)
            } else {
                g.label.to_string()
            };
            (label, g.bytes)
        })
        .collect();
    let (flash_bar, bottom) = bar(
        flash_title,
        &flash_parts,
        flash.usage.total,
        flash.usage.limit.map(|l| ("budget.flash_max", l)),
        bottom,
    );
    Chart {
        width: px(WIDTH),
        height: px(bottom),
        bars: vec![ram_bar, flash_bar],
    }
}
