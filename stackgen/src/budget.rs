//! The RAM budget: one row per pool (count × element size = bytes), totals against
//! `budget.ram_max` and the board, and the TCP buffer picture (reserved bytes, worst case under
//! load). One [`Budget`] value is rendered as text, Markdown or JSON through the askama templates
//! in `stackgen/templates/`.

use askama::Template;
use serde::Serialize;

use crate::plan::{Owner, Plan};
use crate::profile::TcpBuffers;
use crate::units::format_size;

/// One pool row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Stable identifier for tools.
    pub id: &'static str,
    /// What the pool holds.
    pub pool: &'static str,
    /// The profile key that sets the count.
    pub knob: &'static str,
    /// Elements.
    pub count: u64,
    /// Bytes per element.
    pub element: u64,
    /// count × element.
    pub bytes: u64,
    /// `application` or `stack`.
    pub owner: Owner,
    /// What one element is made of.
    pub detail: String,
}

/// How TCP data takes memory, and how much the worst case would want.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpLoad {
    /// `shared` or `reserved`.
    pub mode: &'static str,
    /// TCP sockets.
    pub sockets: u64,
    /// Receive window per socket, bytes.
    pub rx_window: u64,
    /// Send buffer per socket, bytes.
    pub send_buffer: u64,
    /// Bytes set aside per socket for its data (0 when shared).
    pub reserved_per_socket: u64,
    /// Bytes set aside for TCP data in total (sockets × reserved_per_socket).
    pub reserved_bytes: u64,
    /// Packet buffers TCP data may hold at once (`tcp.segments`): it has no pool of its own.
    pub segments: u64,
    /// TCP payload bytes one packet buffer holds (one MSS when the buffer is large enough).
    pub per_buffer: u64,
    /// Packet buffers TCP data never takes (left for ARP, ICMP, UDP, DHCP/DNS, TCP control).
    pub frame_reserve: u64,
    /// Segment data TCP may hold in the packet buffers (`segments × per_buffer`), bytes.
    pub shared_capacity: u64,
    /// Every socket with a full window and a full send buffer: sockets × (rx_window + send_buffer).
    pub worst_case_bytes: u64,
    /// Connections the workload declares, if any.
    pub workload_connections: Option<u64>,
    /// What those connections want at full windows: connections × (rx_window + send_buffer).
    pub workload_bytes: Option<u64>,
}

/// The whole budget of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The profile's display name (path).
    pub profile: String,
    /// `stack.name`.
    pub stack: String,
    /// The board.
    pub board: &'static str,
    /// The target triple.
    pub target: String,
    /// One row per pool.
    pub rows: Vec<Row>,
    /// Sum of all rows.
    pub total: u64,
    /// Sum of the application's rows.
    pub application_total: u64,
    /// Sum of the stack's own rows.
    pub stack_total: u64,
    /// `budget.ram_max`.
    pub ram_max: Option<u64>,
    /// `ram_max − total` (negative when over).
    pub headroom: Option<i64>,
    /// The board's RAM.
    pub board_ram: Option<u64>,
    /// `budget.flash_max`.
    pub flash_max: Option<u64>,
    /// TCP buffer picture, when TCP is on.
    pub tcp: Option<TcpLoad>,
}

/// Output formats of `stackgen budget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// A table for the terminal.
    Text,
    /// A Markdown table, for review in a pull request.
    Markdown,
    /// JSON, for tools and CI gates.
    Json,
}

impl Budget {
    /// Builds the budget of a plan, shown under the profile name `profile`.
    pub fn from_plan(plan: &Plan, profile: &str) -> Budget {
        let rows: Vec<Row> = plan
            .pools
            .iter()
            .map(|pool| Row {
                id: pool.id,
                pool: pool.name,
                knob: pool.knob,
                count: pool.count,
                element: pool.element,
                bytes: pool.bytes(),
                owner: pool.owner,
                detail: pool.detail.clone(),
            })
            .collect();
        let total = rows.iter().map(|r| r.bytes).sum();
        let application_total = rows
            .iter()
            .filter(|r| r.owner == Owner::Application)
            .map(|r| r.bytes)
            .sum();
        let tcp = plan.tcp.as_ref().map(|tcp| {
            let per_socket = tcp.rx_window + tcp.send_buffer;
            let reserved = tcp.buffers == TcpBuffers::Reserved;
            let connections = plan.workload.concurrent_connections;
            TcpLoad {
                mode: if reserved { "reserved" } else { "shared" },
                sockets: tcp.sockets,
                rx_window: tcp.rx_window,
                send_buffer: tcp.send_buffer,
                reserved_per_socket: if reserved { per_socket } else { 0 },
                reserved_bytes: if reserved {
                    tcp.sockets * per_socket
                } else {
                    0
                },
                segments: tcp.segments.min(crate::plan::TCP_SEGMENTS_MAX),
                per_buffer: tcp.tx_payload_per_buffer,
                frame_reserve: crate::plan::FRAME_RESERVE,
                shared_capacity: tcp.segments.min(crate::plan::TCP_SEGMENTS_MAX)
                    * tcp.tx_payload_per_buffer,
                worst_case_bytes: tcp.sockets * per_socket,
                workload_connections: connections,
                workload_bytes: connections.map(|c| c * per_socket),
            }
        });
        Budget {
            profile: profile.to_string(),
            stack: plan.name.clone(),
            board: plan.board.name,
            target: plan.target.clone(),
            rows,
            total,
            application_total,
            stack_total: total - application_total,
            ram_max: plan.limits.ram_max,
            headroom: plan.limits.ram_max.map(|max| {
                i64::try_from(max).unwrap_or(i64::MAX) - i64::try_from(total).unwrap_or(i64::MAX)
            }),
            board_ram: plan.board.ram,
            flash_max: plan.limits.flash_max,
            tcp,
        }
    }

    /// Renders the budget in a format.
    pub fn render(&self, format: Format) -> String {
        let result = match format {
            Format::Text => TextTemplate::new(self).render(),
            Format::Markdown => MarkdownTemplate { b: self }.render(),
            Format::Json => JsonTemplate { b: self }.render(),
        };
        // The templates only read fields of plain values; rendering cannot fail.
        let mut text = result
            .unwrap_or_else(|error| format!("stackgen: could not render the budget: {error}"));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    /// `"66% of budget.ram_max"` style figure: percent of `ram_max` used.
    pub fn percent_used(&self) -> Option<u64> {
        self.ram_max
            .filter(|max| *max > 0)
            .map(|max| (self.total * 100).div_ceil(max))
    }
}

/// A row with its columns padded for the terminal table.
struct TextRow {
    pool: String,
    knob: String,
    count: String,
    element: String,
    bytes: String,
    owner: &'static str,
}

#[derive(Template)]
#[template(path = "budget.txt", escape = "none")]
struct TextTemplate<'a> {
    b: &'a Budget,
    rows: Vec<TextRow>,
    header: TextRow,
    total_pad: String,
    total: String,
}

impl<'a> TextTemplate<'a> {
    fn new(b: &'a Budget) -> Self {
        let pool_w = b
            .rows
            .iter()
            .map(|r| r.pool.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let knob_w = b
            .rows
            .iter()
            .map(|r| r.knob.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let bytes_w = b.total.to_string().len().max(5);
        let row =
            |pool: &str, knob: &str, count: &str, element: &str, bytes: &str, owner| TextRow {
                pool: format!("{pool:<pool_w$}"),
                knob: format!("{knob:<knob_w$}"),
                count: format!("{count:>5}"),
                element: format!("{element:>7}"),
                bytes: format!("{bytes:>bytes_w$}"),
                owner,
            };
        let rows = b
            .rows
            .iter()
            .map(|r| {
                row(
                    r.pool,
                    r.knob,
                    &r.count.to_string(),
                    &r.element.to_string(),
                    &r.bytes.to_string(),
                    match r.owner {
                        Owner::Application => "application",
                        Owner::Stack => "stack",
                    },
                )
            })
            .collect();
        Self {
            b,
            rows,
            header: row("pool", "knob", "count", "element", "bytes", "owner"),
            // "pool  knob  count × element = " spans pool_w + knob_w + 2 + 2 + 5 + 3 + 7 + 3.
            total_pad: format!("{:<w$}", "total", w = pool_w + knob_w + 4 + 5 + 3 + 7 + 3),
            total: format!("{:>bytes_w$}", b.total),
        }
    }
}

#[derive(Template)]
#[template(path = "budget.md", escape = "none")]
struct MarkdownTemplate<'a> {
    b: &'a Budget,
}

#[derive(Template)]
#[template(path = "budget.json", escape = "none")]
struct JsonTemplate<'a> {
    b: &'a Budget,
}

/// Formatting the templates call: sizes, JSON literals.
trait Show {
    /// `16 KiB` or `1536 B`.
    fn size(&self, bytes: &u64) -> String {
        format_size(*bytes)
    }

    /// `Some(x)` as a JSON value, `None` as `null`.
    fn json_opt<T: Serialize>(&self, value: &Option<T>) -> String {
        serde_json::to_string(value).unwrap_or_else(|_| "null".into())
    }

    /// A string as a JSON string literal.
    fn json_str(&self, value: &str) -> String {
        serde_json::to_string(value).unwrap_or_else(|_| "\"\"".into())
    }

    /// The owner as a word.
    fn owner(&self, owner: &Owner) -> &'static str {
        match owner {
            Owner::Application => "application",
            Owner::Stack => "stack",
        }
    }
}

impl Show for TextTemplate<'_> {}
impl Show for MarkdownTemplate<'_> {}
impl Show for JsonTemplate<'_> {}
