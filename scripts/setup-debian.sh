#!/usr/bin/env bash
# Installs the Debian 12 packages FrugalLM builds and tests with — only those that are missing —
# and says which. Safe to run again: with everything present it installs nothing.
# The CUDA toolkit is not a Debian package; it is used when /usr/local/cuda has it (optional).
set -euo pipefail

packages=(
  # build (clang and its runtime for `make fuzz`: libFuzzer, ASan, UBSan)
  g++ make cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (docs/ARCHITECTURE.md, "Libraries, not hand-written parsers")
  libeigen3-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # GUI (Dear ImGui + GLFW) and headless screenshots
  libglfw3-dev libimgui-dev libstb-dev xvfb xauth libgl1-mesa-dri
  # Python module and notebooks (Debian's python3, not a pyenv one)
  python3-dev pybind11-dev python3-numpy python3-matplotlib
  python3-nbclient python3-nbconvert jupyter-nbconvert python3-ipykernel jupyter-notebook
  # expert parallelism across processes
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} Debian packages are installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing Debian package(s): ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
