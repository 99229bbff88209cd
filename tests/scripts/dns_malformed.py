#!/usr/bin/env python3
"""A hostile DNS server for tests/tests/dhcp_dns.rs.

Listens on UDP port 53 of --bind and answers every A query according to the first label of the
name asked for, so the test chooses the attack by the name it resolves:

    loop.*      the answer's owner name is a compression pointer to itself
    forward.*   the answer's owner name is a compression pointer forwards
    long.*      the answer's owner name is 4 x 63-byte labels + "abc": 260 bytes > 255
    label.*     the answer's owner name has a 64-byte label
    overrun.*   the answer count says 5, the message holds 1
    cut.*       the message is cut off 3 bytes before its end
    tc.*        the TC (truncated) bit is set
    anything    a well-formed answer: 198.51.100.7, TTL 60

Prints "ready" once it listens, then one "<name> <kind>" line per answer. Runs until killed.
"""

import argparse
import socket
import struct
import sys

ADDRESS = bytes([198, 51, 100, 7])


def question_end(query):
    """Offset just after the question's name (uncompressed, as our stack sends it)."""
    pos = 12
    while pos < len(query) and query[pos] != 0:
        pos += 1 + query[pos]
    return pos + 1


def answer(query):
    qend = question_end(query)
    question = query[12 : qend + 4]
    first_label = query[13 : 13 + query[12]].decode("ascii", "replace").lower()
    ident = query[:2]
    flags = 0x8180
    ancount = 1
    answer_at = 12 + len(question)
    owner = b"\xc0\x0c"
    if first_label == "loop":
        owner = struct.pack(">H", 0xC000 | answer_at)
    elif first_label == "forward":
        owner = struct.pack(">H", 0xC000 | (answer_at + 200))
    elif first_label == "long":
        owner = (b"\x3f" + b"x" * 63) * 4 + b"\x03abc\x00"
    elif first_label == "label":
        owner = b"\x40" + b"y" * 64 + b"\x00"
    elif first_label == "overrun":
        ancount = 5
    elif first_label == "tc":
        flags |= 0x0200
    record = owner + struct.pack(">HHIH", 1, 1, 60, 4) + ADDRESS
    message = ident + struct.pack(">HHHHH", flags, 1, ancount, 0, 0) + question + record
    if first_label == "cut":
        message = message[:-3]
    return first_label, message


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True, help="address to listen on (port 53)")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 53))
    print("ready", flush=True)
    while True:
        query, peer = sock.recvfrom(2048)
        if len(query) < 17:
            continue
        kind, message = answer(query)
        sock.sendto(message, peer)
        print(f"{kind} {len(message)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
