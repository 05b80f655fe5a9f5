# README's two commands. Both first install any missing Debian packages (scripts/setup-debian.sh)
# and reuse an existing build, so a second run only rebuilds what changed.
#   make run   build frugal-sim and run the main job: `frugal-sim` with no arguments
#   make test  build everything and run every test, then again under ASan + UBSan
.PHONY: run test setup

run: setup
	@test -f build/dev/build.ninja || cmake --preset dev
	cmake --build --preset dev --target frugal-sim
	./build/dev/sim/frugal-sim

test: setup
	cmake --workflow --preset dev
	cmake --workflow --preset asan

setup:
	@bash scripts/setup-debian.sh
