#!/usr/bin/env python3
"""Mutation campaign over the shipped configs, as a user's broken config.json would look.

Each mutant is one shipped config with one change: a value replaced by null, a huge or negative
number, NaN (written as a bare token, as some exporters do), or a value of the wrong type; a field
deleted; or the file truncated. Every mutant is run through `frugal-sim train`, `train --plan auto`,
`serve` and `finetune --method qlora`; a run passes when it exits 0 (priced) or 2 with exactly one line on stderr (refused),
within the time limit, and fails otherwise: another exit status (a crash), a refusal of several
lines, or a timeout (a hang).

    fuzz/mutate_configs.py FRUGAL_SIM [COUNT] [SEED] [TIMEOUT_S]
    fuzz/mutate_configs.py build/dev/sim/frugal-sim 2000 1 20
"""
import json
import math
import os
import sys
import tempfile

from campaign import Tally, arguments

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED_DIRS = ["config/models", "tests/data/hf", "fuzz/seeds"]
COMMANDS = [["train"], ["train", "--plan", "auto"], ["serve", "--requests", "50"], ["finetune", "--method", "qlora"]]
REPLACEMENTS = [None, 10**12, 10**30, -1, -(10**9), 0, 0.5, "NaN", "text", [], {}, True]


def leaves(node, path=()):
    """Every (path, value) in a JSON document, containers included."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))


def parent_of(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutant(text, rng):
    """One mutated document, as text."""
    if rng.random() < 0.1:
        return text[: rng.randrange(len(text))]  # truncated file
    doc = json.loads(text)
    paths = [p for p, _ in leaves(doc) if p]
    path = rng.choice(paths)
    parent = parent_of(doc, path)
    if rng.random() < 0.2:
        del parent[path[-1]]  # field deleted (a list keeps its order)
        return json.dumps(doc)
    value = rng.choice(REPLACEMENTS)
    if value == "NaN":
        parent[path[-1]] = math.nan  # json.dumps writes the bare token NaN
    else:
        parent[path[-1]] = value
    return json.dumps(doc)


def main():
    args = arguments(__doc__, 2000)
    if args is None:
        return 2
    exe, count, rng, timeout = args
    seeds = []
    for d in SEED_DIRS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith(".json"):
                with open(os.path.join(ROOT, d, name)) as f:
                    seeds.append(f.read())
    tally = Tally(timeout)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            path = os.path.join(tmp, f"mutant-{i}.json")
            text = mutant(rng.choice(seeds), rng)
            with open(path, "w") as f:
                f.write(text)
            for command in COMMANDS:
                tally.run([exe, *command, "--config", path], f"{' '.join(command)} on {text[:300]}")
    return tally.report(f"{count} mutants x {len(COMMANDS)} commands = {count * len(COMMANDS)} runs")


if __name__ == "__main__":
    sys.exit(main())
