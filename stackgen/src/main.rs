//! The `stackgen` command-line tool.

fn main() {}
