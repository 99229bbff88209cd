//! Ethernet II header: `new_checked`, `Repr::parse`, and `parse(emit(parse(x))) == parse(x)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::{EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        return;
    };
    let Ok(repr) = EthernetRepr::parse(&frame) else {
        return;
    };
    let _ = frame.payload();
    let mut buf = [0u8; 14];
    let mut out = EthernetFrame::new_unchecked(&mut buf[..repr.buffer_len()]);
    repr.emit(&mut out);
    let again = EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()).unwrap();
    assert_eq!(again, repr);
});
