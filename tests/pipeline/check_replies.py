#!/usr/bin/env python3
"""The HNV pipeline's ARP replies and Neighbor Advertisements, decoded by
tshark: each request in write_replies' capture is followed by the reply the
pipeline built for it.

usage: check_replies.py WRITE_REPLIES TSHARK
"""
import os
import subprocess
import sys
import tempfile

CA_MAC = "00:15:5d:00:00:42"
FIELDS = ["eth.dst", "eth.src", "vlan.id", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac",
          "arp.dst.proto_ipv4", "ipv6.src", "ipv6.dst", "ipv6.hlim", "icmpv6.type", "icmpv6.checksum.status",
          "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o", "icmpv6.nd.na.target_address", "icmpv6.opt.linkaddr"]


def main():
    writer, tshark = sys.argv[1], sys.argv[2]
    if not tshark or not os.path.exists(tshark):
        print("check_replies: tshark not found (install Debian's tshark)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        cap = os.path.join(tmp, "replies.pcap")
        subprocess.run([writer, cap], check=True)
        cmd = [tshark, "-n", "-r", cap, "-o", "ip.check_checksum:TRUE",
               "-T", "fields", "-E", "separator=\t"]
        for f in FIELDS:
            cmd += ["-e", f]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    rows = [dict(zip(FIELDS, line.split("\t"))) for line in out]
    failures = []

    def expect(what, got, want):
        if got != want:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    expect("frames", len(rows), 6)
    if len(rows) == 6:
        for i, vlan in ((1, ""), (3, "100")):
            r, q = rows[i], rows[i - 1]
            expect(f"ARP reply {i} opcode", r["arp.opcode"], "2")
            expect(f"ARP reply {i} sender MAC", r["arp.src.hw_mac"], CA_MAC)
            expect(f"ARP reply {i} sender IP", r["arp.src.proto_ipv4"], "192.168.0.2")
            expect(f"ARP reply {i} target", (r["arp.dst.hw_mac"], r["arp.dst.proto_ipv4"]),
                   (q["arp.src.hw_mac"], q["arp.src.proto_ipv4"]))
            expect(f"ARP reply {i} Ethernet", (r["eth.dst"], r["eth.src"]), (q["eth.src"], CA_MAC))
            expect(f"ARP reply {i} VLAN", r["vlan.id"], vlan)
        na, ns = rows[5], rows[4]
        expect("NA type", na["icmpv6.type"], "136")
        expect("NA checksum", na["icmpv6.checksum.status"], "1")
        expect("NA flags S, O", (na["icmpv6.nd.na.flag.s"], na["icmpv6.nd.na.flag.o"]), ("1", "1"))
        expect("NA target", na["icmpv6.nd.na.target_address"], "fd00::42")
        expect("NA link-layer address", na["icmpv6.opt.linkaddr"], CA_MAC)
        expect("NA addresses", (na["ipv6.src"], na["ipv6.dst"], na["ipv6.hlim"]), ("fd00::42", ns["ipv6.src"], "255"))
        expect("NA Ethernet", (na["eth.dst"], na["eth.src"]), (ns["eth.src"], CA_MAC))
    for f in failures:
        print("check_replies:", f)
    print(f"check_replies: {len(rows)} frames, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
