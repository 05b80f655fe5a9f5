#!/usr/bin/env bash
# Run HERE, on the machine without a GPU, before a device call: builds what scripts/gpu-check.sh
# runs (kernels_tests, bench_kernels and bench_core, frugal-sim, chapter 9) for one GPU architecture, and packs it
# into gpu-bundle/ (git-ignored) with every shared library it needs beyond glibc, the CUDA driver
# and the big CUDA math libraries (cuBLAS, cuBLASLt, cuRAND: the GPU machine's CUDA has them).
#
# Why: the device tool's GPU machine is a CUDA image (nvcc, CMake, ninja, PyTorch) without Debian's
# -dev packages (Eigen, fmt, CLI11, nlohmann-json, GoogleTest, Google Benchmark) and reaches no
# registry, so the project cannot be configured there; and each minute there is scarce.
#
#   scripts/gpu-bundle.sh [ARCH]    ARCH: a CUDA architecture, default 90a (H100/H200, with wgmma)
# then, with the device tool:  run  command="OUT=$OUT scripts/gpu-check.sh"  carry=["gpu-bundle"]
#
# gpu-bundle/MANIFEST says what was built (commit, architecture, the newest glibc symbol needed).
# Bad input (an architecture nvcc does not know) gets one line and exit status 2.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${1:-90a}"
[[ "$arch" =~ ^[0-9]+[af]?$ ]] || { echo "gpu-bundle: '$arch' is not a CUDA architecture (e.g. 90a, 89, 80)" >&2; exit 2; }
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
command -v nvcc >/dev/null || { echo "gpu-bundle: nvcc not found (the CUDA toolkit at /usr/local/cuda)" >&2; exit 2; }
grep -qx "sm_${arch%[af]}" <<< "$(nvcc --list-gpu-code)" || { echo "gpu-bundle: nvcc does not know sm_${arch}" >&2; exit 2; }

build=build/gpu-bundle
targets=(kernels_tests bench_kernels bench_core frugal-sim chapter-09-gpu-utilisation)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=ON -DFRUGAL_GUI=OFF -DFRUGAL_PYTHON=OFF \
      -DFRUGAL_MPI=OFF -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" > /dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

# Assemble in a fresh folder, then swap it in: a failed run leaves the old bundle whole.
staging=$(mktemp -d "$PWD/build/gpu-bundle.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/lib"
# Laid out as in a build folder (tests/, bench/, sim/, chapters/), so that bench/frugal-bench takes
# --build-dir gpu-bundle.
binaries=()
for t in "${targets[@]}"; do
  binary=$(cd "$build" && find . -type f -name "$t" -perm -u+x | sed -n 1p)
  mkdir -p "$staging/$(dirname "$binary")"
  cp "$build/$binary" "$staging/$binary"
  binaries+=("$staging/$binary")
done

# The libraries the machine provides: glibc's, the driver's, and the CUDA math libraries too large to
# carry (cuBLAS 54 MB, cuBLASLt 540 MB, cuRAND 130 MB). The C++ runtime is the machine's too where it
# is new enough (any GCC >= 12's), so the bundle needs no newer glibc than the binaries do; this
# one goes in lib/fallback/ for gpu-check.sh to use where it is not. Everything else goes in lib/.
provided='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libcuda|libcublas|libcublasLt|libcurand)\.so'
cxx_runtime='^(libstdc\+\+|libgcc_s)\.so'
mkdir -p "$staging/lib/fallback"
ldd "${binaries[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | while read -r name path; do
  if [[ "$name" =~ $cxx_runtime ]]; then cp -L "$path" "$staging/lib/fallback/$name"
  elif ! [[ "$name" =~ $provided ]]; then cp -L "$path" "$staging/lib/$name"; fi
done
missing=$(ldd "${binaries[@]}" | grep "not found" || true)
[ -z "$missing" ] || { echo "gpu-bundle: unresolved libraries here: $missing" >&2; exit 1; }

newest() { local symbol=$1; shift; objdump -T "$@" 2>/dev/null | grep -o "${symbol}_[0-9.]*" | sort -uV | tail -1; }
glibc=$(newest GLIBC "${binaries[@]}" "$staging"/lib/*.so*)
glibc_fallback=$(newest GLIBC "$staging"/lib/fallback/*)
glibcxx=$(newest GLIBCXX "${binaries[@]}" "$staging"/lib/*.so*)
{
  if commit=$(git rev-parse HEAD 2>/dev/null); then git diff --quiet HEAD || commit+=" (with uncommitted changes)"; else commit=unknown; fi
  echo "commit: $commit"
  echo "architecture: sm_${arch}"
  echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), $(nvcc --version | tail -1)"
  echo "needs: glibc >= ${glibc#GLIBC_} and a libstdc++ with ${glibcxx} (else lib/fallback/'s, which needs glibc >= ${glibc_fallback#GLIBC_});" \
       "libcublas.so.13, libcublasLt.so.13, libcurand.so.10 and the driver from the GPU machine"
  echo "bundled libraries: $(cd "$staging/lib" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')"
} > "$staging/MANIFEST"
rm -rf gpu-bundle
mv "$staging" gpu-bundle
trap - EXIT
echo "gpu-bundle: $(du -sh gpu-bundle | cut -f1) in gpu-bundle/ (carry it: the device tool takes 64 MiB with the working tree)"
cat gpu-bundle/MANIFEST
