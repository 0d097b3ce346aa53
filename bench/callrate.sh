#!/usr/bin/env bash
# Call-rate benchmark: the highest INVITE-BYE call rate over UDP that
# sipedge (as a record-routing stateful proxy and registrar) sustains with
# fewer than 0.1% failed calls, measured with sipp on 127.0.0.1.
#
#   bench/callrate.sh                      # rates 100 200 400 ... 6400, 20 s each
#   RATES="500 1000 1500" DURATION=15 bench/callrate.sh
#
# It builds ./cmd/sipedge, starts it on loopback (UDP only, digest
# authentication off: it measures routing, Domains =
# example.com, a temporary data directory), registers a sipp UAS for
# bench@example.com, then for each rate runs a sipp UAC (-r RATE for
# DURATION seconds, -m RATE*DURATION calls) calling bench@example.com
# through sipedge. Each step counts successful and failed calls from sipp's
# statistics file (-trace_stat) and the CPU time sipedge and the two sipps
# used (/proc/PID/stat). Stepping stops at the first rate that fails (more
# than 0.1% failed calls, calls left unfinished, or a UAC that could not
# offer 95% of the rate); then REFINE (default 2) steps halve the interval
# between the last rate sustained and that one, in multiples of 50. Between
# steps it waits PAUSE (35) seconds, for the transactions of the step to
# end (over UDP they linger 64*T1 = 32 s: timers J, L and M). Not part of
# `make test`.
#
# sipedge bounds its transaction table (MaxTransactions, 300000 by
# default), and a call over UDP keeps about four transactions for 32 s after
# it ends: a step shorter than that never reaches the steady state of that
# bound. Use DURATION=60 to measure the steady state near the limit.
#
# sipp, sipedge and the UAS sipp share the machine's cores: on a small
# machine the sipps' own CPU use caps what can be offered; the CPU columns
# show who ran out first. Needs sipp (Debian: sip-tester), go and python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RATES=${RATES:-"100 200 400 800 1600 3200 6400"}
DURATION=${DURATION:-20}
MAX_FAIL_PCT=${MAX_FAIL_PCT:-0.1}
PAUSE=${PAUSE:-35}
REFINE=${REFINE:-2}

for tool in sipp go python3; do
  command -v "$tool" >/dev/null || { echo "callrate: $tool is needed" >&2; exit 1; }
done

bench_name=callrate
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

hz=$(getconf CLK_TCK)

echo "building sipedge" >&2
(cd "$root" && go build -o "$tmp/sipedge" ./cmd/sipedge)

sport=$(free_port)
uport=$(free_port)
echo "sipedge on 127.0.0.1:$sport/udp, UAS sipp on 127.0.0.1:$uport" >&2
"$tmp/sipedge" serve --IPAddress=127.0.0.1 --UDPPort="$sport" --TCPPort=0 --WSPort=0 --TurnPort=0 --DisableAuth=true \
  --Domains=example.com --DataDirectory="$tmp/data" --LogLevel=WARNING >"$tmp/sipedge.log" 2>&1 &
sipedge=$!
pids+=("$sipedge")
for _ in $(seq 100); do
  python3 -c "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try: s.bind(('127.0.0.1',$sport))
except OSError: sys.exit(0)
sys.exit(1)" && break
  kill -0 "$sipedge" 2>/dev/null || { echo "sipedge exited:" >&2; cat "$tmp/sipedge.log" >&2; exit 1; }
  sleep 0.1
done

common=(-i 127.0.0.1 -nostdin -t u1)
# Register bench@example.com from the port the UAS then listens on.
(cd "$tmp" && sipp -sf "$here/callrate/register.xml" "${common[@]}" -p "$uport" -s bench \
  -m 1 -timeout 10s -timeout_error "127.0.0.1:$sport" >"$tmp/register.out" 2>&1) || {
  echo "REGISTER failed:" >&2; tail -20 "$tmp/register.out" >&2; exit 1; }
(cd "$tmp" && exec sipp -sf "$here/callrate/uas.xml" "${common[@]}" -p "$uport" \
  -trace_err -error_file "$tmp/uas-errors.log" >"$tmp/uas.out" 2>&1) &
uas=$!
pids+=("$uas")
sleep 1
kill -0 "$uas" 2>/dev/null || { echo "UAS sipp exited:" >&2; cat "$tmp/uas.out" >&2; exit 1; }

# column NAME FILE prints column NAME of the last line of sipp's ;-separated stat file.
column() {
  awk -F';' -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i } END { print (c ? $c : "") }' "$2"
}

printf '| offered calls/s | calls | successful | failed | failed %% | created calls/s | UAC retrans | mean call ms | sipedge CPU | UAC sipp CPU | UAS sipp CPU |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
# step RATE runs one step and sets verdict (ok or fail).
step() {
  local rate=$1
  calls=$((rate * DURATION))
  stat="$tmp/stat-$rate.csv"
  s0=$(cpu_ticks "$sipedge"); a0=$(cpu_ticks "$uas")
  t0=$(date +%s.%N)
  set +e
  (cd "$tmp" && exec sipp -sf "$here/callrate/uac.xml" "${common[@]}" -p "$(free_port)" -s bench \
    -r "$rate" -m "$calls" -l $((rate * 10)) -timeout $((DURATION * 3 + 30))s \
    -trace_stat -stf "$stat" -fd 1 -trace_err -error_file "$tmp/uac-errors-$rate.log" \
    "127.0.0.1:$sport" >"$tmp/uac-$rate.out" 2>&1) &
  uac=$!
  pids+=("$uac")
  u=0
  while kill -0 "$uac" 2>/dev/null; do
    u=$(cpu_ticks "$uac")  # the last reading before it exits
    sleep 0.2
  done
  wait "$uac"
  code=$?
  set -e
  t1=$(date +%s.%N)
  s1=$(cpu_ticks "$sipedge"); a1=$(cpu_ticks "$uas")
  ok=$(column 'SuccessfulCall(C)' "$stat")
  failed=$(column 'FailedCall(C)' "$stat")
  created=$(column 'TotalCallCreated' "$stat")
  crate=$(column 'CallRate(C)' "$stat")
  retrans=$(column 'Retransmissions(C)' "$stat")
  rtt=$(column 'CallLength(C)' "$stat")
  read -r pct achieved rt scpu ucpu acpu verdict < <(python3 - "${ok:-0}" "${failed:-0}" "${created:-0}" \
    "$calls" "${crate:-0}" "${rtt:-0}" "$t0" "$t1" "$s0" "$s1" "$u" "$a0" "$a1" "$hz" "$rate" "$MAX_FAIL_PCT" <<'EOF'
import sys
a = sys.argv[1:]
ok, failed, created, calls = (int(x) for x in a[0:4])
crate = float(a[4])
# CallLength(C): the mean call length (INVITE to the BYE's 200), hh:mm:ss:micro (sipp counts whole ms)
h, m, sec, us = (int(x) for x in (a[5].split(":") + ["0"] * 4)[:4])
rt_ms = ((h * 60 + m) * 60 + sec) * 1000 + us / 1000
t0, t1, s0, s1, u, a0, a1, hz = (float(x) for x in a[6:14])
rate, maxpct = float(a[14]), float(a[15])
el = max(t1 - t0, 1e-9)
done = ok + failed
pct = 100.0 * failed / done if done else 100.0
cpu = lambda d: "%.0f%%" % (100.0 * d / hz / el)
# Sustained: every call ended, fewer than maxpct% failed, and the UAC
# created calls at (nearly) the offered rate.
good = created == calls and done == calls and pct < maxpct and crate >= 0.95 * rate
print("%.3f" % pct, "%.0f" % crate, "%.1f" % rt_ms, cpu(s1 - s0), cpu(u), cpu(a1 - a0), "ok" if good else "fail")
EOF
  )
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$rate" "${created:-0}" "${ok:-0}" "${failed:-0}" "$pct" \
    "$achieved" "${retrans:-?}" "$rt" "$scpu" "$ucpu" "$acpu"
  if [ "$verdict" != ok ]; then
    echo "rate $rate not sustained (sipp exit $code; failed ${failed:-?} of ${created:-?} created; created $achieved/s)" >&2
    if [ -s "$tmp/uac-errors-$rate.log" ]; then head -c 1500 "$tmp/uac-errors-$rate.log" >&2; echo >&2; fi
  fi
  # Let the transactions of this step end (timers J, L, M: 64*T1 = 32 s)
  # so that each step starts from an empty transaction table.
  sleep "$PAUSE"
}

best=0 worst=0
for rate in $RATES; do
  step "$rate"
  if [ "$verdict" != ok ]; then
    worst=$rate
    break
  fi
  best=$rate
done
# Between the last rate sustained and the first one not: REFINE halvings.
if [ "$worst" -gt 0 ]; then
  lo=$best hi=$worst
  for _ in $(seq "$REFINE"); do
    mid=$(( (lo + hi) / 2 / 50 * 50 ))
    if [ "$mid" -le "$lo" ] || [ "$mid" -ge "$hi" ]; then break; fi
    step "$mid"
    if [ "$verdict" = ok ]; then lo=$mid; else hi=$mid; fi
  done
  best=$lo
fi
echo
echo "highest sustained rate: $best calls/s (failed < ${MAX_FAIL_PCT}%, ${DURATION} s per step; $(nproc) CPUs, shared by sipedge and both sipps)"
if kill -0 "$sipedge" 2>/dev/null; then :; else echo "sipedge died:" >&2; tail -20 "$tmp/sipedge.log" >&2; fi
