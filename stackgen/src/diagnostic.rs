//! Rendering of errors and warnings: `file:line:col`, the source line, the offending text
//! underlined with `^^^^`, and a hint saying how to fix it.
//!
//! Errors and warnings are typed enums elsewhere ([`crate::profile::ProfileError`],
//! [`crate::plan::PlanError`], [`crate::plan::Warning`]); they turn into a [`Diagnostic`] only to
//! be shown, so callers match on variants, never on text.

use std::fmt::Write as _;

use crate::source::{Source, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The profile is invalid; nothing can be planned or built from it.
    Error,
    /// The profile is valid but sized for trouble; `--deny-warnings` turns these into failures.
    Warning,
}

/// One message ready to render: headline, optional location, label under the underline, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A short stable name (warnings only, e.g. `small-rx-window`), documented in docs/warnings.md.
    pub code: Option<&'static str>,
    /// The headline.
    pub message: String,
    /// What to underline; `None` when the problem has no place in the file (e.g. a missing section).
    pub span: Option<Span>,
    /// Text printed after the underline.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// Anything that can be shown as a [`Diagnostic`].
pub trait ToDiagnostic {
    /// The rendered form of this error or warning.
    fn to_diagnostic(&self) -> Diagnostic;
}

impl Diagnostic {
    /// Renders the diagnostic against the source it points into.
    ///
    /// ```text
    /// error: unknown key `rx_windw` in [tcp]
    ///   --> profiles/x.toml:12:1
    ///    |
    /// 12 | rx_windw = "4 mss"
    ///    | ^^^^^^^^ not a key of [tcp]
    ///    |
    ///    = help: did you mean `rx_window`?
    /// ```
    pub fn render(&self, source: &Source) -> String {
        let mut out = String::new();
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.code {
            Some(code) => {
                let _ = writeln!(out, "{severity}[{code}]: {}", self.message);
            }
            None => {
                let _ = writeln!(out, "{severity}: {}", self.message);
            }
        }
        let Some(span) = &self.span else {
            let _ = writeln!(out, "  --> {}", source.name());
            if let Some(help) = &self.help {
                let _ = writeln!(out, "   = help: {help}");
            }
            return out;
        };
        let start = source.line_col(span.start);
        let line_text = source.line_text(start.line);
        let gutter = start.line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{start}", source.name());
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{} | {line_text}", start.line);
        // Underline the span's characters on its first line (at least one caret).
        let line_chars = line_text.chars().count();
        let span_chars = source
            .text()
            .get(span.start.min(source.text().len())..span.end.min(source.text().len()))
            .map_or(0, |text| {
                text.split('\n').next().unwrap_or("").chars().count()
            });
        let available = line_chars.saturating_sub(start.column - 1);
        let carets = span_chars.min(available).max(1);
        let mut underline = String::new();
        underline.push_str(&" ".repeat(start.column - 1));
        underline.push_str(&"^".repeat(carets));
        if !self.label.is_empty() {
            underline.push(' ');
            underline.push_str(&self.label);
        }
        let _ = writeln!(out, "{pad} | {underline}");
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(span: Option<Span>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: None,
            message: "unknown key `rx_windw` in [tcp]".into(),
            span,
            label: "not a key of [tcp]".into(),
            help: Some("did you mean `rx_window`?".into()),
        }
    }

    #[test]
    fn underlines_the_span() {
        let source = Source::new("p.toml", "[tcp]\nrx_windw = \"4 mss\"\n");
        let text = diagnostic(Some(6..14)).render(&source);
        assert_eq!(
            text,
            "error: unknown key `rx_windw` in [tcp]\n --> p.toml:2:1\n  |\n2 | rx_windw = \"4 mss\"\n  | ^^^^^^^^ not a key of [tcp]\n  |\n  = help: did you mean `rx_window`?\n"
        );
    }

    #[test]
    fn without_span_names_the_file() {
        let source = Source::new("p.toml", "");
        let text = diagnostic(None).render(&source);
        assert_eq!(
            text,
            "error: unknown key `rx_windw` in [tcp]\n  --> p.toml\n   = help: did you mean `rx_window`?\n"
        );
    }

    #[test]
    fn span_at_end_of_file_gets_one_caret() {
        let source = Source::new("p.toml", "a = ");
        let text = diagnostic(Some(4..4)).render(&source);
        assert!(text.contains("1 | a = \n  |     ^ not a key"), "{text}");
    }
}
