"""`python -m bench list methods|suites|shifts|models`."""

from __future__ import annotations

import argparse

from bench.commands.common import add_plugin_argument

NAME = "list"
HELP = "list registered methods, suites, shifts or models (plugins included)"
KINDS = ("methods", "suites", "shifts", "models")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=KINDS)
    add_plugin_argument(p)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _methods() -> list[str]:
    import sys

    from bench.api.registry import METHODS
    from bench.report.order import method_key
    rows = []
    for name, cls in sorted(METHODS.items(), key=lambda item: method_key(item[0])):
        doc = cls.__doc__ or sys.modules[cls.__module__].__doc__
        note = " [reconstruction]" if "reconstruction" in (cls.note or "").lower() else ""
        rows.append(f"{name:<12} {_first_line(doc)}{note}  ({METHODS.origin(name)})")
    return rows


def _suites() -> list[str]:
    from bench.api.registry import SUITES
    rows = []
    for name, s in SUITES.items():
        kind = "embedded" if s.embedded else "needs --data-root"
        rows.append(f"{name:<14} v{s.version} {kind:<17} {s.description}")
        rows += [f"{'':<14}     data: {need}" for need in s.data_needs]
    return rows


def _shifts() -> list[str]:
    from bench.api.registry import SHIFTS
    rows = []
    for name, s in SHIFTS.items():
        ok, reason = s.is_available()
        levels = ",".join(map(str, s.levels))
        state = "available" if ok else f"unavailable: {reason}"
        rows.append(f"{name:<18} {s.modality:<5} {s.group:<9} levels {levels:<14} "
                    f"max {s.max_level}  needs {s.needs}  [{state}]")
    return rows


def _models() -> list[str]:
    import open_clip

    from bench.api.registry import MODELS
    rows = []
    for name, m in MODELS.items():
        state = m.missing() or m.found_label
        rows.append(f"{name:<12} {m.description} [{state}]")
    rows.append(f"(and any of the {len(open_clip.list_models())} open_clip architectures, e.g. "
                "ViT-B-16 with --pretrained openai or a local checkpoint path)")
    return rows


def run(args: argparse.Namespace) -> int:
    from bench.api.registry import load_plugins

    load_plugins(args.plugin)
    rows = {"methods": _methods, "suites": _suites, "shifts": _shifts, "models": _models}[args.kind]()
    print("\n".join(rows))
    return 0
