"""Arguments and parsing shared by several subcommands."""

from __future__ import annotations

import argparse

from bench.errors import ConfigError


def comma_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in comma_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected integers like 0,1,2: {text}") from err


def severity_arg(text: str):
    if text.strip().lower() == "all":
        return "all"
    try:
        return int_list(text)
    except argparse.ArgumentTypeError as err:
        raise ConfigError(f"bad --severity '{text}'", "use e.g. 1,3,5 or all") from err


def add_plugin_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH|MODULE",
                        help="import a plugin file or module that registers methods, suites, "
                             "shifts or models (repeatable)")
