"""`perf leaderboard` and `perf site`: wall and CPU time of `bench leaderboard RESULTS` and
`bench site RESULTS`, as a user runs them.

Each timed run is a fresh process (`python -m bench leaderboard RESULTS --out FILE`, or
`python -m bench site RESULTS --out DIR`): interpreter start, imports, reading the store,
the statistics and the rendering. The variants:

* ``memo``: the command as it is run, reading the bootstraps of earlier calls from
  ``RESULTS/statistics.json`` (`bench.report.memo`; one untimed run first writes what is
  missing);
* ``fresh``: ``--no-cache``, every interval and paired test computed (the site: every
  figure drawn and every store fragment read, too);
* ``code DIR`` (``--versus-code DIR``, repeatable): the same command run from another
  checkout of bench (``PYTHONPATH=DIR``), e.g. an older commit unpacked with
  ``git archive``; it gets no ``--no-cache`` flag, so any version can be timed.

Rounds interleave the variants (a busy minute slows every variant alike); the table gives
medians, the range over rounds and each variant's wall time relative to ``memo`` (median
of the per-round ratios). The outputs of all variants (the site: every file of its folder)
must be byte-identical; when they are not, the command says which differ and exits 3.
"""

from __future__ import annotations

import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bench
from bench.api.errors import BenchError


@dataclass
class Variant:
    name: str
    code: Path  # the folder holding the `bench` package that runs
    flags: list[str]
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    output: bytes = b""


def variants(versus_code: list[str]) -> list[Variant]:
    own = Path(bench.__file__).resolve().parent.parent
    out = [Variant("memo", own, []), Variant("fresh (--no-cache)", own, ["--no-cache"])]
    return out + [Variant(f"code {d}", Path(d).resolve(), []) for d in versus_code]


def output_of(out: Path) -> bytes:
    """A file's bytes, or a folder's every file (relative path and bytes, in order) hashed."""
    if out.is_file():
        return out.read_bytes()
    h = hashlib.blake2b(digest_size=20)
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(out)}|{path.stat().st_size}|".encode())
        h.update(path.read_bytes())
    return h.hexdigest().encode()


def timed_run(v: Variant, results: Path, extra: list[str], out: Path,
              command: str = "leaderboard") -> tuple[float, float]:
    """Run the variant once: (wall s, CPU s of the process); its output into `v.output`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(v.code), *filter(None, [os.environ.get("PYTHONPATH")])])}
    cmd = [sys.executable, "-m", "bench", command, str(results), "--out", str(out),
           *extra, *v.flags]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=v.code, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"{v.name}: `bench {command}` exited {done.returncode}: {tail}")
    v.output = output_of(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def time_leaderboard(results: Path, extra: list[str], repeat: int, versus_code: list[str],
                     progress, command: str = "leaderboard") -> list[Variant]:
    """Interleaved rounds of every variant, after one untimed run that fills the memo (and,
    for the site, the figure and frame caches)."""
    runs = variants(versus_code)
    results = results.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "board"
        start = time.perf_counter()
        timed_run(runs[0], results, extra, out, command)
        progress(f"warm-up (fills {results / 'statistics.json'}): "
                 f"{time.perf_counter() - start:.1f} s")
        for k in range(1, repeat + 1):
            for v in runs:
                wall, cpu = timed_run(v, results, extra, out, command)
                v.wall_s.append(wall)
                v.cpu_s.append(cpu)
                progress(f"round {k}/{repeat}, {v.name}: wall {wall:.1f} s, CPU {cpu:.1f} s")
    return runs


def perf_table(runs: list[Variant]) -> str:
    ref = runs[0]
    lines = ["| variant | wall (s), median | wall range | CPU (s), median | wall vs memo | "
             "output |", "|---|---:|---:|---:|---:|---|"]
    for v in runs:
        ratio = statistics.median(w / r for w, r in zip(v.wall_s, ref.wall_s, strict=True))
        same = "identical" if v.output == ref.output else "DIFFERS"
        lines.append(f"| {v.name} | {statistics.median(v.wall_s):.1f} | "
                     f"{min(v.wall_s):.1f}-{max(v.wall_s):.1f} | "
                     f"{statistics.median(v.cpu_s):.1f} | {ratio:.2f}x | {same} |")
    return "\n".join(lines)
