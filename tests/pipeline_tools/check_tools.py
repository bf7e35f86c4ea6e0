#!/usr/bin/env python3
"""Checks `nvo-pcap encap|decap|bench` with tshark as the independent decoder.

    check_tools.py PART NVO_PCAP TSHARK SCAPY_PYTHON

PART is one of:
  matrix    every encapsulation x underlay x checksum mode: tshark decodes
            the encap output with the expected outer fields and "checksum
            good" (offload: the field holds the pseudo-header sum, and once
            completed as a NIC would, tshark calls it good), then
            decap(encap(x)) == x byte for byte
  features  flood replication (remotes and group), learning, anti-spoofing,
            too_big with the ICMP message decoded by tshark, STT frames that
            need segmentation, entropy/header-rule/port/next-hop options, bench
  config    bad configs and bad flags: the error names file, line and field,
            the exit status is 1 or 2, no output file appears
  demo      examples/data/tenants.pcap is what generate_inner.py writes

The traffic is scapy's (generate_inner.py, run with SCAPY_PYTHON); this file
needs only the standard library. A missing tool fails, never skips.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from addresses import (GROUP4, GROUP4_MAC, IP_A, PA, ROUTER_MAC, UNDERLAY_MAC, VM_A, VM_B, VM_C,  # noqa: E402
                       VNI, VNI_GROUP)

# As tests/pcap/check_tshark.py: checksums verified, STT found by its IP-layer
# heuristic, segments shown one by one. Wireshark 4.0's STT dissector calls
# every STT checksum bad, so STT's TCP checksum is judged with STT disabled.
TSHARK_PREFS = ["-o", "ip.try_heuristic_first:TRUE", "-o", "ipv6.try_heuristic_first:TRUE",
                "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                "-o", "stt.reassemble:FALSE"]
TSHARK_TCP_ONLY = ["--disable-protocol", "stt", "-o", "tcp.check_checksum:TRUE"]
GOOD = "1"  # tshark's checksum.status for a verified checksum
OVERHEAD = {("vxlan", 4): 50, ("vxlan", 6): 70, ("nvgre", 4): 42, ("nvgre", 6): 62, ("stt", 4): 72, ("stt", 6): 92}
STT_PORT = 7471

failures = []
checked = [0]


def fail(where, message):
    failures.append(f"{where}: {message}")


def expect(where, what, got, want):
    checked[0] += 1
    if got != want:
        fail(where, f"{what}: got {got!r}, want {want!r}")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


# ---- pcap and checksums (independent of nvo) ---------------------------------------------

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    if magic != 0xA1B2C3D4:
        raise RuntimeError(f"{path}: not a little-endian microsecond pcap")
    frames, off = [], 24
    while off < len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, off)
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, fr in enumerate(frames):
            f.write(struct.pack("<IIII", n, 0, len(fr), len(fr)) + fr)


def ones_sum(data, start=0):
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def outer_l4(frame):
    """(ip_version, l4 offset, protocol, pseudo-header sum) of an untagged outer IP frame."""
    etype = struct.unpack_from("!H", frame, 12)[0]
    if etype == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack_from("!H", frame, 16)[0]
        proto = frame[23]
        l4_len = total - ihl
        pseudo = ones_sum(frame[26:34] + struct.pack("!BBH", 0, proto, l4_len))
        return 4, 14 + ihl, proto, pseudo
    proto = frame[20]
    l4_len = struct.unpack_from("!H", frame, 18)[0]
    pseudo = ones_sum(frame[22:54] + struct.pack("!IxxxB", l4_len, proto))
    return 6, 54, proto, pseudo


def complete_checksum(frame, where):
    """Checks that the outer UDP/TCP checksum field holds the folded
    pseudo-header sum (the offload contract), then finishes it as a NIC
    does: sum from the L4 header to the end, complemented."""
    _, l4, proto, pseudo = outer_l4(frame)
    field = l4 + (6 if proto == 17 else 16)
    expect(where, "offload: checksum field is the pseudo-header sum", struct.unpack_from("!H", frame, field)[0], pseudo)
    c = (~ones_sum(frame[l4:])) & 0xFFFF
    if proto == 17 and c == 0:
        c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return frame[:field] + struct.pack("!H", c) + frame[field + 2:]


# ---- tshark -------------------------------------------------------------------------------

def tshark_rows(tshark, capture, extra, fields):
    """[{field: [occurrences, outermost first]}] per frame."""
    cmd = [tshark, "-n", "-r", capture, *extra, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=\x1f"]
    for f in fields:
        cmd += ["-e", f]
    res = run(cmd)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr}")
    rows = []
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        rows.append({f: (c.split("\x1f") if c else []) for f, c in zip(fields, cols)})
    return rows


def first(row, field):
    v = row.get(field) or []
    return v[0] if v else None


def nth(row, field, n):
    v = row.get(field) or []
    return v[n] if len(v) > n else None


# ---- configs --------------------------------------------------------------------------------

def toml_list(items):
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


DEFAULT_HEADER = {"dscp": '"inherit"', "ttl": "64", "df": '"set"', "ecn": '"normal"'}


def vtep(me, underlay, *, encap="vxlan", checksum="zero_udp", peers=("b",), statics=None, flood=None, group=None,
         learning=False, anti_spoofing=False, mtu=9216, zero6=False, families=(4, 6), top=(), header=None,
         next_hops=None):
    """A VTEP config. statics: {inner MAC: peer}; flood: [peer]; addresses of
    the `underlay` family (4, 6) for endpoints and flood lists. top: extra
    top-level lines; header: [header] values; next_hops: {peer: MAC}."""
    statics = statics or {}
    flood = list(peers) if flood is None else flood
    lines = [f'encapsulation = "{encap}"', f'underlay = "ipv{underlay}"', f'checksum = "{checksum}"',
             f"zero_udp6_checksum = {str(zero6).lower()}", f"learning = {str(learning).lower()}",
             f"anti_spoofing = {str(anti_spoofing).lower()}", f"underlay_mtu = {mtu}", *top, "", "[local]"]
    for v in families:
        lines.append(f'ipv{v} = "{PA[me][v]}"')
    lines += [f'mac = "{UNDERLAY_MAC[me]}"', f'next_hop_mac = "{ROUTER_MAC.get(me, "02:00:00:00:0c:fe")}"', "", "[header]"]
    lines += [f"{k} = {v}" for k, v in (header or DEFAULT_HEADER).items()] + [""]
    for p in peers:
        lines += ["[[endpoint]]", f'remote = "{PA[p][underlay]}"']
        if next_hops and p in next_hops:
            lines.append(f'next_hop_mac = "{next_hops[p]}"')
        lines.append("")
    lines += ["[[vni]]", f"id = {VNI}"]
    if statics:
        lines.append("static = { " + ", ".join(f'"{m}" = "{PA[p][underlay]}"' for m, p in statics.items()) + " }")
    if flood:
        lines.append("flood = " + toml_list(PA[p][underlay] for p in flood))
    if group:
        lines += ["", "[[vni]]", f"id = {VNI_GROUP}", f'group = "{group}"']
    return "\n".join(lines) + "\n"


class Tool:
    def __init__(self, nvo, tshark, tmp):
        self.nvo, self.tshark, self.tmp = nvo, tshark, tmp
        self.n = 0

    def path(self, name):
        return os.path.join(self.tmp, name)

    def config(self, text):
        self.n += 1
        p = self.path(f"vtep{self.n}.toml")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def summary(self, where, args):
        """Runs nvo-pcap with --json; the summary, or None after a failure."""
        res = run([self.nvo, *args, "--json"])
        if res.returncode != 0:
            fail(where, f"nvo-pcap {' '.join(args)} exited {res.returncode}: {res.stderr.strip()}")
            return None
        return json.loads(res.stdout)


# ---- matrix ----------------------------------------------------------------------------------

MATRIX_FIELDS = ["frame.len", "eth.src", "eth.dst", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.ttl", "ipv6.hlim",
                 "ip.dsfield.dscp", "ip.dsfield.ecn", "ipv6.tclass.dscp", "ipv6.tclass.ecn", "ip.flags.df",
                 "ip.checksum.status", "udp.srcport", "udp.dstport", "udp.checksum", "udp.checksum.status", "vxlan.vni",
                 "gre.proto", "gre.key", "stt.context_id"]


def inner_tos(frame):
    """(dscp, ecn) of an inner frame's IP header, 0/0 when not IP."""
    off, etype = 14, struct.unpack_from("!H", frame, 12)[0]
    if etype == 0x8100:
        off, etype = 18, struct.unpack_from("!H", frame, 16)[0]
    if etype == 0x0800:
        tos = frame[off + 1]
    elif etype == 0x86DD:
        tos = (struct.unpack_from("!H", frame, off)[0] >> 4) & 0xFF
    else:
        tos = 0
    return tos >> 2, tos & 3


def check_case(t, gen, encap, v, checksum, zero6=False):
    where = f"{encap}/ipv{v}/{checksum}" + ("/zero_udp6" if zero6 else "")
    inner = read_pcap(os.path.join(gen, "inner.pcap"))
    with open(os.path.join(gen, "inner.json"), encoding="utf-8") as f:
        meta = json.load(f)
    a = t.config(vtep("a", v, encap=encap, checksum=checksum, statics={VM_B: "b"}, zero6=zero6))
    b = t.config(vtep("b", v, encap=encap, peers=("a",), statics={VM_A: "a"}, learning=True, anti_spoofing=True, zero6=zero6))
    enc = t.path(f"{where.replace('/', '_')}.enc.pcap")
    s = t.summary(where, ["encap", a, os.path.join(gen, "inner.pcap"), enc, "--vni", str(VNI)])
    if s is None:
        return
    # RFC 7637 3.3: NVGRE carries no 802.1Q-tagged inner frames.
    sent = [(fr, m) for fr, m in zip(inner, meta) if not (encap == "nvgre" and m["vlan"])]
    dropped = len(inner) - len(sent)
    bum = sum(m["bum"] for _, m in sent)
    expect(where, "encap verdicts", s["verdicts"],
           {k: n for k, n in {"forward": len(sent) - bum, "flood": bum, "drop": dropped}.items() if n})
    expect(where, "encap drops", s["drops"], {"nvgre_inner_vlan": dropped} if dropped else {})
    expect(where, "flood copies (one flood remote)", s["replicas"], bum)
    out = read_pcap(enc)
    expect(where, "packets written", len(out), len(sent))
    if len(out) != len(sent):
        return

    rows = tshark_rows(t.tshark, enc, TSHARK_PREFS, MATRIX_FIELDS)
    # With STT dissected, the outer TCP header is STT's: read it with STT off.
    tcp_rows = tshark_rows(t.tshark, enc, TSHARK_TCP_ONLY, ["tcp.dstport", "tcp.checksum.status"]) if encap == "stt" else None
    ipf = "ip" if v == 4 else "ipv6"
    for i, ((fr, _), row) in enumerate(zip(sent, rows)):
        w = f"{where} packet {i + 1}"
        expect(w, "frame length", int(first(row, "frame.len")), len(fr) + OVERHEAD[(encap, v)])
        expect(w, "outer eth.src", first(row, "eth.src"), UNDERLAY_MAC["a"])
        expect(w, "outer eth.dst", first(row, "eth.dst"), ROUTER_MAC["a"])
        expect(w, "inner eth.src", nth(row, "eth.src", 1), VM_A)
        expect(w, "outer src", first(row, f"{ipf}.src"), PA["a"][v])
        expect(w, "outer dst", first(row, f"{ipf}.dst"), PA["b"][v])
        dscp, ecn = inner_tos(fr)
        if v == 4:
            expect(w, "ip.ttl", first(row, "ip.ttl"), "64")
            expect(w, "ip.flags.df", first(row, "ip.flags.df"), "1")
            expect(w, "ip.checksum.status", first(row, "ip.checksum.status"), GOOD)
            expect(w, "outer DSCP (inherit)", int(first(row, "ip.dsfield.dscp")), dscp)
            expect(w, "outer ECN (RFC 6040 normal)", int(first(row, "ip.dsfield.ecn")), ecn)
        else:
            expect(w, "ipv6.hlim", first(row, "ipv6.hlim"), "64")
            expect(w, "outer DSCP (inherit)", int(first(row, "ipv6.tclass.dscp")), dscp)
            expect(w, "outer ECN (RFC 6040 normal)", int(first(row, "ipv6.tclass.ecn")), ecn)
        if encap == "vxlan":
            expect(w, "udp.dstport", first(row, "udp.dstport"), "4789")
            sport = int(first(row, "udp.srcport"))
            expect(w, "udp.srcport in 49152-65535", 49152 <= sport <= 65535, True)
            expect(w, "vxlan.vni", first(row, "vxlan.vni"), str(VNI))
            zero = checksum == "zero_udp" and (v == 4 or zero6)
            if zero:
                expect(w, "udp.checksum", int(first(row, "udp.checksum"), 16), 0)
            elif checksum == "software" or checksum == "zero_udp":
                expect(w, "udp.checksum.status", first(row, "udp.checksum.status"), GOOD)
        elif encap == "nvgre":
            expect(w, "gre.proto", first(row, "gre.proto"), "0x6558")
            expect(w, "VSID (gre.key >> 8)", int(first(row, "gre.key"), 16) >> 8, VNI)
        else:
            expect(w, "tcp.dstport", first(tcp_rows[i], "tcp.dstport"), str(STT_PORT))
            expect(w, "stt.context_id", int(first(row, "stt.context_id"), 0), VNI)
            if checksum != "offload":
                expect(w, "STT tcp.checksum.status", first(tcp_rows[i], "tcp.checksum.status"), GOOD)

    wire = enc
    if checksum == "offload" and encap != "nvgre":
        completed = [complete_checksum(fr, f"{where} packet {i + 1}") for i, fr in enumerate(out)]
        wire = t.path(f"{where.replace('/', '_')}.completed.pcap")
        write_pcap(wire, completed)
        if encap == "vxlan":
            status = [first(r, "udp.checksum.status") for r in tshark_rows(t.tshark, wire, TSHARK_PREFS, ["udp.checksum.status"])]
        else:
            status = [first(r, "tcp.checksum.status") for r in tshark_rows(t.tshark, wire, TSHARK_TCP_ONLY, ["tcp.checksum.status"])]
        expect(where, "completed offload checksums tshark calls good", status, [GOOD] * len(out))

    dec = t.path(f"{where.replace('/', '_')}.dec.pcap")
    s = t.summary(where, ["decap", b, wire, dec])
    if s is None:
        return
    expect(where, "decap verdicts", s["verdicts"], {"forward": len(sent)})
    back = read_pcap(dec)
    expect(where, "decap(encap(x)) frames", len(back), len(sent))
    for i, (got, (want, _)) in enumerate(zip(back, sent)):
        expect(f"{where} frame {i + 1}", "decap(encap(x)) == x", got == want, True)


def part_matrix(t, gen):
    for encap in ("vxlan", "nvgre", "stt"):
        for v in (4, 6):
            for checksum in ("zero_udp", "software", "offload"):
                check_case(t, gen, encap, v, checksum)
    check_case(t, gen, "vxlan", 6, "zero_udp", zero6=True)


# ---- features -----------------------------------------------------------------------------

def part_features(t, gen):
    g = lambda name: os.path.join(gen, name)  # noqa: E731
    for v in (4, 6):
        # Flood replication: a broadcast goes once to every flood-list remote.
        a = t.config(vtep("a", v, peers=("b", "c"), statics={VM_B: "b"}, group=GROUP4 if v == 4 else None))
        out = t.path(f"flood{v}.pcap")
        s = t.summary(f"flood ipv{v}", ["encap", a, g("broadcast.pcap"), out, "--vni", str(VNI)])
        if s:
            expect(f"flood ipv{v}", "verdicts", s["verdicts"], {"flood": 1})
            expect(f"flood ipv{v}", "copies", s["replicas"], 2)
            rows = tshark_rows(t.tshark, out, TSHARK_PREFS, ["ip.dst", "ipv6.dst", "vxlan.vni", "eth.dst"])
            expect(f"flood ipv{v}", "outer destinations", sorted(first(r, "ip.dst" if v == 4 else "ipv6.dst") for r in rows),
                   sorted([PA["b"][v], PA["c"][v]]))
            expect(f"flood ipv{v}", "inner destination", [nth(r, "eth.dst", 1) for r in rows], ["ff:ff:ff:ff:ff:ff"] * 2)
            expect(f"flood ipv{v}", "VNIs", [first(r, "vxlan.vni") for r in rows], [str(VNI)] * 2)
        if v == 4:
            # A VNI with a multicast group: one copy, to the group's MAC.
            out = t.path("group.pcap")
            s = t.summary("flood to group", ["encap", a, g("broadcast.pcap"), out, "--vni", str(VNI_GROUP)])
            if s:
                expect("flood to group", "copies", s["replicas"], 1)
                rows = tshark_rows(t.tshark, out, TSHARK_PREFS, ["ip.dst", "eth.dst", "vxlan.vni"])
                expect("flood to group", "outer ip.dst / eth.dst / vni",
                       [(first(r, "ip.dst"), first(r, "eth.dst"), first(r, "vxlan.vni")) for r in rows],
                       [(GROUP4, GROUP4_MAC, str(VNI_GROUP))])

        # Learning: VM_C is unknown (flooded to B and C) until A decapsulates a
        # frame from it out of C; then A sends to it unicast, to C.
        for learning in (True, False):
            w = f"learning={learning} ipv{v}"
            a = t.config(vtep("a", v, peers=("b", "c"), statics={VM_B: "b"}, learning=learning, anti_spoofing=True))
            out = t.path(f"learn{v}{learning}.pcap")
            s = t.summary(w, ["encap", a, g("to_vm_c.pcap"), out, "--vni", str(VNI), "--learn", g(f"from_c{v}.pcap")])
            if not s:
                continue
            expect(w, "learned", s["learned"], 1 if learning else 0)
            rows = tshark_rows(t.tshark, out, TSHARK_PREFS, ["ip.dst", "ipv6.dst", "eth.dst"])
            dsts = sorted(first(r, "ip.dst" if v == 4 else "ipv6.dst") for r in rows)
            if learning:
                expect(w, "verdicts", s["verdicts"], {"forward": 1})
                expect(w, "unicast to the learned PA", dsts, [PA["c"][v]])
            else:
                expect(w, "verdicts", s["verdicts"], {"flood": 1})
                expect(w, "still flooded", dsts, sorted([PA["b"][v], PA["c"][v]]))
            expect(w, "inner destination", [nth(r, "eth.dst", 1) for r in rows], [VM_C] * len(rows))

        # Anti-spoofing: B accepts VNI 5001 only from its members (A).
        for guard in (True, False):
            w = f"anti_spoofing={guard} ipv{v}"
            b = t.config(vtep("b", v, peers=("a",), statics={VM_A: "a"}, anti_spoofing=guard))
            out = t.path(f"spoof{v}{guard}.pcap")
            s = t.summary(w, ["decap", b, g(f"spoof{v}.pcap"), out])
            if not s:
                continue
            if guard:
                expect(w, "verdicts", s["verdicts"], {"forward": 1, "drop": 1})
                expect(w, "drops", s["drops"], {"spoofed_source": 1})
            else:
                expect(w, "verdicts", s["verdicts"], {"forward": 2})
            expect(w, "frames delivered", len(read_pcap(out)), 1 if guard else 2)

        # too_big: 1600-byte frames over a 1500-byte underlay; the ICMP
        # messages go to --replies with the inner MTU that fits.
        for encap in ("vxlan", "nvgre"):
            w = f"too_big {encap} ipv{v}"
            a = t.config(vtep("a", v, encap=encap, statics={VM_B: "b"}, mtu=1500))
            out, replies = t.path(f"tb{encap}{v}.pcap"), t.path(f"tb{encap}{v}.replies.pcap")
            s = t.summary(w, ["encap", a, g("too_big.pcap"), out, "--vni", str(VNI), "--replies", replies])
            if not s:
                continue
            mtu = 1500 - OVERHEAD[(encap, v)]  # outer headers past the outer Ethernet, plus the inner Ethernet
            expect(w, "verdicts", s["verdicts"], {"too_big": 2})
            expect(w, "ICMP messages", s["too_big_messages"], 2)
            expect(w, "nothing encapsulated", len(read_pcap(out)), 0)
            rows = tshark_rows(t.tshark, replies, TSHARK_PREFS, [
                "eth.dst", "icmp.type", "icmp.code", "icmp.mtu", "icmp.checksum.status", "icmpv6.type", "icmpv6.mtu",
                "icmpv6.checksum.status", "ip.dst", "ipv6.dst"])
            if len(rows) != 2:
                fail(w, f"{len(rows)} ICMP messages decoded, want 2")
                continue
            r4, r6 = rows
            expect(w, "ICMPv4 type/code/mtu/checksum/to", (first(r4, "icmp.type"), first(r4, "icmp.code"),
                                                          first(r4, "icmp.mtu"), first(r4, "icmp.checksum.status"),
                                                          first(r4, "ip.dst"), first(r4, "eth.dst")),
                   ("3", "4", str(mtu), GOOD, IP_A[4], VM_A))
            expect(w, "ICMPv6 type/mtu/checksum/to", (first(r6, "icmpv6.type"), first(r6, "icmpv6.mtu"),
                                                     first(r6, "icmpv6.checksum.status"), first(r6, "ipv6.dst"),
                                                     first(r6, "eth.dst")),
                   ("2", str(mtu), GOOD, IP_A[6], VM_A))

        # STT carries frames larger than the underlay MTU as segments:
        # encap cuts them (each a valid TCP segment to tshark), decap
        # reassembles them into the original frame.
        w = f"stt segmentation ipv{v}"
        a = t.config(vtep("a", v, encap="stt", statics={VM_B: "b"}, mtu=1500))
        b = t.config(vtep("b", v, encap="stt", peers=("a",), statics={VM_A: "a"}, mtu=1500))
        big, segs, back = g("too_big.pcap"), t.path(f"sttbig{v}.pcap"), t.path(f"sttbig{v}.back.pcap")
        s = t.summary(w, ["encap", a, big, segs, "--vni", str(VNI)])
        if s:
            mss = 1500 - (20 if v == 4 else 40) - 20
            want = sum(-(-(len(f) + 18) // mss) for f in read_pcap(big))
            expect(w, "verdicts", s["verdicts"], {"segment": 2})
            expect(w, "segments", s["segments"], want)
            rows = tshark_rows(t.tshark, segs, TSHARK_TCP_ONLY, ["frame.len", "tcp.checksum.status", "tcp.dstport"])
            expect(w, "segments decoded", len(rows), want)
            for r in rows:
                expect(w, "segment size, TCP checksum, port", (int(first(r, "frame.len")) <= 1514,
                                                               first(r, "tcp.checksum.status"), first(r, "tcp.dstport")),
                       (True, GOOD, str(STT_PORT)))
            s = t.summary(w, ["decap", b, segs, back])
            if s:
                expect(w, "decap verdicts", s["verdicts"], {"held": want - 2, "forward": 2})
                expect(w, "reassembled frames", read_pcap(back), read_pcap(big))

    # The other options: entropy fixed (one source port for every flow),
    # header rules pipe/inherit/unset/compatibility, a VXLAN port, an
    # endpoint's own next hop; the round trip still holds.
    w = "options"
    a = t.config(vtep("a", 4, statics={VM_B: "b"}, top=['entropy = "fixed"', "fixed_entropy = 12345", "vxlan_port = 8472"],
                      header={"dscp": "10", "ttl": '"inherit"', "df": '"unset"', "ecn": '"compatibility"'},
                      next_hops={"b": UNDERLAY_MAC["b"]}))
    b = t.config(vtep("b", 4, peers=("a",), statics={VM_A: "a"}, anti_spoofing=True, top=["vxlan_port = 8472"]))
    enc, dec = t.path("options.pcap"), t.path("options.dec.pcap")
    s = t.summary(w, ["encap", a, g("inner.pcap"), enc, "--vni", str(VNI)])
    if s:
        rows = tshark_rows(t.tshark, enc, [*TSHARK_PREFS, "-d", "udp.port==8472,vxlan"], [
            "eth.dst", "ip.ttl", "ipv6.hlim", "ip.dsfield.dscp", "ip.dsfield.ecn", "ip.flags.df", "udp.srcport", "udp.dstport", "vxlan.vni"])
        inner = read_pcap(g("inner.pcap"))
        expect(w, "outer eth.dst: the endpoint's next hop", {first(r, "eth.dst") for r in rows}, {UNDERLAY_MAC["b"]})
        expect(w, "DSCP fixed 10, ECN compatibility (Not-ECT), DF unset",
               {(first(r, "ip.dsfield.dscp"), first(r, "ip.dsfield.ecn"), first(r, "ip.flags.df")) for r in rows},
               {("10", "0", "0")})
        expect(w, "one source port (entropy fixed)", len({first(r, "udp.srcport") for r in rows}), 1)
        expect(w, "udp.dstport / vni", {(first(r, "udp.dstport"), first(r, "vxlan.vni")) for r in rows}, {("8472", str(VNI))})
        # TTL inherit: the inner TTL / hop limit; 64 (the fixed value) for non-IP inner frames.
        expect(w, "TTL inherit", [first(r, "ip.ttl") for r in rows],
               [nth(r, "ip.ttl", 1) or first(r, "ipv6.hlim") or "64" for r in rows])
        expect(w, "an inherited TTL of 33 seen", any(first(r, "ip.ttl") == "33" for r in rows), True)
        s = t.summary(w, ["decap", b, enc, dec])
        if s:
            expect(w, "decap(encap(x)) == x", read_pcap(dec), inner)
    # ... and with crc32c, different flows get different source ports.
    a = t.config(vtep("a", 4, statics={VM_B: "b"}))
    enc = t.path("crc.pcap")
    if t.summary("entropy crc32c", ["encap", a, g("inner.pcap"), enc, "--vni", str(VNI)]):
        ports = {first(r, "udp.srcport") for r in tshark_rows(t.tshark, enc, TSHARK_PREFS, ["udp.srcport"])}
        expect("entropy crc32c", "several source ports", len(ports) > 1, True)

    # bench: the unicast frames round-trip in memory and it reports a rate.
    a = t.config(vtep("a", 4, statics={VM_B: "b"}))
    b = t.config(vtep("b", 4, peers=("a",), statics={VM_A: "a"}, anti_spoofing=True))
    res = run([t.nvo, "bench", a, b, g("inner.pcap"), "--vni", str(VNI), "--repeat", "3", "--json"])
    if res.returncode != 0:
        fail("bench", f"exit {res.returncode}: {res.stderr.strip()}")
    else:
        r = json.loads(res.stdout)
        with open(g("inner.json"), encoding="utf-8") as f:
            unicast = sum(not m["bum"] for m in json.load(f))
        expect("bench", "frames (the unicast ones)", r["frames"], unicast)
        expect("bench", "a positive rate", r["mpps"] > 0, True)


# ---- config ---------------------------------------------------------------------------------

GOOD_A = vtep("a", 4, statics={VM_B: "b"})
BAD_CONFIGS = [
    # (label, config text, field the error names, line it names)
    ("unknown key", "encapsulaton = \"vxlan\"\n" + GOOD_A, "encapsulaton: unknown key", 1),
    ("bad choice", GOOD_A.replace('checksum = "zero_udp"', 'checksum = "partial"'), "checksum: must be one of", 3),
    ("bad address", GOOD_A.replace('remote = "10.0.0.2"', 'remote = "10.0.0.256"'), "endpoint[0].remote", 22),
    ("VNI too wide", GOOD_A.replace(f"id = {VNI}", "id = 16777216"), "vni[0].id: must be in 0..16777215", 25),
    ("unknown static endpoint", GOOD_A.replace(f'"{VM_B}" = "10.0.0.2"', f'"{VM_B}" = "10.0.0.7"'),
     f'vni[0].static."{VM_B}": 10.0.0.7 is not an [[endpoint]]', 26),
    ("family against underlay", GOOD_A.replace('underlay = "ipv4"', 'underlay = "ipv6"'), "endpoint[0].remote", 22),
    ("bad MAC", GOOD_A.replace(f'mac = "{UNDERLAY_MAC["a"]}"', 'mac = "02:00:00:00:0a"'), "local.mac", 12),
    ("DSCP out of range", GOOD_A.replace('dscp = "inherit"', "dscp = 64"), "header.dscp", 16),
    ("unknown key in [[vni]]", GOOD_A.replace("flood =", "flod ="), "vni[0].flod: unknown key", 27),
    ("wrong type", GOOD_A.replace("learning = false", 'learning = "yes"'), "learning: must be true or false", 5),
    ("TOML syntax", GOOD_A.replace("[header]", "[header"), "", 15),
]


def part_config(t, gen):
    inner = os.path.join(gen, "inner.pcap")
    for label, text, field, line in BAD_CONFIGS:
        cfg = t.config(text)
        for cmd in ("encap", "decap"):
            out = t.path("never.pcap")
            res = run([t.nvo, cmd, cfg, inner, out])
            w = f"bad config ({label}), {cmd}"
            expect(w, "exit status", res.returncode, 1)
            expect(w, "error names file:line", f"{cfg}:{line}:" in res.stderr, True)
            expect(w, f"error names {field!r}", field in res.stderr, True)
            expect(w, "no output file", os.path.exists(out) or os.path.exists(out + ".partial"), False)
            expect(w, "nothing on stdout", res.stdout, "")

    good = t.config(GOOD_A)
    keep = t.path("existing.pcap")
    for label, args, status, wants in [
        ("VNI wider than 24 bits", ["encap", good, inner, keep, "--vni", "16777216"], 2, "--vni"),
        ("unknown encapsulation", ["encap", good, inner, keep, "--encapsulation", "gre"], 2, "--encapsulation"),
        ("unknown flag", ["decap", good, inner, keep, "--lern"], 2, "--lern"),
        ("missing OUT", ["encap", good, inner], 2, "OUT"),
        ("missing input", ["encap", good, "/nonexistent/in.pcap", keep], 1, "/nonexistent/in.pcap"),
        ("missing --learn input", ["encap", good, inner, keep, "--learn", "/nonexistent/l.pcap"], 1, "/nonexistent/l.pcap"),
        ("unwritable OUT", ["encap", good, inner, "/nonexistent/dir/out.pcap"], 1, "/nonexistent/dir/out.pcap"),
        ("missing config", ["decap", "/nonexistent/c.toml", inner, keep], 1, "/nonexistent/c.toml"),
    ]:
        with open(keep, "wb") as f:
            f.write(b"keep")
        res = run([t.nvo, *args])
        w = f"nvo-pcap {label}"
        expect(w, "exit status", res.returncode, status)
        expect(w, f"stderr names {wants!r}", wants in res.stderr, True)
        with open(keep, "rb") as f:
            expect(w, "an existing OUT is untouched", f.read(), b"keep")
    res = run([t.nvo, "encap", "--help"])
    expect("encap --help", "exit 0 and usage", (res.returncode, "CONFIG" in res.stdout and "--vni" in res.stdout), (0, True))


def part_demo(t, gen, scapy):
    with tempfile.TemporaryDirectory() as root:
        subprocess.run([scapy, os.path.join(HERE, "generate_inner.py"), "--demo", root], check=True)
        rel = os.path.join("examples", "data", "tenants.pcap")
        with open(os.path.join(root, rel), "rb") as f, open(os.path.join(ROOT, rel), "rb") as g:
            expect("demo capture", f"{rel} is what generate_inner.py --demo writes (re-run it and commit)",
                   f.read() == g.read(), True)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: check_tools.py matrix|features|config|demo NVO_PCAP TSHARK SCAPY_PYTHON")
    part, nvo, tshark, scapy = sys.argv[1:]
    if not tshark or not os.access(tshark, os.X_OK):
        sys.exit(f"FAIL: tshark not found ({tshark!r}); install it (scripts/deps) and re-run cmake")
    if not scapy or scapy.endswith("NOTFOUND"):
        sys.exit("FAIL: no Python interpreter with scapy found; install python3-scapy (scripts/deps) and re-run cmake")
    with tempfile.TemporaryDirectory() as tmp:
        gen = os.path.join(tmp, "gen")
        subprocess.run([scapy, os.path.join(HERE, "generate_inner.py"), gen], check=True)
        t = Tool(nvo, tshark, tmp)
        parts = {"matrix": part_matrix, "features": part_features, "config": part_config,
                 "demo": lambda t_, g_: part_demo(t_, g_, scapy)}
        if part not in parts:
            sys.exit(f"unknown PART {part!r}")
        parts[part](t, gen)
    if failures:
        print(f"FAIL: {len(failures)} of {checked[0]} checks failed:")
        for f in failures[:200]:
            print("  " + f)
        sys.exit(1)
    print(f"{part}: {checked[0]} checks passed")


if __name__ == "__main__":
    main()
