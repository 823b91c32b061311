"""bench.commands.inputs: every option of every command is checked while parsing, and
method settings are checked against their declared types."""

from __future__ import annotations

import argparse
import pickle
import typing
from dataclasses import dataclass
from typing import Literal, Optional

import pytest
from helpers_run import cli

from bench.api.errors import BenchError, UnknownNameError, WeightsError
from bench.cli import build_parser
from bench.commands import inputs
from bench.engine.method_configs import coerce


def test_every_option_of_every_command_has_a_validator():
    assert inputs.unchecked_options(build_parser()) == []


def test_an_option_without_a_validator_is_refused_when_the_parser_is_built():
    parser = inputs.OneLineParser(prog="x")
    sub = parser.add_subparsers()
    sub.add_parser("cmd").add_argument("--count", type=int)
    sub.add_parser("ok").add_argument("--count", type=inputs.count)
    assert inputs.unchecked_options(parser) == ["cmd --count"]
    with pytest.raises(RuntimeError, match="cmd --count"):
        inputs.check_parser(parser)


@pytest.mark.parametrize("check, text, message", [
    (inputs.seed, "99999999999999999999999", "must be between 0 and 4294967295"),
    (inputs.seed, "-1", "got -1"),
    (inputs.count, "0", "must be at least 1, got 0"),
    (inputs.count, "1.5", "expected an integer"),
    (inputs.severity, "0", "bad value '0'"),
    (inputs.text, "  ", "non-empty"),
    (inputs.out_dir, "", "empty string"),
    (inputs.scheduler, "tcp://host", "bad scheduler address"),
])
def test_bad_values_are_refused(check, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        check(text)


def test_good_values_pass():
    assert inputs.seed("4294967295") == 4294967295
    assert inputs.seeds("0,1,2") == [0, 1, 2]
    assert inputs.severity("ALL") == "all" and inputs.severity("1,3") == "1,3"
    assert inputs.scheduler("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"


def test_output_paths(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder, not a file"):
        inputs.out_file(str(tmp_path))
    with pytest.raises(argparse.ArgumentTypeError, match="/file is a file, not a folder"):
        inputs.out_dir(str(tmp_path / "file"))
    with pytest.raises(argparse.ArgumentTypeError, match="is a file, not a folder"):
        inputs.out_file(str(tmp_path / "file" / "deeper" / "x.md"))
    with pytest.raises(argparse.ArgumentTypeError, match="cannot be written"):
        inputs.out_dir("/proc/bench-test")
    assert inputs.out_file(str(tmp_path / "new" / "x.md")) == tmp_path / "new" / "x.md"
    assert not (tmp_path / "new").exists()  # checking writes nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_argparse_errors_are_one_line(capsys):
    code, _, err = cli("run", "--suite", "smoke")
    assert code == 2
    assert err.count("\n") == 1 and "required: --method" in err and "usage:" not in err


@dataclass
class _Config:
    temperature: Optional[float] = None  # noqa: UP045 - the spelling plugins use too
    lr: float | None = 1e-3
    steps: int = 1
    flag: bool = True
    mode: Literal["a", "b"] = "a"
    sizes: tuple[int, int] = (1, 2)


@pytest.mark.parametrize("field, value, expected", [
    ("temperature", None, None), ("temperature", 1, 1.0), ("lr", 0.5, 0.5),
    ("steps", 3, 3), ("flag", False, False), ("mode", "b", "b"), ("sizes", [3, 4], (3, 4)),
])
def test_settings_of_the_declared_type_are_taken(field, value, expected):
    got = coerce(typing.get_type_hints(_Config)[field], value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("hint, value", [
    (Optional[float], True), (Optional[float], "abc"), (float | None, "true"),  # noqa: UP045
    (int, 2.5), (int, True), (bool, 1), (Literal["a", "b"], "c"), (tuple[int, int], [1]),
    (tuple[int, int], [1, "x"]), (str, 3),
])
def test_settings_of_another_type_are_refused(hint, value):
    with pytest.raises(TypeError):
        coerce(hint, value)


@pytest.mark.parametrize("setting, message", [
    ("tent.temperature=true", "Tent.Config.temperature expects float | None, got True"),
    ("tent.temperature=abc", "expects float | None, got 'abc'"),
    ("deyo.plpd_threshold=abc", "DeYO.Config.plpd_threshold expects float | None"),
])
def test_bad_settings_exit_2_before_any_cell(tmp_path, setting, message):
    code, _, err = cli("run", "--method", "tent,deyo", "--suite", "smoke", "--pretrained",
                       "random", "--limit", "8", "--set", setting, "--out", tmp_path / "out")
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_bench_error_from_a_worker_survives_pickling():
    err = pickle.loads(pickle.dumps(UnknownNameError("method", "nope", ["tent"])))
    assert type(err) is UnknownNameError and str(err) == "unknown method 'nope' (known: tent)"
    assert err.hint == "known: tent"


def test_every_bench_error_prints_as_one_line_with_its_hint():
    # e.g. BLIP's tokenizer error holding the hub library's multi-line exception
    err = WeightsError("no BERT tokenizer for blip-base: OSError: We couldn't connect.\n"
                       "Checkout your internet connection.", "set BENCH_BLIP_TOKENIZER")
    assert err.one_line() == ("no BERT tokenizer for blip-base: OSError: We couldn't connect. "
                              "(set BENCH_BLIP_TOKENIZER)")
    assert BenchError("", None).one_line() == "BenchError"


def test_blip_tokenizer_error_is_one_line(monkeypatch, tmp_path):
    import transformers

    from bench.api.registry import MODELS, load_builtins

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.\n"
                      "Checkout your internet connection or see the offline mode docs.")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", offline)
    monkeypatch.setenv("BENCH_BLIP_TOKENIZER", str(tmp_path / "no-tokenizer"))
    load_builtins()
    with pytest.raises(WeightsError) as err:
        MODELS.get("blip-base")._tokenizer(None)
    line = err.value.one_line()
    assert "\n" not in str(err.value)
    assert line.startswith("no BERT tokenizer for blip-base: OSError: We couldn't connect")
    assert line.endswith("or cache bert-base-uncased from the hub)")
    assert "BENCH_BLIP_TOKENIZER" in line


def test_a_plugin_that_exits_while_importing_is_one_line(tmp_path):
    plugin = tmp_path / "exits_on_import.py"
    plugin.write_text("import sys\n\nsys.exit(3)\n")
    code, out, err = cli("list", "methods", "--plugin", plugin)
    assert code == 2 and out == ""
    assert err == f"error: plugin {plugin} called sys.exit(3) while importing (a plugin must " \
                  "register things, not exit)\n"


def test_a_plugin_config_that_is_not_a_dataclass_is_one_line(tmp_path):
    plugin = tmp_path / "plain_config.py"
    plugin.write_text("from baselines.source import Source\nfrom bench.api import "
                      "register_method\n\n\n@register_method('plainconfig')\nclass Plain(Source):"
                      "\n    name = 'plainconfig'\n\n    class Config:\n        lr = 1e-3\n")
    code, _, err = cli("run", "--method", "plainconfig", "--suite", "smoke", "--pretrained",
                       "random", "--plugin", plugin, "--out", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1
    assert "method 'plainconfig' (plugin " in err and "not a dataclass" in err
    assert not (tmp_path / "out").exists()


def test_fit_problems_names_missing_unexpected_and_shapes():
    import torch

    from bench.models.checkpoint import fit_problems

    own = {"a": torch.zeros(2, 3), "b": torch.zeros(4), "c": torch.zeros(1), "logit_scale":
           torch.zeros(())}
    assert fit_problems(own, {**own, "logit_scale": torch.zeros(1)}) == ""  # scalar vs [1]
    state = {"a": torch.zeros(3, 2), "b": torch.zeros(4), "x": torch.zeros(1),
             "logit_scale": torch.zeros(())}
    assert fit_problems(own, state) == ("1 missing: c; 1 unexpected: x; 1 shape (checkpoint "
                                        "vs model): a (3, 2) vs (2, 3)")
    many = {f"k{i}": torch.zeros(1) for i in range(5)}
    assert fit_problems(many, {}) == "5 missing: k0, k1, k2 and 2 more"
