//! TCP header and options: the first 8 input bytes are the pseudo header's source and
//! destination addresses, the rest the segment. The options iterator must end after at most
//! one error; `Repr::parse` with and without checksum verification; each option re-emitted
//! parses back to itself; and `parse(emit(parse(x))) == parse(x)` once SACK blocks that do not
//! fit next to the other options are dropped (as `emit` documents).
#![no_main]

use core::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use stack_runtime::wire::tcp::{OptionIter, TcpOption};
use stack_runtime::wire::{TcpPacket, TcpRepr};

fuzz_target!(|data: &[u8]| {
    let Some((addrs, segment)) = data.split_at_checked(8) else {
        return;
    };
    // The raw option iterator over arbitrary bytes, each option re-emitted.
    let mut errors = 0;
    for option in OptionIter::new(segment) {
        match option {
            Ok(option) => {
                let mut buf = [0u8; 40];
                if option.buffer_len() <= buf.len() {
                    let n = option.emit(&mut buf);
                    let (again, _) = TcpOption::parse(&buf[..n]).unwrap();
                    if !matches!(option, TcpOption::WindowScale(_)) {
                        assert_eq!(again, option);
                    }
                }
            }
            Err(_) => errors += 1,
        }
    }
    assert!(errors <= 1);

    let src = Ipv4Addr::new(addrs[0], addrs[1], addrs[2], addrs[3]);
    let dst = Ipv4Addr::new(addrs[4], addrs[5], addrs[6], addrs[7]);
    let Ok(packet) = TcpPacket::new_checked(segment) else {
        return;
    };
    let _ = (packet.segment_len(), packet.options(), packet.payload());
    let _ = TcpRepr::parse(&packet, src, dst, true);
    let Ok(mut repr) = TcpRepr::parse(&packet, src, dst, false) else {
        return;
    };
    repr.sack_ranges.truncate(repr.emitted_sack_blocks());
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);
    let out = TcpPacket::new_checked(&buf[..]).unwrap();
    let again = TcpRepr::parse(&out, src, dst, true).unwrap();
    assert_eq!(again, repr);
});
