"""`python -m bench mini train|eval`: the embedded mini CLIPs and the mini combiner."""

from __future__ import annotations

import argparse
import json

from bench.commands import inputs

NAME = "mini"
HELP = ("train or evaluate the embedded mini models (mini-clip, mini-clip-2, mini-reid; "
        "mini-cir-combiner, the combiner of composed queries on mini-clip)")
MODELS_TRAINED = ("mini-clip", "mini-clip-2", "mini-reid", "mini-cir-combiner")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    t = sub.add_parser("train", help="train a mini model from scratch (fixed steps and seed)")
    t.add_argument("--model", choices=MODELS_TRAINED, default="mini-clip")
    t.add_argument("--steps", type=inputs.count, default=None,
                   help="training steps (default: recipe)")
    t.add_argument("--batch-size", type=inputs.integer(2), default=None)
    t.add_argument("--seed", type=inputs.seed, default=None,
                   help="training seed (default: recipe, 0)")
    t.add_argument("--lr", type=inputs.positive_number, default=None,
                   help="peak learning rate (default: recipe)")
    t.add_argument("--warmup", type=inputs.integer(0), default=None,
                   help="linear warm-up steps (default: recipe)")
    t.add_argument("--init", type=inputs.existing_file, default=None,
                   help="start from this checkpoint instead of random weights")
    t.add_argument("--logit-scale", type=inputs.positive_number, default=None,
                   help="train at this fixed logit scale (e.g. 100: the protocol's temperature "
                        "0.01) instead of a learned one")
    t.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the arithmetic runs (the card records it)")
    t.add_argument("--out", type=inputs.out_file, default=None,
                   help="checkpoint path (default: the shipped one in bench/assets/models/)")
    t.add_argument("--quiet", action="store_true")
    e = sub.add_parser("eval", help="clean test metrics of a mini model checkpoint")
    e.add_argument("--model", choices=MODELS_TRAINED, default="mini-clip")
    e.add_argument("--pretrained", default=None, type=inputs.existing_file,
                   help="checkpoint (default: the shipped one)")
    e.add_argument("--split", choices=("test", "test5k"), default="test",
                   help="test split: the 1K one the card reports, or mini-scenes' COCO-sized 5K "
                        "split (mini-clip and mini-clip-2)")



def run(args: argparse.Namespace) -> int:
    from bench.api.errors import ConfigError
    from bench.api.registry import MODELS, load_builtins

    load_builtins()
    if args.action == "train":
        import dataclasses

        from bench.studies.mini import combiner
        from bench.studies.mini.train import RECIPES, train

        recipes = {**RECIPES, "mini-cir-combiner": combiner.CombinerTrainConfig()}
        changed = {"seed": args.seed, "steps": args.steps, "batch_size": args.batch_size}
        if args.model == "mini-cir-combiner":
            clip_only = {"--lr": args.lr, "--warmup": args.warmup, "--init": args.init,
                         "--logit-scale": args.logit_scale}
            given = [k for k, v in clip_only.items() if v is not None]
            if given or args.device != "cpu":
                raise ConfigError(f"{', '.join(given) or '--device'} applies to the mini CLIPs, "
                                  "not to mini-cir-combiner")
        else:
            changed |= {"lr": args.lr, "warmup": args.warmup, "logit_scale": args.logit_scale,
                        "init": str(args.init) if args.init else None}
        cfg = dataclasses.replace(recipes[args.model],
                                  **{k: v for k, v in changed.items() if v is not None})
        if cfg.steps < 1 or cfg.batch_size < 2:
            raise ConfigError("--steps must be >= 1 and --batch-size >= 2")
        out = args.out or MODELS.get(args.model).default_weights()
        if args.model == "mini-cir-combiner":
            card = combiner.train(cfg, out, quiet=args.quiet)
        else:
            card = train(cfg, out, quiet=args.quiet, device=args.device)
        print(json.dumps(card["test_metrics"], indent=1))
        print(f"wrote {out} ({card['checkpoint_mb']} MB) and {out.with_suffix('.card.json')}")
        return 0
    from bench.engine.cache import Cache
    from bench.engine.inputs import InputOptions
    from bench.engine.parallel import default_workers
    from bench.models.registered import architecture, resolve_model
    from bench.studies.mini.train import evaluate_clean

    rm = resolve_model(args.model, args.pretrained, "cpu")
    if args.split != "test" and architecture(args.model) != "mini-clip":
        raise ConfigError(f"--split {args.split}: model {args.model} has only the test split")
    if args.model == "mini-cir-combiner":
        from bench.studies.mini.combiner import evaluate_test

        print(json.dumps({"ti2i": evaluate_test(rm, rm.combine)}, indent=1))
        return 0
    metrics = evaluate_clean(rm, args.model, InputOptions(cache=Cache(), workers=default_workers()),
                             split=args.split)
    print(json.dumps(metrics, indent=1))
    return 0
