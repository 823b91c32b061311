"""Method hyperparameters: defaults dataclasses, overrides from the CLI or a config file."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

from bench.errors import ConfigError
from bench.registry import METHODS


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
            import tomllib
            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (ValueError, ImportError) as err:
        raise ConfigError(f"cannot parse config file {path}: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"config file {path} must map method names to tables of fields")
    return data


def _coerce(cls: type, field: dataclasses.Field, value: Any) -> Any:
    hints = typing.get_type_hints(cls)
    hint = hints.get(field.name)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, bool, str) and value is not None and not isinstance(value, hint):
        raise ConfigError(f"{cls.__qualname__}.{field.name} expects {hint.__name__}, "
                          f"got {value!r}")
    return value


def make_config(method: str, overrides: dict[str, Any] | None = None) -> Any:
    """The method's default config with overrides applied (unknown fields are an error)."""
    cls = METHODS.get(method).Config
    fields = {f.name: f for f in dataclasses.fields(cls)}
    overrides = overrides or {}
    unknown = [k for k in overrides if k not in fields]
    if unknown:
        raise ConfigError(f"method '{method}' has no option {', '.join(unknown)}",
                          f"options: {', '.join(fields) or 'none'}")
    values = {k: _coerce(cls, fields[k], v) for k, v in overrides.items()}
    return cls(**values)


def config_label(method: str, config: Any) -> str:
    """`method` for the default config, else ``method[k=v,...]`` naming the changed fields."""
    default = dataclasses.asdict(METHODS.get(method).Config())
    current = dataclasses.asdict(config)
    changed = [f"{k}={current[k]}" for k in sorted(current) if current[k] != default.get(k)]
    return method if not changed else f"{method}[{','.join(changed)}]"
