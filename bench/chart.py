"""Draw the scale series (docs/bench-scale.json, written by bench/run.py) as an SVG chart,
docs/bench-scale.svg: single-client p95 per endpoint against the number of tasks, one panel
for the total growing and one for a single user's tasks growing.

Runs from bench/.venv (matplotlib, bench/requirements.txt), which `make bench` creates:
    bench/.venv/bin/python bench/chart.py [another.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "bench-scale.json"
CHART = ROOT / "docs" / "bench-scale.svg"
PANELS = {"total": "Tasks in total (the measured user has 100)",
          "user": "Tasks of the measured user (on top of the largest total)"}


def main(target: Path = CHART) -> None:
    results = json.loads(DATA.read_text())
    series_names = [name for name in PANELS if any(r["series"] == name for r in results)]
    figure, axes = plt.subplots(1, len(series_names), figsize=(6 * len(series_names), 4.5),
                                squeeze=False)
    for axis, series in zip(axes[0], series_names, strict=True):
        rows = [r for r in results if r["series"] == series and r.get("p95")]
        for endpoint in dict.fromkeys(r["endpoint"] for r in rows):
            points = sorted((r["size"], r["p95"]) for r in rows if r["endpoint"] == endpoint)
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                      label=endpoint)
        axis.set_xscale("log")
        axis.set_xlabel(PANELS[series])
        axis.set_ylabel("p95 ms, one client")
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle("Single-client p95 as the data grows (make bench)")
    figure.tight_layout()
    if target.suffix == ".svg":
        figure.savefig(target, metadata={"Date": None})  # no timestamp: stable diffs
    else:
        figure.savefig(target)
    print(f"Wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CHART)
