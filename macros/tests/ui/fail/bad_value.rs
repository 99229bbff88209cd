use stackgen_macros::stack_config;

#[stack_config(inline = r#"
[stack]
name = "bad-value"
board = "host-tap"

[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"

[protocols]
udp = true

[udp]
rx_buffer = "lots"
"#)]
mod net {}

fn main() {}
