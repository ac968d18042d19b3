"""Run benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks tracking datasets``.

Each benchmark is a module here with a ``main()`` that measures loopml and its
anchor in one run and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).parent
SKIP = {"__init__", "__main__", "anchors", "report"}


def available() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in SKIP and not p.stem.startswith("_")
    )


def main(names: list[str]) -> None:
    for name in names or available():
        if name not in available():
            sys.exit(f"No benchmark {name!r}. Available: {', '.join(available())}")
        print(f"[bench] {name}", file=sys.stderr)
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
