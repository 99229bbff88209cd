//! The expansion of `#[stack_config]` as plain functions over `proc_macro2`, so it is tested
//! without a compiler in between.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::{AttrStyle, ItemMod, LitStr};

use stackgen::codegen;
use stackgen::source::Source;

/// Where the profile comes from, as written in the attribute.
pub(crate) enum ProfileArg {
    /// `profile = "PATH"`, relative to the crate's directory.
    File(LitStr),
    /// `inline = "TOML"`.
    Inline(LitStr),
}

/// The environment variable that, when set, replaces the file of `profile = "…"`: `stackgen
/// build PROFILE` sets it to build an application with the profile it was given.
pub(crate) const PROFILE_ENV: &str = "STACKGEN_PROFILE";

/// The name an inline profile is shown under in messages.
pub(crate) const INLINE_NAME: &str = "inline profile";

/// Parses the attribute's arguments: exactly one of `profile = "…"` and `inline = "…"`.
pub(crate) fn parse_args(args: TokenStream) -> syn::Result<ProfileArg> {
    let mut profile: Option<LitStr> = None;
    let mut inline: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        let slot = if meta.path.is_ident("profile") {
            &mut profile
        } else if meta.path.is_ident("inline") {
            &mut inline
        } else {
            return Err(meta.error(
                "unknown argument: write `profile = \"path/to/profile.toml\"` or \
                 `inline = r#\"...\"#`",
            ));
        };
        if slot.is_some() {
            return Err(meta.error("given twice"));
        }
        *slot = Some(meta.value()?.parse()?);
        Ok(())
    });
    parser.parse2(args)?;
    match (profile, inline) {
        (Some(path), None) => Ok(ProfileArg::File(path)),
        (None, Some(text)) => Ok(ProfileArg::Inline(text)),
        (None, None) => Err(syn::Error::new(
            Span::call_site(),
            "missing profile: write #[stack_config(profile = \"path/to/profile.toml\")] or \
             #[stack_config(inline = r#\"...\"#)]",
        )),
        (Some(_), Some(text)) => Err(syn::Error::new(
            text.span(),
            "give either `profile` or `inline`, not both",
        )),
    }
}

/// The module's items for `arg`, and the absolute path of the profile file to track (for a
/// file profile); or the compile errors: one per profile error, each with the text
/// `stackgen check` prints.
pub(crate) fn items(
    arg: &ProfileArg,
    manifest_dir: &Path,
    profile_override: Option<&Path>,
) -> Result<(TokenStream, Option<PathBuf>), syn::Error> {
    let (source, span, tracked) = match arg {
        ProfileArg::File(path) => {
            let (written, full) = match profile_override {
                Some(chosen) => (chosen.display().to_string(), manifest_dir.join(chosen)),
                None => (path.value(), manifest_dir.join(path.value())),
            };
            let text = std::fs::read_to_string(&full).map_err(|error| {
                syn::Error::new(
                    path.span(),
                    format!(
                        "cannot read profile `{written}`: {error}\n  = help: the path is \
                         relative to the crate's directory (CARGO_MANIFEST_DIR)"
                    ),
                )
            })?;
            // Spanned at the attribute: the message itself points into the TOML file.
            let tracked = full.canonicalize().unwrap_or(full);
            (Source::new(written, text), Span::call_site(), Some(tracked))
        }
        ProfileArg::Inline(text) => (Source::new(INLINE_NAME, text.value()), text.span(), None),
    };
    match codegen::plan_for_codegen(&source) {
        Ok(plan) => Ok((codegen::items(&plan), tracked)),
        Err(invalid) => {
            let mut errors = invalid.rendered(&source).into_iter().map(|rendered| {
                let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
                syn::Error::new(span, message.trim_end())
            });
            let mut first = errors
                .next()
                .unwrap_or_else(|| syn::Error::new(span, "invalid profile"));
            for error in errors {
                first.combine(error);
            }
            Err(first)
        }
    }
}

/// The whole expansion: `mod NAME { <generated items> <the module's own items> }`, plus, for
/// a file profile, an `include_bytes!` of it so the crate is rebuilt when it changes.
pub(crate) fn stack_config(
    args: TokenStream,
    item: TokenStream,
    manifest_dir: &Path,
    profile_override: Option<&Path>,
) -> TokenStream {
    let module: ItemMod = match syn::parse2(item) {
        Ok(module) => module,
        Err(_) => {
            return syn::Error::new(
                Span::call_site(),
                "#[stack_config] goes on an inline module: `mod net {}`",
            )
            .to_compile_error();
        }
    };
    let Some((_, content)) = &module.content else {
        return syn::Error::new_spanned(
            &module,
            "#[stack_config] needs an inline module: write `mod net {}`, not `mod net;`",
        )
        .to_compile_error();
    };
    let generated = parse_args(args).and_then(|arg| items(&arg, manifest_dir, profile_override));
    let (generated, tracked) = match generated {
        Ok(generated) => generated,
        Err(error) => {
            // Keep the module (empty) so the only errors are the profile's, not "cannot find
            // module `net`" at every use.
            let error = error.to_compile_error();
            let outer = module
                .attrs
                .iter()
                .filter(|attr| matches!(attr.style, AttrStyle::Outer));
            let (vis, ident) = (&module.vis, &module.ident);
            return quote! {
                #error
                #(#outer)*
                #vis mod #ident {}
            };
        }
    };
    let outer = module
        .attrs
        .iter()
        .filter(|attr| matches!(attr.style, AttrStyle::Outer));
    let inner = module
        .attrs
        .iter()
        .filter(|attr| matches!(attr.style, AttrStyle::Inner(_)));
    let (vis, ident) = (&module.vis, &module.ident);
    // `option_env!` puts the variable in rustc's dep-info, so cargo rebuilds the crate when
    // `stackgen build` points it at another profile.
    let tracked = tracked.map(|path| {
        let path = path.to_string_lossy().into_owned();
        quote! {
            const _: &[u8] = include_bytes!(#path);
            const _: Option<&str> = option_env!(#PROFILE_ENV);
        }
    });
    quote! {
        #(#outer)*
        #vis mod #ident {
            #(#inner)*
            #generated
            #(#content)*
            #tracked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace root: the macros crate's parent.
    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_cli_and_the_macro_give_the_same_items() {
        for name in ["host-tap", "minimal", "qemu-mps2-an386", "stm32f407"] {
            let path = format!("profiles/{name}.toml");
            // The CLI's path: load the file, plan, generate.
            let source = Source::load(&root().join(&path)).unwrap();
            let plan = codegen::plan_for_codegen(&source).unwrap();
            let cli = codegen::items(&plan).to_string();
            // The macro's path, on the same file.
            let arg = ProfileArg::File(LitStr::new(&path, Span::call_site()));
            let (macro_items, tracked) = items(&arg, &root(), None).unwrap();
            assert_eq!(cli, macro_items.to_string(), "{name}");
            let tracked = tracked.unwrap();
            assert!(tracked.is_absolute() && tracked.ends_with(&path));
            // And the full expansion wraps exactly those items.
            let expansion = stack_config(
                quote! { profile = #path },
                quote! { mod net {} },
                &root(),
                None,
            )
            .to_string();
            assert!(expansion.contains(&cli), "{name}");
            assert!(expansion.contains("include_bytes !"), "{name}");
        }
    }

    #[test]
    fn a_bad_value_in_a_file_points_at_its_line_and_column() {
        let arg = ProfileArg::File(LitStr::new(
            "tests/ui/profiles/bad-value.toml",
            Span::call_site(),
        ));
        let error = items(&arg, Path::new(env!("CARGO_MANIFEST_DIR")), None).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("--> tests/ui/profiles/bad-value.toml:"),
            "{message}"
        );
        assert!(message.contains("= help:"), "{message}");
    }

    #[test]
    fn arguments_are_checked() {
        assert!(matches!(
            parse_args(quote! { profile = "x.toml" }),
            Ok(ProfileArg::File(_))
        ));
        assert!(matches!(
            parse_args(quote! { inline = "[stack]" }),
            Ok(ProfileArg::Inline(_))
        ));
        assert!(parse_args(quote! {}).is_err());
        assert!(parse_args(quote! { path = "x.toml" }).is_err());
        assert!(parse_args(quote! { profile = "a", inline = "b" }).is_err());
        let expansion = stack_config(
            quote! { profile = "x.toml" },
            quote! { mod net; },
            Path::new("."),
            None,
        );
        assert!(expansion.to_string().contains("compile_error"));
    }

    #[test]
    fn the_module_keeps_its_attributes_and_items() {
        let expansion = stack_config(
            quote! { profile = "profiles/host-tap.toml" },
            quote! {
                /// Mine.
                pub(crate) mod net {
                    pub fn extra() {}
                }
            },
            &root(),
            None,
        )
        .to_string();
        assert!(
            expansion.starts_with("# [doc = r\" Mine.\"] pub (crate) mod net"),
            "{expansion}"
        );
        assert!(expansion.contains("pub fn extra"), "{expansion}");
    }

    #[test]
    fn the_environment_override_replaces_the_profile_file() {
        let arg = ProfileArg::File(LitStr::new("profiles/host-tap.toml", Span::call_site()));
        let chosen = root().join("profiles/minimal.toml");
        let (overridden, tracked) = items(&arg, &root(), Some(&chosen)).unwrap();
        let minimal = codegen::plan_for_codegen(&Source::load(&chosen).unwrap()).unwrap();
        assert_eq!(overridden.to_string(), codegen::items(&minimal).to_string());
        assert_eq!(tracked, Some(chosen.canonicalize().unwrap()));
        let expansion = stack_config(
            quote! { profile = "profiles/host-tap.toml" },
            quote! { mod net {} },
            &root(),
            Some(&chosen),
        )
        .to_string();
        assert!(expansion.contains("option_env !"), "{expansion}");
    }
}
