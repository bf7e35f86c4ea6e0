#!/usr/bin/env python3
"""ping.py ADDRESS [COUNT]: ICMP echo over a raw socket (root), since the
machine has no ping(8). Exits 0 when at least one reply comes back."""
import os
import select
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main() -> int:
    addr = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    v6 = ":" in addr
    family, proto = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
    request, reply = (128, 129) if v6 else (8, 0)
    sock = socket.socket(family, socket.SOCK_RAW, proto)
    ident = os.getpid() & 0xFFFF
    received = 0
    for seq in range(count):
        payload = b"nvo-vtep interop" * 4
        header = struct.pack("!BBHHH", request, 0, 0, ident, seq)
        # The kernel fills in ICMPv6 checksums on raw sockets.
        csum = 0 if v6 else checksum(header + payload)
        sock.sendto(struct.pack("!BBHHH", request, 0, csum, ident, seq) + payload, (addr, 0))
        deadline = time.monotonic() + 1.0
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            data = sock.recv(2048)
            icmp = data if v6 else data[(data[0] & 0x0F) * 4:]
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
            if kind == reply and rid == ident and rseq == seq:
                received += 1
                break
    print(f"ping {addr}: {count} sent, {received} received")
    return 0 if received else 1


if __name__ == "__main__":
    sys.exit(main())
