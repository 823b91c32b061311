"""What every command takes, checked in one place before any work starts.

Each option that takes a value declares one of the validators below as its argparse
``type`` (or a fixed ``choices`` list). A bad value is refused while the command line is
parsed: one line on stderr, exit 2, nothing read, computed or written. `check_parser`
walks every subcommand's options when the parser is built and refuses an option that
declares neither, so a new command cannot leave an input unchecked (docs/cli.md).

Paths to write are checked as well as paths to read: an output file must not be a
folder, an output folder must not be a file, no part above either may be a file, and
the nearest existing folder above must be writable.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED_MAX = 2**32 - 1  # numpy's and torch's generators take every seed up to here

_VALIDATOR = "_bench_input"


def validator(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """Mark `fn` as a checked argparse ``type`` (what `check_parser` accepts)."""
    setattr(fn, _VALIDATOR, True)
    return fn


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser whose errors are one line (not the usage block), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        line = " ".join(message.split())
        self.exit(2, f"error: {self.prog}: {line} (see {self.prog} --help)\n")


# ---- numbers --------------------------------------------------------------------------

def integer(low: int | None = None, high: int | None = None) -> Callable:
    """An int in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:  # also a string of more digits than Python converts
            raise argparse.ArgumentTypeError(f"expected an integer, got '{_short(text)}'") \
                from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{_range(low, high)}, got {_short(text.strip())}")
        return value
    parse.__name__ = "integer"
    return validator(parse)


def integers(low: int | None = None, high: int | None = None) -> Callable:
    """A comma list of ints, each in [low, high]."""
    one = integer(low, high)

    def parse(text: str) -> list[int]:
        items = [t for t in (s.strip() for s in text.split(",")) if t]
        if not items:
            raise argparse.ArgumentTypeError("expected a comma-separated list of integers")
        return [one(t) for t in items]
    parse.__name__ = "integer list"
    return validator(parse)


def _short(text: str, keep: int = 40) -> str:
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def _range(low: int | None, high: int | None) -> str:
    if high is None:
        return f"must be at least {low}"
    if low is None:
        return f"must be at most {high}"
    return f"must be between {low} and {high}"


@validator
def positive_number(value: str) -> float:
    """A finite number above zero (a temperature, a scale)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{_short(value)}'") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number above 0, got {value}")
    return number


count = integer(1)  # how many of something (workers, threads, queries, steps, rounds)
seed = integer(0, SEED_MAX)
seeds = integers(0, SEED_MAX)
counts = integers(1)


# ---- text and names -----------------------------------------------------------------

@validator
def text(value: str) -> str:
    """Any non-empty string (a tag, an address, a queue name)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    return value.strip()


@validator
def name_list(value: str) -> list[str]:
    """A comma list of names; whether each is registered is checked by `check_names` once
    plugins are loaded."""
    items = [t.strip() for t in value.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


@validator
def severity(value: str) -> str:
    """``all`` or a comma list of severity levels (each at least 1)."""
    if value.strip().lower() == "all":
        return "all"
    try:
        counts(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"bad value '{value}': use levels like 1,3,5 (each "
                                         "at least 1) or all") from None
    return value.strip()


def check_names(**kinds: list[str] | str | None) -> None:
    """Each name registered as its kind (``methods=[...]``, ``suites=...``), else an
    UnknownNameError: checked in the parent before any worker process is started."""
    from bench.api.registry import METHODS, SUITES

    registries = {"methods": METHODS, "suites": SUITES}
    for kind, names in kinds.items():
        if names is None:
            continue
        for name in [names] if isinstance(names, str) else names:
            if not (kind == "suites" and name == "all"):
                registries[kind].get(name)


# ---- paths to read ----------------------------------------------------------------

@validator
def existing_dir(value: str) -> Path:
    path = _path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"folder {path} does not exist")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    return path


@validator
def results_dir(value: str) -> Path:
    """A results folder to read (what `run --out` wrote)."""
    path = _path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"results folder {path} {'is a file' if path.exists() else 'does not exist'}: "
            "pass the folder `python -m bench run --out` wrote")
    return path


@validator
def existing_file(value: str) -> Path:
    path = _path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"file {path} does not exist")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    return path


@validator
def suite_file(value: str) -> str:
    """A suite's TOML file (which must exist); kept as text, as plugins are."""
    existing_file(value)
    if not value.endswith(".toml"):
        raise argparse.ArgumentTypeError(f"{value} is not a .toml suite file")
    return value


@validator
def plugin(value: str) -> str:
    """A plugin: a .py file (which must exist) or a dotted module name."""
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a .py file or a module name")
    if value.endswith(".py") or os.sep in value:
        existing_file(value)
    return value


# ---- paths to write ---------------------------------------------------------------

@validator
def out_file(value: str) -> Path:
    """A file to write: not a folder, below folders only, in a writable place."""
    path = _path(value)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    _writable_above(path)
    return path


@validator
def out_dir(value: str) -> Path:
    """A folder to write into (made if absent): not a file, in a writable place."""
    path = _path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file, not a folder")
    if path.is_dir():
        if not _can_create_in(path):
            raise argparse.ArgumentTypeError(f"folder {path} cannot be written")
        return path
    _writable_above(path)
    return path


def _path(value: str) -> Path:
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return Path(value).expanduser()


def _writable_above(path: Path) -> None:
    """The nearest existing folder above `path` is writable and nothing above it is a file."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{path} cannot be written: {parent} is a file, "
                                         "not a folder")
    if not _can_create_in(parent):
        raise argparse.ArgumentTypeError(f"{path} cannot be written: folder {parent} is "
                                         "read-only")


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in `folder`: tried (a hidden file, removed at once), as
    permission bits do not tell for root, read-only mounts or /proc."""
    import tempfile

    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".bench-probe-"):
            return True
    except OSError:
        return False


# ---- the guard ----------------------------------------------------------------------

def unchecked_options(parser: argparse.ArgumentParser, prefix: str = "") -> list[str]:
    """Options of `parser` and its subcommands that take a value without a validator."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += unchecked_options(sub, f"{prefix}{name} ")
            continue
        takes_value = action.nargs != 0 and not isinstance(
            action, (argparse._HelpAction, argparse._VersionAction))
        if takes_value and action.choices is None and not getattr(action.type, _VALIDATOR, False):
            out.append(prefix + (action.option_strings[0] if action.option_strings
                                 else action.dest))
    return out


def check_parser(parser: argparse.ArgumentParser) -> None:
    """Refuse to build a CLI with an unchecked option (a programming error, not a user's)."""
    missing = unchecked_options(parser)
    if missing:
        raise RuntimeError("options without a validator from bench.commands.inputs: "
                           + ", ".join(missing))


@validator
def method_setting(value: str) -> str:
    """``METHOD.FIELD=VALUE``; the value is checked against the field's declared type once
    plugins are loaded (bench.engine.method_configs.make_config), before any cell runs."""
    key, sep, _ = value.partition("=")
    method, dot, field = key.strip().partition(".")
    if not sep or not dot or not method or not field:
        raise argparse.ArgumentTypeError(f"bad value '{value}': use METHOD.FIELD=VALUE, "
                                         "e.g. sar.rho=0.1")
    return value


@validator
def scheduler(value: str) -> str:
    """A dask scheduler address: ``tcp://host:port`` (or ``host:port``)."""
    from urllib.parse import urlsplit

    address = value.strip()
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ucx", "inproc") or not parts.hostname or not port:
        raise argparse.ArgumentTypeError(f"bad scheduler address '{value}': use "
                                         "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    return address


def require(check: Callable[[str], Any], value: str, option: str) -> Any:
    """`check(value)` for a value a command derives itself (e.g. a default folder below
    another argument): a refusal is a ConfigError naming `option`, exit 2."""
    from bench.api.errors import ConfigError

    try:
        return check(value)
    except argparse.ArgumentTypeError as err:
        raise ConfigError(f"{option}: {err}") from None
