"""Run every benchmark in this folder, one after the other: ``python -m bench [NAME ...]``."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    here = Path(__file__).parent
    available = sorted(m.name for m in pkgutil.iter_modules([str(here)])
                       if not m.name.startswith("_"))
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed = 0
    for name in names or available:
        print(f"\n=== bench.{name} ===", flush=True)
        failed |= subprocess.call([sys.executable, "-m", f"bench.{name}"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
