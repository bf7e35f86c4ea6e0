# lib.sh: the interop tests' topology and checks, sourced by vxlan_kernel.sh
# and nvo_nvo.sh.
#
# The underlay is a switch: bridge br0 in namespace A, whose own address is
# A's underlay address (10.200.0.1, fd00:200::1), with a veth port to B
# (veth2: 10.200.0.2, fd00:200::2) and one to C (veth3: .3). Multicast
# snooping is off, so group traffic reaches every port as on a plain switch.
# An nvo-vtep owns its PA as a DPDK port would: the kernel of its namespace
# has no address on that interface (else it would answer every tunnel packet
# with an ICMP port unreachable or a TCP reset), so A knows B's and C's MACs
# from static neighbor entries (nvo does no ARP on the underlay). Everything
# lives in the test's own namespaces, torn down on exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
A=nvoA$$
B=nvoB$$
C=nvoC$$
WORK=$(mktemp -d)
FAILS=0
declare -A PIDS=()  # namespace -> nvo-vtep pid
declare -A LOGS=()  # namespace -> its log
FINAL=

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
check() { # check NAME COMMAND...: one named PASS/FAIL line
  local name=$1
  shift
  if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$WORK/out"; fi
}
die() { echo "FAIL: $*"; exit 1; }

cleanup() {
  local ns
  for ns in "${!PIDS[@]}"; do kill -KILL "${PIDS[$ns]}" 2>/dev/null && wait "${PIDS[$ns]}" 2>/dev/null; done
  for ns in "$A" "$B" "$C"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# finish: every log after a failure, and the exit status.
finish() {
  if [ "$FAILS" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -e "$log" ] || continue
      echo "---- $log"
      tail -n 40 "$log"
    done
    echo "$FAILS check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}

# skip REASON: SKIPPED (exit 77, CTest's SKIP_RETURN_CODE) on a machine that
# lacks what the test needs; in CI (CI=true), whose machine has it all, FAIL.
skip() {
  [ "${CI:-}" = true ] && die "$1 (CI needs network namespaces, veth, vxlan and TAP)"
  echo "SKIPPED: $1"
  trap - EXIT
  rm -rf "$WORK"
  exit 77
}

require_kernel() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, TAP devices, AF_PACKET sockets)"
  local probe=nvoP$$
  ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
  local missing=""
  ip -n "$probe" link add v0 type veth peer name v1 2>/dev/null || missing="veth"
  ip -n "$probe" link add x0 type vxlan id 1 dstport 4789 2>/dev/null || missing="$missing vxlan"
  ip -n "$probe" link add b0 type bridge 2>/dev/null || missing="$missing bridge"
  ip netns del "$probe"
  [ -c /dev/net/tun ] || missing="$missing tun"
  [ -z "$missing" ] || skip "the kernel lacks:$missing"
}

build_topology() {
  require_kernel
  local ns
  for ns in "$A" "$B" "$C"; do
    ip netns add "$ns" || die "cannot create network namespace $ns (root needed)"
    ip -n "$ns" link set lo up
  done
  ip -n "$A" link add br0 type bridge mcast_snooping 0 || die "cannot create the underlay bridge"
  local peer n=2
  for peer in "$B" "$C"; do
    local port=p$n dev=veth$n
    ip link add "$dev" netns "$peer" type veth peer name "$port" netns "$A" || die "cannot create a veth pair"
    ip -n "$A" link set "$port" master br0 up
    ip -n "$peer" link set "$dev" up
    n=$((n + 1))
  done
  ip -n "$A" addr add 10.200.0.1/24 dev br0
  ip -n "$A" addr add fd00:200::1/64 dev br0 nodad
  ip -n "$A" link set br0 up
  # The overlay devices the tests add next are IPv4-only: without IPv6 they
  # send nothing on their own (router solicitations, MLD) that would refresh
  # learned entries behind the aging checks' backs.
  for ns in "$A" "$B" "$C"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1; done
  MAC_A=$(ip netns exec "$A" cat /sys/class/net/br0/address)
  MAC_B=$(ip netns exec "$B" cat /sys/class/net/veth2/address)
  MAC_C=$(ip netns exec "$C" cat /sys/class/net/veth3/address)
  local mac
  for n in 2 3; do
    mac=$MAC_B
    [ "$n" = 3 ] && mac=$MAC_C
    ip -n "$A" neigh replace "10.200.0.$n" lladdr "$mac" dev br0 nud permanent
    ip -n "$A" neigh replace "fd00:200::$n" lladdr "$mac" dev br0 nud permanent
  done
}

# kernel_pa_in_c: C's kernel takes 10.200.0.3 (for a kernel VTEP there), and
# knows B's MAC.
kernel_pa_in_c() {
  ip -n "$C" addr add 10.200.0.3/24 dev veth3
  ip -n "$C" neigh replace 10.200.0.2 lladdr "$MAC_B" dev veth3 nud permanent
}

# start_vtep BINARY NS IFACE CONFIG TAP ADDRESS MTU VNI: nvo-vtep in NS on
# IFACE, every TAP frame in VNI, the TAP up with ADDRESS (and MTU) once it
# exists.
start_vtep() {
  local bin=$1 ns=$2 iface=$3 config=$4 tap=$5 address=$6 mtu=$7 vni=$8
  LOGS[$ns]="$WORK/$ns-$tap-$(date +%s%N).log"
  ip netns exec "$ns" "$bin" --config "$config" --underlay "$iface" --tap "$tap" --vni "$vni" --stats-interval 1 \
    >"${LOGS[$ns]}" 2>&1 &
  PIDS[$ns]=$!
  local _
  for _ in $(seq 100); do
    ip -n "$ns" link show "$tap" >/dev/null 2>&1 && break
    kill -0 "${PIDS[$ns]}" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "${PIDS[$ns]}" 2>/dev/null && ip -n "$ns" link set "$tap" mtu "$mtu" up &&
    ip -n "$ns" addr add "$address" dev "$tap"; then
    return 0
  fi
  fail "nvo-vtep started in $ns with TAP $tap"
  cat "${LOGS[$ns]}"
  return 1
}

# stop_vtep NS NAME: SIGTERM; exit 0 and the final counters line (in FINAL).
stop_vtep() {
  local ns=$1 name=$2
  kill -TERM "${PIDS[$ns]}"
  wait "${PIDS[$ns]}"
  local rc=$?
  unset "PIDS[$ns]"
  check "$name: nvo-vtep exits 0 on SIGTERM (exit $rc)" test "$rc" -eq 0
  FINAL=$(grep '^nvo-vtep final:' "${LOGS[$ns]}")
  check "$name: final counters line" test -n "$FINAL"
  echo "    $FINAL"
}

# counter NAME [LINE]: a counter of the final (or the given) counters line.
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"${2:-$FINAL}"; }
# stats NS: the latest periodic counters line of NS's nvo-vtep.
stats() { grep '^nvo-vtep stats:' "${LOGS[$1]}" | tail -n 1; }
# stats_when NS COUNTER MIN: the first periodic line (within 10 s) in which
# COUNTER is at least MIN, else the latest: the lines come once a second,
# later on a loaded machine.
stats_when() {
  local line _
  for _ in $(seq 100); do
    line=$(stats "$1")
    [ "$(counter "$2" "$line")" -ge "$3" ] 2>/dev/null && break
    sleep 0.1
  done
  echo "$line"
}

ping_ok() { # ping_ok NS ADDRESS: a warm-up (ARP, learning), then 3 of 3 replies
  ip netns exec "$1" python3 "$HERE/ping.py" "$2" 2 >/dev/null
  ip netns exec "$1" python3 "$HERE/ping.py" "$2" 3
}

# The data every bulk transfer sends, and its hash: 256 MiB, or
# NVO_INTEROP_BULK_BYTES (the sanitizer build's tests send less).
make_bulk_data() {
  head -c "${NVO_INTEROP_BULK_BYTES:-268435456}" /dev/urandom >"$WORK/bulk.bin"  # 256 MiB
  BULK_SHA=$(sha256sum "$WORK/bulk.bin" | cut -d' ' -f1)
  BULK_BYTES=$(stat -c %s "$WORK/bulk.bin")
}

# bulk FROM_NS TO_NS TO_ADDRESS UNDERLAY_DEV LABEL: a TCP transfer of the bulk
# data, compared by hash; prints a THROUGHPUT line (Gbit/s from the sink's
# clock, Mpps from the received-packet counter of the receiver's underlay
# device UNDERLAY_DEV: tunnel packets, whatever GRO makes of them above) and
# sets BULK_GBPS.
bulk() {
  local from=$1 to=$2 address=$3 dev=$4 label=$5
  local rx0 rx1 result
  rx0=$(ip netns exec "$to" cat "/sys/class/net/$dev/statistics/rx_packets")
  ip netns exec "$to" timeout 120 python3 "$HERE/bulk.py" sink "$address" 5201 >"$WORK/sink.out" 2>&1 &
  local sink=$!
  ip netns exec "$from" timeout 120 python3 "$HERE/bulk.py" source "$address" 5201 "$WORK/bulk.bin" \
    >"$WORK/source.out" 2>&1
  wait "$sink"
  rx1=$(ip netns exec "$to" cat "/sys/class/net/$dev/statistics/rx_packets")
  result=$(grep '^bytes=' "$WORK/sink.out")
  BULK_GBPS=$(sed -n 's/.*gbps=\([0-9.]*\).*/\1/p' <<<"$result")
  local seconds
  seconds=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$result")
  check "$label: $BULK_BYTES bytes by TCP, same sha256 ($result)" \
    grep -q "bytes=$BULK_BYTES sha256=$BULK_SHA " "$WORK/sink.out"
  if [ -n "$BULK_GBPS" ]; then
    echo "THROUGHPUT: $label: $BULK_GBPS Gbit/s, $(awk -v p=$((rx1 - rx0)) -v s="$seconds" \
      'BEGIN { printf "%.3f", (s > 0 ? p / s / 1e6 : 0) }') Mpps ($((rx1 - rx0)) packets on $dev)"
  else
    cat "$WORK/source.out" "$WORK/sink.out"
  fi
}

# A python3 with scapy (Debian's python3-scapy lives in /usr/bin/python3).
scapy_python() {
  local py
  for py in python3 /usr/bin/python3; do
    "$py" -c "import scapy" 2>/dev/null && { echo "$py"; return 0; }
  done
  return 1
}
