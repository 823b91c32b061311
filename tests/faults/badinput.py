"""Bad input against every command: exit code, traceback, anything written.

Run ``python tests/faults/badinput.py [WORD ...]`` for the Markdown table of every case
(or of those whose name contains a WORD) and its summary counts; tests/test_bad_input.py runs the same cases and fails on a traceback, a
wrong exit code or a write on bad input.

Each case runs the CLI in this process (``bench.cli.main``) inside a sandbox folder that
holds every fixture (a small results folder, data roots with escaping or malformed
annotations, checkpoints that do not fit, plugins that misbehave). "wrote" compares the
sandbox's files before and after the case (the cache, a folder of its own, aside).

Kinds: ``bad input`` must exit 2 with one line on stderr and nothing written; ``path
escape`` is bad input whose annotation leads outside its data root; ``cell failure``
(good input, a method that fails) must exit 3; ``control`` (good input) exits 0.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "tests" / "plugins"
SMOKE = ("--suite", "smoke", "--pretrained", "random", "--limit", "16", "--workers", "1",
         "--threads", "1", "--quiet")
BIG = "99999999999999999999999"
UNWRITABLE = "/proc/bench-out"  # not even root can create a file here

BAD, ESCAPE, FAILS, CONTROL = "bad input", "path escape", "cell failure", "control"


@dataclass
class Case:
    name: str
    argv: tuple[str, ...]  # "{w}" stands for the sandbox folder
    kind: str = BAD
    expect: int = 2
    note: str = ""


@dataclass
class Outcome:
    case: Case
    code: int
    traceback: bool
    wrote: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def bad(self) -> bool:
        return self.case.kind in (BAD, ESCAPE)

    def problems(self) -> list[str]:
        out = []
        if self.traceback:
            out.append("traceback")
        if self.code != self.case.expect:
            out.append(f"exit {self.code}, expected {self.case.expect}")
        if self.bad and self.wrote:
            out.append(f"wrote {', '.join(self.wrote[:2])}")
        if self.bad and len(self.lines) != 1:
            out.append(f"{len(self.lines)} lines on stderr")
        return out


def _run(*argv: str) -> tuple[str, ...]:
    return ("run", "--method", "source", *SMOKE, "--out", "{w}/out", *argv)


def _data_run(root: str, suite: str) -> tuple[str, ...]:
    return ("run", "--method", "source", "--suite", suite, "--model", "mini-clip",
            "--pretrained", "random", "--data-root", f"{{w}}/{root}", "--workers", "1",
            "--threads", "1", "--quiet", "--out", "{w}/out")


def cases() -> list[Case]:
    c: list[Case] = []
    add = c.append
    # ---- run: names, numbers, method settings --------------------------------------
    add(Case("run --method nope", ("run", "--method", "nope", *SMOKE, "--out", "{w}/out")))
    add(Case("run --suite nope", ("run", "--method", "source", "--suite", "nope",
                                  "--out", "{w}/out")))
    add(Case("run without --method", ("run", "--suite", "smoke")))
    add(Case("run --frobnicate", _run("--frobnicate")))
    for flag, value in (("--seed", BIG), ("--seed", "-1"), ("--seed", "abc"), ("--seed", ","),
                        ("--corruption-seed", "-1"), ("--corruption-seed", BIG),
                        ("--workers", "-1"), ("--workers", "0"), ("--threads", "0"),
                        ("--dask-workers", "0"), ("--batch-size", "0"), ("--steps", "0"),
                        ("--limit", "0"), ("--limit", "-5"), ("--limit", "x"),
                        ("--severity", "0"), ("--severity", "high"), ("--image-size", "5,5"),
                        ("--image-size", "384"), ("--device", "tpu"),
                        ("--set", "tent.temperature=true"), ("--set", "tent.temperature=abc"),
                        ("--set", "deyo.plpd_threshold=abc"), ("--set", "deyo.filter_ent=1"),
                        ("--set", "deyo.patch_len=2.5"), ("--set", "tent.nope=1"),
                        ("--set", "tent.lr=-1"), ("--set", "tent"), ("--set", "nope.lr=1"),
                        ("--scheduler", "not-an-address"), ("--cluster", "slurm")):
        argv = _run(flag, value)
        if flag == "--set" or flag == "--cluster":  # the method the setting names runs
            argv = ("run", "--method", "source,tent,deyo", *argv[3:])
        add(Case(f"run {flag} {value[:12]}", argv))
    # ---- run: paths --------------------------------------------------------------
    for flag, value in (("--config", "{w}/missing.json"), ("--config", "{w}/bad.json"),
                        ("--config", "{w}/types.json"), ("--config", "{w}/dir"),
                        ("--out", ""), ("--out", "{w}/file.txt"), ("--out", "{w}/file.txt/sub"),
                        ("--out", UNWRITABLE + "/res"), ("--data-root", "{w}/missing"),
                        ("--data-root", "{w}/file.txt"), ("--built", "{w}/missing"),
                        ("--built", "{w}/file.txt"), ("--plugin", "{w}/missing.py"),
                        ("--cluster-config", "{w}/missing.toml")):
        argv = _run(*(a for a in (flag, value)))
        if flag == "--out":
            argv = ("run", "--method", "source", *SMOKE, "--out", value)
        if flag == "--config":
            argv = ("run", "--method", "source,tent", *argv[3:])
        add(Case(f"run {flag} {value.replace('{w}/', '') or repr(value)}", argv))
    # ---- run: checkpoints --------------------------------------------------------
    for name in ("wrong_shape", "wrong_pos", "missing_keys", "extra_keys", "empty", "garbage",
                 "nonexistent"):
        add(Case(f"run --pretrained {name}.pt", ("run", "--method", "source", *SMOKE[:2],
                                                  "--pretrained", f"{{w}}/ckpt/{name}.pt",
                                                  "--limit", "16", "--workers", "1", "--quiet",
                                                  "--out", "{w}/out")))
    # ---- run: plugins and executors -------------------------------------------------
    add(Case("run --plugin exits at import", _run("--plugin", "{w}/plugins/exits.py")))
    add(Case("run --plugin Config not a dataclass",
             ("run", "--method", "notdc", *SMOKE, "--out", "{w}/out", "--plugin",
              "{w}/plugins/notdc.py")))
    add(Case("run --plugin raises at import", _run("--plugin", str(PLUGINS / "raises.py"))))
    add(Case("run --plugin needs a missing module",
             _run("--plugin", str(PLUGINS / "needs_dep.py"))))
    add(Case("run --executor dask, no scheduler there",
             _run("--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")))
    # ---- loaders, through run and doctor --load --------------------------------------
    for root, suite in (("nocaps-abs", "nocaps"), ("nocaps-dotdot", "nocaps"),
                        ("nocaps-link", "nocaps"), ("fashion-escape", "fashion-gen"),
                        ("fashion-link", "fashion-gen"), ("coco-dotdot", "coco-c")):
        add(Case(f"run {suite} {root}", _data_run(root, suite), kind=ESCAPE))
        add(Case(f"doctor --load {root}", ("doctor", "--load", "--data-root", f"{{w}}/{root}"),
                 kind=ESCAPE))
    for root, suite in (("nocaps-bigint", "nocaps"), ("fashion-badpickle", "fashion-gen"),
                        ("nocaps-notjson", "nocaps")):
        add(Case(f"run {suite} {root}", _data_run(root, suite)))
        add(Case(f"doctor --load {root}", ("doctor", "--load", "--data-root", f"{{w}}/{root}")))
    add(Case("doctor --data-root missing", ("doctor", "--data-root", "{w}/missing")))
    add(Case("doctor --data-root a file", ("doctor", "--data-root", "{w}/file.txt")))
    add(Case("doctor --pretrained ''", ("doctor", "--pretrained", "")))
    # ---- list ------------------------------------------------------------------------
    add(Case("list nope", ("list", "nope")))
    add(Case("list --plugin exits at import", ("list", "methods", "--plugin",
                                               "{w}/plugins/exits.py")))
    add(Case("list --plugin missing", ("list", "methods", "--plugin", "{w}/missing.py")))
    # ---- build -----------------------------------------------------------------------
    build = ("build", "--suite", "mini-c", "--shift", "fog", "--severity", "1", "--quiet")
    for flag, value in (("--workers", "-1"), ("--severity", "0"), ("--out", ""),
                        ("--out", "{w}/file.txt"), ("--out", "{w}/file.txt/sub"),
                        ("--out", UNWRITABLE + "/b"), ("--data-root", "{w}/missing")):
        add(Case(f"build {flag} {value.replace('{w}/', '') or repr(value)}",
                 (*build, flag, value) if flag != "--severity" else
                 ("build", "--suite", "mini-c", "--severity", value)))
    add(Case("build --suite nope", ("build", "--suite", "nope")))
    add(Case("build a suite of clean cells only", ("build", "--suite", "nocaps", "--data-root",
                                                   "{w}/nocaps-abs")))
    add(Case("build coco-c coco-dotdot", ("build", "--suite", "coco-c", "--data-root",
                                          "{w}/coco-dotdot", "--shift", "fog", "--severity",
                                          "1", "--workers", "1", "--quiet"), kind=ESCAPE))
    # ---- leaderboard, compare, plot ---------------------------------------------------
    for cmd, extra in (("leaderboard", ()), ("compare", ("--method", "tent"))):
        for value in ("{w}/dir", "{w}/file.txt/x.md", UNWRITABLE + "/x.md", ""):
            add(Case(f"{cmd} --out {value.replace('{w}/', '') or repr(value)}",
                     (cmd, "{w}/results", *extra, "--out", value)))
        add(Case(f"{cmd} missing folder", (cmd, "{w}/missing", *extra)))
        add(Case(f"{cmd} a file as folder", (cmd, "{w}/file.txt", *extra)))
        add(Case(f"{cmd} another schema", (cmd, "{w}/foreign", *extra)))
        add(Case(f"{cmd} --metric nope", (cmd, "{w}/results", *extra, "--metric", "nope")))
        add(Case(f"{cmd} --suite ''", (cmd, "{w}/results", *extra, "--suite", "")))
    add(Case("compare --method nope", ("compare", "{w}/results", "--method", "nope")))
    add(Case("leaderboard --suite nope", ("leaderboard", "{w}/results", "--suite", "nope")))
    terms = ("terms", "{w}/results", "--method", "tent")
    for value in ("{w}/dir", "{w}/file.txt/x.md", UNWRITABLE + "/x.md", ""):
        add(Case(f"terms --out {value.replace('{w}/', '') or repr(value)}",
                 (*terms, "--out", value)))
    for value in ("{w}/missing", "{w}/file.txt", "{w}/foreign"):
        add(Case(f"terms {value.replace('{w}/', '')} as results",
                 ("terms", value, "--method", "tent")))
    add(Case("terms --method nope", ("terms", "{w}/results", "--method", "nope")))
    add(Case("terms --method ''", ("terms", "{w}/results", "--method", "")))
    add(Case("terms --suite nope", (*terms, "--suite", "nope")))
    add(Case("terms --suite ''", (*terms, "--suite", "")))
    add(Case("terms without --method", ("terms", "{w}/results")))
    for value in ("{w}/file.txt", "{w}/file.txt/figs", UNWRITABLE + "/figs", ""):
        add(Case(f"plot --out {value.replace('{w}/', '') or repr(value)}",
                 ("plot", "{w}/results", "--out", value)))
    add(Case("plot --format gif", ("plot", "{w}/results", "--out", "{w}/figs", "--format",
                                   "gif")))
    add(Case("plot default folder is a file", ("plot", "{w}/results-figfile")))
    add(Case("plot missing folder", ("plot", "{w}/missing")))
    # ---- similarity, compare-queries ---------------------------------------------------
    sim = ("similarity", "--suite", "smoke", "--pretrained", "random", "--quiet")
    for flag, value in (("--workers", "-1"), ("--limit", "0"), ("--severity", "0"),
                        ("--out", "{w}/dir"), ("--out", UNWRITABLE + "/s.md"),
                        ("--csv", "{w}/file.txt/s.csv"), ("--out", ""),
                        ("--data-root", "{w}/file.txt")):
        add(Case(f"similarity {flag} {value.replace('{w}/', '') or repr(value)}",
                 (*sim, flag, value)))
    add(Case("similarity --suite nope", ("similarity", "--suite", "nope")))
    cq = ("compare-queries", "--suite", "coco-c", "--data-root")
    add(Case("compare-queries --data-root missing", (*cq, "{w}/missing")))
    add(Case("compare-queries --limit 0", (*cq, "{w}/dir", "--limit", "0")))
    add(Case("compare-queries --csv a folder", (*cq, "{w}/dir", "--csv", "{w}/dir")))
    # ---- ablate, mini ------------------------------------------------------------------
    add(Case("ablate two methods", ("ablate", "--method", "tent,sar", *SMOKE,
                                    "--out", "{w}/out")))
    add(Case("ablate --table a folder", ("ablate", "--method", "tent", *SMOKE,
                                         "--out", "{w}/out", "--table", "{w}/dir")))
    add(Case("ablate --seed -1", ("ablate", "--method", "tent", *SMOKE, "--seed", "-1",
                                  "--out", "{w}/out")))
    for flag, value in (("--steps", "0"), ("--batch-size", "1"), ("--seed", "-1"),
                        ("--out", "{w}/dir"), ("--out", "{w}/file.txt/m.pt"), ("--lr", "0"),
                        ("--warmup", "-1"), ("--init", "{w}/missing.pt"),
                        ("--logit-scale", "-5"), ("--device", "tpu")):
        add(Case(f"mini train {flag} {value.replace('{w}/', '')}",
                 ("mini", "train", "--quiet", flag, value)))
    add(Case("mini eval --pretrained missing", ("mini", "eval", "--pretrained",
                                                "{w}/missing.pt")))
    add(Case("mini eval --split test5k on mini-reid", ("mini", "eval", "--model", "mini-reid",
                                                       "--split", "test5k")))
    add(Case("mini frob", ("mini", "frob")))
    # ---- perf --------------------------------------------------------------------------
    for argv in (("run", "--method", "nope"), ("run", "--suite", "nope"), ("run", "--threads", "0"),
                 ("run", "--limit", "0"), ("run", "--repeat", "0"), ("build", "--images", "0"),
                 ("build", "--workers", "-1"), ("sweep", "--dask-workers", "0"),
                 ("sweep", "--method", "nope"), ("profile", "--threads", "0"),
                 ("profile", "--method", "nope"), ("profile", "--trace", "{w}/file.txt"),
                 ("overhead", "--repeat", "0"), ("overhead", "--suite", "nope"),
                 ("diagnostics", "--repeat", "0"), ("diagnostics", "--method", "nope"),
                 ("diagnostics", "--suite", "nope")):
        add(Case(f"perf {' '.join(argv).replace('{w}/', '')}", ("perf", *argv)))
    add(Case("no command", ()))
    add(Case("unknown command", ("frobnicate",)))
    # ---- good input: what the checks must let through ------------------------------------
    add(Case("terms of a method without loss terms (diagnostics only)",
             ("terms", "{w}/results", "--method", "tent"), kind=CONTROL, expect=0))
    add(Case("leaderboard of a results folder", ("leaderboard", "{w}/results"), kind=CONTROL,
             expect=0))
    add(Case("run with a method that fails on t2i",
             ("run", "--method", "source,flaky", *SMOKE, "--out", "{w}/out-flaky",
              "--plugin", str(PLUGINS / "flaky.py")), kind=FAILS, expect=3))
    add(Case("run --set tent.temperature=none", ("run", "--method", "tent", *SMOKE,
                                                 "--set", "tent.temperature=none",
                                                 "--out", "{w}/out-none"),
             kind=CONTROL, expect=0))
    return c


# ---- the sandbox ---------------------------------------------------------------------------

def _image(path: Path, seed: int = 0) -> None:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(path)


def _nocaps(root: Path, second: str, text: str | None = None) -> None:
    """Nocaps with an image of each domain; `second` is a second in-domain image."""
    folder = root / "nocaps"
    records = []
    for k, domain in enumerate(("in-domain", "near-domain", "out-domain")):
        _image(folder / "validation" / f"{k}.jpg", k)
        records.append({"image": f"validation/{k}.jpg", "caption": ["a photo"],
                        "domain": domain})
    records.insert(1, {"image": second, "caption": ["a photo"], "domain": "in-domain"})
    (folder / "annotations.json").write_text(text or json.dumps(records))


def _fashion(root: Path, second: bytes) -> None:
    folder = root / "Fashion-Gen"
    _image(folder / "extracted_valid_images" / "100_1.png")
    info = folder / "full_valid_info_PAI"
    info.mkdir(parents=True)
    (info / "0.pkl").write_bytes(pickle.dumps({"img_name": "100_1.png", "captions": "a bag"}))
    (info / "1.pkl").write_bytes(second)


def make_sandbox(w: Path) -> None:
    """Every fixture the cases name, under `w`."""
    import torch

    (w / "dir").mkdir()
    (w / "file.txt").write_text("a file\n")
    (w / "bad.json").write_text("{not json")
    (w / "types.json").write_text(json.dumps({"tent": {"temperature": "warm"}}))
    secret = w / "outside" / "secret.jpg"
    _image(secret, 9)
    _nocaps(w / "nocaps-abs", str(secret))
    _nocaps(w / "nocaps-dotdot", "../../outside/secret.jpg")
    _nocaps(w / "nocaps-link", "validation/link.jpg")
    (w / "nocaps-link" / "nocaps" / "validation" / "link.jpg").symlink_to(secret)
    _nocaps(w / "nocaps-bigint", "", text='[{"image": "validation/0.jpg", "caption": ["a"], '
            '"domain": "in-domain", "img_id": ' + "7" * 5000 + "}]")
    _nocaps(w / "nocaps-notjson", "", text="[{]")
    _fashion(w / "fashion-escape", pickle.dumps({"img_name": "../../../outside/secret.jpg",
                                                 "captions": "a coat"}))
    _fashion(w / "fashion-link", pickle.dumps({"img_name": "link.png", "captions": "a coat"}))
    (w / "fashion-link" / "Fashion-Gen" / "extracted_valid_images" / "link.png").symlink_to(
        secret)
    _fashion(w / "fashion-badpickle", b"\x80\x04N}b.")  # BUILD on None: AttributeError
    coco = w / "coco-dotdot" / "coco"
    _image(coco / "images" / "val2014" / "0.jpg")
    (coco / "annotations").mkdir(parents=True)
    (coco / "annotations" / "coco_karpathy_test.json").write_text(json.dumps(
        [{"image": rel, "caption": ["a photo"]}
         for rel in ("val2014/0.jpg", "../../../outside/secret.jpg")]))
    _checkpoints(w / "ckpt", torch)
    plugins = w / "plugins"
    plugins.mkdir()
    (plugins / "exits.py").write_text("import sys\n\nsys.exit(0)\n")
    (plugins / "notdc.py").write_text(
        "from baselines.source import Source\nfrom bench.api import register_method\n\n\n"
        "@register_method('notdc')\nclass NotDataclass(Source):\n    name = 'notdc'\n\n"
        "    class Config:\n        lr = 1e-3\n")
    foreign = w / "foreign" / "cells"
    foreign.mkdir(parents=True)
    import pandas as pd

    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(foreign / "x.parquet")
    code, _, err = call("run", "--method", "source,tent", *SMOKE, "--out", str(w / "results"))
    if code != 0:
        raise RuntimeError(f"the fixture run failed: {err}")
    import shutil

    shutil.copytree(w / "results", w / "results-figfile")
    (w / "results-figfile" / "figures").write_text("a file where the figures go\n")


def _checkpoints(folder: Path, torch) -> None:
    from bench.files import package_assets

    folder.mkdir()
    state = torch.load(package_assets() / "models" / "mini-clip.pt", map_location="cpu",
                       weights_only=True)
    state = state.get("state_dict", state)
    torch.save({**state, "text_projection": torch.zeros(3, 3)}, folder / "wrong_shape.pt")
    pos = state["visual.positional_embedding"]
    torch.save({**state, "visual.positional_embedding": torch.zeros(50, pos.shape[1])},
               folder / "wrong_pos.pt")
    torch.save({k: v for k, v in state.items() if not k.startswith("ln_final")},
               folder / "missing_keys.pt")
    torch.save({**state, "head.weight": torch.zeros(2)}, folder / "extra_keys.pt")
    (folder / "empty.pt").write_bytes(b"")
    (folder / "garbage.pt").write_bytes(b"not a checkpoint at all")


def snapshot(w: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime) of every file under `w` but the cache, (-1, 0) for
    each folder."""
    out = {}
    for p in w.rglob("*"):
        rel = p.relative_to(w).as_posix()
        if rel == "cache" or rel.startswith("cache/"):
            continue
        st = p.lstat()
        # a folder counts by its presence: its mtime moves when a probe file is made and
        # removed in it (the writability check of an output folder), which writes nothing
        out[rel] = (st.st_size, st.st_mtime_ns) if p.is_file() else (-1, 0)
    return out


# ---- running a case ----------------------------------------------------------------------

def call(*argv: str) -> tuple[int, str, str]:
    """The CLI in this process: (exit code, stdout, stderr); an exception that escapes
    `main` is written to stderr as a traceback, exit 1 (what a user would see)."""
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        except BaseException:  # noqa: BLE001 - what escapes is what the table reports
            traceback.print_exc()
            code = 1
    return code, out.getvalue(), err.getvalue()


def run_case(case: Case, w: Path, k: int = 0) -> Outcome:
    """Run `case`; its results folder is its own (case<k>/out), so no case finds the cells
    of another already stored."""
    argv = [a.replace("{w}/out", f"{w}/case{k}/out").replace("{w}", str(w)) for a in case.argv]
    before = snapshot(w)
    code, _, err = call(*argv)
    after = snapshot(w)
    wrote = sorted(k for k in after if before.get(k) != after[k])
    return Outcome(case, code, "Traceback (most recent call last)" in err, wrote, err)


@contextlib.contextmanager
def sandbox_env(w: Path):
    """The environment every case runs in: cwd and cache in the sandbox, offline, quiet."""
    from bench.files import data_home

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    w.mkdir(parents=True, exist_ok=True)
    os.environ.update(BENCH_DATA=str(data_home()), BENCH_CACHE=str(w / "cache"),
                      BENCH_OFFLINE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1")
    os.chdir(w)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_all(w: Path, only: list[Case] | None = None) -> list[Outcome]:
    with sandbox_env(w):
        make_sandbox(w)
        return [run_case(case, w, k) for k, case in enumerate(only or cases())]


# ---- the table -----------------------------------------------------------------------------

def summary(outcomes: list[Outcome]) -> dict[str, int]:
    bad = [o for o in outcomes if o.bad]
    return {
        "cases": len(outcomes),
        "bad-input cases": len(bad),
        "tracebacks": sum(o.traceback for o in outcomes),
        "silent acceptances (bad input, exit 0)": sum(o.code == 0 for o in bad),
        "paths outside a root accepted": sum(o.code == 0 for o in bad if o.case.kind == ESCAPE),
        "wrong exit codes": sum(o.code != o.case.expect for o in outcomes),
        "writes on bad input": sum(bool(o.wrote) for o in bad),
        "errors of more than one line": sum(len(o.lines) != 1 for o in bad),
        "bad input with exit 2 and nothing written": sum(o.code == 2 and not o.wrote
                                                         for o in bad),
    }


HEADER = ("| case | kind | exit (expected) | traceback | wrote | stderr (first line) |\n"
          "|---|---|---|---|---|---|")


def row(o: Outcome) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")[:110]

    first = o.lines[0] if o.lines else ""
    return (f"| {cell(o.case.name)} | {o.case.kind} | {o.code} ({o.case.expect}) | "
            f"{'YES' if o.traceback else 'no'} | "
            f"{cell(', '.join(o.wrote[:2])) if o.wrote else 'no'} | {cell(first)} |")


def summary_table(outcomes: list[Outcome]) -> str:
    lines = ["| summary | count |", "|---|---|"]
    return "\n".join(lines + [f"| {k} | {v} |" for k, v in summary(outcomes).items()])


def table(outcomes: list[Outcome]) -> str:
    return "\n".join([HEADER, *map(row, outcomes), "", summary_table(outcomes)])


def main(argv: list[str]) -> int:
    """Every case, or those whose name contains one of the words in `argv`."""
    import tempfile

    chosen = [c for c in cases() if not argv or any(word in c.name for word in argv)]
    print(HEADER, flush=True)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-badinput-") as tmp:
        w = Path(tmp) / "w"
        with sandbox_env(w):
            make_sandbox(w)
            for k, case in enumerate(chosen):  # each row as it ends: a hang shows where
                outcomes.append(run_case(case, w, k))
                print(row(outcomes[-1]), flush=True)
    print()
    print(summary_table(outcomes))
    return 1 if any(o.problems() for o in outcomes) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main(sys.argv[1:]))
