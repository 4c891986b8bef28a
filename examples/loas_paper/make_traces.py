"""Regenerate the statistics-only LoAS paper traces in this folder:

    .venv/bin/python examples/loas_paper/make_traces.py

(synthetic from statistics; see archsim/workloads_stats/loas_paper.py)."""
from pathlib import Path

from archsim.workloads_stats.loas_paper import write_traces

if __name__ == "__main__":
    for path in write_traces(Path(__file__).parent):
        print(f"wrote {path}")
