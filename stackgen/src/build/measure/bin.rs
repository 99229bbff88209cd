//! The raw binary image (`objcopy -O binary`): what a flasher or a bootloader writes.

use std::path::Path;

use super::elf::Image;
use crate::build::model::MeasureError;

/// The largest image [`write_bin`] writes: a larger one means sections far apart in the
/// address space (RAM contents with a RAM load address), which no flash holds.
pub const MAX_BIN_BYTES: u64 = 256 * 1024 * 1024;

/// Writes the raw binary of the ELF at `elf` to `out`, exactly as `llvm-objcopy -O binary`
/// would: every allocated section with contents, at its load address (`.data` at its flash
/// image, not at its RAM address), from the lowest load address on, gaps filled with zeros.
/// Returns the number of bytes written.
///
/// A section's load address comes from the `PT_LOAD` segment whose file bytes hold it
/// (`p_paddr` + the section's offset in the segment), or is its `sh_addr` when no segment
/// holds it.
pub fn write_bin(elf: &Path, out: &Path) -> Result<u64, MeasureError> {
    let image = Image::open(elf)?;
    let bytes = binary(&image)?;
    std::fs::write(out, &bytes).map_err(|source| MeasureError::Write {
        path: out.display().to_string(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

/// The raw binary of `image` (see [`write_bin`]).
pub fn binary(image: &Image) -> Result<Vec<u8>, MeasureError> {
    let mut pieces: Vec<(u64, &[u8])> = Vec::new();
    for section in &image.sections {
        if !section.is_alloc() || section.is_nobits() || section.size == 0 {
            continue;
        }
        let contents = image
            .contents(section)
            .ok_or_else(|| MeasureError::NotElf {
                path: image.path.clone(),
                reason: format!("section {} lies outside the file", section.name),
            })?;
        let lma = image
            .segments
            .iter()
            .find(|segment| {
                section.offset >= segment.offset
                    && section.offset - segment.offset < segment.filesz
                    && section.size <= segment.filesz - (section.offset - segment.offset)
            })
            .map_or(section.addr, |segment| {
                segment.paddr.wrapping_add(section.offset - segment.offset)
            });
        pieces.push((lma, contents));
    }
    let Some(base) = pieces.iter().map(|p| p.0).min() else {
        return Ok(Vec::new());
    };
    let end = pieces
        .iter()
        .map(|(lma, contents)| (lma - base).saturating_add(contents.len() as u64))
        .max()
        .unwrap_or(0);
    if end > MAX_BIN_BYTES {
        return Err(MeasureError::BinaryTooLarge {
            path: image.path.clone(),
            bytes: end,
        });
    }
    let mut bytes = vec![0u8; end as usize];
    for (lma, contents) in pieces {
        let at = (lma - base) as usize;
        bytes[at..at + contents.len()].copy_from_slice(contents);
    }
    Ok(bytes)
}
