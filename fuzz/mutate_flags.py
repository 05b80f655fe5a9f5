#!/usr/bin/env python3
"""Mutation campaign over frugal-sim's numeric flags, as a user's typo would look.

Each run is one of the programs' modes (train, train --plan auto, finetune, distill, serve's
simulation, a disaggregated simulation, serve --capacity, serve --plan) with one or two of its
numeric flags (read from its --help: INT, UINT and FLOAT options) given a bad or extreme value:
zero, negative, a fraction where a count is meant, huge, NaN, infinity or text. A run passes when it
exits 0 (answered) or 2 with exactly one line on stderr (refused), within the time limit; another
exit status is a crash, a refusal of several lines is unclear, and a timeout is a hang.
(mutate_configs.py does the same for config files.)

    fuzz/mutate_flags.py FRUGAL_SIM [COUNT] [SEED] [TIMEOUT_S]
    fuzz/mutate_flags.py build/dev/sim/frugal-sim 3000 2 10
"""
import re
import subprocess
import sys

from campaign import Tally, arguments

MODES = [
    ["train"],
    ["train", "--plan", "auto"],
    ["finetune", "--method", "qlora"],
    ["distill", "--samples", "1000"],
    ["serve", "--requests", "50", "--no-compare"],
    ["serve", "--disaggregated", "--requests", "50", "--no-compare"],
    ["serve", "--capacity"],
    ["serve", "--plan", "--rate", "20", "--plan-gpus", "H800", "--ttft-p95", "5", "--tpot-p95", "100"],
]
VALUES = ["0", "-1", "0.5", "3", "7", "1000", "1000000000", "1e12", "1e30", "nan", "inf", "-inf", "text", ""]
NUMERIC = re.compile(r"^\s+(--[a-z0-9-]+) (INT|UINT|FLOAT)\b")


def numeric_flags(exe, command):
    """The options of `command` that take a number, from its --help."""
    text = subprocess.run([exe, command, "--help"], capture_output=True, text=True).stdout
    return [m.group(1) for m in map(NUMERIC.match, text.splitlines()) if m]


def main():
    args = arguments(__doc__, 600)
    if args is None:
        return 2
    exe, count, rng, timeout = args
    flags = {command: numeric_flags(exe, command) for command in {mode[0] for mode in MODES}}
    tally = Tally(timeout)
    for _ in range(count):
        args = list(rng.choice(MODES))
        for flag in rng.sample(flags[args[0]], rng.choice([1, 1, 2])):
            args += [flag, rng.choice(VALUES)]
        tally.run([exe, *args], " ".join(args))
    return tally.report(f"{count} runs")


if __name__ == "__main__":
    sys.exit(main())
