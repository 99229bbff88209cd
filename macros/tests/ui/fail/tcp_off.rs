//! TCP is off in the profile (UDP on), so the stack has no TCP API at all.

use stackgen_macros::stack_config;

#[stack_config(inline = r#"
[stack]
name = "no-tcp"
board = "host-tap"

[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"

[protocols]
arp = true
ipv4 = true
icmpv4 = true
udp = true
tcp = false
"#)]
mod net {}

fn main() {
    let mut stack = net::init(
        net::config(),
        stack_runtime::wire::EthernetAddress([2, 0, 0, 0, 0, 2]),
        [0; 16],
    )
    .unwrap();
    let _ = stack.tcp_listen(80);
}
