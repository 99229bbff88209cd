#!/usr/bin/env python3
"""Send COUNT TCP SYNs from SRC to DST:PORT, each from a distinct source port, through a raw
socket (needs CAP_NET_RAW). Used by tests/tests/tcp.rs inside a test namespace only.

usage: syn_flood.py SRC DST PORT COUNT
"""
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn(src: str, dst: str, sport: int, dport: int, seq: int) -> bytes:
    # 20-byte header plus the MSS option (4 bytes): data offset 6.
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 6 << 4, 0x02, 64240, 0, 0)
    options = struct.pack("!BBH", 2, 4, 1460)
    segment = header + options
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(segment))
    csum = checksum(pseudo + segment)
    return segment[:16] + struct.pack("!H", csum) + segment[18:]


def main() -> None:
    src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for i in range(count):
        sport = 20000 + i
        sock.sendto(syn(src, dst, sport, port, 0x10000000 + i * 7919), (dst, 0))
    print("sent", count)


if __name__ == "__main__":
    main()
