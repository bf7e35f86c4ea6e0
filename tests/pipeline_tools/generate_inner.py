#!/usr/bin/python3
"""Builds the pipeline-tool tests' captures with scapy (Debian python3-scapy).

    generate_inner.py OUT_DIR     the test captures, into OUT_DIR
    generate_inner.py --demo ROOT examples/data/tenants.pcap under ROOT

Deterministic (fixed addresses, payloads and timestamps), so --demo
reproduces the committed demo capture byte for byte.

OUT_DIR receives:
  inner.pcap        VM_A's traffic to VM_B (a static entry) and BUM frames:
                    TCP, UDP, ICMP over IPv4 and IPv6, ARP, IPv6 ND, 802.1Q
                    tagged frames, 60 B to 9000 B
  inner.json        per frame of inner.pcap: {"vlan": bool, "bum": bool}
  broadcast.pcap    one ARP request (flood replication)
  to_vm_c.pcap      one frame to VM_C (unknown to A until it learns)
  from_c{4,6}.pcap  VXLAN from C to A carrying a frame from VM_C (learning)
  spoof{4,6}.pcap   VXLAN to B: from A (a member), then from SPOOFER (not one)
  too_big.pcap      1600-byte IPv4 and IPv6 frames (over a 1500-byte underlay)
"""
import json
import os
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Padding, Raw
from scapy.utils import RawPcapWriter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from addresses import IP_A, IP_B, IP_C, PA, ROUTER_MAC, UNDERLAY_MAC, VM_A, VM_B, VM_C, VNI  # noqa: E402

BASE_TIME = 1_700_000_000
MIN_FRAME = 60  # Ethernet minimum without the FCS


def sized(pkt, size):
    """pkt with a payload that makes the frame exactly size bytes (>= 60)."""
    n = size - len(pkt)
    if n < 0:
        raise ValueError(f"{pkt.summary()} is already {len(pkt)} bytes, more than {size}")
    return pkt / Raw(bytes((i * 7) % 256 for i in range(n)))


def padded(pkt):
    """Short frames padded to the Ethernet minimum, as they travel."""
    return pkt / Padding(b"\0" * (MIN_FRAME - len(pkt))) if len(pkt) < MIN_FRAME else pkt


def ip(v, src, dst, **kw):
    return IP(src=src[4], dst=dst[4], **kw) if v == 4 else IPv6(src=src[6], dst=dst[6], **kw)


def inner_frames():
    """[(frame, {"vlan": bool, "bum": bool})] of VM_A."""
    out = []
    uni = Ether(src=VM_A, dst=VM_B)
    for size in (60, 64, 65, 128, 511, 1000, 1514, 1518, 4000, 8000, 9000):
        out.append((sized(uni / IP(src=IP_A[4], dst=IP_B[4], tos=0x02, ttl=33, id=size) / TCP(sport=40000, dport=80, flags="PA"),
                          size), {}))
    for size in (74, 1514, 9000):
        out.append((sized(uni / ip(6, IP_A, IP_B, tc=0x28) / TCP(sport=40001, dport=443, flags="PA"), size), {}))
    for v in (4, 6):
        for size in (60, 600, 1514):
            out.append((sized(uni / ip(v, IP_A, IP_B) / UDP(sport=5353, dport=9999), max(size, 62)), {}))
    out.append((sized(uni / IP(src=IP_A[4], dst=IP_B[4], tos=0xb8) / ICMP(type=8, id=1, seq=1), 98), {}))
    out.append((padded(uni / ARP(op=2, hwsrc=VM_A, psrc=IP_A[4], hwdst=VM_B, pdst=IP_B[4])), {}))
    out.append((padded(Ether(src=VM_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=VM_A, psrc=IP_A[4], pdst=IP_B[4])),
                {"bum": True}))
    # IPv6 ND: a solicitation to the target's solicited-node group, an advertisement back.
    ns = (Ether(src=VM_A, dst="33:33:ff:00:00:02") / IPv6(src=IP_A[6], dst="ff02::1:ff00:2", hlim=255)
          / ICMPv6ND_NS(tgt=IP_B[6]) / ICMPv6NDOptSrcLLAddr(lladdr=VM_A))
    out.append((ns, {"bum": True}))
    out.append((uni / IPv6(src=IP_A[6], dst=IP_B[6], hlim=255) / ICMPv6ND_NA(tgt=IP_A[6], R=0, S=1, O=1), {}))
    for size in (64, 1518):
        out.append((sized(uni / Dot1Q(vlan=100) / IP(src=IP_A[4], dst=IP_B[4]) / UDP(sport=7, dport=7), size), {"vlan": True}))
    out.append((sized(uni / Dot1Q(vlan=200, prio=5) / IPv6(src=IP_A[6], dst=IP_B[6]) / TCP(sport=1, dport=2), 4000),
                {"vlan": True}))
    return [(f, {"vlan": m.get("vlan", False), "bum": m.get("bum", False)}) for f, m in out]


def vxlan_to(dst, src, inner, v):
    """VXLAN over IPv4/IPv6 with a valid UDP checksum (scapy computes it)."""
    return (Ether(src=UNDERLAY_MAC.get(src, "02:00:00:00:09:01"), dst=ROUTER_MAC.get(dst, UNDERLAY_MAC.get(dst)))
            / (IP(src=PA[src][4], dst=PA[dst][4], flags="DF") if v == 4 else IPv6(src=PA[src][6], dst=PA[dst][6]))
            / UDP(sport=50000, dport=4789) / VXLAN(flags=0x08, vni=VNI) / inner)  # scapy sets reserved bits by default


def write_pcap(path, packets):
    writer = RawPcapWriter(path, linktype=1, sync=True)
    writer.write_header(None)
    try:
        for n, pkt in enumerate(packets):
            data = bytes(pkt)
            writer.write_packet(data, sec=BASE_TIME + n // 1000, usec=(n % 1000) * 1000, caplen=len(data), wirelen=len(data))
    finally:
        writer.close()


def demo_frames():
    """Two tenants (VNI 5001 blue, 5002 red) with the same addresses: ARP,
    a TCP exchange, DNS over UDP, ping. The VMs' MACs are those of
    examples/data/vtep-a.toml and vtep-b.toml."""
    frames = []
    for tenant in (1, 2):
        a, b = f"02:00:00:0{tenant}:00:01", f"02:00:00:0{tenant}:00:02"
        ia, ib = "192.168.1.1", "192.168.1.2"
        frames.append(padded(Ether(src=a, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=a, psrc=ia, pdst=ib)))
        for seq, (flags, size) in enumerate([("S", 0), ("A", 0), ("PA", 200), ("PA", 1400), ("FA", 0)]):
            frames.append(padded(Ether(src=a, dst=b) / IP(src=ia, dst=ib, id=100 * tenant + seq)
                                 / TCP(sport=40000 + tenant, dport=80, flags=flags, seq=1000 + seq)
                                 / Raw(bytes(i % 256 for i in range(size)))))
        frames.append(Ether(src=a, dst=b) / IP(src=ia, dst="192.168.1.53") / UDP(sport=33000 + tenant, dport=53)
                      / Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"))
        for seq in range(3):
            frames.append(Ether(src=a, dst=b) / IP(src=ia, dst=ib) / ICMP(type=8, id=tenant, seq=seq) / Raw(b"nvo" * 16))
    # Interleave the tenants, as one host's NIC would see them.
    half = len(frames) // 2
    return [f for pair in zip(frames[:half], frames[half:]) for f in pair]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--demo":
        path = os.path.join(sys.argv[2], "examples", "data", "tenants.pcap")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_pcap(path, demo_frames())
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    frames = inner_frames()
    write_pcap(os.path.join(out, "inner.pcap"), [f for f, _ in frames])
    with open(os.path.join(out, "inner.json"), "w", encoding="utf-8") as f:
        json.dump([m for _, m in frames], f)
    write_pcap(os.path.join(out, "broadcast.pcap"),
               [padded(Ether(src=VM_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=VM_A, psrc=IP_A[4], pdst=IP_C[4]))])
    write_pcap(os.path.join(out, "to_vm_c.pcap"),
               [sized(Ether(src=VM_A, dst=VM_C) / IP(src=IP_A[4], dst=IP_C[4]) / UDP(sport=9, dport=9), 100)])
    from_c = sized(Ether(src=VM_C, dst=VM_A) / IP(src=IP_C[4], dst=IP_A[4]) / UDP(sport=9, dport=9), 100)
    member = sized(Ether(src=VM_A, dst=VM_B) / IP(src=IP_A[4], dst=IP_B[4]) / UDP(sport=9, dport=9), 100)
    for v in (4, 6):
        write_pcap(os.path.join(out, f"from_c{v}.pcap"), [vxlan_to("a", "c", from_c, v)])
        write_pcap(os.path.join(out, f"spoof{v}.pcap"), [vxlan_to("b", "a", member, v), vxlan_to("b", "spoofer", member, v)])
    write_pcap(os.path.join(out, "too_big.pcap"),
               [sized(Ether(src=VM_A, dst=VM_B) / ip(v, IP_A, IP_B) / UDP(sport=4000, dport=4000), 1600) for v in (4, 6)])


if __name__ == "__main__":
    main()
