"""Committed notebooks carry no outputs: every code cell has outputs == [] and execution_count None
(run them with `make notebooks`, or open them in Jupyter; commit them cleared)."""
import json
import pathlib
import sys

stale = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.ipynb")):
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            stale.append(f"{path.name}: cell {i} has outputs (clear them before committing)")
print("\n".join(stale) if stale else "notebooks are clean")
sys.exit(1 if stale else 0)
