//! The text of a profile and the name it is shown under, with byte-offset to line/column mapping.

use std::fmt;
use std::path::Path;

/// A byte range into a [`Source`]'s text, as the TOML parser reports it.
pub type Span = std::ops::Range<usize>;

/// A profile's text and the name messages show for it (the path as the user typed it).
///
/// Keeping the display name separate from the file system path lets tests use repository-relative
/// names, so expected messages never contain a machine's absolute path.
#[derive(Debug, Clone)]
pub struct Source {
    name: String,
    text: String,
}

/// Why a profile file could not be read. Each renders as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist.
    #[error("error: {path}: no such file (check the path; shipped profiles live in `profiles/`)")]
    NotFound {
        /// The path as given.
        path: String,
    },
    /// The path exists but is a directory.
    #[error(
        "error: {path}: is a directory, expected a profile file such as `profiles/minimal.toml`"
    )]
    IsDirectory {
        /// The path as given.
        path: String,
    },
    /// The file is not UTF-8 text.
    #[error("error: {path}: not UTF-8 text; a profile is a TOML file")]
    NotUtf8 {
        /// The path as given.
        path: String,
    },
    /// Any other I/O failure (permissions, …).
    #[error("error: {path}: cannot read: {source}")]
    Unreadable {
        /// The path as given.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Source {
    /// A source from text already in memory, shown as `name` in messages.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a profile file; the display name is the path exactly as given.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(LoadError::IsDirectory { path: shown });
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Self::new(shown, text)),
                Err(_) => Err(LoadError::NotUtf8 { path: shown }),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Err(LoadError::NotFound { path: shown })
            }
            Err(source) => Err(LoadError::Unreadable {
                path: shown,
                source,
            }),
        }
    }

    /// The name messages show for this source.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The line and column of a byte offset (clamped to the text, and to a character boundary).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..offset].chars().count() + 1;
        LineCol { line, column }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        self.text
            .split('\n')
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let source = Source::new("x.toml", "a = 1\nbé = 2\n");
        assert_eq!(source.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(source.line_col(6), LineCol { line: 2, column: 1 });
        // `=` after "bé " is the 4th character but the 5th byte.
        assert_eq!(source.line_col(10), LineCol { line: 2, column: 4 });
        assert_eq!(source.line_text(2), "bé = 2");
        assert_eq!(source.line_col(999).line, 3);
    }

    #[test]
    fn missing_file_is_one_line() {
        let error = Source::load(Path::new("no/such/profile.toml")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error: no/such/profile.toml: no such file (check the path; shipped profiles live in `profiles/`)"
        );
    }
}
