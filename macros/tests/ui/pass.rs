//! An inline profile with UDP and TCP: the module has its constants, `init` and the UDP and
//! TCP APIs; `init` works once and then returns `None`.

use stackgen_macros::stack_config;

#[stack_config(inline = r#"
[stack]
name = "pass"
board = "host-tap"

[[interface]]
name = "tap0"
mac = "02:00:00:00:00:02"
ipv4 = "static 192.0.2.2/24"

[protocols]
arp = true
ipv4 = true
icmpv4 = true
udp = true
tcp = true

[tcp]
sockets = 2
listeners = 1
mss = 1460
rx_window = "2 mss"
send_buffer = "2 mss"

[udp]
sockets = 2
rx_buffer = "2 KiB"
tx_buffer = "2 KiB"
"#)]
mod net {}

fn main() {
    assert_eq!(net::UDP_SOCKETS, 2);
    assert_eq!(net::UDP_RX_BUFFER, 2048);
    assert_eq!(net::TCP_SOCKETS, 2);
    assert_eq!(net::TCP_SEND_BUFFERS, 2);
    let seed = [7; 16];
    let mut stack = net::init(net::config(), net::HARDWARE_ADDR, seed).expect("the first init");
    assert!(net::init(net::config(), net::HARDWARE_ADDR, seed).is_none());
    let socket = stack.udp_bind(7).expect("a free socket");
    assert_eq!(stack.udp_local_port(socket), Some(7));
    stack.tcp_listen(80).expect("a free listener");
    assert_eq!(stack.tcp_listen(81), Err(stack_runtime::TcpError::NoSlot));
    assert_eq!(stack.ipv4().map(|cidr| cidr.prefix_len), Some(24));
}
