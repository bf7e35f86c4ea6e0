#!/usr/bin/python3
"""Writes nvo's test captures with scapy (Debian python3-scapy).

    tests/pcap/generate.py [ROOT]

ROOT (default: the repository root) receives tests/pcap/*.pcap,
tests/pcap/expected.json and examples/data/sample.pcap. Deterministic: fixed
addresses, ports, payloads and timestamps, no randomness, so re-running it
reproduces the committed files byte for byte.

scapy has no STT layer and no NVGRE class: STT segments are raw TCP to port
7471 (SEQ = frame length << 16 | offset, ACK = frame id, PSH on the last
segment, the 18-byte frame header and the inner frame's start in the first
segment); NVGRE is GRE(key_present=1, proto=0x6558, key=vsid << 8 | flow_id).

expected.json lists, per decode run (a capture plus nvo-pcap options), what
each packet must decode to: {"encap": ...} for a well-formed packet, or
{"error": <nvo errc name>, "rule": <what is wrong>} for a malformed one.
"""
import json
import os
import struct
import sys

from scapy.layers.inet import IP, TCP, UDP, ICMP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import ARP, GRE, Dot1Q, Ether
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from scapy.utils import RawPcapWriter

BASE_TIME = 1_700_000_000  # fixed capture timestamps: BASE_TIME + n ms
OUTER_MACS = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
# IPv6 underlay addresses chosen to exercise RFC 5952 compression rules.
OUTER_ADDRS = {
    4: ("10.0.0.1", "10.0.0.2"),
    6: ("2001:db8::1", "2001:db8:0:1:0:0:0:2"),
}
STT_PORT = 7471
STT_SEGMENT = 1000  # payload bytes per STT segment, so frames span several


def outer(family, src=None, dst=None, vlan=None, **ip_fields):
    s, d = OUTER_ADDRS[family]
    l3 = IP if family == 4 else IPv6
    if family == 4:
        ip_fields.setdefault("id", 0x1234)
        ip_fields.setdefault("flags", "DF")
    eth = Ether(**OUTER_MACS) if vlan is None else Ether(**OUTER_MACS) / Dot1Q(vlan=vlan)
    return eth / l3(src=src or s, dst=dst or d, **ip_fields)


def inner_ipv4(n, size=64):
    return (Ether(src=f"02:00:00:aa:bb:{n:02x}", dst=f"02:00:00:cc:dd:{n:02x}")
            / IP(src=f"192.168.{n}.1", dst=f"192.168.{n}.2", id=n)
            / UDP(sport=1000 + n, dport=2000) / Raw(bytes(i % 251 for i in range(size))))


def inner_ipv4_tcp(n, size):
    return (Ether(src=f"02:00:00:aa:bb:{n:02x}", dst=f"02:00:00:cc:dd:{n:02x}")
            / IP(src=f"192.168.{n}.1", dst=f"192.168.{n}.2", id=n)
            / TCP(sport=40000 + n, dport=80, seq=n, ack=0, flags="A") / Raw(bytes(i % 251 for i in range(size))))


def inner_ipv6(n, size=48):
    return (Ether(src=f"02:00:00:aa:bb:{n:02x}", dst=f"02:00:00:cc:dd:{n:02x}")
            / IPv6(src=f"fd00:{n}::1", dst=f"fd00:{n}::2") / UDP(sport=1000 + n, dport=2000)
            / Raw(bytes(i % 7 for i in range(size))))


def inner_arp(n):
    return (Ether(src=f"02:00:00:aa:bb:{n:02x}", dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=f"02:00:00:aa:bb:{n:02x}", psrc=f"192.168.{n}.1", pdst=f"192.168.{n}.2"))


def inner_vlan(n, vid):
    return (Ether(src=f"02:00:00:aa:bb:{n:02x}", dst=f"02:00:00:cc:dd:{n:02x}") / Dot1Q(vlan=vid)
            / IP(src=f"192.168.{n}.1", dst=f"192.168.{n}.2", id=n) / ICMP(id=n))


def vxlan(family, vni, inner, sport=49152, dport=4789, **ip_fields):
    return outer(family, **ip_fields) / UDP(sport=sport, dport=dport) / VXLAN(flags=0x08, vni=vni) / inner


def vxlan_raw_header(family, header, inner, **udp_fields):
    """VXLAN with a hand-made 8-byte header (scapy's layer would fix it up)."""
    return outer(family) / UDP(sport=49160, dport=4789, **udp_fields) / Raw(header) / inner


def nvgre(family, vsid, flow_id, inner, vlan=None, **gre_fields):
    return outer(family, vlan=vlan) / GRE(key_present=1, proto=0x6558, key=vsid << 8 | flow_id, **gre_fields) / inner


def stt_frame_header(flags=0, context_id=0, l4_offset=0, mss=0, vlan_tci=0, version=0, reserved=0, padding=0):
    return struct.pack("!BBBBHHQH", version, flags, l4_offset, reserved, mss, vlan_tci, context_id, padding)


def stt(family, frame_id, frame, sport=50000, segment=STT_SEGMENT, frame_len=None, vlan=None, **tcp_fields):
    """The segments of one STT frame (frame header + inner frame bytes)."""
    frame_len = len(frame) if frame_len is None else frame_len
    packets = []
    for off in range(0, len(frame), segment):
        last = off + segment >= len(frame)
        tcp = TCP(sport=sport, dport=STT_PORT, seq=frame_len << 16 | off, ack=frame_id,
                  flags="PA" if last else "A", window=0, **tcp_fields)
        packets.append(outer(family, vlan=vlan) / tcp / Raw(frame[off:off + segment]))
    return packets


def with_bytes(pkt, edits):
    """pkt's bytes with {offset: value} patched in: for fields scapy recomputes."""
    raw = bytearray(bytes(pkt))
    for off, value in edits.items():
        raw[off] = value
    return bytes(raw)


ETH = 14
IP4 = ETH + 20
IP6 = ETH + 40


def good(encap):
    return {"encap": encap}


def bad(error, rule, tshark=None):
    """tshark: how tshark shows the same defect, "field=value" (first
    occurrence; tcp.* fields from a pass with STT disabled) or
    "expert~text" (a substring of one of its expert messages)."""
    return {"error": error, "rule": rule, **({"tshark": tshark} if tshark else {})}


# Each capture: a list of (packet, expectation); packet is a scapy packet or raw
# bytes, optionally (bytes, wirelen) for a frame snapped short at capture time.

def vxlan_capture(family):
    o = 40 if family == 4 else 0  # distinct VNIs/ports per family
    return [
        (vxlan(family, 1 + o, inner_ipv4(1)), good("vxlan")),
        (vxlan(family, 5001 + o, inner_ipv6(2), sport=50001), good("vxlan")),
        (vxlan(family, 0xFFFFFF - o, inner_arp(3), sport=65535), good("vxlan")),
        (vxlan(family, 0, inner_vlan(4, 100), sport=49999), good("vxlan")),
        (vxlan(family, 0x123456, inner_ipv4(5, 1400), sport=61000), good("vxlan")),
        # An 802.1Q-tagged underlay.
        (vxlan(family, 77, inner_ipv6(9), sport=49153, vlan=10), good("vxlan")),
    ]


def vxlan_port_capture():
    return [
        (vxlan(4, 700, inner_ipv4(6), dport=8472), good("vxlan")),
        (vxlan(6, 701, inner_ipv6(7), dport=8472), good("vxlan")),
        (vxlan(4, 702, inner_arp(8), dport=8472, sport=51000), good("vxlan")),
        # The default port is plain UDP once VXLAN lives on 8472.
        (outer(4) / UDP(sport=53000, dport=4789) / Raw(b"not vxlan here"), good("none")),
    ]


def nvgre_capture(family):
    o = 0x100 if family == 6 else 0
    return [
        (nvgre(family, 0x1000 + o, 0, inner_ipv4(11)), good("nvgre")),
        (nvgre(family, 0xABCDEF, 0x5A, inner_ipv6(12)), good("nvgre")),
        (nvgre(family, 0xFFFFFF, 0xFF, inner_arp(13)), good("nvgre")),
        (nvgre(family, 0x001234 + o, 0x01, inner_ipv4(14, 1200)), good("nvgre")),
        (nvgre(family, 0x004321, 0x02, inner_arp(15), vlan=4094), good("nvgre")),
    ]


def stt_capture(family):
    packets = []
    frames = [
        # frame id, frame header, inner frame: three multi-segment frames and a small one
        (0x00000001, stt_frame_header(flags=0x0D, context_id=0x0123456789ABCDEF), inner_ipv4_tcp(21, 2500)),
        (0x80000002, stt_frame_header(flags=0x00, context_id=0xFEDCBA9876543210), inner_ipv6(22, 1800)),
        (0x00000003, stt_frame_header(flags=0x06, context_id=7, l4_offset=34, mss=1400, vlan_tci=0x1000 | 5 << 13 | 42),
         inner_ipv4(23, 1100)),
        (0xFFFFFFFF, stt_frame_header(flags=0x01, context_id=0xFFFFFFFFFFFFFFFF), inner_arp(24)),
    ]
    for n, (frame_id, header, inner) in enumerate(frames):
        for seg in stt(family, frame_id, header + bytes(inner), sport=50000 + n, vlan=20 if n == 2 else None):
            packets.append((seg, good("stt")))
    return packets


def plain_capture():
    return [
        (outer(4) / UDP(sport=5353, dport=53) / Raw(b"\x12\x34" + bytes(10)), good("none")),
        (outer(4) / TCP(sport=40000, dport=443, seq=1, ack=1, flags="PA") / Raw(b"hello"), good("none")),
        (outer(6) / UDP(sport=5353, dport=53) / Raw(b"\x12\x34" + bytes(10)), good("none")),
        (outer(6) / TCP(sport=40000, dport=80, flags="S"), good("none")),
        (outer(4) / ICMP(id=1, seq=1), good("none")),
        (Ether(**OUTER_MACS) / ARP(op=1, psrc="10.0.0.1", pdst="10.0.0.2", hwsrc=OUTER_MACS["src"]), good("none")),
        # GRE that is not NVGRE: IPv4 in GRE, and PPTP's enhanced GRE (version 1).
        (outer(4) / GRE(proto=0x0800) / IP(src="172.16.0.1", dst="172.16.0.2") / ICMP(), good("none")),
        (outer(4, proto=47) / Raw(bytes.fromhex("3081880b 0004 0000 00000001 ff03c021")), good("none")),
    ]


def reserved_capture():
    """Reserved bits set: rejected under strict, accepted under ignore."""
    rows = [
        (vxlan_raw_header(4, bytes.fromhex("0c000000 00270f00"), inner_ipv4(31)), "vxlan_reserved_bits",
         "VXLAN flags 0x0c (a reserved flag with I)", "vxlan.flags=0x0c00"),
        (vxlan_raw_header(6, bytes.fromhex("08000001 00271000"), inner_ipv4(32)), "vxlan_reserved_bits",
         "VXLAN reserved 24 bits non-zero", None),
        (vxlan_raw_header(4, bytes.fromhex("08000000 002711ff"), inner_arp(33)), "vxlan_reserved_bits",
         "VXLAN reserved last byte non-zero", "vxlan.reserved8=255"),
        (with_bytes(nvgre(4, 0x2000, 7, inner_ipv4(34)), {IP4 + 1: 0x08}),
         "gre_reserved_bits", "GRE Reserved0 bit 12 set", "gre.flags.reserved=1"),
    ]
    for seg in stt(4, 0x51, stt_frame_header(flags=0x14, context_id=0x51) + bytes(inner_ipv4(35)), sport=52000):
        rows.append((seg, "stt_reserved_bits", "STT reserved flag 0x10", "stt.flags=0x14"))
    for seg in stt(6, 0x52, stt_frame_header(flags=0x03, context_id=0x52) + bytes(inner_ipv4(36)), sport=52001):
        rows.append((seg, "stt_reserved_bits", "STT C and P flags together", "stt.flags=0x03"))
    return rows


def zero_udp6_capture():
    zero = outer(6) / UDP(sport=49300, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=4242) / inner_ipv4(41)
    return [(zero, "udp_zero_checksum_ipv6"),
            (outer(4) / UDP(sport=49301, dport=4789, chksum=0) / VXLAN(flags=0x08, vni=4243) / inner_ipv4(42), None)]


def malformed_capture():
    v4 = vxlan(4, 100, inner_ipv4(51))
    stt_ok = stt(4, 0x61, stt_frame_header(flags=0x04, context_id=0x61) + bytes(inner_ipv4(52)), sport=52100)[0]
    rows = [
        (with_bytes(v4, {ETH + 10: bytes(v4)[ETH + 10] ^ 0xFF}), "ipv4_bad_checksum", "IPv4 header checksum wrong",
         "ip.checksum.status=0"),
        (with_bytes(v4, {IP4 + 6: bytes(v4)[IP4 + 6] ^ 0x5A}),
         "udp_bad_checksum", "UDP checksum wrong (VXLAN over IPv4)", "udp.checksum.status=0"),
        (with_bytes(vxlan(6, 102, inner_ipv4(54)), {IP6 + 7: bytes(vxlan(6, 102, inner_ipv4(54)))[IP6 + 7] ^ 0x01}),
         "udp_bad_checksum", "UDP checksum wrong (VXLAN over IPv6)", "udp.checksum.status=0"),
        (vxlan_raw_header(4, bytes.fromhex("00000000 00006700"), inner_ipv4(55)), "vxlan_i_flag_clear",
         "VXLAN I flag clear", "vxlan.flag_i=0"),
        (vxlan_raw_header(4, bytes.fromhex("88000000 00006800"), inner_ipv4(56)), "vxlan_reserved_bits",
         "VXLAN reserved flag 0x80 set", "vxlan.flags=0x8800"),
        (outer(4) / UDP(sport=49400, dport=4789) / VXLAN(flags=0x08, vni=105) / Raw(bytes(10)), "inner_truncated",
         "VXLAN with a 10-byte inner frame", "expert~Malformed Packet"),
        (nvgre(4, 0x3000, 1, inner_ipv4(57), chksum_present=1), "nvgre_checksum_present", "NVGRE with C set",
         "gre.flags.checksum=1"),
        (nvgre(6, 0x3001, 2, inner_ipv4(58), seqnum_present=1, sequence_number=9), "nvgre_sequence_present",
         "NVGRE with S set", "gre.flags.sequence_number=1"),
        (outer(4) / GRE(proto=0x6558) / inner_ipv4(59), "nvgre_key_absent", "GRE/TEB without a key",
         "gre.flags.key=0"),
        (nvgre(4, 0x3003, 3, inner_vlan(60, 200)), "nvgre_inner_vlan", "NVGRE inner frame 802.1Q-tagged",
         "vlan.id=200"),
        (with_bytes(nvgre(4, 0x3004, 4, inner_ipv4(61)), {IP4: 0x60}), "gre_reserved_flags",
         "GRE/TEB with the routing bit set (RFC 2784: discard)", "gre.flags.routing=1"),
        (with_bytes(nvgre(4, 0x3005, 5, inner_ipv4(62)), {IP4 + 1: 0x01}), "gre_bad_version", "GRE/TEB version 1",
         "gre.flags.version=1"),
        (stt(4, 0x62, stt_frame_header(version=1, context_id=0x62) + bytes(inner_ipv4(63)), sport=52101)[0],
         "stt_bad_version", "STT frame header version 1", "expert~Unknown version"),
        (with_bytes(stt_ok, {IP4 + 17: bytes(stt_ok)[IP4 + 17] ^ 0x10}), "tcp_bad_checksum",
         "STT segment TCP checksum wrong", "tcp.checksum.status=0"),
        (stt(6, 0x63, stt_frame_header(context_id=0x63) + bytes(inner_ipv4(64)), sport=52102, frame_len=10)[0],
         "stt_bad_frame_length", "STT frame length below the 18-byte frame header", "stt.pkt_len=10"),
        (stt(4, 0x64, bytes(inner_ipv4(65)), sport=52103, frame_len=50)[0], "stt_bad_frame_length",
         "STT segment reaching past the frame length", "stt.pkt_len=50"),
        (outer(4) / TCP(sport=52104, dport=STT_PORT, seq=100 << 16, ack=0x65, flags="PA", window=0),
         "stt_empty_segment", "STT segment without payload", "tcp.len=0"),
        (stt(4, 0x66, stt_frame_header(context_id=0x66) + bytes(inner_ipv4(70)), sport=52105, segment=10)[0],
         "truncated",
         "STT first segment shorter than the frame header", "tcp.len=10"),
        (outer(4) / TCP(sport=52106, dport=STT_PORT, seq=80 << 16, ack=0x67, flags="PA", window=0,
                        options=[("NOP", None)] * 4) / Raw(stt_frame_header(context_id=0x67) + bytes(62)),
         "tcp_bad_data_offset", "STT segment with TCP options", "expert~TCP Data Offset should be 20 bytes"),
        (with_bytes(v4, {IP4 + 5: (bytes(v4)[IP4 + 5] + 1) & 0xFF}), "udp_bad_length", "UDP length one past the IP payload",
         "expert~Bad length value"),
        (outer(4, flags="MF") / UDP(sport=49401, dport=4789) / VXLAN(vni=106) / inner_ipv4(66), "ipv4_fragment",
         "VXLAN in an IPv4 first fragment", "ip.flags.mf=1"),
        (outer(6) / IPv6ExtHdrHopByHop() / UDP(sport=49402, dport=4789) / VXLAN(vni=107) / inner_ipv4(67),
         "ipv6_extension_header_unsupported", "IPv6 hop-by-hop header before UDP", "ipv6.nxt=0"),
        (outer(6) / UDP(sport=49403, dport=4789, chksum=0) / VXLAN(vni=108) / inner_ipv4(68),
         "udp_zero_checksum_ipv6", "zero UDP checksum over IPv6", "expert~Illegal checksum value (0)"),
        (bytes(v4)[:IP4 + 30], "ipv4_bad_total_length", "frame cut inside the UDP payload, IPv4 total length intact",
         "expert~IPv4 total length exceeds packet length"),
        ((bytes(v4)[:60], len(bytes(v4))), "ipv4_bad_total_length", "frame snapped to 60 bytes at capture",
         "frame.cap_len=60"),
        (bytes(vxlan(6, 109, inner_ipv4(69)))[:IP6 + 20], "ipv6_bad_payload_length",
         "IPv6 frame cut, payload length intact", "expert~IPv6 payload length exceeds framing length"),
        (with_bytes(v4, {ETH: 0x55}), "ipv4_bad_version", "IPv4 EtherType, version 5", "expert~Bogus IPv4 version"),
        (with_bytes(v4, {ETH: 0x44}), "ipv4_bad_header_length", "IPv4 IHL 4",
         "expert~Bogus IP header length"),
        (bytes(v4)[:10], "truncated", "10-byte Ethernet frame", "expert~Malformed Packet"),
        (outer(4) / UDP(sport=49404, dport=4789) / Raw(b"\x08\x00\x00"), "truncated", "VXLAN header cut to 3 bytes",
         "expert~Malformed Packet"),
    ]
    return rows


def write_pcap(path, packets):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    writer = RawPcapWriter(path, linktype=1, sync=True)
    writer.write_header(None)
    try:
        for n, pkt in enumerate(packets):
            wirelen = None
            if isinstance(pkt, tuple):
                pkt, wirelen = pkt
            data = pkt if isinstance(pkt, bytes) else bytes(pkt)
            writer.write_packet(data, sec=BASE_TIME + n // 1000, usec=(n % 1000) * 1000, caplen=len(data),
                                wirelen=wirelen or len(data))
    finally:
        writer.close()


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    pcap_dir = os.path.join(root, "tests", "pcap")
    runs = []

    def add(name, rows, nvo_args=(), vxlan_port=4789, write=True):
        if write:
            write_pcap(os.path.join(pcap_dir, name), [r[0] for r in rows])
        runs.append({"capture": name, "nvo_args": list(nvo_args), "vxlan_port": vxlan_port,
                     "packets": [r[1] for r in rows]})

    for family in (4, 6):
        add(f"vxlan_ipv{family}.pcap", vxlan_capture(family))
        add(f"nvgre_ipv{family}.pcap", nvgre_capture(family))
        add(f"stt_ipv{family}.pcap", stt_capture(family))
    add("vxlan_port_8472.pcap", vxlan_port_capture(), ["--vxlan-port", "8472"], 8472)
    add("plain.pcap", plain_capture())

    reserved = reserved_capture()
    add("reserved_bits.pcap", [(p, bad(e, why, ts)) for p, e, why, ts in reserved])
    encap_of = {"vxlan": "vxlan", "gre": "nvgre", "stt": "stt"}
    add("reserved_bits.pcap", [(p, good(encap_of[e.split("_")[0]])) for p, e, _, _ in reserved],
        ["--reserved-bits", "ignore"], write=False)

    zero = zero_udp6_capture()
    add("zero_udp6_checksum.pcap",
        [(p, bad(e, "zero UDP checksum over IPv6", "expert~Illegal checksum value (0)") if e else good("vxlan"))
         for p, e in zero])
    add("zero_udp6_checksum.pcap", [(p, good("vxlan")) for p, _ in zero], ["--accept-zero-udp6-checksum"],
        write=False)

    add("malformed.pcap", [(p, bad(*why)) for p, *why in malformed_capture()])

    # The demo's sample: a readable mix, two malformed packets at the end.
    malformed = malformed_capture()
    sample = [
        (vxlan(4, 5001, inner_ipv4(1)), good("vxlan")),
        (vxlan(6, 5002, inner_ipv6(2), sport=50002), good("vxlan")),
        (nvgre(4, 0x1001, 0x11, inner_ipv4(3)), good("nvgre")),
        (nvgre(6, 0x1002, 0x22, inner_arp(4)), good("nvgre")),
    ]
    sample += [(s, good("stt")) for s in stt(4, 0x71, stt_frame_header(flags=0x0D, context_id=0xC0FFEE)
                                             + bytes(inner_ipv4_tcp(5, 1600)), sport=50071)]
    sample += [(s, good("stt")) for s in stt(6, 0x72, stt_frame_header(flags=0x00, context_id=42)
                                             + bytes(inner_arp(6)), sport=50072)]
    sample += [(outer(4) / UDP(sport=5353, dport=53) / Raw(b"\x12\x34" + bytes(10)), good("none"))]
    sample += [(p, bad(*why)) for p, *why in (malformed[0], malformed[3])]
    write_pcap(os.path.join(root, "examples", "data", "sample.pcap"), [r[0] for r in sample])
    runs.append({"capture": "../../examples/data/sample.pcap", "nvo_args": [], "vxlan_port": 4789,
                 "packets": [r[1] for r in sample]})

    with open(os.path.join(pcap_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"runs": runs}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
