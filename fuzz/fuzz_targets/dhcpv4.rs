//! DHCPv4: `new_checked`, the raw options iterator, `Repr::parse`, and
//! `parse(emit(parse(x))) == parse(x)` (byte options longer than 255 bytes cannot occur in a
//! parsed message, so nothing is cut).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{DhcpPacket, DhcpRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = DhcpPacket::new_checked(data) else {
        return;
    };
    for _ in packet.options() {}
    let Ok(repr) = DhcpRepr::parse(&packet) else {
        return;
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut buf[..]));
    let out = DhcpPacket::new_checked(&buf[..]).unwrap();
    let again = DhcpRepr::parse(&out).unwrap();
    assert_eq!(again, repr);
});
