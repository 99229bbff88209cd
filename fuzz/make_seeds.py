#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from the real captured frames of stack-runtime's tests.

Sources: the byte-array constants of stack-runtime/tests/wire_captures.rs and wire_tcp.rs
(frames captured between Linux network namespaces), and the hex-string dnsmasq captures in the
unit tests of stack-runtime/src/wire/dhcpv4.rs and dns.rs. Each frame is cut to the layer a
target reads; the udp and tcp_options targets take the 8 address bytes of the pseudo header
first. The `stack` target's input is a structured operation list, so its seeds are the raw
frames too (libFuzzer mutates them into operation sequences).

Run from anywhere: `python3 fuzz/make_seeds.py`. Deterministic: file names are the constant
names.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"

ARRAY = re.compile(r"const (\w+): \[u8; \d+\] = \[(.*?)\];", re.S)
HEX = re.compile(r'const (\w+): &str = "((?:[0-9a-f\\\s])+)";', re.S)


def arrays(path):
    text = (ROOT / path).read_text()
    for name, body in ARRAY.findall(text):
        yield name, bytes(int(b, 16) for b in re.findall(r"0x([0-9a-fA-F]{2})", body))


def hexes(path):
    text = (ROOT / path).read_text()
    for name, body in HEX.findall(text):
        yield name, bytes.fromhex(re.sub(r"[\\\s]", "", body))


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name.lower()).write_bytes(data)


def main():
    frames = list(arrays("stack-runtime/tests/wire_captures.rs"))
    frames += list(arrays("stack-runtime/tests/wire_tcp.rs"))
    for name, frame in frames:
        if len(frame) < 14:
            continue
        write("ethernet", name, frame)
        write("stack", name, frame)
        ethertype = frame[12:14]
        payload = frame[14:]
        if ethertype == b"\x08\x06":
            write("arp", name, payload)
        elif ethertype == b"\x08\x00" and len(payload) >= 20:
            write("ipv4", name, payload)
            ihl = (payload[0] & 0x0F) * 4
            total = int.from_bytes(payload[2:4], "big")
            fragment = int.from_bytes(payload[6:8], "big") & 0x3FFF
            transport = payload[ihl:total]
            addrs = payload[12:20]
            proto = payload[9]
            if proto == 1:
                write("icmpv4", name, transport)
            elif proto == 17 and not fragment:
                write("udp", name, addrs + transport)
            elif proto == 6:
                write("tcp_options", name, addrs + transport)
    for name, msg in hexes("stack-runtime/src/wire/dhcpv4.rs"):
        write("dhcpv4", name, msg)
    for name, msg in hexes("stack-runtime/src/wire/dns.rs"):
        write("dns", name, msg)


if __name__ == "__main__":
    main()
