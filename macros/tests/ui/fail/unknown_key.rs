use stackgen_macros::stack_config;

#[stack_config(inline = r#"
[stack]
name = "unknown-key"
board = "host-tap"

[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"

[buffers]
rx_cout = 4
"#)]
mod net {}

fn main() {}
