//! RAM: the plan's pools by symbol, every other static by owning crate, and the bytes no
//! symbol covers, so that the rows add up to `.data` + `.bss` exactly.

use std::collections::BTreeMap;

use super::elf::{Image, Section};
use super::names;
use crate::build::model::{MeasureError, MeasuredPool, PoolSymbol, RamGroup, RamSection};

/// The owner of RAM bytes that no symbol covers (alignment padding, linker fills, stack
/// reserve placed inside `.bss`).
pub const PADDING: &str = "(padding)";

/// The owner of symbols without a Rust path (linker-defined, C, assembly).
pub const UNNAMED: &str = "(unnamed)";

/// The RAM kind of a section counted in llvm-size's `data` or `bss` column, `None` for any
/// other section.
fn ram_section(section: &Section) -> Option<RamSection> {
    if section.is_berkeley_data() {
        Some(RamSection::Data)
    } else if section.is_berkeley_bss() {
        Some(RamSection::Bss)
    } else {
        None
    }
}

/// Finds each pool's symbol and groups the rest of RAM by crate.
pub fn measure_ram(
    image: &Image,
    pools: &[PoolSymbol],
) -> Result<(Vec<MeasuredPool>, Vec<RamGroup>), MeasureError> {
    // Demangle once: (symbol index, demangled name without hash).
    let demangled: Vec<Option<String>> = image
        .symbols
        .iter()
        .map(|s| names::demangle(&s.name))
        .collect();

    let mut measured = Vec::with_capacity(pools.len());
    let mut pool_symbols = Vec::with_capacity(pools.len());
    for pool in pools {
        let suffix = format!("::{}", pool.static_name);
        // Distinct (address, size, name): the same static listed twice is one match.
        let mut matches: Vec<(u64, u64, usize, &str)> = image
            .symbols
            .iter()
            .zip(&demangled)
            .enumerate()
            .filter_map(|(i, (symbol, name))| {
                let name = name.as_deref()?;
                name.ends_with(&suffix)
                    .then_some((symbol.addr, symbol.size, i, name))
            })
            .collect();
        matches.sort_by(|a, b| (a.0, a.1, a.3).cmp(&(b.0, b.1, b.3)));
        matches.dedup_by(|a, b| (a.0, a.1, a.3) == (b.0, b.1, b.3));
        let (addr, size, index, name) = match matches.as_slice() {
            [] => {
                return Err(MeasureError::MissingPool {
                    id: pool.id.clone(),
                    static_name: pool.static_name.clone(),
                    path: image.path.clone(),
                });
            }
            [one] => *one,
            many => {
                return Err(MeasureError::AmbiguousPool {
                    id: pool.id.clone(),
                    static_name: pool.static_name.clone(),
                    candidates: many.iter().map(|m| m.3.to_owned()).collect(),
                });
            }
        };
        let section_index = image.symbols[index].section;
        let section = image.sections.get(section_index);
        let kind = section
            .and_then(ram_section)
            .ok_or_else(|| MeasureError::PoolNotInRam {
                id: pool.id.clone(),
                symbol: name.to_owned(),
                section: section.map_or_else(|| format!("#{section_index}"), |s| s.name.clone()),
            })?;
        measured.push(MeasuredPool {
            id: pool.id.clone(),
            symbol: name.to_owned(),
            bytes: size,
            section: kind,
        });
        pool_symbols.push((section_index, addr, addr.saturating_add(size)));
    }

    // Other RAM, section by section: pools claim their bytes first, then every other sized
    // symbol the bytes not yet claimed, in address order; the rest is padding.
    let mut groups: BTreeMap<String, RamGroup> = BTreeMap::new();
    let mut add = |owner: &str, kind: RamSection, bytes: u64| {
        if bytes == 0 {
            return;
        }
        let group = groups.entry(owner.to_owned()).or_insert_with(|| RamGroup {
            owner: owner.to_owned(),
            data: 0,
            bss: 0,
        });
        match kind {
            RamSection::Data => group.data += bytes,
            RamSection::Bss => group.bss += bytes,
        }
    };
    for (section_index, section) in image.sections.iter().enumerate() {
        let Some(kind) = ram_section(section) else {
            continue;
        };
        let mut claimed = Claimed::default();
        for &(_, start, end) in pool_symbols.iter().filter(|p| p.0 == section_index) {
            claimed.claim(start.max(section.addr), end.min(section.end()));
        }
        let mut others: Vec<(u64, u64, usize)> = image
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.section == section_index && s.size > 0)
            .map(|(i, s)| (s.addr, s.addr.saturating_add(s.size), i))
            .collect();
        others.sort_unstable();
        for (start, end, i) in others {
            let bytes = claimed.claim(start.max(section.addr), end.min(section.end()));
            let owner = demangled[i]
                .as_deref()
                .and_then(names::item_path)
                .and_then(|path| path.into_iter().next())
                .unwrap_or_else(|| UNNAMED.to_owned());
            add(&owner, kind, bytes);
        }
        add(PADDING, kind, section.size - claimed.total());
    }
    let mut groups: Vec<RamGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        (b.data + b.bss)
            .cmp(&(a.data + a.bss))
            .then_with(|| a.owner.cmp(&b.owner))
    });
    Ok((measured, groups))
}

/// Disjoint address intervals already attributed, sorted by start.
#[derive(Debug, Default)]
pub struct Claimed {
    intervals: Vec<(u64, u64)>,
}

impl Claimed {
    /// Claims the bytes of `[start, end)` not claimed yet and returns how many that was.
    pub fn claim(&mut self, start: u64, end: u64) -> u64 {
        if start >= end {
            return 0;
        }
        let mut free = Vec::new();
        let mut cursor = start;
        // Intervals are disjoint and sorted: the first that may overlap is the last one
        // starting before `start`.
        let first = self.intervals.partition_point(|&(_, e)| e <= start);
        for &(s, e) in &self.intervals[first..] {
            if s >= end {
                break;
            }
            if s > cursor {
                free.push((cursor, s));
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            free.push((cursor, end));
        }
        let bytes = free.iter().map(|(s, e)| e - s).sum();
        self.intervals.extend(free);
        self.intervals.sort_unstable();
        bytes
    }

    /// Total bytes claimed.
    pub fn total(&self) -> u64 {
        self.intervals.iter().map(|(s, e)| e - s).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Claimed;

    #[test]
    fn claims_count_each_byte_once() {
        let mut claimed = Claimed::default();
        assert_eq!(claimed.claim(10, 20), 10);
        assert_eq!(claimed.claim(15, 25), 5);
        assert_eq!(claimed.claim(0, 30), 15);
        assert_eq!(claimed.claim(5, 26), 0);
        assert_eq!(claimed.claim(40, 40), 0);
        assert_eq!(claimed.total(), 30);
    }
}
