"""`python -m bench regime`: what a gradient method's loss trusts, step by step.

Per cell and per step of the stream: the precision of the top-1 pseudo-labels over the batch
and over the rows the loss keeps, the kept fraction, the entropy of the whole-gallery softmax
at the protocol temperature against ln C, and the relative size of the step's update of the
adapted LayerNorms (bench.studies.regime). Nothing is stored in a results folder.
"""

from __future__ import annotations

import argparse
import sys

from bench.commands import inputs
from bench.commands.common import add_plugin_argument

NAME = "regime"
HELP = ("per-step pseudo-label precision, kept fraction, softmax entropy and update size of "
        "gradient methods on a suite's cells (no results stored)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", default="mini-coco-c", type=inputs.text, help="one suite (default: mini-coco-c)")
    p.add_argument("--method", default="tent,eata,sar,read,deyo", type=inputs.text,
                   help="comma list of gradient methods (default: tent,eata,sar,read,deyo)")
    p.add_argument("--direction", choices=("i2t", "t2i"), default=None,
                   help="only this direction's cells")
    p.add_argument("--shift", default=None, type=inputs.text, help="only these shifts, comma list (clean too)")
    p.add_argument("--limit", type=inputs.count, default=640,
                   help="the first N queries of each stream (default: 640, 10 batches)")
    p.add_argument("--model", type=inputs.text, help="model name (default: the suite's)")
    p.add_argument("--pretrained", type=inputs.text, help="open_clip pretrained tag or checkpoint path")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=inputs.count, default=1, help="torch CPU threads (default: 1)")
    p.add_argument("--other-temperature", type=inputs.positive_number, default=None,
                   help="also read the softmax's calibration at this temperature (e.g. the "
                        "model's own trained one); the methods keep theirs")
    p.add_argument("--csv", type=inputs.out_file, default=None, help="also write every step to FILE (.csv)")
    p.add_argument("--out", type=inputs.out_file, default=None, help="also write the table to FILE (.md)")
    add_plugin_argument(p)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from bench.api.errors import ConfigError
    from bench.api.registry import load_plugins
    from bench.studies.inprocess import plan_in_process, torch_threads
    from bench.studies.regime import markdown, probe_cell, summary

    methods = [m for m in args.method.split(",") if m]
    if args.other_temperature is not None and args.other_temperature <= 0:
        raise ConfigError(f"--other-temperature must be > 0, got {args.other_temperature}")
    if args.threads < 1 or (args.limit is not None and args.limit < 1):
        raise ConfigError(f"--threads and --limit must be >= 1, got {args.threads} and "
                          f"{args.limit}")
    if "source" in methods:
        raise ConfigError("regime measures a method's loss; source has none",
                          "pick among tent, eata, sar, read, deyo (or a plugin's)")
    load_plugins(args.plugin)
    shifts = [s for s in args.shift.split(",") if s] if args.shift else None
    run = plan_in_process(methods, args.suite, args.limit,
                          {"model": args.model, "pretrained": args.pretrained,
                           "device": args.device, "shifts": shifts,
                           "directions": args.direction})
    cells = [c for c in run.cells if c.spec.stream == "single"]
    if not cells:
        raise ConfigError(f"no single-stream cell of {args.suite} matches the selection",
                          "see `python -m bench list`")
    steps, metrics = [], {}
    with torch_threads(args.threads):
        for k, cell in enumerate(cells, 1):
            frame, cell_metrics = probe_cell(cell, run.res, args.other_temperature)
            steps.append(frame)
            metrics[(cell.spec.direction, cell.spec.shift, cell.label)] = cell_metrics
            print(f"[{k}/{len(cells)}] {cell.title}: R@1 {cell_metrics['r1']:.1f}",
                  file=sys.stderr, flush=True)
    frame = pd.concat(steps, ignore_index=True)
    table = markdown(summary(frame, metrics))
    print(f"cells: {args.suite}, limit {args.limit}, seed 0; device {run.device}, "
          f"{args.threads} thread(s)")
    print(table)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    if args.out:
        args.out.write_text(table + "\n")
    return 0
