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

/// `stack_runtime::pool::FRAME_RESERVE`: packet buffers (and transmit-queue slots) socket data
/// never takes, kept for frames the stack builds. The generated code asserts it.
pub const FRAME_RESERVE: u64 = 2;
/// `stack_runtime::udp::RX_QUEUE`: packet buffers one UDP socket keeps received datagrams in.
/// The generated code asserts it.
pub const UDP_RX_QUEUE: u64 = 8;
/// Bytes of a received UDP datagram's first packet buffer that hold its length and sender.
pub const UDP_RX_HEAD: u64 = 8;

/// The packet buffers the stack lets socket data take from a pool of `count`: all but the
/// frame reserve (half the pool when it is smaller than twice the reserve).
pub const fn data_buffers(count: u64) -> u64 {
    let reserve = if FRAME_RESERVE < count / 2 {
        FRAME_RESERVE
    } else {
        count / 2
    };
    count - reserve
}

/// Packet buffers of `size` bytes a received UDP datagram of `len` payload bytes takes: the
/// first holds [`UDP_RX_HEAD`] bytes of bookkeeping; every piece is an even number of bytes.
/// `None` when buffers that small hold no datagram.
pub fn udp_rx_buffers(len: u64, size: u64) -> Option<u64> {
    if size < UDP_RX_HEAD + 2 {
        return None;
    }
    let first = (size - UDP_RX_HEAD) & !1;
    let rest = size & !1;
    Some(if len <= first {
        1
    } else {
        1 + (len - first).div_ceil(rest)
    })
}

/// Frames (IPv4 fragments when more than one) a UDP datagram of `len` payload bytes is built
/// into, in packet buffers of `size` bytes over an IP MTU of `mtu`.
pub fn udp_tx_frames(len: u64, size: u64, mtu: u64) -> Option<u64> {
    let udp_len = UDP_HEADER + len;
    let room = size.saturating_sub(ETHERNET_HEADER + IPV4_HEADER);
    if IPV4_HEADER + udp_len <= mtu && udp_len <= room {
        return Some(1);
    }
    let chunk = mtu.saturating_sub(IPV4_HEADER).min(room) / 8 * 8;
    (chunk > 0).then(|| udp_len.div_ceil(chunk))
}

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
    /// `stack_runtime::UdpSlot`: a socket's port, limits and packet-buffer handles.
    pub udp_slot: Layout,
    /// `stack_runtime::TcpSlot`: one connection's control block, without stack-runtime's
    /// feature `tcp-sack` (its SACK state is then zero-sized).
    pub tcp_slot: Layout,
    /// `stack_runtime::TcpSlot` with feature `tcp-sack` (reporter, scoreboard, recovery marks).
    pub tcp_slot_sack: Layout,
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
    tcp_slot: Layout::new(392, 8),
    tcp_slot_sack: Layout::new(536, 8),
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
    udp_slot: Layout::new(68, 4),
    tcp_slot: Layout::new(440, 8),
    tcp_slot_sack: Layout::new(592, 8),
    tcp_listener_slot: Layout::new(2, 2),
    socket_quota: Layout::new(10, 2),
    dhcp_slot: Layout::new(576, 8),
    dns_query_slot: Layout::new(288, 8),
    dns_cache_entry: Layout::new(280, 8),
};

impl RuntimeLayouts {
    /// The layout of `stack_runtime::TcpSlot` with feature `tcp-sack` on (`sack`) or off.
    pub fn tcp_slot_for(&self, sack: bool) -> Layout {
        if sack {
            self.tcp_slot_sack
        } else {
            self.tcp_slot
        }
    }
}

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
    fn udp_buffer_counts() {
        assert_eq!(data_buffers(20), 18);
        assert_eq!(data_buffers(3), 2);
        // 1536-byte buffers: 1,528 payload bytes in the first, 1,536 in each further one.
        assert_eq!(udp_rx_buffers(0, 1536), Some(1));
        assert_eq!(udp_rx_buffers(1528, 1536), Some(1));
        assert_eq!(udp_rx_buffers(1529, 1536), Some(2));
        assert_eq!(udp_rx_buffers(8000, 1536), Some(6));
        assert_eq!(udp_rx_buffers(1, 4), None);
        // 8,000 bytes over a 1500-byte MTU: 8,008 / 1,480 → 6 fragments.
        assert_eq!(udp_tx_frames(8000, 1536, 1500), Some(6));
        assert_eq!(udp_tx_frames(1472, 1536, 1500), Some(1));
        assert_eq!(udp_tx_frames(1473, 1536, 1500), Some(2));
        assert_eq!(udp_tx_frames(1, 20, 1500), None);
    }

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
