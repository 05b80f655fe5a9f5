#!/usr/bin/env bash
# scripts/gpu-check.sh's plumbing, on any machine: a gpu-bundle/ made of this build's binaries, an
# nvidia-smi that reports an H200, and the check run in a scratch copy of what it reads. Without a
# GPU every GPU test skips and every benchmark reports why; the check must still exit 0, put every
# test the binary lists in gpu-check.json, and leave at most 7 files in OUT (the device tool brings
# back 8 at most).
#   gpu_check_dry_run.sh SOURCE_DIR KERNELS_TESTS BENCH_KERNELS BENCH_CORE FRUGAL_SIM CHAPTER_09
set -euo pipefail
src=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bundle=$tmp/repo/gpu-bundle
mkdir -p "$tmp/repo/scripts" "$tmp/repo/bench" "$tmp/bin" "$tmp/out" \
         "$bundle/lib" "$bundle/tests" "$bundle/bench" "$bundle/sim" "$bundle/chapters"
cp "$src/scripts/gpu-check.sh" "$tmp/repo/scripts/"
ln -s "$1" "$bundle/tests/"
ln -s "$2" "$3" "$bundle/bench/"
ln -s "$4" "$bundle/sim/"
ln -s "$5" "$bundle/chapters/"
cp "$src/bench/frugal-bench" "$tmp/repo/bench/"
printf 'commit: dry run\narchitecture: sm_90a\n' > "$bundle/MANIFEST"
cat > "$tmp/bin/nvidia-smi" <<'SMI'
#!/bin/sh
case "$*" in
  *name,compute_cap*) echo "NVIDIA H200 (dry run), 9.0, 143771 MiB, 0" ;;
  *compute_cap*) echo "9.0" ;;
  *name*) echo "NVIDIA H200 (dry run)" ;;
esac
SMI
chmod +x "$tmp/bin/nvidia-smi"

fail() { echo "gpu_check_dry_run: $*"; cat "$tmp/log"; exit 1; }
PATH="$tmp/bin:$PATH" OUT="$tmp/out" "$tmp/repo/scripts/gpu-check.sh" > "$tmp/log" 2>&1 || fail "gpu-check.sh exited $?"
files=$(ls "$tmp/out")
[ "$(echo "$files" | wc -l)" -le 7 ] || fail "more than 7 files in OUT: $files"
for f in gpu-check.json summary.txt logs.tar.gz charts.tar.gz calibration.txt chapter-09.txt; do
  [ -s "$tmp/out/$f" ] || fail "no $f in OUT"
done
listed=$("$1" --gtest_list_tests | grep -c '^  ')
reported=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["tests"]))' "$tmp/out/gpu-check.json")
[ "$listed" = "$reported" ] || fail "kernels_tests lists $listed tests, gpu-check.json reports $reported"
grep -q " 0 failed$" <<< "$(head -1 "$tmp/out/summary.txt")" || fail "summary: $(head -1 "$tmp/out/summary.txt")"
grep -q "^BM_DeviceCopy" "$tmp/out/summary.txt" || fail "summary has no BM_DeviceCopy row"
echo "gpu_check_dry_run: $(head -1 "$tmp/out/summary.txt"); OUT: $(echo $files)"
