#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: run every GPU test and the kernel benchmarks, and write one JSON
# of results, $OUT/gpu-check.json (OUT defaults to build/gpu-check):
#   device, per GPU test pass/fail with its failure messages (each test checks a kernel version
#   against the CPU reference: ‖out − ref‖ / ‖ref‖ under its precision's bound), and per kernel
#   version its time, GB/s and fraction of the measured copy bandwidth (BM_DeviceCopy); for the GEMMs
#   TFLOP/s as a fraction of cuBLAS (grouped bf16) or of cuBLASLt FP8 and cuBLAS BF16 (FP8), and the
#   FP8 GEMMs' errors against the exact product beside the CPU emulation's; the fused losses' GB/s.
# The same as a table in $OUT/summary.txt, also printed at the end ("of base": the fraction of
# cuBLAS, or of cuBLASLt FP8 for the FP8 GEMMs). Then frugal-sim calibrate on that JSON
# ($OUT/calibration.txt, .json), chapter 9's timings ($OUT/chapter-09.txt) and, with the time left,
# bench/frugal-bench's GPU comparisons: tables and PNG charts in $OUT/charts.tar.gz. Everything else
# (logs, each suite's and family's raw report, all benchmarks in one bench_kernels.json) is in
# $OUT/logs.tar.gz: $OUT holds 7 files at most.
#
# The binaries: gpu-bundle/ (scripts/gpu-bundle.sh), built here for this GPU's architecture (sm_90a
# on compute capability 9.0) where the project's Debian packages are, or carried from a machine that
# has them: the device tool's GPU machine has CUDA but not the project's libraries.
#
#   scripts/gpu-check.sh [NAME ...]   NAME: test suites and benchmark families to run (default all),
#                                     e.g. Fp8GemmGpuVersion BM_Fp8Gemm after a fix
# GPU_CHECK_SECONDS (default 420) bounds the whole run: each test suite (60 s at most) and benchmark
# family (120 s at most) runs in its own process under a time limit, so one faulting or hanging
# kernel costs only its own results, and what the budget cannot fit is reported as not run.
# GPU_CHECK_SANITIZER=memcheck (or racecheck, initcheck, synccheck) runs the test suites under
# compute-sanitizer, to find where a kernel that faulted went wrong: give it the suite's name too,
# the tests run many times slower under it.
# Exit status: 0 when every test passed, 1 when one failed or the budget left some out, 2 when
# nothing could run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/build/gpu-check}"
work="$PWD/build/gpu-check-work"
budget="${GPU_CHECK_SECONDS:-420}"
only=" $* "
start=$(date +%s)
rm -rf "$work"
mkdir -p "$out" "$work/tests" "$work/bench"
for tool in nvidia-smi python3; do
  command -v "$tool" >/dev/null || { echo "gpu-check: $tool not found" >&2; exit 2; }
done

# This GPU's architecture: compute capability 9.0 means sm_90a (wgmma), others as reported.
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | sed -n 1p | tr -d ' .')
arch="${cap}"
[ "$cap" = "90" ] && arch="90a"
echo "gpu-check: $(nvidia-smi --query-gpu=name --format=csv,noheader | sed -n 1p), sm_${arch}"

# The binaries: gpu-bundle/, in a build folder's layout. Built here (scripts/gpu-bundle.sh, for
# this GPU) when there is none, and brought up to date whenever this tree built it (build/gpu-bundle
# is there); one carried from elsewhere, as to the device tool's machine, is used as it is.
if [ -d build/gpu-bundle ] || [ ! -x gpu-bundle/tests/kernels_tests ]; then
  echo "gpu-check: building gpu-bundle/ for sm_${arch} (scripts/gpu-bundle.sh)"
  if ! bash scripts/gpu-bundle.sh "$arch" > "$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    echo "gpu-check: the build failed (above); without the project's libraries here, make gpu-bundle/ elsewhere: scripts/gpu-bundle.sh" >&2
    exit 2
  fi
fi
binaries=gpu-bundle
tests_bin=$binaries/tests/kernels_tests bench_bin=$binaries/bench/bench_kernels
sim_bin=$binaries/sim/frugal-sim chapter_bin=$binaries/chapters/chapter-09-gpu-utilisation
bundle_arch=$(sed -n 's/^architecture: sm_//p' gpu-bundle/MANIFEST)
[ "$bundle_arch" = "$arch" ] || { echo "gpu-check: gpu-bundle/ is built for sm_${bundle_arch}, this GPU is sm_${arch}: scripts/gpu-bundle.sh ${arch}" >&2; exit 2; }
echo "gpu-check: gpu-bundle/ ($(sed -n 's/^commit: //p' gpu-bundle/MANIFEST))"
# cuBLAS, cuBLASLt and cuRAND from this machine's CUDA: the toolkit's, or Python's nvidia-* wheels'.
cuda_libs=$( (ls -d /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib 2>/dev/null
              python3 -c 'import site, sys; print("\n".join(site.getsitepackages()))' 2>/dev/null | sed 's|$|/nvidia/*/lib|') |
             while read -r pattern; do
               for d in $pattern; do if [ -e "$d/libcublas.so.13" ] || [ -e "$d/libcurand.so.10" ]; then readlink -f "$d"; fi; done
             done | sort -u | paste -sd: -)
export LD_LIBRARY_PATH="$PWD/gpu-bundle/lib${cuda_libs:+:$cuda_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The machine's C++ runtime unless it is older than the one the bundle was built with.
loading=$(ldd "$tests_bin" "$bench_bin" 2>&1 || true)  # whole, then searched: grep -q would cut ldd short
if grep -q "GLIBCXX\|CXXABI\|libstdc++.*not found\|libgcc_s.*not found" <<< "$loading"; then
  export LD_LIBRARY_PATH="$PWD/gpu-bundle/lib/fallback:$LD_LIBRARY_PATH"
fi
# The tests must load; without cuBLAS or cuRAND the benchmarks are reported as not loadable and
# the tests still run.
unresolved() { ldd "$@" 2>&1 | grep "not found" | sort -u || true; }
missing=$(unresolved "$tests_bin" "$sim_bin" "$chapter_bin")
if [ -n "$missing" ]; then
  echo "gpu-check: the bundle's binaries cannot load here (LD_LIBRARY_PATH=$LD_LIBRARY_PATH):" >&2
  echo "$missing" >&2
  exit 2
fi
missing=$(unresolved "$bench_bin" "$binaries/bench/bench_core")
if [ -n "$missing" ]; then
  echo "gpu-check: bench_kernels cannot load here, so no benchmark runs: $missing" | tee "$work/bench_unloadable.txt"
  bench_bin=""
fi

# Seconds a step may take: its own limit, or what the budget leaves after 20 s for the report.
limit() { local left=$(( start + budget - 20 - $(date +%s) )); echo $(( left < $1 ? left : $1 )); }
wanted() { [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]; }
suites=$("$tests_bin" --gtest_list_tests | grep -E '^[A-Za-z0-9_]+\.$' | tr -d .) ||
  { echo "gpu-check: $tests_bin does not start" >&2; exit 2; }
families=""
if [ -n "$bench_bin" ]; then
  families=$("$bench_bin" --benchmark_list_tests | cut -d/ -f1 | sort -u | grep -vx BM_DeviceCopy) ||
    { echo "gpu-check: $bench_bin does not start" >&2; exit 2; }
fi
for name in $only; do
  grep -qx "$name" <<< "$suites"$'\n'"$families"$'\nBM_DeviceCopy' ||
    { echo "gpu-check: '$name' is neither a test suite of kernels_tests nor a benchmark family of bench_kernels" >&2; exit 2; }
done
sanitizer=()
case "${GPU_CHECK_SANITIZER:-}" in
  "") ;;
  memcheck|racecheck|initcheck|synccheck)
    tool=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | sed -n 1p || true)
    [ -n "$tool" ] || { echo "gpu-check: GPU_CHECK_SANITIZER is set but compute-sanitizer is not here" >&2; exit 2; }
    sanitizer=("$tool" --tool "$GPU_CHECK_SANITIZER" --error-exitcode 1) ;;
  *) echo "gpu-check: GPU_CHECK_SANITIZER must be memcheck, racecheck, initcheck or synccheck, not '$GPU_CHECK_SANITIZER'" >&2; exit 2 ;;
esac
# Each step in a process of its own under what the budget leaves it (at most MOST seconds; not run,
# and listed so, with under LEAST left), ending with one line, so that a run cut short still shows
# how far it got. Sets status (0, the command's, or "not run").
step() {  # KIND NAME MOST LEAST LOG COMMAND...
  local kind=$1 name=$2 most=$3 least=$4 log=$5 seconds began how=ok
  shift 5
  seconds=$(limit "$most")
  if [ "$seconds" -lt "$least" ]; then not_run+=("$name"); status="not run"; return; fi
  began=$(date +%s) status=0
  timeout "$seconds" "$@" > "$log" 2>&1 || status=$?
  if [ "$status" -eq 124 ]; then how="TIMED OUT after $seconds s"; elif [ "$status" -ne 0 ]; then how="FAILED (exit status $status)"; fi
  echo "gpu-check: $kind $name: $how, $(( $(date +%s) - began )) s"
}
not_run=()
tests_status=0
for suite in $suites; do
  wanted "$suite" || continue
  step "test suite" "$suite" 60 5 "$work/tests/$suite.log" \
      "${sanitizer[@]}" "$tests_bin" --gtest_filter="${suite}.*" --gtest_output="json:$work/tests/$suite.json"
  [ "$status" = "not run" ] || echo "$suite" >> "$work/suites.txt"
  [ "$status" = 0 ] || tests_status=1
done
# The copy bandwidth first: every GB/s below is a fraction of it.
for family in ${bench_bin:+BM_DeviceCopy} $families; do
  wanted "$family" || [ "$family" = BM_DeviceCopy ] || continue
  step "benchmark family" "$family" 120 5 "$work/bench/$family.log" \
      "$bench_bin" --benchmark_filter="^${family}/" --benchmark_min_time=0.2 \
      --benchmark_out="$work/bench/$family.json" --benchmark_out_format=json
  [ "$status" = "not run" ] || echo "$family" >> "$work/families.txt"
done
# The GPU comparisons of bench/README.md (bench/frugal-bench) as tables and PNG charts, with what time is left:
# the charts the budget cannot fit are listed as not run too.
mkdir -p "$work/charts"
if [ -n "$bench_bin" ] && [ "$only" = "  " ]; then
  for comparison in grouped-gemm fp8-gemm fused-losses memory-bound-kernels gating-cpu-vs-gpu dispatch-cpu-vs-gpu; do
    step "comparison" "frugal-bench:$comparison" 60 10 "$work/charts/$comparison.txt" \
        python3 bench/frugal-bench compare "$comparison" --repetitions 3 --min-time 0.05 \
        --out "$work/charts/$comparison.png" --build-dir "$binaries"
  done
fi
printf '%s\n' "${not_run[@]}" > "$work/not_run.txt"
[ "${#not_run[@]}" -eq 0 ] || tests_status=1  # an incomplete check is not a pass

python3 - "$out" "$work" "$(( $(date +%s) - start ))" <<'PY'
import json, re, subprocess, sys
out, work, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
device = subprocess.run(["nvidia-smi", "--query-gpu=name,compute_cap,memory.total,driver_version", "--format=csv,noheader"],
                        capture_output=True, text=True).stdout.strip()
def ran(listing):  # the suites or families started (or not run), in order
    try:
        return open(f"{work}/{listing}").read().split()
    except OSError:
        return []
not_run = ran("not_run.txt")
def last_lines(log, n=6):  # what a process that died printed last
    try:
        return " | ".join(line.strip() for line in open(log, errors="replace").read().strip().splitlines()[-n:])
    except OSError:
        return ""
tests = []
for name in ran("suites.txt"):
    report = f"{work}/tests/{name}.json"
    try:
        for suite in json.load(open(report))["testsuites"]:
            for t in suite["testsuite"]:
                tests.append({"name": f'{suite["name"]}.{t["name"]}',
                              "result": "skipped" if t.get("result") == "SKIPPED" else ("failed" if t.get("failures") else "passed"),
                              "failures": [f["failure"] for f in t.get("failures", [])]})
    except (OSError, ValueError, KeyError):  # a suite that crashed or timed out leaves no report, or half of one
        tests.append({"name": name, "result": "failed",
                      "failures": [f"crashed or timed out, no report; its last lines: {last_lines(f'{work}/tests/{name}.log')}"]})
benchmarks, roofline, runs, unreadable = [], None, [], []
for name in ran("families.txt"):
    try:
        runs += json.load(open(f"{work}/bench/{name}.json"))["benchmarks"]
    except (OSError, ValueError, KeyError):  # a family that crashed or timed out
        unreadable.append({"name": name, "error": f"crashed or timed out, no report; its last lines: {last_lines(f'{work}/bench/{name}.log')}"})
try:
    unreadable.append({"name": "bench_kernels", "error": open(f"{work}/bench_unloadable.txt").read().strip()})
except OSError:
    pass
json.dump({"benchmarks": runs}, open(f"{work}/bench_kernels.json", "w"), indent=1)  # all families in one file
try:
    for b in runs:
        if b["name"].startswith("BM_DeviceCopy") and "GB/s" in b:
            roofline = b["GB/s"] / 1e9 if b["GB/s"] > 1e6 else b["GB/s"]
    standard = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions", "repetition_index",
                "threads", "iterations", "real_time", "cpu_time", "time_unit", "label", "error_occurred", "error_message", "GB/s", "bytes"}
    for b in runs:
        gbs = b.get("GB/s")
        gbs = gbs / 1e9 if gbs and gbs > 1e6 else gbs
        entry = {"name": b["name"], "version": b.get("label", ""), "time_us": b.get("real_time"),
                 "GB/s": gbs, "fraction_of_copy_bandwidth": (gbs / roofline) if gbs and roofline else None,
                 "error": b.get("error_message")}
        # Every other counter as it is: TFLOP/s, and the FP8 GEMMs' errors against the exact product.
        entry.update({key: value for key, value in b.items() if key not in standard})
        benchmarks.append(entry)
except (OSError, ValueError, KeyError) as e:
    benchmarks.append({"name": "bench_kernels", "error": f"no benchmark report: {e}"})
# GEMMs: each as a fraction of its baselines on the same shape (the name's third field): cuBLAS per
# expert (implementation 0) for the grouped bf16 GEMM; cuBLASLt FP8 with per-tensor scales and
# promotion (1) and cuBLAS BF16 (0) for the FP8 GEMMs — the target is >= 50% of cuBLASLt (kernels/README.md).
baselines = {"BM_GroupedGemm": {"fraction_of_cublas": "0"},
             "BM_Fp8Gemm": {"fraction_of_cublaslt_fp8": "1", "fraction_of_cublas_bf16": "0"},
             "BM_Fp8GemmGrouped": {"fraction_of_cublaslt_fp8": "1", "fraction_of_cublas_bf16": "0"}}
tflops = {tuple(b["name"].split("/")[:3]): b.get("TFLOP/s") for b in runs}
for entry, b in zip(benchmarks, runs):
    parts = b["name"].split("/")
    if parts[0] in baselines and len(parts) > 2 and b.get("TFLOP/s"):
        for key, implementation in baselines[parts[0]].items():
            base = tflops.get((parts[0], implementation, parts[2]))
            entry[key] = b["TFLOP/s"] / base if base else None
benchmarks += unreadable  # after the pairing of benchmarks with runs above
report = {"device": device, "seconds": seconds, "copy_bandwidth_GB/s": roofline, "tests": tests, "benchmarks": benchmarks,
          "not_run": not_run}  # the suites and families the time budget (GPU_CHECK_SECONDS) left out
json.dump(report, open(f"{out}/gpu-check.json", "w"), indent=1)
failed = [t["name"] for t in tests if t["result"] == "failed"]
skipped = sum(t["result"] == "skipped" for t in tests)
print(f"gpu-check: {len(tests) - len(failed) - skipped} passed, {skipped} skipped, {len(failed)} failed; "
      f"{len(benchmarks)} benchmarks -> {out}/gpu-check.json")

# The same figures as a table, for the closing note: $OUT/summary.txt.
def cell(value, pattern):
    width = int(re.search(r"\{:(\d+)", pattern).group(1))
    return pattern.format(value) if isinstance(value, (int, float)) else "-".rjust(width)
lines = [f"{device}: {len(tests) - len(failed) - skipped} tests passed, {skipped} skipped, {len(failed)} failed"
         + (f"; not run (time budget): {' '.join(not_run)}" if not_run else "")]
# Each failed test with the start of its first failure message: enough to begin a fix.
for t in tests:
    if t["result"] == "failed":
        first = " ".join(t["failures"][0].split())[:300] if t["failures"] else ""
        lines.append(f"  FAILED {t['name']}: {first}")
lines += [f"{'benchmark':44} {'version':38} {'us':>10} {'GB/s':>8} {'of copy':>8} {'TFLOP/s':>8} {'of base':>8} {'error':>9}"]
for b in benchmarks:
    base = b.get("fraction_of_cublaslt_fp8", b.get("fraction_of_cublas"))
    lines.append(f"{b['name'].replace('/manual_time', ''):44} {str(b.get('version', ''))[:38]:38} {cell(b.get('time_us'), '{:10.1f}')} "
                 f"{cell(b.get('GB/s'), '{:8.0f}')} {cell(b.get('fraction_of_copy_bandwidth'), '{:8.2f}')} "
                 f"{cell(b.get('TFLOP/s'), '{:8.1f}')} {cell(base, '{:8.2f}')} {cell(b.get('error_vs_exact'), '{:9.2e}')}"
                 + (f"  ({b['error']})" if b.get("error") else ""))
open(f"{out}/summary.txt", "w").write("\n".join(lines) + "\n")
PY
# The simulator calibrated with what this GPU measured (frugal-sim calibrate), and chapter 9's
# CPU-against-GPU timings: both for the record, neither decides the exit status.
"$sim_bin" calibrate --from "$out/gpu-check.json" --save "$out/calibration.json" > "$out/calibration.txt" 2>&1 || true
seconds=$(limit 60)
if [ "$seconds" -ge 5 ]; then
  timeout "$seconds" "$chapter_bin" --quick --no-pause > "$out/chapter-09.txt" 2>&1 || true
fi
tar -czf "$out/charts.tar.gz" -C "$work/charts" .
tar -czf "$out/logs.tar.gz" -C "$work" --exclude=./charts .
echo "gpu-check: charts drawn: $(cd "$work/charts" && ls *.png 2>/dev/null | tr '\n' ' ')"
cat "$out/summary.txt"
echo "gpu-check: $(( $(date +%s) - start )) s; in $out: $(cd "$out" && ls | tr '\n' ' ')"
exit "$tests_status"
