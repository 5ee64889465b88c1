"""Command line: `python -m world --out DIR --seed N --size small|full [--yes-share F]`.

The same generator the Django command `make_world` calls, usable without Django
(e.g. on a training machine that only has the world's files).
"""

from __future__ import annotations

import argparse
import sys
import time

from world.generator import SIZES, generate_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m world", description="Generate the miniature world.")
    parser.add_argument("--out", required=True, help="output directory (new, empty, or a previous world)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--yes-share", type=float, default=0.5, help="share of 'Yes' among instruction yes/no answers")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    def report(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", file=sys.stderr)

    try:
        manifest = generate_world(args.out, seed=args.seed, size=args.size, yes_share=args.yes_share, progress=report)
    except ValueError as error:
        parser.error(str(error))
    for name, count in manifest["counts"].items():
        print(f"{name:18} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
