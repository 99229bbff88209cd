//! Regression tests from fuzzing (`fuzz/`, `cargo xtask fuzz`).
//!
//! Every input with which a fuzz target crashed becomes a `#[test]` here, with the minimized
//! bytes inline and the fix named. None so far: the runs reported in the fuzzing notes found no
//! crash. Until then, this file replays the committed seed corpora (`fuzz/seeds/<target>`, cut
//! from real captures) through the same parse calls as the parser targets, so the plain test
//! suite covers them without nightly or cargo-fuzz.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use stack_runtime::wire::dns::Message;
use stack_runtime::wire::{
    ArpPacket, ArpRepr, DhcpPacket, DhcpRepr, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, Ipv4Packet, Ipv4Repr, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};

/// The seed files of one fuzz target.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// Splits the 8 pseudo-header address bytes off a `udp` or `tcp_options` seed.
fn addrs(seed: &[u8]) -> (Ipv4Addr, Ipv4Addr, &[u8]) {
    let (a, rest) = seed.split_at(8);
    (
        Ipv4Addr::new(a[0], a[1], a[2], a[3]),
        Ipv4Addr::new(a[4], a[5], a[6], a[7]),
        rest,
    )
}

#[test]
fn seed_corpora_parse() {
    for seed in seeds("ethernet") {
        EthernetRepr::parse(&EthernetFrame::new_checked(&seed[..]).unwrap()).unwrap();
    }
    for seed in seeds("arp") {
        ArpRepr::parse(&ArpPacket::new_checked(&seed[..]).unwrap()).unwrap();
    }
    for seed in seeds("ipv4") {
        Ipv4Repr::parse(&Ipv4Packet::new_checked(&seed[..]).unwrap(), true).unwrap();
    }
    for seed in seeds("icmpv4") {
        let packet = Icmpv4Packet::new_checked(&seed[..]).unwrap();
        // Some captures are quoted fragments or unsupported types: parse must only not panic.
        let _ = Icmpv4Repr::parse(&packet, true);
    }
    for seed in seeds("udp") {
        let (src, dst, dgram) = addrs(&seed);
        UdpRepr::parse(&UdpPacket::new_checked(dgram).unwrap(), src, dst, true).unwrap();
    }
    for seed in seeds("tcp_options") {
        let (src, dst, seg) = addrs(&seed);
        // One capture is a crafted out-of-order segment; checksums all verify.
        TcpRepr::parse(&TcpPacket::new_checked(seg).unwrap(), src, dst, true).unwrap();
    }
    for seed in seeds("dhcpv4") {
        DhcpRepr::parse(&DhcpPacket::new_checked(&seed[..]).unwrap()).unwrap();
    }
    for seed in seeds("dns") {
        Message::parse(&seed).unwrap();
    }
}
