//! What to shrink when the firmware is over `budget.ram_max` or `budget.flash_max`: a pure
//! function of the plan's pools and the measured flash, so the advice is the same in every
//! format and can be tested without an ELF.
//!
//! RAM: the pools whose profile knob sets a count are levers; reducing the count by
//! `ceil(over / bytes per step)` (never below 1) frees the excess. Up to three pools that alone
//! would fix it are listed, largest first; when none would alone, a combination is taken from the
//! largest down. Flash: the optional protocol modules of stack-runtime, largest first, each with
//! the profile switch that removes it, and `opt-level = "z"` as a hint.

use serde::Serialize;

use super::PoolEstimate;
use crate::build::model::{FlashModule, FlashOwner};

/// At most this many alternatives are listed.
const MAX_ALTERNATIVES: usize = 3;

/// The hint printed with every flash advice.
pub const OPT_LEVEL_HINT: &str =
    "set `opt-level = \"z\"` in the firmware's `[profile.release]` to optimise for size";

/// One pool count to lower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolShrink {
    /// The plan's pool id.
    pub id: String,
    /// What the pool holds.
    pub name: String,
    /// The profile key to change.
    pub knob: String,
    /// The knob's value today.
    pub from: u64,
    /// The value that frees enough.
    pub to: u64,
    /// Bytes saved by the change.
    pub saves: u64,
    /// The knob counts per TCP socket (`tcp.out_of_order_segments`), not the whole pool.
    pub per_socket: bool,
}

/// How the listed pool changes fix RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RamFix {
    /// Any one of the listed changes is enough.
    AnyOne,
    /// All the listed changes together are needed.
    Together,
    /// Even all the listed changes leave RAM over the limit.
    NotEnough,
}

/// Advice when RAM is over `budget.ram_max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RamAdvice {
    /// Bytes over the limit.
    pub over_by: u64,
    /// How the changes combine.
    pub fix: RamFix,
    /// The changes, largest pool first.
    pub shrinks: Vec<PoolShrink>,
    /// Bytes still over after all the changes (0 unless `fix` is `not_enough`).
    pub still_over: u64,
}

/// One optional protocol whose code could go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolCut {
    /// The stack-runtime module (`tcp`).
    pub module: String,
    /// The profile switch that removes it (`protocols.tcp`).
    pub key: String,
    /// Flash the module takes (text + rodata), about what turning it off saves.
    pub bytes: u64,
    /// Whether turning it off alone would bring flash under the limit.
    pub enough_alone: bool,
    /// What else depends on it, when something does.
    pub note: Option<String>,
}

/// Advice when flash is over `budget.flash_max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlashAdvice {
    /// Bytes over the limit.
    pub over_by: u64,
    /// The largest optional protocols, largest first.
    pub cuts: Vec<ProtocolCut>,
    /// Compiler setting to try as well.
    pub hint: &'static str,
}

/// A pool whose knob can be lowered, in knob units.
struct Lever<'a> {
    pool: &'a PoolEstimate,
    /// The knob's value.
    value: u64,
    /// Bytes freed per unit of the knob.
    step: u64,
    per_socket: bool,
}

impl Lever<'_> {
    /// The most this lever can free (down to a knob value of 1).
    fn most(&self) -> u64 {
        (self.value - 1).saturating_mul(self.step)
    }

    /// The change that frees `need` bytes, or as much as it can.
    fn shrink(&self, need: u64) -> PoolShrink {
        let steps = need.div_ceil(self.step).min(self.value - 1);
        PoolShrink {
            id: self.pool.id.clone(),
            name: self.pool.name.clone(),
            knob: self.pool.knob.clone(),
            from: self.value,
            to: self.value - steps,
            saves: steps * self.step,
            per_socket: self.per_socket,
        }
    }
}

/// The knob of a pool as a lever, when its value sets the pool's count. Pools sized by a
/// protocol switch (`protocols.dhcpv4`), by the interfaces, or by a byte size
/// (`tcp.rx_window` in reserved mode) are not levers.
fn lever(pool: &PoolEstimate, tcp_sockets: Option<u64>) -> Option<Lever<'_>> {
    let knob = pool.knob.as_str();
    if knob.starts_with("protocols.")
        || knob.starts_with('[')
        || knob == "tcp.rx_window"
        || knob == "tcp.send_buffer"
    {
        return None;
    }
    let (value, step, per_socket) = if knob == "tcp.out_of_order_segments" {
        let sockets = tcp_sockets.filter(|s| *s > 0 && pool.count.is_multiple_of(*s))?;
        (
            pool.count / sockets,
            pool.element.saturating_mul(sockets),
            true,
        )
    } else {
        (pool.count, pool.element, false)
    };
    (value > 1 && step > 0).then_some(Lever {
        pool,
        value,
        step,
        per_socket,
    })
}

/// What to shrink to free `over_by` bytes of RAM.
pub fn ram_advice(pools: &[PoolEstimate], over_by: u64) -> RamAdvice {
    let sockets = pools.iter().find(|p| p.id == "tcp_slots").map(|p| p.count);
    let mut levers: Vec<Lever> = pools.iter().filter_map(|p| lever(p, sockets)).collect();
    levers.sort_by(|a, b| {
        b.pool
            .bytes
            .cmp(&a.pool.bytes)
            .then(a.pool.id.cmp(&b.pool.id))
    });

    let singles: Vec<PoolShrink> = levers
        .iter()
        .filter(|l| l.most() >= over_by)
        .take(MAX_ALTERNATIVES)
        .map(|l| l.shrink(over_by))
        .collect();
    if !singles.is_empty() {
        return RamAdvice {
            over_by,
            fix: RamFix::AnyOne,
            shrinks: singles,
            still_over: 0,
        };
    }
    let mut need = over_by;
    let mut shrinks = Vec::new();
    for l in &levers {
        if need == 0 {
            break;
        }
        let shrink = l.shrink(need);
        need = need.saturating_sub(shrink.saves);
        shrinks.push(shrink);
    }
    RamAdvice {
        over_by,
        fix: if need == 0 {
            RamFix::Together
        } else {
            RamFix::NotEnough
        },
        shrinks,
        still_over: need,
    }
}

/// The profile switch of an optional stack-runtime module, and what depends on it.
fn protocol_key(module: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match module {
        "tcp" => ("protocols.tcp", None),
        "udp" => (
            "protocols.udp",
            Some("the DHCPv4 client and the DNS resolver run on UDP: turn them off too"),
        ),
        "dhcp" | "dhcpv4" => ("protocols.dhcpv4", None),
        "dns" => ("protocols.dns", None),
        "icmp" | "icmpv4" => ("protocols.icmpv4", None),
        _ => return None,
    })
}

/// What to turn off to free `over_by` bytes of flash.
pub fn flash_advice(modules: &[FlashModule], over_by: u64) -> FlashAdvice {
    let mut cuts: Vec<ProtocolCut> = Vec::new();
    for m in modules.iter().filter(|m| m.owner == FlashOwner::Stack) {
        let Some((key, note)) = protocol_key(&m.module) else {
            continue;
        };
        let bytes = m.text + m.rodata;
        match cuts.iter_mut().find(|c| c.key == key) {
            Some(cut) => cut.bytes += bytes,
            None => cuts.push(ProtocolCut {
                module: m.module.clone(),
                key: key.to_string(),
                bytes,
                enough_alone: false,
                note: note.map(str::to_string),
            }),
        }
    }
    cuts.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.key.cmp(&b.key)));
    cuts.truncate(MAX_ALTERNATIVES);
    for cut in &mut cuts {
        cut.enough_alone = cut.bytes >= over_by;
    }
    FlashAdvice {
        over_by,
        cuts,
        hint: OPT_LEVEL_HINT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(id: &str, knob: &str, count: u64, element: u64) -> PoolEstimate {
        PoolEstimate {
            id: id.into(),
            name: id.replace('_', " "),
            knob: knob.into(),
            count,
            element,
            bytes: count * element,
        }
    }

    fn pools() -> Vec<PoolEstimate> {
        vec![
            pool("interfaces", "[[interface]]", 1, 32),
            pool("rx_packet_buffers", "buffers.rx_count", 12, 1544),
            pool("tx_packet_buffers", "buffers.tx_count", 8, 1544),
            pool("tcp_slots", "tcp.sockets", 8, 124),
            pool("tcp_segments", "tcp.segments", 32, 1460),
            pool("tcp_out_of_order", "tcp.out_of_order_segments", 32, 8),
            pool("dhcpv4_socket", "protocols.dhcpv4", 1, 1200),
        ]
    }

    #[test]
    fn one_pool_fixes_it() {
        let advice = ram_advice(&pools(), 17_000);
        assert_eq!(advice.fix, RamFix::AnyOne);
        assert_eq!(advice.shrinks.len(), 1, "only tcp_segments frees 17,000 B");
        let s = &advice.shrinks[0];
        assert_eq!(
            (s.knob.as_str(), s.from, s.to, s.saves),
            ("tcp.segments", 32, 20, 17_520)
        );
    }

    #[test]
    fn up_to_three_alternatives_largest_first() {
        let advice = ram_advice(&pools(), 3000);
        assert_eq!(advice.fix, RamFix::AnyOne);
        let knobs: Vec<_> = advice.shrinks.iter().map(|s| s.knob.as_str()).collect();
        assert_eq!(
            knobs,
            ["tcp.segments", "buffers.rx_count", "buffers.tx_count"]
        );
        assert_eq!((advice.shrinks[1].from, advice.shrinks[1].to), (12, 10));
        assert_eq!(advice.shrinks[1].saves, 3088);
    }

    #[test]
    fn combination_when_no_pool_alone_is_enough() {
        // tcp_segments frees at most 31 × 1460 = 45,260 B; rx buffers 11 × 1544 = 16,984 B.
        let advice = ram_advice(&pools(), 50_000);
        assert_eq!(advice.fix, RamFix::Together);
        assert_eq!(advice.shrinks[0].to, 1);
        assert_eq!(advice.shrinks[0].saves, 45_260);
        assert_eq!(advice.shrinks[1].knob, "buffers.rx_count");
        assert_eq!(advice.shrinks[1].saves, 4 * 1544);
        assert_eq!(advice.shrinks.len(), 2);
        assert_eq!(advice.still_over, 0);
    }

    #[test]
    fn not_enough_says_how_much_remains() {
        let advice = ram_advice(&pools(), 1_000_000);
        assert_eq!(advice.fix, RamFix::NotEnough);
        let freed: u64 = advice.shrinks.iter().map(|s| s.saves).sum();
        assert_eq!(advice.still_over, 1_000_000 - freed);
        assert!(advice.shrinks.iter().all(|s| s.to == 1));
        assert!(
            advice
                .shrinks
                .iter()
                .all(|s| !s.knob.starts_with("protocols.") && !s.knob.starts_with('[')),
            "switches and interfaces are not counts"
        );
    }

    #[test]
    fn out_of_order_slots_count_per_socket() {
        let only = vec![
            pool("tcp_slots", "tcp.sockets", 8, 1),
            pool("tcp_out_of_order", "tcp.out_of_order_segments", 32, 8),
        ];
        let advice = ram_advice(&only, 100);
        let s = &advice.shrinks[0];
        assert_eq!(s.knob, "tcp.out_of_order_segments");
        assert!(s.per_socket);
        // 4 per socket; one step frees 8 sockets × 8 B = 64 B; 100 B needs 2 steps.
        assert_eq!((s.from, s.to, s.saves), (4, 2, 128));
    }

    fn module(owner: FlashOwner, module: &str, text: u64) -> FlashModule {
        FlashModule {
            owner,
            module: module.into(),
            text,
            rodata: 0,
        }
    }

    #[test]
    fn flash_names_the_largest_optional_protocols() {
        let modules = vec![
            module(FlashOwner::Stack, "tcp", 20_000),
            module(FlashOwner::Stack, "ipv4", 9_000),
            module(FlashOwner::Stack, "dhcp", 4_000),
            module(FlashOwner::Stack, "udp", 2_500),
            module(FlashOwner::Stack, "icmp", 800),
            module(FlashOwner::Dependency, "dns", 50_000),
        ];
        let advice = flash_advice(&modules, 3_000);
        let keys: Vec<_> = advice.cuts.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["protocols.tcp", "protocols.dhcpv4", "protocols.udp"]);
        assert!(advice.cuts[0].enough_alone && advice.cuts[1].enough_alone);
        assert!(!advice.cuts[2].enough_alone);
        assert!(advice.cuts[2].note.is_some(), "udp carries dhcp and dns");
        assert!(advice.hint.contains("opt-level = \"z\""));
    }
}
