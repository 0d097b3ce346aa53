#!/usr/bin/env bash
# Compare sipedge's SIP parser (package ./sip, benchmarked in ./bench/sipedge)
# with github.com/emiago/sipgo (module ./bench/sipgo) on the same fixture and
# workload.
#
#   bench/parser.sh                 # 5 rounds
#   COUNT=10 bench/parser.sh        # more rounds
#   BENCHTIME=2s bench/parser.sh    # passed to -test.benchtime
#
# Each side's benchmarks are compiled once; then the sides take turns, one
# run of every benchmark per round. Raw output goes to stderr; the markdown
# table (medians over the rounds) goes to stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${COUNT:-5}"
benches='^(BenchmarkParseAccess|BenchmarkParseAccessOwned|BenchmarkParseEditSerialize)$'
names=(BenchmarkParseAccess BenchmarkParseAccessOwned BenchmarkParseEditSerialize)
# sipgo has no counterpart of ParseOwned: that row compares with its
# BenchmarkParseAccess, which does the same reads.

args=(-test.run '^$' -test.bench "$benches" -test.benchmem -test.count 1)
if [[ -n "${BENCHTIME:-}" ]]; then
	args+=(-test.benchtime "$BENCHTIME")
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/sipedge.txt"
: >"$tmp/sipgo.txt"

note() { printf '%s\n' "$*" >&2; }

# build_side LABEL DIR BIN: compile DIR's benchmarks into BIN. Returns
# non-zero if that failed; the caller decides what that means.
build_side() {
	local label="$1" dir="$2" bin="$3" rel="${2#"$root"}"
	note "== $label: (cd ./${rel#/} && go test -c)"
	(cd "$dir" && go test -c -o "$bin" .) >&2
}

# run_side DIR BIN OUT: one run of BIN's benchmarks from DIR, appended to
# OUT (and copied to stderr).
run_side() {
	(cd "$1" && "$2" "${args[@]}") >"$tmp/run.txt" 2>&1 || true
	cat "$tmp/run.txt" >&2
	cat "$tmp/run.txt" >>"$3"
}

# Benchmarks named after OUT that are absent from the output file OUT.
missing_in() {
	local out="$1" n miss=()
	for n in "${@:2}"; do
		grep -Eq "^$n(-[0-9]+)?[[:space:]]" "$out" || miss+=("$n")
	done
	echo "${miss[*]:-}"
}

sipedge_note=""
shopt -s nullglob
sip_go=("$root"/bench/sipedge/*.go)
shopt -u nullglob
sipedge_ok=false
if [[ ${#sip_go[@]} -eq 0 ]]; then
	sipedge_note="no benchmarks in bench/sipedge yet; sipedge side skipped"
elif build_side sipedge "$root/bench/sipedge" "$tmp/sipedge.test"; then
	sipedge_ok=true
else
	sipedge_note="bench/sipedge does not build (see output above); sipedge side skipped"
fi
sipgo_note=""
sipgo_ok=false
if build_side sipgo "$root/bench/sipgo" "$tmp/sipgo.test"; then
	sipgo_ok=true
else
	sipgo_note="bench/sipgo does not build (see output above)"
fi

# The two sides take turns, one run each, so that a slow spell of the
# machine weighs on both alike.
for ((round = 1; round <= count; round++)); do
	note "== round $round of $count"
	if $sipedge_ok; then run_side "$root/bench/sipedge" "$tmp/sipedge.test" "$tmp/sipedge.txt"; fi
	if $sipgo_ok; then run_side "$root/bench/sipgo" "$tmp/sipgo.test" "$tmp/sipgo.txt"; fi
done

if $sipedge_ok; then
	miss="$(missing_in "$tmp/sipedge.txt" "${names[@]}")"
	if [[ -n "$miss" ]]; then
		sipedge_note="no result from sipedge for: $miss (benchmark not written yet, or failed)"
	fi
fi
if $sipgo_ok; then
	miss="$(missing_in "$tmp/sipgo.txt" BenchmarkParseAccess BenchmarkParseEditSerialize)"
	if [[ -n "$miss" ]]; then
		sipgo_note="no result from sipgo for: $miss (see output above)"
	fi
fi
if [[ -n "$sipedge_note" ]]; then note "!! sipedge: $sipedge_note"; fi
if [[ -n "$sipgo_note" ]]; then note "!! sipgo: $sipgo_note"; fi

# --- table ------------------------------------------------------------------
echo
echo "Medians over $count run(s); $(go version | awk '{print $3, $4}'), $(nproc) CPU(s)."
echo
awk -v names="${names[*]}" '
function median(key,    n, i, j, t, a) {
	n = cnt[key]
	if (n == 0) return ""
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) {            # insertion sort (mawk has no asort)
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmtnum(x) {
	if (x == "") return "n/a"
	if (x == int(x)) return sprintf("%d", x)
	return sprintf("%.1f", x)
}
function mem(side, b,    by, al) {
	by = median(side SUBSEP b SUBSEP "B/op")
	al = median(side SUBSEP b SUBSEP "allocs/op")
	if (by == "" && al == "") return "n/a"
	return fmtnum(by) " B, " fmtnum(al) " allocs"
}
FNR == 1 { side = (FILENAME ~ /sipedge\.txt$/) ? "sipedge" : "sipgo" }
$1 ~ /^Benchmark/ {
	b = $1
	sub(/-[0-9]+$/, "", b)
	for (i = 3; i <= NF; i++) {
		if ($i == "ns/op" || $i == "B/op" || $i == "allocs/op") {
			k = side SUBSEP b SUBSEP $i
			val[k, ++cnt[k]] = $(i - 1) + 0
		}
	}
}
END {
	print "| benchmark | sipedge ns/op | sipgo ns/op | speed-up | sipedge B/op, allocs/op | sipgo B/op, allocs/op |"
	print "|---|---:|---:|---:|---:|---:|"
	nb = split(names, bs, " ")
	for (j = 1; j <= nb; j++) {
		b = bs[j]
		e = median("sipedge" SUBSEP b SUBSEP "ns/op")
		gb = (b == "BenchmarkParseAccessOwned") ? "BenchmarkParseAccess" : b
		g = median("sipgo" SUBSEP gb SUBSEP "ns/op")
		su = (e != "" && g != "" && e > 0) ? sprintf("%.2fx", g / e) : "n/a"
		printf "| %s | %s | %s | %s | %s | %s |\n", b, fmtnum(e), fmtnum(g), su, mem("sipedge", b), mem("sipgo", gb)
	}
}
' "$tmp/sipedge.txt" "$tmp/sipgo.txt"

if [[ -n "$sipedge_note" || -n "$sipgo_note" ]]; then
	echo
	if [[ -n "$sipedge_note" ]]; then echo "Note: sipedge: $sipedge_note."; fi
	if [[ -n "$sipgo_note" ]]; then echo "Note: sipgo: $sipgo_note."; fi
fi
# The sipgo side is the one this script must always deliver.
[[ -z "$sipgo_note" ]]
