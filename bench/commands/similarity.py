"""`python -m bench similarity`: the severity check by clean-vs-shifted embedding similarity.

For each image shift of the suites and each severity, the mean cosine similarity of the
source model's embeddings of a clean and a shifted query image, as a Markdown table with
a column saying whether it falls at every severity step (bench.studies.similarity).
"""

from __future__ import annotations

import argparse

from bench.commands import inputs
from bench.commands.common import (
    add_plugin_argument,
    comma_list,
    severity_arg,
    source_study_options,
)

NAME = "similarity"
HELP = ("severity check: mean cosine similarity of clean vs shifted query-image embeddings "
        "per image shift and severity (source model, no adaptation)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", type=comma_list, default=["mini-c"],
                   help="suites whose image shifts are measured (default: mini-c)")
    p.add_argument("--shift", type=comma_list, default=None,
                   help="only these image shifts, comma list (default: all of the suites')")
    p.add_argument("--model", type=inputs.text, help="model name (default: the suite's)")
    p.add_argument("--pretrained", type=inputs.text,
                   help="open_clip pretrained tag or checkpoint path")
    p.add_argument("--data-root", type=inputs.existing_dir,
                   help="folder with the real datasets (docs/real-data.md)")
    p.add_argument("--severity", default="all", type=inputs.severity,
                   help="comma list or all (default: all)")
    p.add_argument("--limit", type=inputs.count, default=None, help="only the first N query images")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--workers", type=inputs.count, default=None,
                   help="processes for corrupting images")
    p.add_argument("--no-cache", action="store_true", help="do not read or write caches")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--paired", action="store_true",
                   help="one random draw per image and shift for all severities (isolates the "
                        "severity parameters); default: the benchmark's own images")
    p.add_argument("--out", type=inputs.out_file, default=None,
                   help="also write the table to FILE (.md)")
    p.add_argument("--csv", type=inputs.out_file, default=None,
                   help="also write the rows to FILE (.csv)")
    add_plugin_argument(p)


def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.api.registry import load_plugins
    from bench.engine.provenance import resolve_device
    from bench.studies.similarity import markdown, similarity_table

    load_plugins(args.plugin)
    opts = source_study_options(args, severity_arg(args.severity))
    df = similarity_table(opts, resolve_device(args.device), paired=args.paired,
                          shifts=args.shift)
    if df.empty:
        raise ConfigError(f"suite {','.join(args.suite)} has no image-shift cell to measure"
                          + (f" among {','.join(args.shift)}" if args.shift else ""),
                          "image shifts are in e.g. mini-c, coco-c, flickr-c")
    text = markdown(df)
    print(text, end="")
    for path, write in ((args.out, lambda p: p.write_text(text, encoding="utf-8")),
                        (args.csv, lambda p: df.to_csv(p, index=False))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            print(f"wrote {path}")
    return 0
