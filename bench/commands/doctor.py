"""`python -m bench doctor`: what this machine and data root can run, and what is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "doctor"
HELP = "check the installation, the embedded assets and a --data-root layout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", type=Path, help="folder with the real datasets (README)")
    p.add_argument("--load", action="store_true",
                   help="also parse each annotation file found and open its first image")


def _check_real(root: Path, load: bool) -> list[str]:
    from bench.errors import BenchError
    from bench.registry import SUITES
    from bench.suites.base import SuiteContext
    from bench.suites.real import ANNOTATIONS

    lines = []
    for key, rel in ANNOTATIONS.items():
        path = root / rel
        if not path.is_file():
            lines.append(f"  {key:<11} missing {path}")
            continue
        state = "found"
        if load:
            suite = next(s for _, s in SUITES.items() if key in s.loaders)
            try:
                ds = suite.load(key, SuiteContext(data_root=root))
                ds.load_image(0)
                state = f"ok: {ds.n_images} test images, {ds.n_captions} captions"
            except BenchError as err:
                state = f"BROKEN: {err}"
        lines.append(f"  {key:<11} {state} ({path})")
    return lines


def run(args: argparse.Namespace) -> int:
    import open_clip
    import torch

    from bench import __version__
    from bench.paths import cache_home, data_home
    from bench.registry import MODELS, SHIFTS, SUITES, load_builtins

    load_builtins()
    print(f"bench {__version__}, torch {torch.__version__}, open_clip {open_clip.__version__}, "
          f"CUDA {'available' if torch.cuda.is_available() else 'not available'}")
    print(f"cache: {cache_home()}   embedded data: {data_home()}")
    for name, model in MODELS.items():
        print(f"model {name:<10} {model.missing() or 'checkpoint shipped'}")
    unavailable = [(n, s.is_available()[1]) for n, s in SHIFTS.items() if not s.is_available()[0]]
    print(f"shifts: {len(SHIFTS.names()) - len(unavailable)} available, "
          f"{len(unavailable)} unavailable")
    for name, reason in unavailable:
        print(f"  {name:<10} {reason}")
    if args.data_root:
        print(f"data root {args.data_root}:")
        print("\n".join(_check_real(args.data_root, args.load)))
    from bench.runner import _weights_missing
    from bench.suites.base import SuiteContext

    ctx = SuiteContext(data_root=args.data_root)
    for name, suite in SUITES.items():
        model = suite.default_model
        reason = suite.missing(ctx) or _weights_missing(
            model, None if model in MODELS else suite.default_pretrained)
        print(f"suite {name:<14} {'ready' if not reason else reason}")
    return 0
