#!/usr/bin/env bash
# TURN load benchmark: the same turnutils_uclient load against sipedge's
# built-in TURN server and against coturn's turnserver, in the same run, on
# 127.0.0.1. For each server it reports packets sent and received, loss,
# the received packet rate while every client sends, the average round trip
# and the CPU time the server used.
#
#   bench/turnload.sh                          # UDP, 50 clients x 500 packets/s, 15 s
#   bench/turnload.sh -short                   # tiny load (~20 s), to check that it works
#   TURNLOAD_SHORT=1 bench/turnload.sh         # the same
#   CLIENTS=50 INTERVAL=1 DURATION=20 TRANSPORTS="udp tcp" ROUNDS=2 bench/turnload.sh
#
# Settings (environment):
#   CLIENTS     allocations, turnutils_uclient -m (default 50; uclient
#               spends 0.1 s on each one before any sends)
#   INTERVAL    milliseconds between two packets of one client, -z (default 2)
#   DURATION    seconds each client sends; -n is DURATION*1000/INTERVAL (15)
#   LENGTH      payload bytes, -l (default 100)
#   TRANSPORTS  client to server transport(s): udp, tcp (-t) (default udp)
#   MODE        peer: each client sends through its relay to a turnutils_peer
#               that echoes it back (each packet crosses the server twice);
#               c2c: clients in pairs send to each other's relay (-y)
#               (default peer)
#   ROUNDS      runs per server and transport, alternating the order of the
#               servers (default 1)
#   SERVERS     which servers to measure, in order (both are started;
#               default "sipedge coturn")
#   SIPEDGE_EXTRA  config lines added to sipedge's (e.g. "TurnMaxKbps = 10000")
#   COTURN_ARGS    more turnserver options (e.g. "--max-bps=1250000")
#   KEEP=1      keep the temporary directory (configs, logs, uclient output)
#
# It builds ./cmd/sipedge, writes a config (TURN on a free port of
# 127.0.0.1 with a REST shared secret, loopback peers allowed, no per-user
# allocation limit that the load could reach, no per-allocation bandwidth
# cap (TurnMaxKbps = 0, as coturn's default max-bps), relay ports
# 20000-24999) and starts it; starts coturn's turnserver (relay ports
# 25000-29999, an empty config file instead of /etc/turnserver.conf, its
# SQLite file, log and pid file in the temporary directory, its default of
# one relay thread per CPU) with the same secret and realm on another port;
# starts a turnutils_peer; then for each server runs
#
#   turnutils_uclient -c -m CLIENTS -n N -z INTERVAL -l LENGTH -W SECRET -u bench \
#     -e 127.0.0.1 -r PEERPORT -p TURNPORT [-t] [-y] 127.0.0.1
#
# uclient starts each client's stream at a random moment 1 to 6 s after the
# allocations are made and, when packets are missing, waits 10 s after its
# last packet; its own "Total transmit time" (whole seconds) includes both,
# so the packet rates here come from uclient's once-a-second counters
# instead: "recv pkt/s" is the mean received per second over the seconds
# in which the send rate is at least 80% of its highest (every client
# sending), "sent pkt/s" the same for sent packets; "offered" is
# CLIENTS*1000/INTERVAL. A client that falls behind its schedule catches
# up with up to 50 packets at once, so "sent pkt/s" above "offered" means
# uclient itself was starved of CPU. Loss is uclient's (sent minus
# received, after the 10 s wait), "send dropped" the sends that failed in
# uclient. "rcvbuf drops" are datagrams the kernel dropped because a
# socket's receive buffer was full (/proc/net/udp), by whose socket: the
# server's listening socket(s) (its TURN port), the server's relays, the
# peer's, or uclient's. RTT is
# uclient's average over in-order packets (from the send to the echo's
# return in peer mode); uclient counts whole milliseconds, so on an idle
# loopback it is mostly 0. "server CPU" is utime+stime of the server
# process (/proc/PID/stat) over the whole uclient run, "µs/pkt" that
# divided by the packets received; the "peak" columns are the highest
# one-second CPU use of the server, of uclient and of turnutils_peer (100%
# is one core): when uclient or the peer is near 100% it, not the server,
# is what limits the rate. "load" is the 1-minute load average at the end
# of the run: the servers, uclient and the peer share the machine's cores
# with whatever else runs, and a busy machine makes the numbers
# meaningless.
#
# Needs go, python3 and Debian's coturn (turnserver, turnutils_uclient,
# turnutils_peer; `make deps` installs it). Only 127.0.0.1 is used. Not
# part of `make test`. It exits non-zero when a uclient run fails (its row
# says so and uclient's last lines go to stderr).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

short=${TURNLOAD_SHORT:-}
for arg in "$@"; do
  case $arg in
    -short | --short) short=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "turnload: unknown argument $arg (see -h)" >&2; exit 2 ;;
  esac
done
pause=2 # seconds between runs, for the allocations of one to go
if [ -n "$short" ] && [ "$short" != 0 ]; then
  CLIENTS=${CLIENTS:-4} INTERVAL=${INTERVAL:-20} DURATION=${DURATION:-1} pause=0.5
fi
CLIENTS=${CLIENTS:-50}
INTERVAL=${INTERVAL:-2}
DURATION=${DURATION:-15}
LENGTH=${LENGTH:-100}
TRANSPORTS=${TRANSPORTS:-udp}
MODE=${MODE:-peer}
ROUNDS=${ROUNDS:-1}
SERVERS=${SERVERS:-"sipedge coturn"}
messages=$((DURATION * 1000 / INTERVAL))
[ "$messages" -ge 1 ] || { echo "turnload: DURATION*1000/INTERVAL must be at least 1" >&2; exit 2; }
case $MODE in peer | c2c) ;; *) echo "turnload: MODE is peer or c2c" >&2; exit 2 ;; esac
for t in $TRANSPORTS; do
  case $t in udp | tcp) ;; *) echo "turnload: TRANSPORTS takes udp and tcp" >&2; exit 2 ;; esac
done
for s in $SERVERS; do
  case $s in sipedge | coturn) ;; *) echo "turnload: SERVERS takes sipedge and coturn" >&2; exit 2 ;; esac
done

for tool in go python3 turnserver turnutils_uclient turnutils_peer; do
  command -v "$tool" >/dev/null || {
    echo "turnload: $tool is needed (turnserver and turnutils_*: Debian package coturn, make deps)" >&2; exit 1; }
done

bench_name=turnload
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# wait_bound PID NAME PORT waits until 127.0.0.1:PORT/udp is taken (by the
# server starting), failing when the process exits first or after 10 s.
wait_bound() {
  local i
  for i in $(seq 100); do
    python3 -c "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try: s.bind(('127.0.0.1',$3))
except OSError: sys.exit(0)
sys.exit(1)" && return 0
    kill -0 "$1" 2>/dev/null || { echo "turnload: $2 exited:" >&2; tail -30 "$tmp/$2.log" >&2; exit 1; }
    [ "$i" -lt 100 ] && sleep 0.1
  done
  echo "turnload: $2 did not bind 127.0.0.1:$3 in 10 s" >&2; tail -30 "$tmp/$2.log" >&2; exit 1
}

# udp_snmp prints the machine's UDP error counters as "name value" pairs.
udp_snmp() {
  awk '/^Udp:/ { if (!n) { for (i = 2; i <= NF; i++) name[i] = $i; n = 1 } else for (i = 2; i <= NF; i++)
    if (name[i] ~ /^(NoPorts|InErrors|RcvbufErrors|SndbufErrors)$/) printf "%s %s ", name[i], $i }' /proc/net/snmp
}

hz=$(getconf CLK_TCK)

# udp_drops TAG prints the UDP sockets of the machine that have dropped
# datagrams (their receive buffer was full): TAG, local and remote address
# (hex, as /proc/net/udp has them), inode, drops.
udp_drops() {
  awk -v tag="$1" 'NR > 1 && $NF > 0 { print tag, $2, $3, $10, $NF }' /proc/net/udp
}

secret=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
realm=example.com

echo "building sipedge" >&2
(cd "$root" && go build -o "$tmp/sipedge" ./cmd/sipedge)

# Ports: a SIP port sipedge needs, the two TURN ports, the peer's port.
for _ in $(seq 20); do
  sip_port=$(free_port) sipedge_port=$(free_port) coturn_port=$(free_port) peer_port=$(free_port)
  [ "$(printf '%s\n' "$sip_port" "$sipedge_port" "$coturn_port" "$peer_port" | sort -u | wc -l)" = 4 ] && break
done

# Relay port ranges: disjoint, 5000 ports each, below the usual ephemeral
# range (32768 and up), so that a port tells whose socket it is: a relay
# of one server, the peer, or (connected to a server's port) uclient.
sipedge_relays="20000 24999"
coturn_relays="25000 29999"
mkdir -p "$tmp/data"
# A key SIPEDGE_EXTRA sets replaces the one here (a key twice is an error).
extra=${SIPEDGE_EXTRA:-}
awk -v extra="$extra" 'BEGIN { n = split(extra, l, "\n")
    for (i = 1; i <= n; i++) { k = l[i]; sub(/^[ \t]+/, "", k); sub(/[ \t]*=.*/, "", k); if (k != "") set[k] = 1 } }
  !($1 in set)' >"$tmp/sipedge.conf" <<EOF
Transport1Interface = 127.0.0.1:$sip_port
Transport1Type = UDP
Domains = $realm
DataDirectory = $tmp/data
DisableAuth = true
LogLevel = WARNING
TurnPort = $sipedge_port
TurnAddress = 127.0.0.1
TurnRelayAddress = 127.0.0.1
AuthenticationRealm = $realm
TurnSecret = $secret
TurnAllowPeers = 127.0.0.0/8, 127.0.0.1/32
AllocationPortRangeMin = ${sipedge_relays% *}
AllocationPortRangeMax = ${sipedge_relays#* }
MaxAllocationsPerUser = 100000
TurnMaxAllocations = 100000
TurnMaxKbps = 0
EOF
[ -z "$extra" ] || printf '%s\n' "$extra" >>"$tmp/sipedge.conf"
"$tmp/sipedge" serve -c "$tmp/sipedge.conf" >"$tmp/sipedge.log" 2>&1 &
sipedge=$!
pids+=("$sipedge")

: >"$tmp/turnserver.conf"
read -r -a coturn_args <<<"${COTURN_ARGS:-}"
turnserver -c "$tmp/turnserver.conf" --listening-ip=127.0.0.1 --listening-port="$coturn_port" \
  --relay-ip=127.0.0.1 --min-port="${coturn_relays% *}" --max-port="${coturn_relays#* }" \
  --use-auth-secret --static-auth-secret="$secret" --realm="$realm" \
  --allow-loopback-peers --no-cli --no-tls --no-dtls --no-rfc5780 \
  --userdb="$tmp/turndb" --pidfile="$tmp/turnserver.pid" \
  --log-file="$tmp/coturn.log" --simple-log --no-stdout-log "${coturn_args[@]}" >"$tmp/coturn.out" 2>&1 &
coturn=$!
pids+=("$coturn")

turnutils_peer -L 127.0.0.1 -p "$peer_port" >"$tmp/peer.log" 2>&1 &
peer=$!
pids+=("$peer")

wait_bound "$sipedge" sipedge "$sipedge_port"
wait_bound "$coturn" coturn "$coturn_port"
wait_bound "$peer" peer "$peer_port"
sleep 0.5
coturn_version=$(turnserver --version 2>/dev/null | tail -1)
echo "sipedge TURN 127.0.0.1:$sipedge_port (pid $sipedge), coturn $coturn_version 127.0.0.1:$coturn_port (pid $coturn), peer 127.0.0.1:$peer_port" >&2

mode_args=()
[ "$MODE" = c2c ] && mode_args=(-y)
offered=$(python3 -c "print('%.0f' % ($CLIENTS * 1000 / $INTERVAL))")
# A bound on one uclient run: connecting (0.1 s a client), the start spread
# (6 s), sending, the 10 s wait for missing packets, and slack.
limit=$(python3 -c "import math; print(math.ceil($CLIENTS * 0.2 + 6 + $messages * $INTERVAL / 1000 * 3 + 10 + 30))")

load=$(cut -d' ' -f1 /proc/loadavg)
if python3 -c "import os,sys; sys.exit(0 if $load > os.cpu_count() / 2 else 1)"; then
  echo "turnload: the load average is $load on $(nproc) CPUs: other work will distort the numbers" >&2
fi

rows=()
failures=0
# run SERVER TRANSPORT ROUND runs one load and appends a row to rows.
run() {
  local server=$1 transport=$2 round=$3 port pid range out samples drops u code
  if [ "$server" = sipedge ]; then
    port=$sipedge_port pid=$sipedge range=$sipedge_relays
  else
    port=$coturn_port pid=$coturn range=$coturn_relays
  fi
  kill -0 "$pid" 2>/dev/null || { echo "turnload: $server is not running:" >&2; tail -30 "$tmp/$server.log" >&2; exit 1; }
  out="$tmp/uclient-$server-$transport-$round.out"
  samples="$tmp/cpu-$server-$transport-$round.txt"
  drops="$tmp/drops-$server-$transport-$round.txt"
  local targs=()
  [ "$transport" = tcp ] && targs=(-t)
  local args=(-c -m "$CLIENTS" -n "$messages" -z "$INTERVAL" -l "$LENGTH" -W "$secret" -u bench
    -e 127.0.0.1 -r "$peer_port" -p "$port" "${targs[@]}" "${mode_args[@]}" 127.0.0.1)
  echo "$server $transport round $round: turnutils_uclient ${args[*]}" >&2
  local s0 p0 snmp0
  snmp0=$(udp_snmp)
  udp_drops 0 >"$drops"
  s0=$(cpu_ticks "$pid"); p0=$(cpu_ticks "$peer")
  set +e
  timeout "$limit" turnutils_uclient "${args[@]}" >"$out" 2>&1 &
  u=$!
  pids+=("$u")
  # timeout runs uclient as its child; the samples read the child.
  local uc=""
  for _ in $(seq 50); do
    uc=$(pgrep -P "$u" turnutils_uclie || true)
    [ -n "$uc" ] && break
    sleep 0.02
  done
  : >"$samples"
  while kill -0 "$u" 2>/dev/null; do
    echo "$(date +%s.%N) $(cpu_ticks "$pid") $([ -n "$uc" ] && cpu_ticks "$uc" || echo 0) $(cpu_ticks "$peer")" >>"$samples"
    udp_drops 1 >>"$drops"
    sleep 1
  done
  udp_drops 1 >>"$drops"
  wait "$u"
  code=$?
  set -e
  local s1 p1
  s1=$(cpu_ticks "$pid"); p1=$(cpu_ticks "$peer")
  python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split()
print("  UDP counters of the whole machine during the run:", ", ".join("%s %d" % (a[i], int(b[i+1]) - int(a[i+1])) for i in range(0, len(a), 2)))' \
    "$snmp0" "$(udp_snmp)" >&2
  local row
  row=$(python3 - "$out" "$samples" "$hz" "$s0" "$s1" "$p0" "$p1" "$code" "$drops" "$port" "$peer_port" $range <<'EOF'
import re, sys
out, samples = sys.argv[1], sys.argv[2]
hz = float(sys.argv[3])
s0, s1, p0, p1, code = (int(x) for x in sys.argv[4:9])
drops, port, peer_port, rmin, rmax = sys.argv[9], int(sys.argv[10]), int(sys.argv[11]), int(sys.argv[12]), int(sys.argv[13])
text = open(out, errors="replace").read()
# Once-a-second counters: "start_mclient: msz=N, tot_send_msgs=S, tot_recv_msgs=R, ..."
per_sec = [(int(a), int(b)) for a, b in re.findall(r"msz=\d+, tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", text)]
final = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", text)
lost = re.search(r"Total lost packets (\d+) \(([0-9.]+)%\), total send dropped (\d+)", text)
rtt = re.search(r"Average round trip delay ([0-9.]+) ms; min = (\d+) ms, max = (\d+) ms", text)
if not final or not lost:
    print("FAILED")
    sys.exit(0)
sent, recv = int(final[-1][0]), int(final[-1][1])
ds = [(per_sec[i][0] - per_sec[i-1][0], per_sec[i][1] - per_sec[i-1][1]) for i in range(1, len(per_sec))]
peak = max((d[0] for d in ds), default=0)
busy = [d for d in ds if peak and d[0] >= 0.8 * peak]
send_rate = sum(d[0] for d in busy) / len(busy) if busy else 0
recv_rate = sum(d[1] for d in busy) / len(busy) if busy else 0
# Highest one-second CPU use of server, uclient and peer from the samples.
rows = [tuple(float(x) for x in l.split()) for l in open(samples) if len(l.split()) == 4]
peaks = [0.0, 0.0, 0.0]
for a, b in zip(rows, rows[1:]):
    dt = b[0] - a[0]
    if dt > 0.5:
        for k in range(3):
            peaks[k] = max(peaks[k], 100.0 * (b[k+1] - a[k+1]) / hz / dt)
# Datagrams dropped by full receive buffers, by whose socket dropped them.
base, seen = {}, {}
for l in open(drops):
    f = l.split()
    if len(f) != 5:
        continue
    key = (f[1], f[2], f[3])  # the same inode could be reused by another socket
    if f[0] == "0":
        base[key] = int(f[4])
    else:
        seen[key] = max(seen.get(key, 0), int(f[4]))
lost_at = {"listen": 0, "relay": 0, "peer": 0, "uclient": 0}
for key, n in seen.items():
    n -= base.get(key, 0)
    lport, rport = int(key[0].split(":")[1], 16), int(key[1].split(":")[1], 16)
    if lport == port:
        lost_at["listen"] += n
    elif rmin <= lport <= rmax:
        lost_at["relay"] += n
    elif lport == peer_port:
        lost_at["peer"] += n
    elif rport == port:
        lost_at["uclient"] += n
cpu = (s1 - s0) / hz
us = 1e6 * cpu / recv if recv else 0
print("%d %d %.3f %s %d/%d/%d/%d %.0f %.0f %s %s %.2f %.1f %.0f%% %.0f%% %.0f%%" % (
    sent, recv, float(lost.group(2)), lost.group(3),
    lost_at["listen"], lost_at["relay"], lost_at["peer"], lost_at["uclient"], send_rate, recv_rate,
    rtt.group(1)[:5] if rtt else "?", rtt.group(3) if rtt else "?",
    cpu, us, peaks[0], peaks[1], peaks[2]))
EOF
  )
  if [ "$row" = FAILED ] || [ "$code" -ne 0 ]; then
    echo "turnload: $server $transport: turnutils_uclient failed (exit $code):" >&2
    tail -20 "$out" >&2
    rows+=("| $server | $transport | $CLIENTS | failed (exit $code) |$(printf ' |%.0s' $(seq 15))")
    failures=$((failures + 1))
    return
  fi
  local sent recv lostpct dropped sockdrops srate rrate rtt rttmax cpu us speak upeak ppeak
  read -r sent recv lostpct dropped sockdrops srate rrate rtt rttmax cpu us speak upeak ppeak <<<"$row"
  rows+=("| $server | $transport | $CLIENTS | $offered | $sent | $recv | $lostpct | $dropped | $sockdrops | $srate | $rrate | $rtt | $rttmax | $cpu | $us | $speak | $upeak | $ppeak | $(cut -d' ' -f1 /proc/loadavg) |")
}

for round in $(seq "$ROUNDS"); do
  order=$SERVERS
  # Alternate which server goes first, so that neither always runs on a
  # machine warmed (or tired) by the other.
  if [ $((round % 2)) = 0 ]; then order=$(echo "$SERVERS" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }'); fi
  for transport in $TRANSPORTS; do
    for server in $order; do
      run "$server" "$transport" "$round"
      sleep "$pause"
    done
  done
done

echo
echo "turnutils_uclient: $CLIENTS clients ($MODE), $messages packets of $LENGTH bytes each, one every $INTERVAL ms ($DURATION s); $(nproc) CPUs shared by the server, uclient and the peer"
echo
echo '| server | transport | clients | offered pkt/s | sent | received | lost % | send dropped | rcvbuf drops listen/relay/peer/uclient | sent pkt/s | recv pkt/s | avg RTT ms | max RTT ms | server CPU s | µs/pkt | server peak | uclient peak | peer peak | load |'
echo '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
for r in "${rows[@]}"; do echo "$r"; done

# What the servers logged at WARNING and above (sipedge) or as errors (coturn).
for s in $SERVERS; do
  if [ "$s" = sipedge ]; then
    n=$(grep -c -E 'level=(WARN|ERROR)' "$tmp/sipedge.log" || true)
    # The DisableAuth warning at start is expected.
    n=$((n - $(grep -c 'DisableAuth' "$tmp/sipedge.log" || true)))
    if [ "$n" -gt 0 ]; then
      echo "sipedge logged $n warnings or errors; the first:" >&2
      grep -E 'level=(WARN|ERROR)' "$tmp/sipedge.log" | grep -v DisableAuth | head -10 >&2
    fi
    kill -0 "$sipedge" 2>/dev/null || { echo "sipedge died:" >&2; tail -20 "$tmp/sipedge.log" >&2; }
  else
    n=$(grep -c -i 'error' "$tmp/coturn.log" 2>/dev/null || true)
    if [ "${n:-0}" -gt 0 ]; then
      echo "coturn logged $n error lines; the first:" >&2
      grep -i error "$tmp/coturn.log" | head -10 >&2
    fi
    kill -0 "$coturn" 2>/dev/null || { echo "coturn died:" >&2; tail -20 "$tmp/coturn.log" >&2; }
  fi
done
if [ "$failures" -gt 0 ]; then
  echo "turnload: $failures runs failed" >&2
  exit 1
fi
