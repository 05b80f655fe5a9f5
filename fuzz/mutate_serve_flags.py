#!/usr/bin/env python3
"""Mutation campaign over `frugal-sim serve`'s numeric flags, as a user's typo would look.

Each run is one of serve's modes (the simulation, a disaggregated simulation, --capacity, --plan)
with one or two numeric flags given a bad or extreme value: zero, negative, a fraction where a count
is meant, huge, NaN, infinity or text. A run passes when it exits 0 (answered) or 2 with exactly one
line on stderr (refused), within the time limit; another exit status is a crash, a refusal of several
lines is unclear, and a timeout is a hang. (mutate_configs.py does the same for config files.)

    fuzz/mutate_serve_flags.py FRUGAL_SIM [COUNT] [SEED] [TIMEOUT_S]
    fuzz/mutate_serve_flags.py build/dev/sim/frugal-sim 600 1 20
"""
import random
import subprocess
import sys
import time

MODES = [
    ["serve", "--requests", "50", "--no-compare"],
    ["serve", "--disaggregated", "--requests", "50", "--no-compare"],
    ["serve", "--capacity"],
    ["serve", "--plan", "--rate", "20", "--plan-gpus", "H800", "--ttft-p95", "5", "--tpot-p95", "100"],
]
FLAGS = ["--gpus-per-instance", "--instances", "--tp", "--ep", "--redundant-experts", "--price", "--prefill-instances",
         "--prefill-gpus-per-instance", "--prefill-redundant-experts", "--token-budget", "--max-batch",
         "--mtp-acceptance", "--rate", "--requests", "--prompt-tokens", "--output-tokens", "--prefix-hit-rate", "--seed",
         "--batch-per-gpu", "--context", "--prompt", "--tpot-slo", "--ttft-p95", "--tpot-p95"]
VALUES = ["0", "-1", "0.5", "3", "7", "1000", "1000000000", "1e12", "1e30", "nan", "inf", "-inf", "text", ""]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    crashes, hangs, unclear, answered, refused = [], [], [], 0, 0
    slowest = (0.0, None)
    start = time.time()
    for _ in range(count):
        args = list(rng.choice(MODES))
        for flag in rng.sample(FLAGS, rng.choice([1, 1, 2])):
            args += [flag, rng.choice(VALUES)]
        t0 = time.time()
        try:
            r = subprocess.run([exe, *args], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            hangs.append(args)
            continue
        if time.time() - t0 > slowest[0]:
            slowest = (time.time() - t0, args)
        if r.returncode == 0:
            answered += 1
        elif r.returncode == 2:
            lines = r.stderr.decode(errors="replace").strip().splitlines()
            if len(lines) == 1:
                refused += 1
            else:  # a refusal is one line naming the flag
                unclear.append((args, lines[:5]))
        else:
            crashes.append((args, r.returncode, r.stderr.decode(errors="replace")[-300:]))
    print(f"{count} runs in {time.time() - start:.0f} s: {answered} answered, {refused} refused in one line (exit 2), "
          f"{len(unclear)} refused otherwise, {len(crashes)} crashes, {len(hangs)} hangs (> {timeout:.0f} s); "
          f"slowest finished run {slowest[0]:.2f} s: {' '.join(slowest[1] or [])}")
    for c in crashes[:10]:
        print("CRASH", c)
    for u in unclear[:10]:
        print("UNCLEAR", u)
    for h in hangs[:10]:
        print("HANG", " ".join(h))
    return 1 if crashes or hangs or unclear else 0


if __name__ == "__main__":
    sys.exit(main())
