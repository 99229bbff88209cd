#!/usr/bin/env python3
"""Write malformed Ethernet frames into a TAP interface from the kernel side.

Used by tests/tests/runtime_core.rs inside a test network namespace:

    ip netns exec NS python3 malformed_frames.py --iface tap0 --count 5000 --seed 1 \
        --dst-mac 02:00:00:00:00:02 --dst-ip 192.0.2.2 --src-ip 192.0.2.1

Every frame is built so that a correct stack must drop it, and each class maps to the drop
reason the stack should count. The frames are addressed to the stack's MAC (broadcast for ARP),
so they reach the protocol layers instead of stopping at the Ethernet filter. The kernel refuses
to send frames shorter than an Ethernet header through a packet socket, so truncation starts at
the ARP and IPv4 layers.

Prints one `class: count` line per class of frames sent, then `sent: N` and `refused: N` (frames
the kernel did not accept). The same seed always produces the same frames.
"""

import argparse
import random
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def wrong_checksum(rng: random.Random, right: int) -> int:
    """A checksum value that does not verify. A field verifies only with the right value or its
    one's-complement twin (0x0000 and 0xFFFF are the same number), and 0 means "no checksum" to
    UDP, so anything but the right value, 0 and 0xFFFF is wrong."""
    while True:
        value = right ^ rng.randrange(1, 0x10000)
        if value not in (right, 0, 0xFFFF):
            return value


def mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def ethernet(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4_header(src: bytes, dst: bytes, proto: int, payload_len: int, *, version=4, ihl=5,
                total_len=None, ttl=64, ident=0, good_checksum=True, rng=None) -> bytes:
    if total_len is None:
        total_len = ihl * 4 + payload_len
    options = b"\x01" * (max(ihl, 5) * 4 - 20)  # NOP options when ihl > 5
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total_len & 0xFFFF,
                         ident, 0, ttl, proto, 0, src, dst) + options
    right = checksum(header)
    value = right if good_checksum else wrong_checksum(rng, right)
    return header[:10] + struct.pack("!H", value) + header[12:]


def udp(src_ip: bytes, dst_ip: bytes, sport: int, dport: int, payload: bytes, *,
        length=None, good_checksum=True, rng=None) -> bytes:
    if length is None:
        length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length & 0xFFFF, 0)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, 8 + len(payload))
    right = checksum(pseudo + header + payload) or 0xFFFF
    value = right if good_checksum else wrong_checksum(rng, right)
    return header[:6] + struct.pack("!H", value) + payload


def icmp_echo(payload: bytes, *, good_checksum=True, rng=None) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, 0x5347, 1)
    right = checksum(header + payload)
    value = right if good_checksum else wrong_checksum(rng, right)
    return header[:2] + struct.pack("!H", value) + header[4:] + payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iface", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--dst-mac", required=True)
    parser.add_argument("--dst-ip", required=True)
    parser.add_argument("--src-ip", required=True)
    parser.add_argument("--burst", type=int, default=25,
                        help="frames per burst; a pause follows each burst so the TAP queue "
                             "(500 frames) never overflows while the stack reads")
    parser.add_argument("--pause", type=float, default=0.002)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((args.iface, 0))
    src_mac = sock.getsockname()[4]
    dst_mac = mac(args.dst_mac)
    src_ip = socket.inet_aton(args.src_ip)
    dst_ip = socket.inet_aton(args.dst_ip)
    broadcast = b"\xff" * 6

    def rand(n: int) -> bytes:
        return rng.randbytes(n)

    def ip_frame(header_and_payload: bytes) -> bytes:
        return ethernet(dst_mac, src_mac, 0x0800, header_and_payload)

    def unknown_ethertype():
        ethertype = rng.choice([t for t in range(0x0600, 0x10000, 0x0101)
                                if t not in (0x0800, 0x0806)])
        return ethernet(dst_mac, src_mac, ethertype, rand(rng.randrange(0, 200)))

    def random_bytes():
        # Random destination too: unicast to someone else or an unjoined multicast group.
        dst = bytearray(rand(6))
        if bytes(dst) in (dst_mac, broadcast):
            dst[5] ^= 0x55
        return bytes(dst) + rand(rng.randrange(8, 400))

    def arp_truncated():
        body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, src_ip,
                           b"\0" * 6, dst_ip)
        return ethernet(broadcast, src_mac, 0x0806, body[:rng.randrange(0, 28)])

    def arp_unsupported():
        htype, ptype, hlen, plen, op = 1, 0x0800, 6, 4, 1
        which = rng.randrange(4)
        if which == 0:
            htype = rng.choice([0, 6, 0x1234])
        elif which == 1:
            ptype = rng.choice([0x86DD, 0x0806, 0x1234])
        elif which == 2:
            hlen, plen = rng.choice([(8, 4), (6, 16), (0, 0)])
        else:
            op = rng.choice([0, 3, 4, 0xFFFF])
        body = struct.pack("!HHBBH", htype, ptype, hlen, plen, op)
        body += rand(max(hlen * 2 + plen * 2, 20))
        return ethernet(broadcast, src_mac, 0x0806, body)

    def ipv4_truncated():
        full = ipv4_header(src_ip, dst_ip, 17, 8) + udp(src_ip, dst_ip, 4000, 7, b"")
        return ip_frame(full[:rng.randrange(0, 20)])

    def ipv4_bad_version():
        payload = udp(src_ip, dst_ip, 4000, 7, rand(16))
        version = rng.choice([0, 1, 5, 6, 15])
        return ip_frame(ipv4_header(src_ip, dst_ip, 17, len(payload), version=version) + payload)

    def ipv4_bad_ihl():
        payload = rand(32)
        ihl = rng.randrange(0, 5)
        header = ipv4_header(src_ip, dst_ip, 17, len(payload), ihl=ihl,
                             total_len=20 + len(payload))
        return ip_frame(header[:20] + payload)

    def ipv4_bad_total_length():
        payload = udp(src_ip, dst_ip, 4000, 7, rand(rng.randrange(1, 64)))
        if rng.randrange(2):
            total = 20 + len(payload) + rng.randrange(1, 1000)  # longer than the frame
        else:
            total = rng.randrange(0, 20)  # shorter than the header
        return ip_frame(ipv4_header(src_ip, dst_ip, 17, len(payload), total_len=total) + payload)

    def ipv4_bad_checksum():
        # Otherwise a perfectly good echo request to the UDP echo port.
        payload = udp(src_ip, dst_ip, 4000, 7, rand(rng.randrange(1, 200)))
        header = ipv4_header(src_ip, dst_ip, 17, len(payload), good_checksum=False, rng=rng)
        return ip_frame(header + payload)

    def udp_truncated():
        payload = rand(rng.randrange(0, 8))
        return ip_frame(ipv4_header(src_ip, dst_ip, 17, len(payload)) + payload)

    def udp_bad_length():
        data = rand(rng.randrange(1, 100))
        if rng.randrange(2):
            length = 8 + len(data) + rng.randrange(1, 500)
        else:
            length = rng.randrange(0, 8)
        payload = udp(src_ip, dst_ip, 4000, 7, data, length=length)
        return ip_frame(ipv4_header(src_ip, dst_ip, 17, len(payload)) + payload)

    def udp_bad_checksum():
        payload = udp(src_ip, dst_ip, 4000, 7, rand(rng.randrange(1, 200)),
                      good_checksum=False, rng=rng)
        return ip_frame(ipv4_header(src_ip, dst_ip, 17, len(payload)) + payload)

    def icmp_truncated():
        payload = bytes([8, 0]) + rand(rng.randrange(0, 6))
        return ip_frame(ipv4_header(src_ip, dst_ip, 1, len(payload)) + payload)

    def icmp_bad_checksum():
        payload = icmp_echo(rand(rng.randrange(0, 200)), good_checksum=False, rng=rng)
        return ip_frame(ipv4_header(src_ip, dst_ip, 1, len(payload)) + payload)

    classes = [
        ("unknown_ethertype", unknown_ethertype),
        ("random_bytes", random_bytes),
        ("arp_truncated", arp_truncated),
        ("arp_unsupported", arp_unsupported),
        ("ipv4_truncated", ipv4_truncated),
        ("ipv4_bad_version", ipv4_bad_version),
        ("ipv4_bad_ihl", ipv4_bad_ihl),
        ("ipv4_bad_total_length", ipv4_bad_total_length),
        ("ipv4_bad_checksum", ipv4_bad_checksum),
        ("udp_truncated", udp_truncated),
        ("udp_bad_length", udp_bad_length),
        ("udp_bad_checksum", udp_bad_checksum),
        ("icmp_truncated", icmp_truncated),
        ("icmp_bad_checksum", icmp_bad_checksum),
    ]
    counts = {name: 0 for name, _ in classes}
    sent = refused = 0
    for i in range(args.count):
        name, build = classes[rng.randrange(len(classes))]
        frame = build()
        try:
            sock.send(frame)
            counts[name] += 1
            sent += 1
        except OSError as error:
            refused += 1
            print(f"refused ({name}, {len(frame)} bytes): {error}", file=sys.stderr)
        if args.burst and (i + 1) % args.burst == 0:
            time.sleep(args.pause)

    for name, _ in classes:
        print(f"{name}: {counts[name]}")
    print(f"sent: {sent}")
    print(f"refused: {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
