//! UDP: the first 8 input bytes are the pseudo header's source and destination addresses, the
//! rest the datagram. `new_checked`, `Repr::parse` with and without checksum verification, and
//! `parse(emit(parse(x))) == parse(x)` with the payload kept.
#![no_main]

use core::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{UdpPacket, UdpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((addrs, datagram)) = data.split_at_checked(8) else {
        return;
    };
    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
    let Ok(packet) = UdpPacket::new_checked(datagram) else {
        return;
    };
    let _ = UdpRepr::parse(&packet, src, dst, true);
    let Ok(repr) = UdpRepr::parse(&packet, src, dst, false) else {
        return;
    };
    let payload = packet.payload();
    let mut buf = vec![0u8; repr.buffer_len(payload.len())];
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[..]),
        src,
        dst,
        payload,
    );
    let out = UdpPacket::new_checked(&buf[..]).unwrap();
    assert_eq!(UdpRepr::parse(&out, src, dst, true).unwrap(), repr);
    assert_eq!(out.payload(), payload);
});
