"""`python -m bench compare-queries`: bench's own corrupted queries vs TCR's released ones."""

from __future__ import annotations

import argparse

from bench.commands import inputs
from bench.commands.common import (
    add_plugin_argument,
    comma_list,
    severity_arg,
    source_study_options,
)

NAME = "compare-queries"
HELP = ("per shift: mean absolute pixel difference between bench's corrupted query images and "
        "TCR's released ones (coco-IP/flickr-IP), and R@1 of both under the same model")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", type=comma_list, default=["coco-c"], help="coco-c and/or flickr-c")
    p.add_argument("--data-root", type=inputs.existing_dir, required=True,
                   help="holds coco/ (flickr30k/) and TCR's coco-IP/, coco-TP/ (flickr-IP/, ...)")
    p.add_argument("--shift", type=comma_list, default=None, help="only these shifts")
    p.add_argument("--severity", default=None, type=inputs.severity,
                   help="comma list or all (default: maximum)")
    p.add_argument("--model", type=inputs.text, help="model name (default: the suite's)")
    p.add_argument("--pretrained", type=inputs.text,
                   help="open_clip pretrained tag or checkpoint path")
    p.add_argument("--activation", choices=("quick_gelu", "gelu"), default=None)
    p.add_argument("--limit", type=inputs.count, default=None, help="only the first N queries")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--workers", type=inputs.count, default=None,
                   help="processes for corrupting images")
    p.add_argument("--no-cache", action="store_true", help="do not read or write caches")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--csv", type=inputs.out_file, default=None,
                   help="also write the rows to FILE (.csv)")
    add_plugin_argument(p)


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.api.registry import load_plugins
    from bench.engine.provenance import resolve_device
    from bench.studies.compare_queries import compare_table, markdown

    load_plugins(args.plugin)
    opts = source_study_options(
        args, severity_arg(args.severity) if args.severity else None)
    df = compare_table(opts, resolve_device(args.device), shifts=args.shift)
    if df.empty:
        raise ConfigError(f"suite {','.join(args.suite)} has no shift cell on coco or flickr30k",
                          "use coco-c or flickr-c")
    print(markdown(df), end="")
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0
