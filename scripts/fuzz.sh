#!/usr/bin/env bash
# Fuzzes every config reader and the programs' work behind them (fuzz/fuzz_entry.cpp) for SECONDS,
# seeded with every config the repository ships; keeps what it learns in CORPUS and writes any
# crashing or hanging input to CORPUS.crashes/ (add it to fuzz/regressions/ once fixed).
#   scripts/fuzz.sh FUZZER SECONDS CORPUS        (make fuzz FUZZ_SECONDS=1800 runs it from the asan build)
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 FUZZER SECONDS CORPUS" >&2
  exit 2
fi
fuzzer=$1 seconds=$2 corpus=$3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$corpus" "$corpus.crashes"
# -timeout: one input may take at most 10 s (a hang); -rss_limit_mb: nor allocate without bound.
# -dict: JSON punctuation and every key the shipped configs use, so that mutations stay JSON.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -dict="$root/fuzz/config.dict" \
  -artifact_prefix="$corpus.crashes/" "$corpus" \
  "$root/config/models" "$root/tests/data/hf" "$root/core/configs" "$root/sim/data" "$root/fuzz/seeds" "$root/fuzz/regressions"
