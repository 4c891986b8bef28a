"""The ``archsim`` command. Each subcommand lives in its own module with a ``register`` function;
heavy imports happen inside the handlers so that ``archsim --help`` stays fast."""
from __future__ import annotations

import argparse
import os
import sys

from archsim import __version__
from archsim.errors import ArchsimError

# The command's own process: pydantic's plugin scan (every installed package's entry points) is
# skipped, as start-up counts for a small simulation (docs/performance.md). A user who runs a
# pydantic plugin sets PYDANTIC_DISABLE_PLUGINS themselves (empty: all plugins on).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

COMMANDS = ("simulate", "price", "trace", "validate", "list_cmd", "reproduce", "sweep", "report", "pareto", "import_cmd")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="archsim",
        description="Simulate efficient-AI accelerators (spiking, dual-sparse, quantized, in-memory) on workload traces.")
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"archsim.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ArchsimError as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"archsim: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
