//! host-services: the first program a user runs.

fn main() {}
