#!/usr/bin/env python3
"""A station that already uses an address, for the conflict-detection test of
tests/tests/dhcp_dns.rs.

Opens a packet socket on --interface and answers every ARP request for --address (the RFC 5227
probes of the stack's DHCP client included) with an ARP reply from --mac, as a host holding the
address would. The kernel cannot play that role: it would also keep the DHCP server's unicast
offer for the address to itself. Prints "ready" once listening, then one "answered <sender MAC>"
line per reply. Runs until killed.
"""

import argparse
import socket
import struct
import sys

ETH_P_ARP = 0x0806


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", required=True)
    parser.add_argument("--address", required=True, help="the IPv4 address this station holds")
    parser.add_argument("--mac", required=True, help="this station's MAC address")
    args = parser.parse_args()
    ours = socket.inet_aton(args.address)
    mac = mac_bytes(args.mac)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    sock.bind((args.interface, ETH_P_ARP))
    print("ready", flush=True)
    while True:
        frame = sock.recv(2048)
        if len(frame) < 42 or frame[12:14] != b"\x08\x06":
            continue
        # Ethernet/IPv4 ARP request for our address?
        if frame[14:22] != b"\x00\x01\x08\x00\x06\x04\x00\x01" or frame[38:42] != ours:
            continue
        sender_mac, sender_ip = frame[22:28], frame[28:32]
        if sender_mac == mac:
            continue
        reply = (
            sender_mac
            + mac
            + b"\x08\x06"
            + b"\x00\x01\x08\x00\x06\x04\x00\x02"
            + mac
            + ours
            + sender_mac
            + sender_ip
        )
        sock.send(reply)
        print("answered " + ":".join(f"{b:02x}" for b in sender_mac), flush=True)


if __name__ == "__main__":
    sys.exit(main())
