# README's two commands. Both first install any missing Debian packages (scripts/setup-debian.sh)
# and reuse an existing build, so a second run only rebuilds what changed.
#   make run   build frugal-sim and run the main job: `frugal-sim` with no arguments
#   make test  build everything and run every test, then again under ASan + UBSan (clang), with
#              60 s of fuzzing every config reader
#   make fuzz  fuzz the config readers for FUZZ_SECONDS (default 60): make fuzz FUZZ_SECONDS=1800
#   make notebooks  open notebooks/ in Jupyter with the frugal Python module built
.PHONY: run test setup screenshot notebooks gpu-bundle fuzz

run: setup
	@test -f build/dev/build.ninja || cmake --preset dev
	cmake --build --preset dev --target frugal-sim
	./build/dev/sim/frugal-sim

test: setup
	cmake --workflow --preset dev
	cmake --workflow --preset asan

setup:
	@bash scripts/setup-debian.sh

# Regenerates the README's screenshots of frugal-gui, one per tab, in docs/ (needs xvfb-run; make
# test installs it). The sweep tab shows the heat map of cost over routed experts and GPU count.
GUI_SHOT = xvfb-run -a -s '-screen 0 1280x800x24' ./build/dev/sim/frugal-gui --screenshot
screenshot: setup
	@test -f build/dev/build.ninja || cmake --preset dev
	cmake --build --preset dev --target frugal-gui
	$(GUI_SHOT) docs/gui-training.png --tab training
	$(GUI_SHOT) docs/gui-sweep.png --tab sweep --sweep "routed experts" --sweep-2 "GPU count"
	$(GUI_SHOT) docs/gui-validation.png --tab validation
	$(GUI_SHOT) docs/gui-serving.png --tab serving
	$(GUI_SHOT) docs/gui-advice.png --tab advice
	$(GUI_SHOT) docs/gui-projector.png --tab serving --high-contrast --font-scale 1.5

# Opens the notebooks in Jupyter with the frugal module that `make run` builds (build/dev/python).
notebooks: setup
	@test -f build/dev/build.ninja || cmake --preset dev
	cmake --build --preset dev --target frugal_python
	cd notebooks && FRUGAL_PYTHONPATH=$(CURDIR)/build/dev/python jupyter notebook

# The kernels' tests and benchmarks prebuilt for an H100/H200 (sm_90a), with the libraries they load,
# in gpu-bundle/: scripts/gpu-check.sh runs them on a GPU machine without the Debian packages.
gpu-bundle: setup
	bash scripts/gpu-bundle.sh

# Fuzzes every config reader and the programs' work behind them for FUZZ_SECONDS (default 60) with
# clang's libFuzzer under ASan + UBSan (the asan build); crashing or hanging inputs land in
# build/asan/fuzz/corpus.crashes/ (fuzz/README.md).
FUZZ_SECONDS ?= 60
fuzz: setup
	@test -f build/asan/build.ninja || cmake --preset asan
	cmake --build --preset asan --target frugal-fuzz
	scripts/fuzz.sh build/asan/fuzz/frugal-fuzz $(FUZZ_SECONDS) build/asan/fuzz/corpus
