#!/usr/bin/env bash
# nvo_nvo.sh NVO_VTEP [NVO_VTEP_C]: two nvo-vteps, in B and in C on the
# underlay of lib.sh, over the encapsulations the kernel cannot speak:
#   nvgre  ping both ways and a bulk TCP transfer each way, by hash
#   stt    the same with an inner MTU of 9000 over the 1500-byte underlay,
#          so every large TCP segment is an STT frame cut into segments by
#          one side and reassembled by the other
# NVO_VTEP_C (default NVO_VTEP) runs in C: nvo-vtep-dpdk there makes the
# mixed run. Needs root; SKIPPED where the kernel lacks what it needs.
NVO_B=${1:?usage: nvo_nvo.sh NVO_VTEP [NVO_VTEP_C]}
NVO_C=${2:-$NVO_B}
source "$(dirname "$0")/lib.sh"

build_topology
make_bulk_data

# write_config FILE ENCAP CHECKSUM LOCAL MAC REMOTE REMOTE_MAC VNI
write_config() {
  cat >"$1" <<TOML
encapsulation = "$2"
underlay = "ipv4"
checksum = "$3"
learning = true
anti_spoofing = true
underlay_mtu = 1500

[local]
ipv4 = "$4"
mac = "$5"
next_hop_mac = "$7"

[[endpoint]]
remote = "$6"

[[vni]]
id = $8
flood = ["$6"]
TOML
}

for case in nvgre stt; do
  vni=6001 mtu=1458 checksum=zero_udp
  [ "$case" = stt ] && vni=6002 mtu=9000 checksum=software
  write_config "$WORK/$case-b.toml" "$case" "$checksum" 10.200.0.2 "$MAC_B" 10.200.0.3 "$MAC_C" "$vni"
  write_config "$WORK/$case-c.toml" "$case" "$checksum" 10.200.0.3 "$MAC_C" 10.200.0.2 "$MAC_B" "$vni"
  start_vtep "$NVO_B" "$B" veth2 "$WORK/$case-b.toml" nvotap 192.168.88.2/24 "$mtu" "$vni" || continue
  if start_vtep "$NVO_C" "$C" veth3 "$WORK/$case-c.toml" nvotap 192.168.88.3/24 "$mtu" "$vni"; then
    check "$case: ping 192.168.88.3 (C) from B" ping_ok "$B" 192.168.88.3
    check "$case: ping 192.168.88.2 (B) from C" ping_ok "$C" 192.168.88.2
    bulk "$B" "$C" 192.168.88.3 veth3 "$case: B -> C, inner MTU $mtu"
    bulk "$C" "$B" 192.168.88.2 veth2 "$case: C -> B, inner MTU $mtu"
    stop_vtep "$C" "$case (C)"
    [ "$case" = stt ] && check "$case: C cut frames into segments (segments=$(counter segments))" \
      test "$(counter segments)" -ge 1000
  fi
  stop_vtep "$B" "$case (B)"
  check "$case: B learned C's MAC (learned=$(counter learned))" test "$(counter learned)" -ge 1
  [ "$case" = stt ] && check "$case: B cut frames into segments (segments=$(counter segments))" \
    test "$(counter segments)" -ge 1000
done
finish
