#!/bin/sh
# netns.sh COMMAND [ARG...]: runs COMMAND in a private network namespace
# whose only interface is loopback (brought up here), so that nothing it
# starts -- Chromium gathering ICE candidates on every interface included --
# can reach or even see another address than 127.0.0.1 and ::1.
#
# As root: unshare --net. Otherwise: unshare --user --map-root-user --net
# (an unprivileged user namespace). A private PID namespace too, so that
# every process the command leaves behind dies with it.
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: netns.sh COMMAND [ARG...]" >&2
  exit 2
fi

if [ "${SIPEDGE_E2E_IN_NETNS:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    userns=
  else
    userns="--user --map-root-user"
  fi
  export SIPEDGE_E2E_IN_NETNS=1
  # unshare --fork blocks TERM and INT itself: pass them on to the shell
  # inside (its only child), which passes them to the command. A KILL of
  # unshare kills everything inside (--kill-child, then the PID namespace
  # goes).
  # shellcheck disable=SC2086
  unshare $userns --net --pid --fork --kill-child -- "$0" "$@" &
  ns=$!
  trap 'pkill -TERM -P "$ns" 2>/dev/null' TERM INT HUP
  set +e
  while :; do
    wait "$ns"
    rc=$?
    kill -0 "$ns" 2>/dev/null || exit "$rc"
  done
fi

# Inside the namespace.
ip link set lo up
if ip -o addr show | grep -v ' lo ' | grep -q .; then
  echo "netns.sh: an interface other than lo is present:" >&2
  ip -o addr show >&2
  exit 1
fi
# The shell stays as the namespace's PID 1 (which the kernel shields from
# signals it has no handler for): it passes TERM and INT on, and when it
# exits, every process left in the namespace is killed.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
set +e
while :; do
  wait "$child"
  rc=$?
  # wait returns early (status > 128) when a trapped signal arrives.
  kill -0 "$child" 2>/dev/null || exit "$rc"
done
