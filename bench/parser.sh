#!/usr/bin/env bash
# Compare sipedge's SIP parser (package ./sip) with github.com/emiago/sipgo
# (module ./bench/sipgo) on the same fixture and workload.
#
#   bench/parser.sh                 # 5 runs per benchmark
#   COUNT=10 bench/parser.sh        # more runs
#   BENCHTIME=2s bench/parser.sh    # passed to -benchtime
#
# Raw `go test` output goes to stderr; the markdown table (medians over the
# runs) goes to stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${COUNT:-5}"
benches='^(BenchmarkParseAccess|BenchmarkParseEditSerialize)$'
names=(BenchmarkParseAccess BenchmarkParseEditSerialize)

args=(-run '^$' -bench "$benches" -benchmem -count "$count")
if [[ -n "${BENCHTIME:-}" ]]; then
	args+=(-benchtime "$BENCHTIME")
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/sipedge.txt"
: >"$tmp/sipgo.txt"

note() { printf '%s\n' "$*" >&2; }

# run_side LABEL DIR PKG OUT: go test in DIR, output to OUT (and stderr).
# Returns non-zero if go test failed; the caller decides what that means.
run_side() {
	local label="$1" dir="$2" pkg="$3" out="$4" rc=0
	local rel="${dir#"$root"}"
	note "== $label: (cd ./${rel#/} && go test $pkg ${args[*]})"
	(cd "$dir" && go test "$pkg" "${args[@]}") >"$out" 2>&1 || rc=$?
	cat "$out" >&2
	return "$rc"
}

# Benchmarks named in NAMES that are absent from a go test output file.
missing_in() {
	local out="$1" n miss=()
	for n in "${names[@]}"; do
		grep -Eq "^$n(-[0-9]+)?[[:space:]]" "$out" || miss+=("$n")
	done
	echo "${miss[*]:-}"
}

# --- sipedge side -----------------------------------------------------------
sipedge_note=""
shopt -s nullglob
sip_go=("$root"/sip/*.go)
shopt -u nullglob
if [[ ${#sip_go[@]} -eq 0 ]]; then
	sipedge_note="package ./sip does not exist yet (no Go files in sip/); sipedge side skipped"
else
	if ! run_side sipedge "$root" ./sip "$tmp/sipedge.txt"; then
		sipedge_note="go test ./sip failed (see output above); sipedge results may be missing"
	fi
	miss="$(missing_in "$tmp/sipedge.txt")"
	if [[ -n "$miss" ]]; then
		sipedge_note="${sipedge_note:+$sipedge_note; }no result from sipedge for: $miss (benchmark not written yet, or failed)"
	fi
fi
if [[ -n "$sipedge_note" ]]; then
	note "!! sipedge: $sipedge_note"
fi

# --- sipgo side -------------------------------------------------------------
sipgo_note=""
if ! run_side sipgo "$root/bench/sipgo" . "$tmp/sipgo.txt"; then
	sipgo_note="go test in bench/sipgo failed (see output above)"
	note "!! sipgo: $sipgo_note"
fi

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
		g = median("sipgo" SUBSEP b SUBSEP "ns/op")
		su = (e != "" && g != "" && e > 0) ? sprintf("%.2fx", g / e) : "n/a"
		printf "| %s | %s | %s | %s | %s | %s |\n", b, fmtnum(e), fmtnum(g), su, mem("sipedge", b), mem("sipgo", b)
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
