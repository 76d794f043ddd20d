#!/usr/bin/env bash
# Scaling table for the README: simulated elections of 10^4 .. 10^7 stations, whole-process
# wall time and peak memory of `analyze` (as /usr/bin/time -v reports them).
#
#   bash benches/scaling.sh [DIR] [MAX]      # DIR for the generated files (default /tmp/tallyscope-scaling)
#                                            # MAX largest size (default 10000000)
# Needs a release build (cargo build --release) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
B=target/release/tallyscope
DIR=${1:-/tmp/tallyscope-scaling}
MAX=${2:-10000000}
mkdir -p "$DIR"
[ -x "$B" ] || { echo "build first: cargo build --release" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (Debian package time)" >&2; exit 2; }
printf "| stations | file size | analyze wall | analyze peak memory | simulate wall |\n| ---: | ---: | ---: | ---: | ---: |\n"
for n in 10000 100000 1000000 10000000; do
  [ "$n" -le "$MAX" ] || break
  f="$DIR/sim$n.csv"
  regions=$(( n < 100000 ? 20 : 85 ))
  if [ ! -s "$f" ]; then
    /usr/bin/time -f "%e" -o "$DIR/sim$n.time" "$B" simulate --stations "$n" --regions "$regions" --seed 10 -o "$f" 2>/dev/null
  fi
  sim=$(cat "$DIR/sim$n.time" 2>/dev/null || echo "?")
  /usr/bin/time -v -o "$DIR/analyze$n.time" "$B" analyze "$f" --out "$DIR/out$n" -q 2>/dev/null
  wall=$(grep "Elapsed (wall clock)" "$DIR/analyze$n.time" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$DIR/analyze$n.time" | awk '{printf "%.2f GiB", $NF/1048576}')
  size=$(du -h "$f" | cut -f1)
  printf "| %'d | %s | %s | %s | %s s |\n" "$n" "$size" "$wall" "$rss" "$sim"
done
