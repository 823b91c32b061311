"""Method hyperparameters: defaults dataclasses, overrides from the CLI or a config file."""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

from bench.api.errors import ConfigError
from bench.api.registry import METHODS


def parse_value(text: str) -> Any:
    """'1e-3' -> 0.001, 'true' -> True, 'none' -> None, '[1,2]' -> [1, 2], else the string."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_sets(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["sar.rho=0.1", "tent.lr=1e-3"]`` -> ``{"sar": {"rho": 0.1}, "tent": {"lr": 0.001}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        method, dot, field = key.strip().partition(".")
        if not sep or not dot or not method or not field:
            raise ConfigError(f"bad --set '{item}'", "use METHOD.FIELD=VALUE, e.g. sar.rho=0.1")
        out.setdefault(method, {})[field] = parse_value(value)
    return out


def read_config_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """A JSON or TOML file ``{method: {field: value}}``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        if path.suffix == ".toml":
            from bench.api.toml import parse_toml
            data = parse_toml(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (ValueError, ImportError) as err:
        raise ConfigError(f"cannot parse config file {path}: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"config file {path} must map method names to tables of fields")
    return data


def _coerce(cls: type, field: dataclasses.Field, value: Any) -> Any:
    """`value` as the field's declared type (``Optional[...]``, unions, ``Literal``, lists and
    tuples included), else a ConfigError: ``true`` is not a float, ``abc`` not a number."""
    try:
        hint = typing.get_type_hints(cls).get(field.name, Any)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved is not checked
        hint = Any
    try:
        return coerce(hint, value)
    except TypeError:
        pass
    # `--set` reads 'none', 'true' and numbers as JSON; a field declared as text takes them
    # back as the text the user wrote ('--set rest.decouple=none' is the mode "none")
    if isinstance(value, (bool, int, float)) or value is None:
        text = "none" if value is None else json.dumps(value)
        try:
            return coerce(hint, text)
        except TypeError:
            pass
    raise ConfigError(f"{cls.__qualname__}.{field.name} expects {_type_name(hint)}, "
                      f"got {value!r}")


def coerce(hint: Any, value: Any) -> Any:
    """`value` checked against the type `hint` (an int becomes a float where a float is
    declared); TypeError when it does not fit. Types bench cannot check are accepted."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return value
    if hint is type(None) or hint is None:
        if value is None:
            return None
        raise TypeError(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return coerce(arg, value)
            except TypeError:
                continue
        raise TypeError(hint)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise TypeError(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(hint)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(hint)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(hint)
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError(hint)
    if origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, (list, tuple)):
            raise TypeError(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise TypeError(hint)
            return tuple(coerce(a, v) for a, v in zip(args, value, strict=True))
        item = args[0] if args else Any
        items = [coerce(item, v) for v in value]
        return tuple(items) if origin is tuple else items
    return value


def _type_name(hint: Any) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("NoneType", "None")


# Options that must be > 0 whatever the method; every other number must be finite and >= 0.
# Names ending in `momentum` or `ratio` are shares in [0, 1]. A field's metadata
# {"min": a, "max": b} overrides these defaults.
POSITIVE = frozenset({"lr", "tau", "temperature", "rho", "uniformity_t", "queue_capacity",
                      "fisher_batch_size", "patch_len", "candidates"})


def _bounds(field: dataclasses.Field) -> tuple[float, float, bool]:
    """(low, high, low is exclusive) for a numeric option."""
    if "min" in field.metadata or "max" in field.metadata:
        return field.metadata.get("min", -math.inf), field.metadata.get("max", math.inf), False
    if field.name.endswith(("momentum", "ratio")):
        return 0.0, 1.0, False
    return 0.0, math.inf, field.name in POSITIVE


def check_range(method: str, field: dataclasses.Field, value: Any) -> None:
    """A numeric option must be finite and inside its bounds (else exit 2)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, strict = _bounds(field)
    if not math.isfinite(value) or value < low or value > high or (strict and value == low):
        want = f"{'>' if strict else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf
                                                        else "")
        raise ConfigError(f"{method}.{field.name}={value!r} is out of range", f"must be {want}")


def config_class(method: str) -> type:
    """The method's ``Config``, which must be a dataclass (a plugin's that is not: exit 2)."""
    cls = METHODS.get(method).Config  # TTAMethod declares one; a plugin's must be a dataclass
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ConfigError(f"method '{method}' ({METHODS.origin(method)}) declares a Config "
                          "that is not a dataclass", "decorate its Config with @dataclass")
    return cls


def make_config(method: str, overrides: dict[str, Any] | None = None) -> Any:
    """The method's default config with overrides applied (unknown fields are an error)."""
    cls = config_class(method)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    overrides = overrides or {}
    unknown = [k for k in overrides if k not in fields]
    if unknown:
        raise ConfigError(f"method '{method}' has no option {', '.join(unknown)}",
                          f"options: {', '.join(fields) or 'none'}")
    values = {k: _coerce(cls, fields[k], v) for k, v in overrides.items()}
    for k, v in values.items():
        check_range(method, fields[k], v)
    return cls(**values)


def config_label(method: str, config: Any) -> str:
    """`method` for the default config, else ``method[k=v,...]`` naming the changed fields."""
    default = dataclasses.asdict(config_class(method)())
    current = dataclasses.asdict(config)
    changed = [f"{k}={current[k]}" for k in sorted(current) if current[k] != default.get(k)]
    return method if not changed else f"{method}[{','.join(changed)}]"
