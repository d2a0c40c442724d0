#!/usr/bin/env bash
# Measures what a change costs: runs one bench scenario alternately in a base checkout and in
# this one (A B A B …), so that both sides see the same machine load, and prints each run's
# per-round figures for one metric.
#
#   bench/tools/ab.sh BASE_DIR [PAIRS] [-- bench args…]
#
# BASE_DIR is another checkout with its own node_modules (`git worktree add ../base <commit>`,
# then `npm ci` or a hard-linked copy: `cp -al node_modules ../base/`). Default bench args:
# `fast --servers switchboard --stores memory --repeats 5 --no-write`; the metric printed is
# the server CPU per WebSocket message of every round (and, for scenarios that report it,
# per 1M delivered tokens, as `agents` does).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
base=$(cd "${1:?usage: bench/tools/ab.sh BASE_DIR [PAIRS] [-- bench args…]}" && pwd)
shift
pairs=3
if [[ $# -gt 0 && $1 != -- ]]; then pairs=$1; shift; fi
[[ ${1:-} == -- ]] && shift
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(fast --servers switchboard --stores memory --repeats 5 --no-write)
logs=$(mktemp -d)
for ((i = 1; i <= pairs; i++)); do
  for side in base this; do
    dir=$here; [[ $side == base ]] && dir=$base
    (cd "$dir" && npm run --silent bench -- "${args[@]}" >"$logs/$side-$i.log" 2>&1) || {
      echo "$side run $i failed: see $logs/$side-$i.log" >&2
      exit 1
    }
    printf '%-4s %d: %s\n' "$side" "$i" "$(grep -oE '[0-9.,]+ (µs/msg|ms per 1M tokens)' "$logs/$side-$i.log" | tr '\n' ' ')"
  done
done
echo "logs: $logs"
