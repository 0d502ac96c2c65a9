"""`make bench`: speed figures of this machine, written to bench/results.json.

Each section is measured in this one process and recorded with the machine's
description; a section that fails records its error instead of aborting the
others. Numbers are whatever this machine gave on this run: no targets are
asserted here (targets are listed beside the numbers for reading).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import traceback
from pathlib import Path

import torch

from bench.sections import SECTIONS


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench/results.json")
    parser.add_argument("--only", nargs="*", help=f"sections to run ({', '.join(SECTIONS)})")
    args = parser.parse_args(argv)
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() and args.only else {}
    results["machine"] = machine()
    for name, fn in SECTIONS.items():
        if args.only and name not in args.only:
            continue
        print(f"[bench] {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = fn()
        except Exception as exc:  # one failing section must not hide the others
            results[name] = {
                "error": f"{exc.__class__.__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
        results[name]["section_wall_seconds"] = round(time.perf_counter() - t0, 2)
        print(json.dumps(results[name], indent=2), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"[bench] wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
