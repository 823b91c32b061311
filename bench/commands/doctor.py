"""`python -m bench doctor`: what this machine and data root can run, and what is missing."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.commands import inputs

NAME = "doctor"
HELP = "check the installation, the embedded assets and a --data-root layout"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-root", type=inputs.existing_dir,
                   help="folder with the real datasets (docs/real-data.md)")
    p.add_argument("--load", action="store_true",
                   help="also parse each annotation file found and open every image's header "
                        "(what `run` checks before its first cell); exit 2 if one is broken")
    p.add_argument("--model", type=inputs.text,
                   help="check the suites with this model (as `run --model`)")
    p.add_argument("--pretrained", type=inputs.text,
                   help="check the suites with these weights (as `run "
                                        "--pretrained`): a tag's presence, a file's existence")


def _check_real(root: Path, load: bool) -> tuple[list[str], dict[str, str]]:
    """One line per real dataset, and {dataset key: why a run on it stops} (with --load)."""
    from bench.api.errors import BenchError
    from bench.data.check import describe_unreadable, unreadable_images
    from bench.data.layouts import LAYOUTS, find_layout, load_layout, missing_reason

    lines, broken = [], {}
    for key in LAYOUTS:
        lay = find_layout(key, root)
        if lay is None:
            lines.append(f"  {key:<13} missing: {missing_reason(key, root)}")
            continue
        state = "found"
        if load:
            try:
                ds = load_layout(key, root)
                bad = unreadable_images(ds)
                state = f"ok: {ds.n_images} test images, {ds.n_captions} captions"
                if bad:
                    broken[key] = (f"{describe_unreadable(ds, bad)} (run stops with exit 2; "
                                   "--skip-unreadable leaves them out)")
                    state = f"BROKEN: {broken[key]}"
            except BenchError as err:
                broken[key] = str(err)
                state = f"BROKEN: {err}"
        lines.append(f"  {key:<13} {state} ({root / lay.annotation})")
    return lines, broken


def run(args: argparse.Namespace) -> int:
    import open_clip
    import torch

    from bench import __version__
    from bench.api.registry import MODELS, SHIFTS, SUITES, load_builtins
    from bench.files import cache_home, data_home

    load_builtins()
    print(f"bench {__version__}, torch {torch.__version__}, open_clip {open_clip.__version__}, "
          f"CUDA {'available' if torch.cuda.is_available() else 'not available'}")
    print(f"cache: {cache_home()}   embedded data: {data_home()}")
    for name, model in MODELS.items():
        print(f"model {name:<10} {model.missing() or model.found_label}")
    unavailable = [(n, s.is_available()[1]) for n, s in SHIFTS.items() if not s.is_available()[0]]
    print(f"shifts: {len(SHIFTS.names()) - len(unavailable)} available, "
          f"{len(unavailable)} unavailable")
    for name, reason in unavailable:
        print(f"  {name:<10} {reason}")
    broken: dict[str, str] = {}
    if args.data_root:
        print(f"data root {args.data_root}:")
        lines, broken = _check_real(args.data_root, args.load)
        print("\n".join(lines))
    from bench.engine.planning import suite_model, weights_missing
    from bench.engine.settings import Selection
    from bench.suites.base import SuiteContext

    ctx = SuiteContext(data_root=args.data_root)
    chosen = Selection(methods=[], suites=[], model=args.model, pretrained=args.pretrained)
    for name, suite in SUITES.items():
        reasons = [suite.missing(ctx), weights_missing(*suite_model(suite, chosen))]
        reasons += [f"{k}: {broken[k]}" for k in suite.loaders if k in broken]
        reason = "; ".join(r for r in reasons if r)
        print(f"suite {name:<14} {'ready' if not reason else 'not ready: ' + reason}")
    if args.data_root and not args.load:
        print("(images not opened: --load checks every image as `run` does)")
    if broken:  # what `run` would refuse with exit 2, refused here the same way
        import sys

        print(f"error: {len(broken)} dataset(s) under {args.data_root} cannot be used: "
              f"{', '.join(sorted(broken))} (the BROKEN lines above say why)", file=sys.stderr)
        return 2
    return 0
