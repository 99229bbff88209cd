//! The byte size of every element the generated code places in a fixed array.
//!
//! This is the one place these numbers live: the budget, the warnings and (in a later milestone)
//! the generated arrays all read them from here, and `stack-runtime`'s types will be tied to them
//! by tests. Each constant names the fields it stands for. Control structures hold pool *indices*
//! (`u16`) rather than pointers, so their size is the same on every target.
//!
//! Every size is rounded up to [`ALIGN`].

/// Alignment of every element: the largest field is a `u32`.
pub const ALIGN: u64 = 4;

/// Rounds `bytes` up to a multiple of [`ALIGN`].
pub const fn align(bytes: u64) -> u64 {
    bytes.div_ceil(ALIGN) * ALIGN
}

/// Ethernet II header: destination MAC 6 B + source MAC 6 B + EtherType 2 B.
pub const ETHERNET_HEADER: u64 = 14;
/// IPv4 header without options.
pub const IPV4_HEADER: u64 = 20;
/// IPv6 fixed header.
pub const IPV6_HEADER: u64 = 40;
/// TCP header without options.
pub const TCP_HEADER: u64 = 20;
/// UDP header.
pub const UDP_HEADER: u64 = 8;

/// Packet-buffer descriptor in front of each buffer: frame length `u16`, payload offset `u16`,
/// next buffer of a chain `u16`, reference count `u8`, flags `u8`.
pub const PACKET_BUFFER_HEADER: u64 = 8;

/// One packet buffer of `size` bytes: [`PACKET_BUFFER_HEADER`] + the data, aligned.
pub const fn packet_buffer(size: u64) -> u64 {
    PACKET_BUFFER_HEADER + align(size)
}

/// An interface: MAC 6 B + MTU `u16` + kind/flags 2 × `u8` + IPv4 address 4 B + prefix `u8` and
/// DHCP state index `u8` + padding 2 B + gateway 4 B + receive/transmit counters 2 × `u32`
/// = 32 B.
pub const INTERFACE: u64 = 32;
/// Extra per interface with IPv6: link-local address 16 B + duplicate-address-detection state
/// and timer 4 B.
pub const INTERFACE_IPV6: u64 = 20;

/// An ARP cache entry: IPv4 address 4 B + MAC 6 B + state/retry count 2 B + last-used
/// timestamp `u32` 4 B = 16 B.
pub const ARP_ENTRY: u64 = align(4 + 6 + 2 + 4);
/// An IPv6 neighbor cache entry: IPv6 address 16 B + MAC 6 B + state 2 B + timestamp 4 B = 28 B.
pub const NDP_ENTRY: u64 = align(16 + 6 + 2 + 4);

/// An IPv4 reassembly buffer's descriptor: source and destination address 2 × 4 B,
/// identification `u16`, protocol `u8`, flags `u8`, total length `u16`, bytes received `u16`,
/// expiry `u32` = 20 B.
pub const REASSEMBLY_DESCRIPTOR: u64 = 20;

/// One reassembly buffer of `size` bytes: descriptor + a bitmap with one bit per 8-byte
/// fragment block (`size / 64` bytes) + the data, aligned.
pub const fn reassembly_buffer(size: u64) -> u64 {
    REASSEMBLY_DESCRIPTOR + align(size.div_ceil(64)) + align(size)
}

/// The size of an IP address field in control blocks: 16 B when IPv6 is compiled in, else 4 B.
pub const fn address(ipv6: bool) -> u64 {
    if ipv6 { 16 } else { 4 }
}

/// The part of a TCP control block that does not depend on options or address family:
/// state, flags, retry and duplicate-ACK counters 4 × `u8`; local and remote port 2 × `u16`;
/// send sequence variables SND.UNA, SND.NXT, SND.WND, SND.WL1, SND.WL2, ISS 6 × `u32`; receive
/// variables RCV.NXT, RCV.WND, IRS 3 × `u32`; own and peer MSS 2 × `u16`; SRTT, RTTVAR, RTO
/// 3 × `u32`; RTT sample sequence and time 2 × `u32`; retransmit, TIME_WAIT/keepalive,
/// delayed-ACK and persist deadlines 4 × `u32`; congestion window and slow-start threshold
/// 2 × `u32`; send-queue head/tail, unsent head, receive-queue head/tail and out-of-order head
/// 6 × `u16`; bytes queued to send and to read 2 × `u32`; listener index `u16` + padding
/// = 116 B.
pub const TCB_FIXED: u64 = 116;
/// Extra TCP control block bytes with timestamps: TS.Recent and its age, 2 × `u32`.
pub const TCB_TIMESTAMPS: u64 = 8;
/// Extra TCP control block bytes with window scaling: send and receive shift 2 × `u8` + padding.
pub const TCB_WINDOW_SCALING: u64 = 4;
/// Extra TCP control block bytes with SACK: four blocks of two `u32` edges + count and padding.
pub const TCB_SACK: u64 = 4 * 8 + 4;

/// A TCP control block: [`TCB_FIXED`] + local and remote address + the option fields enabled.
pub const fn tcp_control_block(
    ipv6: bool,
    timestamps: bool,
    window_scaling: bool,
    sack: bool,
) -> u64 {
    let mut bytes = TCB_FIXED + 2 * address(ipv6);
    if timestamps {
        bytes += TCB_TIMESTAMPS;
    }
    if window_scaling {
        bytes += TCB_WINDOW_SCALING;
    }
    if sack {
        bytes += TCB_SACK;
    }
    align(bytes)
}

/// A TCP listener: local address + port `u16` + backlog limit `u8` + pending count `u8` +
/// first pending connection `u16` + padding 2 B.
pub const fn tcp_listener(ipv6: bool) -> u64 {
    align(address(ipv6) + 2 + 1 + 1 + 2 + 2)
}

/// A queued TCP segment's descriptor (its data stays in the tx packet buffer it was built in,
/// so a retransmission copies nothing): sequence number `u32`, length `u16`, flags `u8`,
/// transmission count `u8`, packet buffer index `u16`, next segment `u16`, time sent `u32`
/// = 16 B.
pub const TCP_SEGMENT: u64 = 16;

/// An out-of-order slot: sequence number `u32`, length `u16`, rx packet buffer index `u16`
/// = 8 B.
pub const TCP_OUT_OF_ORDER_SLOT: u64 = 8;

/// A UDP socket's control block: local address + local port `u16` + flags `u8` + padding +
/// receive ring read/write offsets 2 × `u16` + transmit ring offsets 2 × `u16`.
pub const fn udp_socket(ipv6: bool) -> u64 {
    align(address(ipv6) + 2 + 2 + 4 + 4)
}

/// Receive and transmit buffer of the DHCPv4 client's own UDP socket, each: 576 B, the IPv4
/// datagram every host must accept, which a DHCP message (236 B fixed + options) fits.
pub const DHCP_MESSAGE_BUFFER: u64 = 576;
/// DHCPv4 client state per interface: state and retry count 2 × `u8` + padding, transaction id
/// `u32`, server id, offered address, subnet mask and router 4 × 4 B, two DNS servers 2 × 4 B,
/// lease start, T1, T2 and expiry 4 × `u32` = 48 B.
pub const DHCP_CLIENT: u64 = 48;

/// Receive and transmit buffer of the DNS resolver's own UDP socket, each: 512 B, the largest
/// DNS message over UDP without EDNS (RFC 1035).
pub const DNS_MESSAGE_BUFFER: u64 = 512;
/// Longest name the DNS cache and query state store; longer names are resolved but not cached.
pub const DNS_NAME_MAX: u64 = 63;
/// A DNS server entry: address (16 B, IPv6 capable) + failure count and flags 4 B = 20 B.
pub const DNS_SERVER: u64 = 20;
/// A DNS cache entry: name length `u8` + name [`DNS_NAME_MAX`] B + address 16 B + expiry `u32`
/// = 84 B.
pub const DNS_CACHE_ENTRY: u64 = align(1 + DNS_NAME_MAX + 16 + 4);
/// The DNS resolver's query state: id `u16`, retries `u8`, state `u8`, deadline `u32`, name
/// length `u8` + name [`DNS_NAME_MAX`] B = 72 B.
pub const DNS_QUERY: u64 = align(2 + 1 + 1 + 4 + 1 + DNS_NAME_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_arithmetic_holds() {
        assert_eq!(ARP_ENTRY, 16);
        assert_eq!(NDP_ENTRY, 28);
        assert_eq!(DNS_CACHE_ENTRY, 84);
        assert_eq!(DNS_QUERY, 72);
        assert_eq!(
            TCB_FIXED,
            4 + 4 + 24 + 12 + 4 + 12 + 8 + 16 + 8 + 12 + 8 + 4
        );
        assert_eq!(tcp_control_block(false, false, false, false), 124);
        assert_eq!(
            tcp_control_block(true, true, true, true),
            116 + 32 + 8 + 4 + 36
        );
        assert_eq!(packet_buffer(1536), 1544);
        assert_eq!(reassembly_buffer(8192), 20 + 128 + 8192);
        for size in [
            ARP_ENTRY,
            NDP_ENTRY,
            INTERFACE,
            INTERFACE_IPV6,
            TCP_SEGMENT,
            TCP_OUT_OF_ORDER_SLOT,
            DHCP_CLIENT,
            DNS_SERVER,
            DNS_CACHE_ENTRY,
            DNS_QUERY,
            tcp_listener(false),
            tcp_listener(true),
            udp_socket(false),
            udp_socket(true),
        ] {
            assert_eq!(size % ALIGN, 0);
        }
    }
}
