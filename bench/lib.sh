# Shared by the bench scripts (sourced, not run): a temporary directory,
# the processes to stop on exit, free loopback ports and CPU ticks.
# Set bench_name before sourcing it; the script keeps $tmp with KEEP=1.

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sipedge-${bench_name:?}.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback port free for UDP and TCP a moment ago.
free_port() {
  python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
EOF
}

# cpu_ticks prints utime+stime of a process in clock ticks.
cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
