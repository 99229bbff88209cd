//! ICMPv4: `new_checked`, `Repr::parse` with and without checksum verification, and
//! `parse(emit(parse(x))) == parse(x)` (error messages quote at most 8 payload bytes, so the
//! comparison cuts the quoted data to what `emit` writes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{Icmpv4Packet, Icmpv4Repr};

/// What `emit` keeps of a parsed message.
fn canonical(repr: Icmpv4Repr<'_>) -> Icmpv4Repr<'_> {
    match repr {
        Icmpv4Repr::DstUnreachable {
            reason,
            header,
            data,
        } => Icmpv4Repr::DstUnreachable {
            reason,
            header,
            data: &data[..data.len().min(8)],
        },
        Icmpv4Repr::TimeExceeded {
            reason,
            header,
            data,
        } => Icmpv4Repr::TimeExceeded {
            reason,
            header,
            data: &data[..data.len().min(8)],
        },
        echo => echo,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Icmpv4Packet::new_checked(data) else {
        return;
    };
    let _ = Icmpv4Repr::parse(&packet, true);
    let Ok(repr) = Icmpv4Repr::parse(&packet, false) else {
        return;
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
    let out = Icmpv4Packet::new_checked(&buf[..]).unwrap();
    let again = Icmpv4Repr::parse(&out, true).unwrap();
    assert_eq!(canonical(again), canonical(repr));
});
