//! ARP: `new_checked`, `Repr::parse`, and `parse(emit(parse(x))) == parse(x)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    // `Repr::parse` checks lengths itself, so it is also fed unchecked views.
    let _ = ArpRepr::parse(&ArpPacket::new_unchecked(data));
    let Ok(packet) = ArpPacket::new_checked(data) else {
        return;
    };
    let Ok(repr) = ArpRepr::parse(&packet) else {
        return;
    };
    let mut buf = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..repr.buffer_len()]));
    let again = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(again, repr);
});
