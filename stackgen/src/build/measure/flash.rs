//! Flash by module: code by the DWARF line tables, read-only data by symbol, plus the vector
//! table and the initial image of `.data`, so that the modules add up to llvm-size's
//! `text` + `data` exactly.
//!
//! Code is attributed through `.debug_line` rather than through function symbols because
//! with LTO a protocol's functions are inlined into their callers: the line rows of inlined
//! code still name the inlinee's source file, so `wire/tcp.rs` parsing inlined into
//! `iface/mod.rs`'s poll loop is counted to `tcp`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gimli::{EndianSlice, RunTimeEndian};

use super::elf::{Image, Section};
use super::names::{self, PathRules};
use crate::build::model::{FlashModule, FlashOwner, MeasureError};

/// The module of executable bytes no line row covers (hand-written assembly, linker veneers,
/// code of objects built without debug information).
pub const NO_LINE_INFO: &str = "(no line info)";
/// The module of read-only data no Rust symbol owns (anonymous constants, string literals,
/// padding).
pub const RODATA: &str = "(rodata)";
/// The module of the interrupt vector table.
pub const VECTOR_TABLE: &str = "vector table";
/// The module of the initial image of `.data`, copied to RAM at start-up.
pub const DATA_IMAGE: &str = ".data image";

/// Section names of interrupt vector tables (cortex-m-rt, C start-up files).
const VECTOR_TABLE_SECTIONS: &[&str] = &[".vector_table", ".isr_vector"];

/// `(owner, module)` pairs numbered in order of appearance.
#[derive(Debug, Default)]
struct Modules {
    ids: HashMap<(FlashOwner, String), usize>,
    rows: Vec<FlashModule>,
}

impl Modules {
    /// The number of `(owner, module)`, created with zero bytes when new.
    fn id(&mut self, owner: FlashOwner, module: &str) -> usize {
        if let Some(&id) = self.ids.get(&(owner, module.to_owned())) {
            return id;
        }
        let id = self.rows.len();
        self.rows.push(FlashModule {
            owner,
            module: module.to_owned(),
            text: 0,
            rodata: 0,
        });
        self.ids.insert((owner, module.to_owned()), id);
        id
    }
}

/// Measures flash by module; see the module documentation.
pub fn measure_flash(
    image: &Image,
    rules: &PathRules<'_>,
) -> Result<Vec<FlashModule>, MeasureError> {
    let mut modules = Modules::default();
    let mut exec: Vec<&Section> = image
        .sections
        .iter()
        .filter(|s| s.is_berkeley_text() && s.is_exec() && s.size > 0)
        .collect();
    exec.sort_by_key(|s| s.addr);

    let (intervals, crates) = line_intervals(image, rules, &exec, &mut modules)?;
    attribute_code(&exec, intervals, &mut modules);

    for (index, section) in image.sections.iter().enumerate() {
        if section.is_berkeley_text() && !section.is_exec() {
            attribute_rodata(image, index, &crates, rules, &mut modules);
        }
    }

    let data_image: u64 = image
        .sections
        .iter()
        .filter(|s| s.is_berkeley_data())
        .map(|s| s.size)
        .sum();
    let id = modules.id(FlashOwner::Other, DATA_IMAGE);
    modules.rows[id].rodata += data_image;

    let mut rows: Vec<FlashModule> = modules
        .rows
        .into_iter()
        .filter(|m| m.text + m.rodata > 0)
        .collect();
    rows.sort_by(|a, b| {
        (b.text + b.rodata)
            .cmp(&(a.text + a.rodata))
            .then_with(|| a.owner.cmp(&b.owner))
            .then_with(|| a.module.cmp(&b.module))
    });
    Ok(rows)
}

/// An address range and the module its code belongs to.
type Interval = (u64, u64, usize);

/// The address range of an inlined call: `(begin, end, nesting depth, module of the call
/// site's file)`.
type InlinedCall = (u64, u64, isize, usize);

/// The DWARF reader over the ELF's bytes.
type Reader<'a> = EndianSlice<'a, RunTimeEndian>;

/// Walks every line program: each row's range `[row, next row)` of one sequence becomes an
/// interval of the module of the row's file. Sequences that do not start inside an
/// executable section (code the linker discarded, whose addresses it set to 0 or a tombstone)
/// are skipped.
///
/// Code of `core`/`alloc` inlined into other code (iterators, slice indexing, `Option`
/// combinators…) is counted to the module that called it: the innermost inlined call
/// (`DW_TAG_inlined_subroutine`) around it whose call site is outside the Rust library. Only
/// out-of-line library functions stay [`FlashOwner::Core`].
///
/// Also returns, from the compilation units' names (`…/@/<crate>.<hash>-cgu.0`), which module
/// each crate's root file belongs to.
fn line_intervals(
    image: &Image,
    rules: &PathRules<'_>,
    exec: &[&Section],
    modules: &mut Modules,
) -> Result<(Vec<Interval>, HashMap<String, usize>), MeasureError> {
    let dwarf_error = |e: gimli::Error| MeasureError::Dwarf {
        path: image.path.clone(),
        reason: e.to_string(),
    };
    let endian = if image.little_endian {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let dwarf = gimli::Dwarf::load(|id| {
        Ok::<_, gimli::Error>(EndianSlice::new(image.section_data(id.name()), endian))
    })
    .map_err(dwarf_error)?;
    let in_exec = |addr: u64| exec.iter().any(|s| s.contains(addr));

    let mut intervals = Vec::new();
    let mut inlined = Vec::new();
    let mut crates = HashMap::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(dwarf_error)? {
        let unit = dwarf.unit(header).map_err(dwarf_error)?;
        let comp_dir = unit
            .comp_dir
            .map(|d| PathBuf::from(d.to_string_lossy().into_owned()));
        if let Some(name) = unit.name.map(|n| n.to_string_lossy().into_owned())
            && let Some((root, cgu)) = name.split_once("/@/")
        {
            let krate = cgu.split('.').next().unwrap_or(cgu).to_owned();
            let root = join(comp_dir.as_deref(), Path::new(root));
            let (owner, module) = names::classify_path(&root.to_string_lossy(), rules);
            crates.insert(krate, modules.id(owner, &module));
        }
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut files = FileModules {
            dwarf: &dwarf,
            unit: &unit,
            comp_dir: comp_dir.as_deref(),
            rules,
            cache: HashMap::new(),
        };

        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs().map_err(dwarf_error)? {
            if entry.tag() != gimli::DW_TAG_inlined_subroutine {
                continue;
            }
            let Some(gimli::AttributeValue::FileIndex(file)) =
                entry.attr_value(gimli::DW_AT_call_file)
            else {
                continue;
            };
            let module = files.module(program.header(), file, modules);
            let depth = entry.depth();
            let mut ranges = dwarf.die_ranges(&unit, entry).map_err(dwarf_error)?;
            while let Some(range) = ranges.next().map_err(dwarf_error)? {
                if range.begin < range.end && in_exec(range.begin) {
                    inlined.push((range.begin, range.end, depth, module));
                }
            }
        }

        let mut rows = program.clone().rows();
        // The previous row of the current sequence, if the sequence is being counted.
        let mut previous: Option<(u64, usize)> = None;
        let mut sequence_start = true;
        while let Some((header, row)) = rows.next_row().map_err(dwarf_error)? {
            let address = row.address();
            if let Some((start, module)) = previous
                && address > start
            {
                intervals.push((start, address, module));
            }
            if row.end_sequence() {
                previous = None;
                sequence_start = true;
                continue;
            }
            if sequence_start {
                sequence_start = false;
                if !in_exec(address) {
                    // Skip the whole sequence: `previous` stays `None` until its end.
                    continue;
                }
            } else if previous.is_none() {
                continue;
            }
            let module = files.module(header, row.file_index(), modules);
            previous = Some((address, module));
        }
    }
    reattribute_inlined_library_code(&mut intervals, inlined, modules);
    Ok((intervals, crates))
}

/// The modules of one unit's line-program files, resolved once each.
struct FileModules<'a, 'd> {
    dwarf: &'a gimli::Dwarf<Reader<'d>>,
    unit: &'a gimli::Unit<Reader<'d>>,
    comp_dir: Option<&'a Path>,
    rules: &'a PathRules<'a>,
    cache: HashMap<u64, usize>,
}

impl<'d> FileModules<'_, 'd> {
    /// The module of file `index` of the line program `header`.
    fn module(
        &mut self,
        header: &gimli::LineProgramHeader<Reader<'d>>,
        index: u64,
        modules: &mut Modules,
    ) -> usize {
        if let Some(&module) = self.cache.get(&index) {
            return module;
        }
        let (owner, module) = header
            .file(index)
            .and_then(|file| {
                let name = self.dwarf.attr_string(self.unit, file.path_name()).ok()?;
                let dir = file
                    .directory(header)
                    .and_then(|d| self.dwarf.attr_string(self.unit, d).ok())
                    .map(|d| PathBuf::from(d.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                let path = join(self.comp_dir, &dir).join(name.to_string_lossy().as_ref());
                Some(names::classify_path(&path.to_string_lossy(), self.rules))
            })
            .unwrap_or((FlashOwner::Other, names::OTHER_MODULE.to_owned()));
        let module = modules.id(owner, &module);
        self.cache.insert(index, module);
        module
    }
}

/// Gives the code of `core`/`alloc` inlined into other code to the innermost inlined call
/// around it whose call site is not in the Rust library (see [`line_intervals`]).
fn reattribute_inlined_library_code(
    intervals: &mut [Interval],
    mut inlined: Vec<InlinedCall>,
    modules: &Modules,
) {
    let is_library = |module: usize| {
        let row = &modules.rows[module];
        row.owner == FlashOwner::Core && matches!(row.module.as_str(), "core" | "alloc" | "std")
    };
    inlined.sort_unstable();
    intervals.sort_unstable();
    let mut next = 0;
    let mut active: Vec<InlinedCall> = Vec::new();
    for interval in intervals.iter_mut() {
        let (start, _, module) = *interval;
        if !is_library(module) {
            continue;
        }
        while let Some(&call) = inlined.get(next)
            && call.0 <= start
        {
            active.push(call);
            next += 1;
        }
        active.retain(|call| call.1 > start);
        if let Some(caller) = active
            .iter()
            .filter(|call| !is_library(call.3))
            .max_by_key(|call| call.2)
        {
            // Each inlined call's call site is in the code of the frame around it, so the
            // deepest call made from non-library code is the nearest non-library frame.
            interval.2 = caller.3;
        }
    }
}

/// `dir` resolved against the compilation directory when relative.
fn join(comp_dir: Option<&Path>, dir: &Path) -> PathBuf {
    match comp_dir {
        Some(base) if dir.is_relative() => base.join(dir),
        _ => dir.to_path_buf(),
    }
}

/// Adds the line intervals' bytes to their modules, each byte of an executable section once
/// (the earliest-starting interval wins an overlap), and the bytes no interval covers to
/// [`NO_LINE_INFO`].
fn attribute_code(exec: &[&Section], mut intervals: Vec<Interval>, modules: &mut Modules) {
    intervals.sort_unstable();
    let mut covered_until = 0u64;
    let mut attributed = 0u64;
    for (start, end, module) in intervals {
        let Some(section) = exec.iter().find(|s| s.contains(start)) else {
            continue;
        };
        let from = start.max(covered_until);
        let to = end.min(section.end());
        if from < to {
            modules.rows[module].text += to - from;
            attributed += to - from;
            covered_until = to;
        }
    }
    let total: u64 = exec.iter().map(|s| s.size).sum();
    let id = modules.id(FlashOwner::Other, NO_LINE_INFO);
    modules.rows[id].text += total - attributed;
}

/// Attributes a non-executable flash section: a vector table whole, anything else by the
/// symbols in it (their crate; stack-runtime's by protocol module), the rest to [`RODATA`].
fn attribute_rodata(
    image: &Image,
    index: usize,
    crates: &HashMap<String, usize>,
    rules: &PathRules<'_>,
    modules: &mut Modules,
) {
    let section = &image.sections[index];
    if VECTOR_TABLE_SECTIONS.contains(&section.name.as_str()) {
        let id = modules.id(FlashOwner::Other, VECTOR_TABLE);
        modules.rows[id].rodata += section.size;
        return;
    }
    let mut symbols: Vec<(u64, u64, &str)> = image
        .symbols
        .iter()
        .filter(|s| s.section == index && s.size > 0)
        .map(|s| (s.addr, s.addr.saturating_add(s.size), s.name.as_str()))
        .collect();
    symbols.sort_unstable();
    let mut covered_until = section.addr;
    let mut attributed = 0;
    for (start, end, name) in symbols {
        let from = start.max(covered_until);
        let to = end.min(section.end());
        if from >= to {
            continue;
        }
        let id = symbol_module(name, crates, rules, modules);
        modules.rows[id].rodata += to - from;
        attributed += to - from;
        covered_until = to;
    }
    let id = modules.id(FlashOwner::Other, RODATA);
    modules.rows[id].rodata += section.size - attributed;
}

/// The module of a read-only data symbol, from its demangled path.
fn symbol_module(
    raw: &str,
    crates: &HashMap<String, usize>,
    rules: &PathRules<'_>,
    modules: &mut Modules,
) -> usize {
    let Some(path) = names::demangle(raw).and_then(|d| names::item_path(&d)) else {
        return modules.id(FlashOwner::Other, RODATA);
    };
    let Some(krate) = path.first() else {
        return modules.id(FlashOwner::Other, RODATA);
    };
    match krate.as_str() {
        "stack_runtime" => modules.id(FlashOwner::Stack, names::stack_module(&path[1..])),
        "core" | "alloc" | "std" | "compiler_builtins" => modules.id(FlashOwner::Core, krate),
        _ if rules.app_crate == Some(krate.as_str()) => modules.id(FlashOwner::Application, krate),
        _ => match crates.get(krate) {
            Some(&id) => id,
            None => modules.id(FlashOwner::Dependency, krate),
        },
    }
}
