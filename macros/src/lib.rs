//! `#[stack_config]`: a stackgen profile compiled inside an application crate.
//!
//! ```ignore
//! #[stack_config(profile = "../../profiles/host-tap.toml")]
//! mod net {}
//!
//! let seed: [u8; 16] = board_rng_seed(); // secret, different on every boot
//! let mut net = net::init(net::config(), net::HARDWARE_ADDR, seed).expect("first init");
//! let echo = net.udp_bind(7)?;
//! ```
//!
//! The module is filled with exactly the items `stackgen generate` writes for the same profile
//! (both call `stackgen::codegen::items`): a constant per count and size, every pool in
//! `static` storage, `config()`, `init()` and `Net`, whose methods are only those of the
//! protocols the profile turns on. See `stackgen::codegen` for the generated API.
//!
//! * `profile = "PATH"`: a profile file, relative to the crate's directory
//!   (`CARGO_MANIFEST_DIR`). The crate is rebuilt when the file changes. When the environment
//!   variable `STACKGEN_PROFILE` is set (as `stackgen build PROFILE` does), it names the
//!   profile file instead, so one application builds with any profile.
//! * `inline = r#"…"#`: the profile written in the attribute, for small applications. Its
//!   messages name it `inline profile` and count lines from the one with the opening quote
//!   (line 1), so TOML line N is N - 1 lines below the quote.
//!
//! An invalid profile is a compile error with the message and hint `stackgen check` prints,
//! pointing at the profile's line and column; it is reported at the attribute (for an inline
//! profile, at its string). Warnings are not reported here (a proc-macro cannot emit them on
//! stable Rust): run `stackgen check` on the profile to see them.
//!
//! The crate using the attribute needs `stack-runtime`, `static_cell` (2.1 or later) and
//! `embassy-net-driver` as dependencies, and stack-runtime's features for the protocols the
//! profile turns on (`udp`, `icmp`, `tcp`, `dhcpv4`, `dns`; what
//! `stackgen::codegen::runtime_features` lists): without `tcp`, for instance, the generated
//! `Net::tcp_listen` calls a method stack-runtime does not have, and the crate does not build.

mod expand;

use proc_macro::TokenStream;

/// Fills the module it sits on with the stack of a stackgen profile: see the crate
/// documentation.
#[proc_macro_attribute]
pub fn stack_config(args: TokenStream, item: TokenStream) -> TokenStream {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let profile_override = std::env::var_os(expand::PROFILE_ENV)
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from);
    expand::stack_config(
        args.into(),
        item.into(),
        &manifest_dir,
        profile_override.as_deref(),
    )
    .into()
}
