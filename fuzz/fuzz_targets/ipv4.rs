//! IPv4 header: `new_checked`, `Repr::parse` with and without checksum verification, every
//! accessor, and `parse(emit(parse(x))) == parse(x)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{Ipv4Packet, Ipv4Repr, ipv4};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let _ = (
        packet.options(),
        packet.payload(),
        packet.frag_offset(),
        packet.is_fragment(),
    );
    let verified = Ipv4Repr::parse(&packet, true);
    let Ok(repr) = Ipv4Repr::parse(&packet, false) else {
        assert!(verified.is_err());
        return;
    };
    if let Ok(v) = verified {
        assert_eq!(v, repr);
    }
    let mut buf = vec![0u8; ipv4::HEADER_LEN + repr.payload_len];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), packet.ident());
    let again = Ipv4Repr::parse(&Ipv4Packet::new_checked(&buf[..]).unwrap(), true).unwrap();
    assert_eq!(again, repr);
});
