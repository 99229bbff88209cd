//! Reading the ELF: sections, symbols and load segments into plain structs, once, for ELF32
//! and ELF64 of either byte order (firmware is ELF32 little-endian; the rest keeps the tests
//! honest on other inputs).

use object::Endianness;
use object::elf;
use object::read::elf::{FileHeader, ProgramHeader, SectionHeader, Sym};

use crate::build::model::MeasureError;

/// Offset of the class byte (32 or 64 bits) in `e_ident`.
const EI_CLASS: usize = 4;

/// One section header.
#[derive(Debug, Clone)]
pub struct Section {
    /// Section name (`.text`).
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_addr`: the run-time (virtual) address.
    pub addr: u64,
    /// `sh_offset` in the file.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
}

impl Section {
    /// Occupies memory at run time.
    pub fn is_alloc(&self) -> bool {
        self.flags & elf::SHF_ALLOC.0 != 0
    }

    /// Writable at run time (RAM).
    pub fn is_writable(&self) -> bool {
        self.flags & elf::SHF_WRITE.0 != 0
    }

    /// Holds instructions.
    pub fn is_exec(&self) -> bool {
        self.flags & elf::SHF_EXECINSTR.0 != 0
    }

    /// Has no contents in the file (`.bss`).
    pub fn is_nobits(&self) -> bool {
        self.kind == elf::SHT_NOBITS.0
    }

    /// llvm-size's `text` column: allocated, not writable, with contents.
    pub fn is_berkeley_text(&self) -> bool {
        self.is_alloc() && !self.is_writable() && !self.is_nobits()
    }

    /// llvm-size's `data` column: allocated, writable, with contents (`.data`, and on a
    /// hosted ELF also `.init_array`, `.dynamic`, `.got`…).
    pub fn is_berkeley_data(&self) -> bool {
        self.is_alloc() && self.is_writable() && !self.is_nobits()
    }

    /// llvm-size's `bss` column: allocated `SHT_NOBITS`.
    pub fn is_berkeley_bss(&self) -> bool {
        self.is_alloc() && self.is_nobits()
    }

    /// Whether the address `start` lies inside the section's run-time addresses.
    pub fn contains(&self, start: u64) -> bool {
        start >= self.addr && start - self.addr < self.size
    }

    /// The section's end address (exclusive).
    pub fn end(&self) -> u64 {
        self.addr.saturating_add(self.size)
    }
}

/// One symbol-table entry that names a defined object or function.
#[derive(Debug, Clone)]
pub struct Symbol {
    /// The raw (mangled) name.
    pub name: String,
    /// Address (the Thumb bit of ARM functions cleared).
    pub addr: u64,
    /// `st_size`.
    pub size: u64,
    /// Index into [`Image::sections`].
    pub section: usize,
}

/// One `PT_LOAD` program header.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// `p_offset`.
    pub offset: u64,
    /// `p_paddr`: the load address (LMA).
    pub paddr: u64,
    /// `p_filesz`.
    pub filesz: u64,
}

/// What measurement needs of one ELF file.
#[derive(Debug)]
pub struct Image {
    /// The path, for messages.
    pub path: String,
    /// The file's bytes.
    pub data: Vec<u8>,
    /// Every section header, by index.
    pub sections: Vec<Section>,
    /// Defined symbols of `.symtab` (local ones included), without section and file symbols.
    pub symbols: Vec<Symbol>,
    /// Load segments.
    pub segments: Vec<Segment>,
    /// Byte order.
    pub little_endian: bool,
}

impl Image {
    /// Reads and parses `path`.
    pub fn open(path: &std::path::Path) -> Result<Image, MeasureError> {
        let display = path.display().to_string();
        let data = std::fs::read(path).map_err(|source| MeasureError::Read {
            path: display.clone(),
            source,
        })?;
        Image::parse(display, data)
    }

    /// Parses `data` (the bytes of the file `path`).
    pub fn parse(path: String, data: Vec<u8>) -> Result<Image, MeasureError> {
        let not_elf = |reason: String| MeasureError::NotElf {
            path: path.clone(),
            reason,
        };
        if data.get(..4) != Some(&elf::ELFMAG[..]) {
            return Err(not_elf("no ELF magic number".to_owned()));
        }
        let parsed = match data.get(EI_CLASS).copied() {
            Some(class) if class == elf::ELFCLASS32.0 => {
                parse_as::<elf::FileHeader32<Endianness>>(&data)
            }
            Some(class) if class == elf::ELFCLASS64.0 => {
                parse_as::<elf::FileHeader64<Endianness>>(&data)
            }
            _ => return Err(not_elf("unknown ELF class".to_owned())),
        };
        let (sections, symbols, segments, little_endian) =
            parsed.map_err(|e| not_elf(e.to_string()))?;
        Ok(Image {
            path,
            data,
            sections,
            symbols,
            segments,
            little_endian,
        })
    }

    /// The contents of a section in the file (`None` for `NOBITS` or out of bounds).
    pub fn contents(&self, section: &Section) -> Option<&[u8]> {
        if section.is_nobits() {
            return None;
        }
        let start = usize::try_from(section.offset).ok()?;
        let len = usize::try_from(section.size).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// The contents of the section named `name`; empty when absent.
    pub fn section_data(&self, name: &str) -> &[u8] {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| self.contents(s))
            .unwrap_or(&[])
    }
}

/// The parts [`Image::parse`] fills.
type Parsed = (Vec<Section>, Vec<Symbol>, Vec<Segment>, bool);

/// Parses the headers of an ELF of class `Elf`.
fn parse_as<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> object::read::Result<Parsed> {
    let header = Elf::parse(data)?;
    let endian = header.endian()?;
    let table = header.sections(endian, data)?;
    let mut sections = Vec::with_capacity(table.len());
    for section in table.iter() {
        let name = table.section_name(endian, section)?;
        sections.push(Section {
            name: String::from_utf8_lossy(name).into_owned(),
            kind: section.sh_type(endian).0,
            flags: section.sh_flags(endian).0,
            addr: section.sh_addr(endian).into(),
            offset: section.sh_offset(endian).into(),
            size: section.sh_size(endian).into(),
        });
    }

    let arm = header.e_machine(endian) == elf::EM_ARM;
    let symtab = table.symbols(endian, data, elf::SHT_SYMTAB)?;
    let mut symbols = Vec::new();
    for (index, symbol) in symtab.enumerate() {
        let kind = symbol.st_type();
        if kind == elf::STT_SECTION || kind == elf::STT_FILE {
            continue;
        }
        let Some(section) = symtab.symbol_section(endian, symbol, index)? else {
            continue;
        };
        let name = symbol.name(endian, symtab.strings())?;
        let mut addr: u64 = symbol.st_value(endian).into();
        if arm && kind == elf::STT_FUNC {
            addr &= !1;
        }
        symbols.push(Symbol {
            name: String::from_utf8_lossy(name).into_owned(),
            addr,
            size: symbol.st_size(endian).into(),
            section: section.0,
        });
    }

    let mut segments = Vec::new();
    for segment in header.program_headers(endian, data)? {
        if segment.p_type(endian) == elf::PT_LOAD {
            segments.push(Segment {
                offset: segment.p_offset(endian).into(),
                paddr: segment.p_paddr(endian).into(),
                filesz: segment.p_filesz(endian).into(),
            });
        }
    }
    Ok((sections, symbols, segments, endian == Endianness::Little))
}
