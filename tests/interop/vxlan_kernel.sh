#!/usr/bin/env bash
# vxlan_kernel.sh NVO_VTEP: nvo-vtep against the Linux kernel's VXLAN driver.
# Two network namespaces joined by a veth pair (the underlay); in A a kernel
# vxlan device with an overlay address, in B nvo-vtep on a TAP device with the
# peer address. Checks ping both ways over an IPv4 and an IPv6 underlay, that
# the kernel learned nvo's MAC and nvo the kernel's, and nvo's final counters
# line on SIGTERM. Needs root (CI runs as root); never skips.
set -u
NVO=${1:?usage: vxlan_kernel.sh NVO_VTEP}
HERE=$(cd "$(dirname "$0")" && pwd)
A=nvoA$$
B=nvoB$$
WORK=$(mktemp -d)
FAILS=0
PID=

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { # check NAME COMMAND...: one named PASS/FAIL line
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$WORK/out"; fi
}

cleanup() {
  [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  ip netns del "$A" 2>/dev/null
  ip netns del "$B" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

die() { echo "FAIL: $*"; exit 1; }

# The underlay: vethA in A, vethB in B, created inside them so nothing is
# left in the caller's namespace.
ip netns add "$A" || die "cannot create network namespace (root needed)"
ip netns add "$B" || die "cannot create network namespace"
ip link add vethA netns "$A" type veth peer name vethB netns "$B" || die "cannot create veth pair"
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" addr add 10.200.0.1/24 dev vethA
ip -n "$B" addr add 10.200.0.2/24 dev vethB
ip -n "$A" addr add fd00:200::1/64 dev vethA nodad
ip -n "$B" addr add fd00:200::2/64 dev vethB nodad
ip -n "$A" link set vethA up
ip -n "$B" link set vethB up
MAC_A=$(ip netns exec "$A" cat /sys/class/net/vethA/address)
MAC_B=$(ip netns exec "$B" cat /sys/class/net/vethB/address)

# Kernel vxlan devices in A: VNI 5001 over IPv4 (UDP checksums off, the
# kernel's default, as nvo's zero_udp), VNI 5002 over IPv6 (checksums on, the
# kernel's default, as nvo's zero_udp6_checksum = false), VNI 5003 over IPv4
# with udpcsum (checksums on, as nvo's software mode).
ip -n "$A" link add vx0 type vxlan id 5001 dstport 4789 local 10.200.0.1 remote 10.200.0.2 dev vethA ||
  die "cannot create the kernel vxlan device"
ip -n "$A" addr add 192.168.77.1/24 dev vx0
ip -n "$A" link set vx0 up
ip -n "$A" link add vx6 type vxlan id 5002 dstport 4789 local fd00:200::1 remote fd00:200::2 dev vethA ||
  die "cannot create the kernel IPv6 vxlan device"
ip -n "$A" addr add 192.168.78.1/24 dev vx6
ip -n "$A" link set vx6 up
ip -n "$A" link add vxc type vxlan id 5003 dstport 4789 local 10.200.0.1 remote 10.200.0.2 dev vethA udpcsum ||
  die "cannot create the kernel vxlan device with udpcsum"
ip -n "$A" addr add 192.168.79.1/24 dev vxc
ip -n "$A" link set vxc up

# write_config FILE FAMILY LOCAL REMOTE VNI CHECKSUM
write_config() {
  cat >"$1" <<TOML
encapsulation = "vxlan"
underlay = "$2"
checksum = "$6"
zero_udp6_checksum = false
learning = true
anti_spoofing = true
underlay_mtu = 1500

[local]
$2 = "$3"
mac = "$MAC_B"
next_hop_mac = "$MAC_A"

[[endpoint]]
remote = "$4"

[[vni]]
id = $5
flood = ["$4"]
TOML
}

# start_vtep CONFIG TAP VNI ADDRESS MTU: nvo-vtep in B, its TAP up with ADDRESS.
start_vtep() {
  ip netns exec "$B" "$NVO" --config "$1" --underlay vethB --tap "$2" --vni "$3" --stats-interval 1 \
    >"$WORK/$2.log" 2>&1 &
  PID=$!
  for _ in $(seq 50); do
    ip -n "$B" link show "$2" >/dev/null 2>&1 && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$PID" 2>/dev/null && ip -n "$B" link set "$2" mtu "$5" up && ip -n "$B" addr add "$4" dev "$2"
}

# stop_vtep TAP: SIGTERM, then the final counters line must be there.
stop_vtep() {
  kill -TERM "$PID"
  wait "$PID"
  local rc=$?
  PID=
  check "$1: nvo-vtep exits 0 on SIGTERM (exit $rc)" test "$rc" -eq 0
  FINAL=$(grep '^nvo-vtep final:' "$WORK/$1.log")
  check "$1: final counters line" test -n "$FINAL"
  echo "    $FINAL"
}

counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$FINAL"; }

ping_ok() { # ping_ok NS ADDRESS: a warm-up (ARP, learning), then 3 of 3 replies
  ip netns exec "$1" python3 "$HERE/ping.py" "$2" 2 >/dev/null
  ip netns exec "$1" python3 "$HERE/ping.py" "$2" 3
}

for case in ipv4 ipv6 ipv4-udpcsum; do
  family=${case%%-*}
  case $case in
    ipv4) tap=nvotap vni=5001 local=10.200.0.2 remote=10.200.0.1 dev=vx0 net=192.168.77 mtu=1450 csum=zero_udp ;;
    ipv6) tap=nvotap6 vni=5002 local=fd00:200::2 remote=fd00:200::1 dev=vx6 net=192.168.78 mtu=1430 csum=zero_udp ;;
    ipv4-udpcsum) tap=nvotapc vni=5003 local=10.200.0.2 remote=10.200.0.1 dev=vxc net=192.168.79 mtu=1450 csum=software ;;
  esac
  write_config "$WORK/$tap.toml" "$family" "$local" "$remote" "$vni" "$csum"
  if ! start_vtep "$WORK/$tap.toml" "$tap" "$vni" "$net.2/24" "$mtu"; then
    fail "$case: nvo-vtep started with TAP $tap"
    cat "$WORK/$tap.log"
    continue
  fi
  check "$case underlay: ping $net.2 (nvo) from A (kernel)" ping_ok "$A" "$net.2"
  check "$case underlay: ping $net.1 (kernel) from B (nvo)" ping_ok "$B" "$net.1"
  tap_mac=$(ip netns exec "$B" cat "/sys/class/net/$tap/address")
  check "$case underlay: kernel FDB of $dev has nvo's MAC $tap_mac dst $local" \
    sh -c "bridge -n $A fdb show dev $dev | tee /dev/stderr | grep -q '^$tap_mac dst ${local} '"
  stop_vtep "$tap"
  learned=$(counter learned)
  check "$case underlay: nvo learned the kernel's MAC (learned=${learned:-none})" test "${learned:-0}" -ge 1
done

if [ "$FAILS" -ne 0 ]; then
  for log in "$WORK"/*.log; do
    echo "---- $log"
    cat "$log"
  done
  echo "$FAILS check(s) failed"
  exit 1
fi
echo "all checks passed"
