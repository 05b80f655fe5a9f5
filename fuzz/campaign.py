"""What the mutation campaigns share: run a program on one bad input, judge its answer, tally.

A run passes when it exits 0 (answered) or 2 with exactly one line on stderr (refused) within the
time limit; another exit status is a crash, a refusal of several lines is unclear, and a timeout is
a hang.
"""
import random
import subprocess
import sys
import time


def arguments(usage, default_count):
    """A campaign's command line, FRUGAL_SIM [COUNT] [SEED] [TIMEOUT_S]: (exe, count, rng, timeout_s),
    or None after printing `usage` when the program is missing."""
    if len(sys.argv) < 2:
        print(usage, file=sys.stderr)
        return None
    count = int(sys.argv[2]) if len(sys.argv) > 2 else default_count
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    return sys.argv[1], count, rng, timeout


class Tally:
    def __init__(self, timeout):
        self.timeout = timeout
        self.answered = self.refused = 0
        self.crashes, self.hangs, self.unclear = [], [], []
        self.slowest = (0.0, "")
        self.start = time.time()

    def run(self, argv, what):
        """Runs argv; `what` names the input in a failure's report."""
        t0 = time.time()
        try:
            r = subprocess.run(argv, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.hangs.append(what)
            return
        if time.time() - t0 > self.slowest[0]:
            self.slowest = (time.time() - t0, what)
        if r.returncode == 0:
            self.answered += 1
        elif r.returncode == 2:
            lines = r.stderr.decode(errors="replace").strip().splitlines()
            if len(lines) == 1:
                self.refused += 1
            else:  # a refusal is one line naming the field
                self.unclear.append((what, lines[:5]))
        else:
            self.crashes.append((what, r.returncode, r.stderr.decode(errors="replace")[-300:]))

    def report(self, runs):
        """Prints the tally after `runs` (a description of what ran); 1 when any run failed."""
        print(f"{runs} in {time.time() - self.start:.0f} s: {self.answered} answered, {self.refused} refused in one "
              f"line (exit 2), {len(self.unclear)} refused otherwise, {len(self.crashes)} crashes, {len(self.hangs)} "
              f"hangs (> {self.timeout:.0f} s); slowest finished run {self.slowest[0]:.2f} s: {self.slowest[1][:120]}")
        for c in self.crashes[:10]:
            print("CRASH", c)
        for u in self.unclear[:10]:
            print("UNCLEAR", u)
        for h in self.hangs[:10]:
            print("HANG", h)
        return 1 if self.crashes or self.hangs or self.unclear else 0
