//! Reads a linked firmware ELF back: the exact memory budget `stackgen build` reports.
//!
//! The plan's budget is an estimate; the linker's output is the truth. [`measure`] reads:
//!
//! * **sections** as `llvm-size` counts them (Berkeley format: `text` = allocated read-only
//!   sections with contents, `data` = allocated writable sections with contents, `bss` = allocated
//!   `NOBITS`);
//! * **pools**: each pool's `static` by name in the symbol table (local symbols included), its
//!   size the symbol's size: the whole `StaticCell`/`ConstStaticCell`, flag byte and padding
//!   included;
//! * **other RAM**: every other sized symbol of a RAM section by owning crate, plus the
//!   `(padding)` no symbol covers, so that pools and other RAM add up to `data + bss`;
//! * **flash by module**: code through the DWARF line tables (inlined code counts to the
//!   file it was written in), read-only data through its symbols, the vector table and the
//!   initial image of `.data`, adding up to `text + data`.
//!
//! [`write_bin`] writes the raw binary image (`objcopy -O binary`).
//!
//! The ELF is user input: every defect is a [`MeasureError`], never a panic.

mod bin;
mod elf;
mod flash;
pub mod names;
mod ram;

use std::path::{Path, PathBuf};

pub use bin::{MAX_BIN_BYTES, write_bin};
pub use flash::{DATA_IMAGE, NO_LINE_INFO, RODATA, VECTOR_TABLE};
pub use ram::{PADDING, UNNAMED};

use crate::build::model::{MeasureError, Measurement, PoolSymbol, SectionTotals};

/// What the caller knows about the firmware that the ELF cannot say: which statics are the
/// plan's pools, and where the application and the generated code live (to tell their code
/// apart from the rest in the flash table).
#[derive(Debug, Clone, Copy, Default)]
pub struct MeasureOptions<'a> {
    /// The plan's pools, looked up by static name.
    pub pools: &'a [PoolSymbol],
    /// The application crate's directory: source files under it are
    /// [`FlashOwner::Application`](crate::build::model::FlashOwner::Application).
    pub app_dir: Option<&'a Path>,
    /// The application crate's name as it appears in symbols (`qemu_services`); defaults to
    /// the package name in `app_dir/Cargo.toml` (else the directory's name), `-` replaced by
    /// `_`.
    pub app_crate: Option<&'a str>,
    /// Directories of generated stack code (besides any `stackgen-generated` or
    /// `target/stackgen` directory, always recognised): source files under them are
    /// [`FlashOwner::Generated`](crate::build::model::FlashOwner::Generated).
    pub generated_dirs: &'a [PathBuf],
}

impl<'a> MeasureOptions<'a> {
    /// Options that look up `pools` and know nothing else.
    pub fn new(pools: &'a [PoolSymbol]) -> Self {
        MeasureOptions {
            pools,
            ..MeasureOptions::default()
        }
    }
}

/// Measures the linked ELF at `elf`: section totals, the pools of `options.pools`, the rest
/// of RAM by crate and flash by module (see the module documentation for the rules).
///
/// Errors when the file cannot be read or parsed, has no symbol table, when a pool's static
/// is missing, ambiguous or not in RAM, or when its DWARF cannot be read.
pub fn measure(elf: &Path, options: &MeasureOptions<'_>) -> Result<Measurement, MeasureError> {
    let image = elf::Image::open(elf)?;
    measure_image(&image, options)
}

/// [`measure`] on an ELF already in memory (`path` names it in messages).
pub fn measure_bytes(
    path: &str,
    data: Vec<u8>,
    options: &MeasureOptions<'_>,
) -> Result<Measurement, MeasureError> {
    let image = elf::Image::parse(path.to_owned(), data)?;
    measure_image(&image, options)
}

/// The measurement of a parsed image.
fn measure_image(
    image: &elf::Image,
    options: &MeasureOptions<'_>,
) -> Result<Measurement, MeasureError> {
    if !image
        .sections
        .iter()
        .any(|s| s.kind == object::elf::SHT_SYMTAB.0)
    {
        return Err(MeasureError::NoSymbols {
            path: image.path.clone(),
        });
    }
    let sections = section_totals(image);
    let (pools, other_ram) = ram::measure_ram(image, options.pools)?;
    let app_crate = options
        .app_crate
        .map(str::to_owned)
        .or_else(|| options.app_dir.and_then(package_name));
    let rules = names::PathRules {
        app_dir: options.app_dir,
        app_crate: app_crate.as_deref(),
        generated_dirs: options.generated_dirs,
    };
    let flash = flash::measure_flash(image, &rules)?;
    Ok(Measurement {
        sections,
        pools,
        other_ram,
        flash,
    })
}

/// The crate name of the package in `dir` (`[package] name` of its `Cargo.toml`, else the
/// directory's name), as it appears in symbols.
fn package_name(dir: &Path) -> Option<String> {
    let from_manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| {
            manifest
                .get("package")?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        });
    from_manifest
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .map(|name| name.replace('-', "_"))
}

/// llvm-size's Berkeley totals.
fn section_totals(image: &elf::Image) -> SectionTotals {
    let mut totals = SectionTotals {
        text: 0,
        data: 0,
        bss: 0,
    };
    for section in &image.sections {
        if section.is_berkeley_text() {
            totals.text += section.size;
        } else if section.is_berkeley_data() {
            totals.data += section.size;
        } else if section.is_berkeley_bss() {
            totals.bss += section.size;
        }
    }
    totals
}
