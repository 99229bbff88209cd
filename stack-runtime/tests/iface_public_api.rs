//! The interface through its public API only, as a board or example uses it: two stacks on
//! an in-memory wire resolve each other, exchange UDP datagrams (one of them fragmented) and
//! ping, with every counter reachable by name.

use core::net::{Ipv4Addr, SocketAddrV4};

use stack_runtime::testing::FrameQueueDriver;
use stack_runtime::time::{Duration, Instant};
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, UdpError, UdpSlot,
};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);
const IP_A: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const IP_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);

type Wire = FrameQueueDriver<32, 1514>;

/// Poll both stacks and move frames between them until nothing moves.
fn settle(a: &mut Stack<'_>, da: &mut Wire, b: &mut Stack<'_>, db: &mut Wire, now: Instant) {
    for _ in 0..20 {
        a.poll(da, now);
        let ab = da.forward_to(db);
        b.poll(db, now);
        let ba = db.forward_to(da);
        if ab == 0 && ba == 0 {
            return;
        }
    }
    panic!("the wire never settled");
}

#[test]
fn two_stacks_talk_through_the_public_api() {
    // UDP datagrams wait in the packet buffers: 3,000 bytes take 3 fragments (sent) or 2
    // buffers (received), beyond the FRAME_RESERVE kept for ARP and ICMP.
    let mut packets_a = [[0u8; 1514]; 8];
    let mut queue_a = [PendingSlot::EMPTY; 8];
    let mut arp_a = [ArpEntry::EMPTY; 4];
    let mut reasm_a = [ReassemblySlot::EMPTY; 1];
    let mut reasm_bytes_a = [0u8; 4096];
    let mut udp_a = [UdpSlot::new(4096, 4096), UdpSlot::EMPTY];
    let mut a = Stack::new(
        StackConfig {
            ipv4: Ipv4Cidr::new(IP_A, 24),
            ..StackConfig::default()
        },
        StackStorage {
            packets: packets_a.as_flattened_mut(),
            packet_size: 1514,
            tx_queue: &mut queue_a,
            arp: &mut arp_a,
            reassembly: &mut reasm_a,
            reassembly_bytes: &mut reasm_bytes_a,
            udp: &mut udp_a,
            tcp: stack_runtime::TcpStorage::none(),
        },
        MAC_A,
    );

    // UDP datagrams wait in the packet buffers: 3,000 bytes take 3 fragments (sent) or 2
    // buffers (received), beyond the FRAME_RESERVE kept for ARP and ICMP.
    let mut packets_b = [[0u8; 1514]; 8];
    let mut queue_b = [PendingSlot::EMPTY; 8];
    let mut arp_b = [ArpEntry::EMPTY; 4];
    let mut reasm_b = [ReassemblySlot::EMPTY; 1];
    let mut reasm_bytes_b = [0u8; 4096];
    let mut udp_b = [UdpSlot::new(4096, 4096)];
    let mut b = Stack::new(
        StackConfig {
            ipv4: Ipv4Cidr::new(IP_B, 24),
            ..StackConfig::default()
        },
        StackStorage {
            packets: packets_b.as_flattened_mut(),
            packet_size: 1514,
            tx_queue: &mut queue_b,
            arp: &mut arp_b,
            reassembly: &mut reasm_b,
            reassembly_bytes: &mut reasm_bytes_b,
            udp: &mut udp_b,
            tcp: stack_runtime::TcpStorage::none(),
        },
        MAC_B,
    );

    let mut da: Wire = FrameQueueDriver::new(MAC_A.0);
    let mut db: Wire = FrameQueueDriver::new(MAC_B.0);
    let now = Instant::from_secs(1);

    let sa = a.udp_bind(0).unwrap();
    let sb = b.udp_bind(7).unwrap();
    let port_a = a.udp_local_port(sa).unwrap();
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 241) as u8).collect();
    a.udp_send_to(sa, b"small", SocketAddrV4::new(IP_B, 7))
        .unwrap();
    a.udp_send_to(sa, &big, SocketAddrV4::new(IP_B, 7)).unwrap();
    settle(&mut a, &mut da, &mut b, &mut db, now);

    // b echoes what it got.
    let mut buf = [0u8; 4000];
    for expected in [&b"small"[..], &big[..]] {
        let (n, from) = b.udp_recv_from(sb, &mut buf).unwrap();
        assert_eq!(&buf[..n], expected);
        assert_eq!(from, SocketAddrV4::new(IP_A, port_a));
        b.udp_send_to(sb, &buf[..n], from).unwrap();
    }
    assert_eq!(b.udp_recv_from(sb, &mut buf), Err(UdpError::WouldBlock));
    settle(
        &mut a,
        &mut da,
        &mut b,
        &mut db,
        now + Duration::from_millis(1),
    );
    let (n, _) = a.udp_recv_from(sa, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"small");
    let (n, _) = a.udp_recv_from(sa, &mut buf).unwrap();
    assert_eq!(&buf[..n], &big[..]);

    // Counters by name: traffic counted, nothing dropped, pools back to idle.
    let mut named = std::collections::BTreeMap::new();
    a.stats().for_each(|name, value| {
        named.insert(name, value);
    });
    assert_eq!(named["udp_tx"], 2);
    assert_eq!(named["udp_rx"], 2);
    assert_eq!(named["frag_tx"], 3);
    assert_eq!(named["frag_reassembled"], 1);
    assert_eq!(named["pool_packets_in_use"], 0);
    assert_eq!(a.stats().drops_total(), 0);
    assert_eq!(b.stats().drops_total(), 0);

    // Closing frees the slot; the handle goes stale.
    a.udp_close(sa);
    assert_eq!(
        a.udp_send_to(sa, b"x", SocketAddrV4::new(IP_B, 7)),
        Err(UdpError::InvalidHandle)
    );
}
