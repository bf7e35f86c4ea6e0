#!/usr/bin/env python3
"""Writes the fuzz seed corpora under tests/fuzz/corpus/: small valid frames
and headers built with plain struct (checksums computed here), so every
fuzzer starts past the first validity checks. Run from anywhere; the files
it writes are committed."""
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
VXLAN_PORT, STT_PORT = 4789, 7471
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
V4_A, V4_B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
V6_A = bytes.fromhex("20010db8000000000000000000000001")
V6_B = bytes.fromhex("20010db8000000000000000000000002")


def csum(data: bytes, start: int = 0) -> int:
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ethernet(ethertype: int, vlan: int | None = None) -> bytes:
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return MAC_A + MAC_B + tag + struct.pack("!H", ethertype)


def ipv4(proto: int, payload: bytes, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 1, 0x4000, 64, proto, 0, V4_A, V4_B)
    hdr += options
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def ipv6(next_header: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, V6_A, V6_B) + payload


def pseudo(v6: bool, proto: int, length: int) -> int:
    src, dst = (V6_A, V6_B) if v6 else (V4_A, V4_B)
    words = struct.unpack(f"!{len(src) // 2}H", src) + struct.unpack(f"!{len(dst) // 2}H", dst)
    return sum(words) + proto + length


def udp(src: int, dst: int, payload: bytes, v6: bool, checksum: bool) -> bytes:
    hdr = struct.pack("!HHHH", src, dst, 8 + len(payload), 0)
    if checksum:
        c = csum(hdr + payload, pseudo(v6, 17, len(hdr) + len(payload))) or 0xFFFF
        hdr = hdr[:6] + struct.pack("!H", c)
    return hdr + payload


def tcp(seq: int, ack: int, payload: bytes, v6: bool, flags: int = 0x18) -> bytes:
    hdr = struct.pack("!HHIIBBHHH", 50000, STT_PORT, seq, ack, 5 << 4, flags, 0, 0, 0)
    c = csum(hdr + payload, pseudo(v6, 6, len(hdr) + len(payload)))
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def inner_frame(size: int) -> bytes:
    body = ipv4(17, udp(1234, 80, b"x" * max(0, size - 14 - 28), False, True))
    return ethernet(0x0800) + body


def vxlan(vni: int, flags: int = 0x08) -> bytes:
    return struct.pack("!II", flags << 24, vni << 8)


def nvgre(vsid: int, flow: int) -> bytes:
    return struct.pack("!HHI", 0x2000, 0x6558, vsid << 8 | flow)


def stt_frame_header(flags: int = 0x04, vlan_tci: int = 0) -> bytes:
    return struct.pack("!BBBBHHQH", 0, flags, 34, 0, 1448, vlan_tci, 0x0123456789ABCDEF, 0)


def outer(v6: bool, proto: int, l4: bytes, vlan: int | None = None) -> bytes:
    ip = ipv6(proto, l4) if v6 else ipv4(proto, l4)
    return ethernet(0x86DD if v6 else 0x0800, vlan) + ip


def vxlan_frame(v6: bool, inner: bytes, vlan: int | None = None, port: int = VXLAN_PORT,
                checksum: bool | None = None) -> bytes:
    csummed = v6 if checksum is None else checksum
    return outer(v6, 17, udp(49152, port, vxlan(0x123456) + inner, v6, csummed), vlan)


def nvgre_frame(v6: bool, inner: bytes) -> bytes:
    return outer(v6, 47, nvgre(0x1234, 0x56) + inner)


def stt_segments(v6: bool, inner: bytes, split: int | None = None) -> list[bytes]:
    frame = stt_frame_header() + inner
    cut = split or len(frame)
    chunks = [(0, frame[:cut])] + ([(cut, frame[cut:])] if cut < len(frame) else [])
    return [outer(v6, 6, tcp(len(frame) << 16 | off, 0xABCD, chunk, v6)) for off, chunk in chunks]


def write(target: str, name: str, data: bytes) -> None:
    (ROOT / target).mkdir(parents=True, exist_ok=True)
    (ROOT / target / name).write_bytes(data)


def main() -> None:
    for target in ("dissect", "headers", "tunnels"):
        shutil.rmtree(ROOT / target, ignore_errors=True)
    small, large = inner_frame(64), inner_frame(200)

    # dissect: option bytes (flags, VXLAN port) + frame.
    default = bytes([0, 0x12, 0xB5])
    for fam, v6 in (("4", False), ("6", True)):
        write("dissect", f"vxlan{fam}", default + vxlan_frame(v6, small))
        write("dissect", f"nvgre{fam}", default + nvgre_frame(v6, small))
        write("dissect", f"stt{fam}", default + stt_segments(v6, small)[0])
        first, second = stt_segments(v6, large, split=100)
        write("dissect", f"stt{fam}_first_of_two", default + first)
        write("dissect", f"stt{fam}_second_of_two", default + second)
    write("dissect", "vxlan4_vlan_csum", default + vxlan_frame(False, small, vlan=100, checksum=True))
    write("dissect", "vxlan6_zero_csum", bytes([0x02, 0x12, 0xB5]) + vxlan_frame(True, small, checksum=False))
    write("dissect", "vxlan4_port8472", bytes([0x04, 0x21, 0x18]) + vxlan_frame(False, small, port=8472))
    write("dissect", "vxlan4_gbp_ignore", bytes([0x01, 0x12, 0xB5]) +
          outer(False, 17, udp(49152, VXLAN_PORT, vxlan(0x42, flags=0x88) + small, False, False)))
    write("dissect", "plain_udp4", default + outer(False, 17, udp(1234, 53, b"query", False, True)))
    write("dissect", "arp", default + ethernet(0x0806) + bytes(28))

    # headers: selector byte (0 ethernet, 1 ipv4, 2 ipv6, 3 udp, 4 tcp, 5 gre,
    # 6 checksum; bit 7 = lenient GRE policy) + input.
    write("headers", "ethernet", b"\x00" + ethernet(0x0800) + b"payload")
    write("headers", "ethernet_vlan", b"\x00" + ethernet(0x86DD, vlan=0x2064))
    write("headers", "ipv4", b"\x01" + ipv4(17, b"12345678"))
    write("headers", "ipv4_options", b"\x01" + ipv4(6, b"\0" * 20, options=bytes([1, 1, 1, 0]) * 2))
    write("headers", "ipv6", b"\x02" + ipv6(17, b"12345678"))
    write("headers", "udp", b"\x03" + udp(49152, VXLAN_PORT, vxlan(7), False, False))
    write("headers", "tcp", b"\x04" + tcp(0x00520000, 1, b"", False))
    write("headers", "gre_nvgre", b"\x05" + nvgre(0x1234, 0x56))
    write("headers", "gre_c_k_s", b"\x05" + struct.pack("!HHHHII", 0xB000, 0x0800, 0xBEEF, 0, 7, 9))
    write("headers", "gre_reserved_lenient", b"\x85" + struct.pack("!HHI", 0x2008, 0x6558, 1))
    write("headers", "checksum_odd", b"\x06" + bytes(range(1, 42)))

    # tunnels: selector byte (0 vxlan, 1 nvgre + inner, 2 stt frame header,
    # 3 stt segment; bit 7 = lenient policy) + input.
    write("tunnels", "vxlan", b"\x00" + vxlan(0xABCDEF))
    write("tunnels", "vxlan_gpe_lenient", b"\x80" + struct.pack("!II", 0x0C000003, 0x00010000))
    write("tunnels", "nvgre", b"\x01" + nvgre(0x1234, 0x56) + small)
    write("tunnels", "nvgre_inner_vlan", b"\x01" + nvgre(0x1234, 0) + ethernet(0x0800, vlan=5))
    write("tunnels", "stt_frame_header", b"\x02" + stt_frame_header(flags=0x0D, vlan_tci=0x1005))
    seg = stt_segments(False, small)[0]
    write("tunnels", "stt_segment", b"\x03" + seg[14 + 20:])
    second = stt_segments(False, large, split=100)[1]
    write("tunnels", "stt_segment_second", b"\x03" + second[14 + 20:])


if __name__ == "__main__":
    main()
