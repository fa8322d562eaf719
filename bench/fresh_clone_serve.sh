#!/usr/bin/env bash
# How long a contributor waits: seconds from `make serve` in a fresh clone, with empty package caches,
# until /healthz answers 200. Usage: bench/fresh_clone_serve.sh [REV]   (default HEAD)
# Empty caches: a new UV_CACHE_DIR, pip without its cache, its config and the machine's local wheel
# directory, a new HOME (so the demo database is created too). uv is bootstrapped by the Makefile
# unless it is on PATH; take it off PATH to measure what a new contributor gets. Run it against the
# last pip-based revision too (af625dd) for a same-load comparison: the machine's load moves the figures.
set -euo pipefail
REV=${1:-HEAD}
REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fresh-clone.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git clone --quiet "$REPO" "$WORK/repo"
git -C "$WORK/repo" checkout --quiet "$REV"
cd "$WORK/repo"
start=$(date +%s.%N)
env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_NO_CACHE_DIR=1 UV_CACHE_DIR="$WORK/uv-cache" \
  HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache" XDG_DATA_HOME="$WORK/data" \
  setsid make serve PORT="$PORT" > "$WORK/serve.log" 2>&1 &
group=$!
trap 'kill -- -"$group" 2>/dev/null || true; sleep 1; rm -rf "$WORK"' EXIT
while ! curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/healthz"; do
  kill -0 "$group" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.1
done
end=$(date +%s.%N)
printf 'rev %s: /healthz %.1f s after make serve (fresh clone, empty caches); load average %s\n' \
  "$(git rev-parse --short HEAD)" "$(echo "$end - $start" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
