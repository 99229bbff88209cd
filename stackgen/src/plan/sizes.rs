//! The byte sizes the plan computes with: protocol header lengths, and the layout of every
//! stack-runtime type the generated code keeps in a pool ([`RuntimeLayouts`], one table per
//! pointer width).
//!
//! This is the one place these numbers live: the budget, the warnings and the generated arrays
//! read them from here. The generated code asserts the layouts at compile time and
//! `stackgen build` compares every pool with the linked ELF, so the table cannot drift from
//! stack-runtime unnoticed.

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

/// Size and alignment of one type, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `core::mem::size_of`.
    pub size: u64,
    /// `core::mem::align_of`.
    pub align: u64,
}

impl Layout {
    const fn new(size: u64, align: u64) -> Layout {
        Layout { size, align }
    }
}

/// The layout of every stack-runtime type the generated code keeps in a pool, for one pointer
/// width. The generated code asserts each of these at compile time
/// (`const _: () = assert!(size_of::<TcpSlot>() == …)`), so a change in stack-runtime that
/// moves a size fails the build of every generated stack until this table follows it; and
/// `stackgen build` checks the pools against the linked ELF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeLayouts {
    /// Pointer width in bits these layouts hold for.
    pub pointer_width: u32,
    /// `stack_runtime::PendingSlot`: one transmit-queue entry.
    pub pending_slot: Layout,
    /// `stack_runtime::ArpEntry`.
    pub arp_entry: Layout,
    /// `stack_runtime::ReassemblySlot`: one datagram's reassembly state.
    pub reassembly_slot: Layout,
    /// `stack_runtime::UdpSlot<'static>`: a socket's state and its buffer references.
    pub udp_slot: Layout,
    /// `stack_runtime::TcpSlot`: one connection's control block.
    pub tcp_slot: Layout,
    /// `stack_runtime::TcpListenerSlot`.
    pub tcp_listener_slot: Layout,
    /// `stack_runtime::tcp::segment_pool::SocketQuota`: a connection's share of the segments.
    pub socket_quota: Layout,
    /// `stack_runtime::dhcpv4::DhcpSlot`: the DHCPv4 client with its message buffers.
    pub dhcp_slot: Layout,
    /// `stack_runtime::dns::DnsQuerySlot`: one lookup in flight.
    pub dns_query_slot: Layout,
    /// `stack_runtime::dns::DnsCacheEntry`.
    pub dns_cache_entry: Layout,
}

/// The layouts on 32-bit targets (Cortex-M: `thumbv7em-none-eabihf`, `thumbv7m-none-eabi`).
pub const LAYOUTS_32: RuntimeLayouts = RuntimeLayouts {
    pointer_width: 32,
    pending_slot: Layout::new(20, 4),
    arp_entry: Layout::new(32, 8),
    reassembly_slot: Layout::new(128, 8),
    udp_slot: Layout::new(68, 4),
    tcp_slot: Layout::new(824, 8),
    tcp_listener_slot: Layout::new(2, 2),
    socket_quota: Layout::new(10, 2),
    dhcp_slot: Layout::new(576, 8),
    dns_query_slot: Layout::new(288, 8),
    dns_cache_entry: Layout::new(280, 8),
};

/// The layouts on 64-bit targets (the Linux host: `x86_64-unknown-linux-gnu`).
pub const LAYOUTS_64: RuntimeLayouts = RuntimeLayouts {
    pointer_width: 64,
    pending_slot: Layout::new(20, 4),
    arp_entry: Layout::new(32, 8),
    reassembly_slot: Layout::new(144, 8),
    udp_slot: Layout::new(128, 8),
    tcp_slot: Layout::new(880, 8),
    tcp_listener_slot: Layout::new(2, 2),
    socket_quota: Layout::new(10, 2),
    dhcp_slot: Layout::new(576, 8),
    dns_query_slot: Layout::new(288, 8),
    dns_cache_entry: Layout::new(280, 8),
};

/// The pointer width of a target triple: 64 for `x86_64`, `aarch64`, `riscv64`…, else 32.
pub fn pointer_width(target: &str) -> u32 {
    let arch = target.split('-').next().unwrap_or("");
    if arch.contains("64") { 64 } else { 32 }
}

/// The layouts for a target triple.
pub fn layouts(target: &str) -> &'static RuntimeLayouts {
    if pointer_width(target) == 64 {
        &LAYOUTS_64
    } else {
        &LAYOUTS_32
    }
}

/// Bytes of a `static_cell::ConstStaticCell<T>` or `StaticCell<T>` holding `bytes` of a `T`
/// aligned to `align`: the value, then the one-byte "taken" flag, padded to the alignment.
pub const fn static_cell(bytes: u64, align: u64) -> u64 {
    (bytes + 1).div_ceil(align) * align
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_widths() {
        assert_eq!(pointer_width("thumbv7em-none-eabihf"), 32);
        assert_eq!(pointer_width("thumbv7m-none-eabi"), 32);
        assert_eq!(pointer_width("x86_64-unknown-linux-gnu"), 64);
        assert_eq!(pointer_width("aarch64-unknown-linux-gnu"), 64);
        assert_eq!(layouts("x86_64-unknown-linux-gnu").pointer_width, 64);
    }

    #[test]
    fn static_cells_add_a_flag_byte_and_padding() {
        assert_eq!(static_cell(100, 1), 101);
        assert_eq!(static_cell(8 * 1696, 8), 8 * 1696 + 8);
        assert_eq!(static_cell(20, 4), 24);
    }
}
