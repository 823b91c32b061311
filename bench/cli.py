"""`python -m bench`: one subcommand per module in `bench.commands`.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Every option is checked while the command line is parsed
(bench.commands.inputs): a bad value, like a `BenchError` raised later, becomes one line
on stderr and exit code 2.
SIGTERM (what a batch scheduler sends before preemption) is handled like
Ctrl-C: finished cells are kept, worker processes are stopped, exit 143.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading

from bench import __version__
from bench.api.errors import BenchError, first_line
from bench.commands.inputs import OneLineParser, check_parser

COMMANDS = ("run", "list", "build", "leaderboard", "compare", "plot", "ablate", "similarity",
            "mini", "perf", "doctor", "compare_queries", "diagnose", "terms", "site", "regime")


def _load_commands() -> list:
    modules = []
    for name in COMMANDS:
        try:
            modules.append(importlib.import_module(f"bench.commands.{name}"))
        except ModuleNotFoundError as err:
            if err.name != f"bench.commands.{name}":
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m bench",
        description="Test-time adaptation of cross-modal retrieval under query shift.")
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _load_commands():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    check_parser(parser)
    return parser


# A full disk, a read-only file system, a quota or missing permissions: one line, exit 2.
_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a refused option (one line printed)
        return done.code if isinstance(done.code, int) else 2 if done.code else 0
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        return int(args._run(args) or 0)
    except BenchError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno not in _DISK_ERRORS:
            raise
        where = f" ({err.filename})" if err.filename else ""
        print(f"error: {first_line(err.strerror or str(err))}{where}; free space or fix "
              "permissions, or choose another "
              "folder (--out, BENCH_CACHE, BENCH_DATA)", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        from bench.engine.parallel import kill_pool
        kill_pool()
        print("interrupted: finished cells are kept; run the same command again to resume",
              file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
