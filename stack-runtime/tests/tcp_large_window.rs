//! A 64 KiB receive window between two stacks in memory: with the send and receive queues
//! chained through their packet buffers, a window is limited by the socket's limit and the
//! pool, not by a fixed array in the connection slot (which used to stop at 32 buffers).

use core::net::{Ipv4Addr, SocketAddrV4};

use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::testing::FrameQueueDriver;
use stack_runtime::time::{Duration, Instant};
use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
use stack_runtime::{
    ArpEntry, PendingSlot, Stack, StackConfig, StackStorage, TcpConfig, TcpListenerSlot, TcpSlot,
    TcpState, TcpStorage,
};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);
const IP_A: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const IP_B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 11);
/// Packet buffers per stack: a 48-buffer window and send buffer, and room for frames.
const BUFFERS: usize = 104;
/// Buffers per queue: 47 × 1460 B = 68,620 B of window, more than 64 KiB.
const WINDOW_BUFFERS: u16 = 48;

type Wire = FrameQueueDriver<64, 1514>;

fn leak<T>(v: Vec<T>) -> &'static mut [T] {
    v.leak()
}

fn stack(ip: Ipv4Addr, mac: EthernetAddress, seed: u8) -> Stack<'static> {
    let storage = StackStorage {
        packets: leak(vec![0u8; BUFFERS * 1514]),
        packet_size: 1514,
        tx_queue: leak((0..BUFFERS).map(|_| PendingSlot::EMPTY).collect()),
        arp: leak((0..4).map(|_| ArpEntry::EMPTY).collect()),
        reassembly: &mut [],
        reassembly_bytes: &mut [],
        udp: &mut [],
        tcp: TcpStorage {
            sockets: leak((0..2).map(|_| TcpSlot::EMPTY).collect()),
            listeners: leak(vec![TcpListenerSlot::EMPTY; 1]),
            quotas: leak(vec![SocketQuota::default(); 2]),
        },
    };
    let config = StackConfig {
        ipv4: Ipv4Cidr::new(ip, 24),
        seed: [seed; 16],
        tcp: TcpConfig {
            window_scaling: true,
            send_buffers: WINDOW_BUFFERS,
            recv_buffers: WINDOW_BUFFERS,
            segments: (BUFFERS - 2) as u16,
            ..TcpConfig::default()
        },
        ..StackConfig::default()
    };
    Stack::new(config, storage, mac)
}

#[test]
fn a_64_kib_window_fills_and_the_stream_arrives_intact() {
    const TOTAL: usize = 1_000_000;
    let mut a = stack(IP_A, MAC_A, 1);
    let mut b = stack(IP_B, MAC_B, 2);
    let (mut da, mut db) = (Wire::new(MAC_A.0), Wire::new(MAC_B.0));
    let listener = b.tcp_listen(80).unwrap();
    let mut now = Instant::from_millis(1_000);
    let h = a.tcp_connect(SocketAddrV4::new(IP_B, 80), 0, now).unwrap();
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 31 % 251) as u8).collect();
    let (mut sent, mut got) = (0, Vec::with_capacity(TOTAL));
    let mut server = None;
    let mut buf = vec![0u8; 4096];
    let mut most_unread = 0;
    for step in 0..200_000 {
        now += Duration::from_millis(1);
        a.poll(&mut da, now);
        da.forward_to(&mut db);
        b.poll(&mut db, now);
        db.forward_to(&mut da);
        if sent < TOTAL && a.tcp_state(h) == TcpState::Established {
            sent += a.tcp_send(h, &data[sent..]).unwrap_or(0);
        }
        if server.is_none() {
            server = b.tcp_accept(listener);
        }
        let Some(sh) = server else { continue };
        most_unread = most_unread.max(b.tcp_recv_available(sh));
        // The reader sleeps for the first 3 s: the sender fills the whole window.
        if step < 3_000 {
            continue;
        }
        while let Ok(n) = b.tcp_recv(sh, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == TOTAL {
            break;
        }
    }
    assert!(
        most_unread >= 65_536,
        "the receiver held only {most_unread} unread bytes"
    );
    // The window is counted in packet buffers of the shared pool.
    assert!(b.stats().tcp_segments_high_water >= 45);
    assert_eq!(got.len(), TOTAL, "transfer incomplete");
    assert!(got == data, "the stream differs");
    assert_eq!(a.stats().tcp_retransmits, 0);
}
