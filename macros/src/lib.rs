//! `#[stack_config]`: compiles a stackgen profile inside an application crate.
//!
//! The expansion is built in the code-generation milestone; this crate holds its place in the
//! workspace so the layout is stable.
