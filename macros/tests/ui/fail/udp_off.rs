//! UDP is off in the profile, so the stack has no UDP API at all.

use stackgen_macros::stack_config;

#[stack_config(inline = r#"
[stack]
name = "no-udp"
board = "host-tap"

[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"

[protocols]
arp = true
ipv4 = true
icmpv4 = true
"#)]
mod net {}

fn main() {
    let mut stack = net::init(
        net::config(),
        stack_runtime::wire::EthernetAddress([2, 0, 0, 0, 0, 2]),
        [0; 16],
    )
    .unwrap();
    let _ = stack.udp_bind(7);
}
