#!/usr/bin/env python3
"""Cross-checks `nvo-pcap decode` against tshark on every committed test capture.

    check_tshark.py NVO_PCAP TSHARK

For each run in tests/pcap/expected.json (a capture plus nvo-pcap options):
- well-formed packets: nvo must report the expected encapsulation, and every
  field it prints must equal tshark's (outer IP version and addresses, VNI,
  VSID/FlowID from the GRE key, STT length/offset/id/context/flags, inner MACs,
  EtherType and VLAN ID); nvo must print no field this script does not compare.
- malformed packets: nvo must report ok:false with the expected errc name and
  nothing else; tshark must see the same defect where the capture's
  expectations name a tshark field or expert message for it.
Then the tool's own contract: --help, unreadable and non-pcap files, and a
non-Ethernet capture.

Only the Python standard library is needed; tshark and nvo-pcap are required
(a missing tshark is a failure, not a skip: scripts/deps installs it).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# Decode as the codecs do: checksums verified, STT found by its heuristic on
# the IP layer (before TCP claims port 7471), STT segments shown one by one
# (reassembly off) so the frame header is read from the offset-0 segment.
TSHARK_PREFS = [
    "-o", "ip.try_heuristic_first:TRUE", "-o", "ipv6.try_heuristic_first:TRUE",
    "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
    "-o", "stt.reassemble:FALSE",
]
# Wireshark 4.0's own STT checksum check (stt.check_checksum) reports "Bad
# checksum [should be 0x0000]" for every segment, valid ones included, so STT
# TCP checksums are judged by tshark's TCP dissector with STT disabled.
TSHARK_TCP_ONLY = ["--disable-protocol", "stt", "-o", "tcp.check_checksum:TRUE"]
TCP_FIELDS = ["frame.number", "tcp.checksum.status", "tcp.len"]

FIELDS = [
    "frame.number", "eth.src", "eth.dst", "eth.type", "vlan.id", "vlan.etype", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "vxlan.vni", "gre.proto", "gre.key", "stt.pkt_len", "stt.seg_off", "stt.pkt_id", "stt.context_id",
    "stt.flags", "_ws.expert.message",
]

failures = []
compared = {"ok": 0, "malformed": 0}


def fail(where, message):
    failures.append(f"{where}: {message}")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def tshark_rows(tshark, capture, extra_args, fields):
    """{frame number: {field: [occurrences, outermost first]}}."""
    cmd = [tshark, "-n", "-r", capture, *extra_args, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=\x1f"]
    for f in fields:
        cmd += ["-e", f]
    res = run(cmd)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr}")
    rows = {}
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        row = {f: (c.split("\x1f") if c else []) for f, c in zip(fields, cols)}
        rows[int(row["frame.number"][0])] = row
    return rows


def first(row, field):
    values = row.get(field) or []
    return values[0] if values else None


def check_ok(where, pkt, exp, row):
    compared["ok"] += 1
    if not pkt.get("ok"):
        fail(where, f"nvo says {pkt}, expected ok with encap {exp['encap']}")
        return
    encap = pkt.get("encap")
    if encap != exp["encap"]:
        fail(where, f"nvo encap {encap}, expected {exp['encap']}")
    checked = {"ok", "encap"}

    def same(name, nvo_value, tshark_value):
        if nvo_value != tshark_value:
            fail(where, f"{name}: nvo {nvo_value!r} != tshark {tshark_value!r}")

    # With an 802.1Q-tagged underlay the outer EtherType is the tag's, and
    # the first vlan.id is the underlay's.
    outer_type = first(row, "eth.type")
    outer_tagged = outer_type == "0x8100"
    if outer_tagged:
        outer_type = first(row, "vlan.etype")
    inner_vlans = row["vlan.id"][1:] if outer_tagged else row["vlan.id"]
    if "outer" in pkt:
        checked.add("outer")
        o = pkt["outer"]
        if set(o) != {"ip_version", "src", "dst"}:
            fail(where, f"unexpected outer keys {sorted(o)}")
        family = {"0x0800": 4, "0x86dd": 6}.get(outer_type)
        same("outer ip_version", o.get("ip_version"), family)
        prefix = "ip" if family == 4 else "ipv6"
        same("outer src", o.get("src"), first(row, f"{prefix}.src"))
        same("outer dst", o.get("dst"), first(row, f"{prefix}.dst"))
    elif outer_type in ("0x0800", "0x86dd"):
        fail(where, f"nvo prints no outer for an IP frame (tshark eth.type {outer_type})")

    tunnel_seen = {
        "vxlan": bool(row["vxlan.vni"]),
        "nvgre": first(row, "gre.proto") == "0x6558",
        "stt": bool(row["stt.pkt_len"]),
    }
    for name, seen in tunnel_seen.items():
        if seen != (encap == name):
            fail(where, f"tshark {'sees' if seen else 'does not see'} {name}, nvo says {encap}")

    if encap == "vxlan":
        checked.add("vni")
        same("vni", pkt.get("vni"), int(first(row, "vxlan.vni") or -1))
    elif encap == "nvgre":
        checked |= {"vsid", "flow_id"}
        key = int(first(row, "gre.key") or "-1", 0)
        same("vsid", pkt.get("vsid"), key >> 8)
        same("flow_id", pkt.get("flow_id"), key & 0xFF)
    elif encap == "stt":
        checked |= {"frame_len", "frag_offset", "frag_id"}
        same("frame_len", pkt.get("frame_len"), int(first(row, "stt.pkt_len")))
        same("frag_offset", pkt.get("frag_offset"), int(first(row, "stt.seg_off")))
        same("frag_id", pkt.get("frag_id"), int(first(row, "stt.pkt_id"), 0))
        context = first(row, "stt.context_id")
        if ("context_id" in pkt) != (context is not None):
            fail(where, f"STT frame header: nvo context_id {pkt.get('context_id')}, tshark {context}")
        if context is not None:
            checked |= {"context_id", "flags"}
            same("context_id", pkt.get("context_id"), int(context, 0))
            same("flags", pkt.get("flags"), int(first(row, "stt.flags"), 0))

    eth_count = len(row["eth.src"])
    if "inner" in pkt:
        checked.add("inner")
        inner = pkt["inner"]
        if eth_count < 2:
            fail(where, "nvo prints an inner frame tshark does not see")
        else:
            same("inner src_mac", inner.get("src_mac"), row["eth.src"][1])
            same("inner dst_mac", inner.get("dst_mac"), row["eth.dst"][1])
            same("inner ethertype", inner.get("ethertype"), row["eth.type"][1])
        inner_keys = {"src_mac", "dst_mac", "ethertype"}
        if "vlan_id" in inner or inner_vlans:
            inner_keys.add("vlan_id")
            same("inner vlan_id", inner.get("vlan_id"), int(inner_vlans[0]) if inner_vlans else None)
        if set(inner) != inner_keys:
            fail(where, f"unexpected inner keys {sorted(inner)}")
    elif encap != "none" and eth_count >= 2:
        fail(where, "tshark sees an inner Ethernet frame nvo does not report")

    if set(pkt) - checked:
        fail(where, f"nvo prints fields not cross-checked: {sorted(set(pkt) - checked)}")


def check_malformed(where, pkt, exp, row, tcp_row):
    compared["malformed"] += 1
    if pkt != {"ok": False, "error": exp["error"]}:
        fail(where, f"nvo says {pkt}, expected {{ok: false, error: {exp['error']}}} ({exp['rule']})")
    tshark = exp.get("tshark")
    if not tshark:
        return
    if tshark.startswith("expert~"):
        wanted = tshark[len("expert~"):]
        messages = row["_ws.expert.message"]
        if not any(wanted in m for m in messages):
            fail(where, f"tshark does not flag '{wanted}' ({exp['rule']}); its expert info: {messages}")
        return
    field, value = tshark.split("=", 1)
    got = first(tcp_row if field.startswith("tcp.") else row, field)
    if got != value:
        fail(where, f"tshark {field} = {got!r}, expected {value!r} ({exp['rule']})")


def check_run(nvo, tshark, r):
    capture = os.path.normpath(os.path.join(HERE, r["capture"]))
    name = f"{os.path.basename(capture)} {' '.join(r['nvo_args'])}".strip()
    res = run([nvo, "decode", *r["nvo_args"], capture])
    if res.returncode != 0:
        fail(name, f"nvo-pcap exited {res.returncode}: {res.stderr.strip()}")
        return
    lines = res.stdout.splitlines()
    if len(lines) != len(r["packets"]):
        fail(name, f"nvo-pcap printed {len(lines)} lines for {len(r['packets'])} packets")
        return

    port_args = []
    if r["vxlan_port"] != 4789:  # VXLAN lives on this port alone, as for nvo
        port_args = ["-d", f"udp.port=={r['vxlan_port']},vxlan", "-d", "udp.port==4789,data"]
    extra = sorted({e["tshark"].split("=")[0] for e in r["packets"]
                    if "=" in e.get("tshark", "") and not e["tshark"].startswith(("expert~", "tcp."))})
    rows = tshark_rows(tshark, capture, TSHARK_PREFS + port_args, FIELDS + extra)
    tcp_rows = tshark_rows(tshark, capture, TSHARK_TCP_ONLY, TCP_FIELDS)

    for n, (line, exp) in enumerate(zip(lines, r["packets"]), start=1):
        where = f"{name} packet {n}"
        try:
            pkt = json.loads(line)
        except json.JSONDecodeError as e:
            fail(where, f"not JSON ({e}): {line}")
            continue
        if "error" in exp:
            check_malformed(where, pkt, exp, rows[n], tcp_rows[n])
        else:
            check_ok(where, pkt, exp, rows[n])


def write_raw_ip_pcap(path):
    """A one-packet capture of link type 101 (raw IP), which nvo-pcap refuses."""
    packet = bytes.fromhex("4500001c00004000401100000a0000010a000002") + bytes(8)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        f.write(struct.pack("<IIII", 0, 0, len(packet), len(packet)) + packet)


def check_cli(nvo):
    res = run([nvo, "--help"])
    if res.returncode != 0 or "usage: nvo-pcap decode" not in res.stdout:
        fail("--help", f"exit {res.returncode}, stdout {res.stdout[:80]!r}")
    with tempfile.TemporaryDirectory() as tmp:
        not_pcap = os.path.join(tmp, "not_a_capture.txt")
        with open(not_pcap, "w", encoding="utf-8") as f:
            f.write("this is not a pcap file\n")
        raw_ip = os.path.join(tmp, "raw_ip.pcap")
        write_raw_ip_pcap(raw_ip)
        for label, args, stderr_wants in [
            ("missing file", ["decode", "/nonexistent/capture.pcap"], "/nonexistent/capture.pcap"),
            ("non-pcap file", ["decode", not_pcap], not_pcap),
            ("non-Ethernet capture", ["decode", raw_ip], "not Ethernet"),
            ("no FILE", ["decode"], "needs a FILE"),
            ("bad --vxlan-port", ["decode", "--vxlan-port", "70000", raw_ip], "--vxlan-port"),
            ("bad --reserved-bits", ["decode", "--reserved-bits", "lax", raw_ip], "--reserved-bits"),
        ]:
            res = run([nvo, *args])
            if res.returncode == 0 or stderr_wants not in res.stderr or res.stdout:
                fail(f"nvo-pcap {' '.join(args)} ({label})",
                     f"exit {res.returncode}, stdout {res.stdout!r}, stderr {res.stderr!r}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_tshark.py NVO_PCAP TSHARK")
    nvo, tshark = sys.argv[1:]
    if not tshark or not os.access(tshark, os.X_OK):
        sys.exit(f"FAIL: tshark not found ({tshark!r}); install it (scripts/deps) and re-run cmake")
    with open(os.path.join(HERE, "expected.json"), encoding="utf-8") as f:
        runs = json.load(f)["runs"]
    for r in runs:
        check_run(nvo, tshark, r)
    check_cli(nvo)
    print(f"compared {compared['ok']} well-formed and {compared['malformed']} malformed packets "
          f"in {len(runs)} decode runs against tshark")
    if failures:
        print(f"FAIL: {len(failures)} disagreements:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("all agree")


if __name__ == "__main__":
    main()
