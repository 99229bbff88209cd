use stackgen_macros::stack_config;

#[stack_config(profile = "profiles/does-not-exist.toml")]
mod net {}

fn main() {}
