//! The TAP board on its own against the Linux kernel, without the stack: frames the kernel
//! sends arrive through `TapDevice`, frames written through it reach the kernel.

use std::net::{SocketAddrV4, UdpSocket};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use embassy_net_driver::{Driver, HardwareAddress, RxToken, TxToken};
use host_tap::TapDevice;
use stackgen_tests::{KERNEL_IP, Netns, STACK_IP, STACK_MAC, TAP};

/// Receives frames until `accept` returns something, for at most `limit`.
fn receive_until<T>(
    tap: &mut TapDevice,
    limit: Duration,
    mut accept: impl FnMut(&[u8]) -> Option<T>,
) -> Option<T> {
    let mut cx = Context::from_waker(Waker::noop());
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        tap.wait(Some(Duration::from_millis(50))).expect("poll");
        while let Some((rx, _tx)) = tap.receive(&mut cx) {
            if let Some(found) = rx.consume(|frame| accept(frame)) {
                return Some(found);
            }
        }
    }
    None
}

#[test]
fn tap_device_exchanges_frames_with_the_kernel() {
    let ns = Netns::new();
    ns.run(|| {
        let mut tap = TapDevice::open(TAP)
            .expect("open tap0 in the namespace")
            .with_mac(STACK_MAC);
        assert_eq!(tap.name(), TAP);
        assert_eq!(tap.hardware_address(), HardwareAddress::Ethernet(STACK_MAC));
        assert_eq!(tap.capabilities().max_transmission_unit, 1514);
        let mut cx = Context::from_waker(Waker::noop());

        // Nothing waiting yet (the kernel may already have sent IPv6 chatter: drain it).
        while let Some((rx, _)) = tap.receive(&mut cx) {
            rx.consume(|_| ());
        }

        // A datagram to the (absent) stack makes the kernel ask for its MAC first.
        let socket = UdpSocket::bind(SocketAddrV4::new(KERNEL_IP, 0)).expect("bind");
        socket
            .send_to(b"hello, tap", SocketAddrV4::new(STACK_IP, 7))
            .expect("send");

        let (kernel_mac, first_frame) = receive_until(&mut tap, Duration::from_secs(5), |f| {
            let is_arp_request = f.len() >= 42
                && f[12..14] == [0x08, 0x06]
                && f[20..22] == [0, 1]
                && f[38..42] == STACK_IP.octets();
            is_arp_request.then(|| (<[u8; 6]>::try_from(&f[22..28]).unwrap(), f.to_vec()))
        })
        .expect("the kernel's ARP request for 192.0.2.2 arrived through the TAP");
        assert_eq!(&first_frame[..6], &[0xff; 6], "ARP requests are broadcast");

        // A token dropped unconsumed keeps its frame: send a second datagram, look at it twice.
        socket
            .send_to(b"again", SocketAddrV4::new(STACK_IP, 7))
            .ok();

        // Answer the ARP request through a transmit token.
        let tx = tap.transmit(&mut cx).expect("a TAP can always transmit");
        tx.consume(42, |f| {
            f[0..6].copy_from_slice(&kernel_mac);
            f[6..12].copy_from_slice(&STACK_MAC);
            f[12..14].copy_from_slice(&[0x08, 0x06]);
            f[14..22].copy_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
            f[22..28].copy_from_slice(&STACK_MAC);
            f[28..32].copy_from_slice(&STACK_IP.octets());
            f[32..38].copy_from_slice(&kernel_mac);
            f[38..42].copy_from_slice(&KERNEL_IP.octets());
        });
        assert_eq!(tap.counters().tx_frames, 1);
        assert_eq!(tap.counters().tx_errors, 0);

        // Now the queued datagrams leave the kernel, addressed to our MAC.
        let payload = receive_until(&mut tap, Duration::from_secs(5), |f| {
            let is_udp_to_us = f.len() >= 42 && f[..6] == STACK_MAC && f[12..14] == [0x08, 0x00];
            is_udp_to_us.then(|| f[42..].to_vec())
        });
        let payload = payload.expect("the kernel sent the datagram to the MAC we announced");
        assert_eq!(payload, b"hello, tap");

        // The second datagram, with every token first dropped unconsumed: were a dropped token
        // to lose its frame, "again" would never be seen.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut again = false;
        while !again && Instant::now() < deadline {
            tap.wait(Some(Duration::from_millis(50))).expect("poll");
            // The tokens are dropped unconsumed at the end of this statement.
            if tap.receive(&mut cx).is_none() {
                continue;
            }
            let (rx, _) = tap
                .receive(&mut cx)
                .expect("the frame of a dropped token is still pending");
            again = rx.consume(|f| f.len() > 42 && f[42..] == *b"again");
        }
        assert!(
            again,
            "the second datagram arrived although its first token was dropped"
        );
        assert_eq!(tap.counters().rx_errors, 0);
    });
}

#[test]
fn wait_times_out_without_traffic() {
    let ns = Netns::new();
    ns.run(|| {
        let mut tap = TapDevice::open(TAP).expect("open tap0");
        let mut cx = Context::from_waker(Waker::noop());
        // Drain whatever the kernel sent when the link came up, then expect quiet... mostly:
        // IPv6 router solicitations may arrive, so only check that wait returns in bounds.
        while let Some((rx, _)) = tap.receive(&mut cx) {
            rx.consume(|_| ());
        }
        let start = Instant::now();
        let _ready = tap.wait(Some(Duration::from_millis(30))).expect("poll");
        assert!(start.elapsed() < Duration::from_secs(2));
    });
}
