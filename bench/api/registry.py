"""The registries of methods, suites, shifts and models, and plugin loading.

Third-party packages add entries through the entry-point groups
``bench.methods``, ``bench.suites``, ``bench.shifts`` and ``bench.models``
(an entry point names the object to register, e.g. ``mytta = "mypkg:MyMethod"``),
or a file on disk with ``--plugin path.py`` that uses the decorators below.

bench's own methods (``baselines/``, ``methods/``) arrive the same way: the
``[project.entry-points."bench.methods"]`` table of bench's pyproject.toml, read from
the installed ``bench-tta`` distribution, or from pyproject.toml itself in a source
checkout that is not installed. The core imports no method package.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from bench.api.contract import DEFAULT_RANK
from bench.api.errors import BenchError, UnknownNameError
from bench.api.toml import tomllib

T = TypeVar("T")

# Data files a registry can read as an entry (a suite file), by --plugin or an entry point.
FILE_SUFFIXES = (".toml",)
# The plugin being imported right now: its registrations are attributed to it.
_loading: list[str] = []


class Registry(Generic[T]):
    """Name -> object for one kind (methods, suites, shifts, models).

    Objects arrive by the `register` decorator (bench's own and plugin files) or
    through the Python entry-point group `group` (third-party packages), loaded
    lazily the first time the registry is read.
    """

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._entry_points_loaded = False
        # reads a data file that defines an entry (suites: a TOML file), set by the layer
        # that owns the format; None: this kind has no file form
        self.file_loader: Callable[[Any], T] | None = None

    def register(self, name: str | None = None, origin: str | None = None) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name or getattr(obj, "name", None) or obj.__name__, obj, origin)
            return obj
        return deco

    def add(self, name: str, obj: T, origin: str | None = None) -> None:
        origin = origin or (f"plugin {_loading[-1]}" if _loading else "bench")
        if name in self._items and self._items[name] is not obj:
            raise BenchError(f"{self.kind} '{name}' is registered twice",
                             f"by {self._origin[name]} and {origin}")
        self._items[name] = obj
        self._origin[name] = origin

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in importlib.metadata.entry_points(group=self.group):
            if _is_bench(ep):
                continue  # bench's own: `load_builtins`
            try:
                obj = self._load_file_entry_point(ep) or ep.load()
            except (Exception, SystemExit) as err:  # a broken plugin must not break bench
                print(f"warning: cannot load {self.kind} plugin '{ep.name}' ({ep.value}): {err}",
                      file=sys.stderr)
                continue
            if ep.name not in self._items and not isinstance(obj, type(sys)):
                self.add(ep.name, obj, origin=f"entry point {ep.value}")

    def _load_file_entry_point(self, ep: importlib.metadata.EntryPoint) -> T | None:
        """An entry point naming a data file inside a package (``"mypkg:suites/x.toml"``):
        the entry that file defines; None for an ordinary ``module:object`` entry point."""
        if self.file_loader is None or not ep.value.endswith(FILE_SUFFIXES):
            return None
        package, _, rel = ep.value.partition(":")
        return self.file_loader(importlib.resources.files(package.strip()) / rel.strip())

    def get(self, name: str) -> T:
        self._load_entry_points()
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self.names())
        return self._items[name]

    def __contains__(self, name: str) -> bool:
        self._load_entry_points()
        return name in self._items

    def names(self) -> list[str]:
        self._load_entry_points()
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load_entry_points()
        return iter(list(self._items.items()))

    def origin(self, name: str) -> str:
        return self._origin.get(name, "?")


def _import_error(spec: str, err: Exception) -> BenchError:
    """One line naming the plugin and what went wrong inside it."""
    if isinstance(err, ModuleNotFoundError) and err.name:
        return BenchError(f"plugin {spec} failed to import: it needs module '{err.name}', "
                          "which is not installed", f"pip install the package providing {err.name}")
    return BenchError(f"plugin {spec} failed to import: {type(err).__name__}: {err}")


def _run_plugin(spec: str, load: Callable[[], object]) -> None:
    _loading.append(spec)
    try:
        load()
    except SystemExit as err:  # sys.exit() at import would end bench silently, exit 0
        for name in (f"bench_plugin_{Path(spec).stem}", spec):  # not half-imported next time
            sys.modules.pop(name, None)
        raise BenchError(f"plugin {spec} called sys.exit({err.code!r}) while importing",
                         "a plugin must register things, not exit") from None
    except BenchError as err:
        if spec in str(err):
            raise
        raise BenchError(f"plugin {spec}: {err}") from err
    finally:
        _loading.pop()


def load_plugin(spec: str) -> None:
    """Import a plugin: a path to a .py file, or a dotted module name.

    Importing it runs its `@register_*` decorators, attributed to the plugin.
    Any failure is one `BenchError` line naming the plugin.
    """
    path = Path(spec)
    if spec.endswith(FILE_SUFFIXES):
        _load_suite_file(spec, path)
        return
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise BenchError(f"plugin file {spec} does not exist")
        mod_name = f"bench_plugin_{path.stem}"
        loaded = sys.modules.get(mod_name)
        if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == path.resolve():
            return  # already imported: its registrations are in place
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise BenchError(f"cannot import plugin file {spec}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module

        def load() -> None:
            try:
                module_spec.loader.exec_module(module)
            except BenchError:
                del sys.modules[mod_name]
                raise
            except Exception as err:
                del sys.modules[mod_name]
                raise _import_error(spec, err) from err
        _run_plugin(spec, load)
        return
    if spec in sys.modules:
        return

    def load_module() -> None:
        try:
            importlib.import_module(spec)
        except BenchError:
            raise
        except ModuleNotFoundError as err:
            if err.name and (spec == err.name or spec.startswith(err.name + ".")):
                raise BenchError(f"plugin module '{spec}' not found",
                                 "pass a .py file path or an importable module") from err
            raise _import_error(spec, err) from err
        except Exception as err:
            raise _import_error(spec, err) from err
    _run_plugin(spec, load_module)


def _load_suite_file(spec: str, path: Path) -> None:
    """Register the suite a TOML file defines (``--suite-file``), once per file."""
    if not path.is_file():
        raise BenchError(f"suite file {spec} does not exist")
    if SUITES.file_loader is None:
        load_builtins()  # the suites layer sets the file reader when it registers bench's own
    suite = SUITES.file_loader(path)
    name = getattr(suite, "name", path.stem)
    if name in SUITES and SUITES.origin(name) == f"suite file {path.resolve()}":
        return  # already read: the same file named again (e.g. by a dask worker)
    SUITES.add(name, suite, origin=f"suite file {path.resolve()}")


METHODS: Registry = Registry("method", "bench.methods")
SUITES: Registry = Registry("suite", "bench.suites")
SHIFTS: Registry = Registry("shift", "bench.shifts")
MODELS: Registry = Registry("model", "bench.models")

register_method = METHODS.register
register_suite = SUITES.register
register_shift = SHIFTS.register
register_model = MODELS.register

# Modules whose import registers bench's own suites, shifts and models. bench's methods
# are entry points (`builtin_method_targets`).
_BUILTIN_MODULES = (
    "bench.shifts",
    "bench.models.registered",
    "bench.models.blip_weights",
    "bench.suites.files",
)
DISTRIBUTION = "bench-tta"
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
_loaded = False


def _is_bench(ep: importlib.metadata.EntryPoint) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and dist.metadata["Name"] == DISTRIBUTION


def builtin_method_targets(pyproject: Path | None = None) -> dict[str, str]:
    """bench's own methods, name -> ``"module:Class"``: the ``bench.methods`` entry points of
    the installed bench-tta distribution, else (not installed, or installed before the table
    existed) the same table in the pyproject.toml next to the package."""
    try:
        eps = importlib.metadata.distribution(DISTRIBUTION).entry_points
        installed = {ep.name: ep.value for ep in eps if ep.group == METHODS.group}
    except importlib.metadata.PackageNotFoundError:
        installed = {}
    if installed and pyproject is None:
        return installed
    path = pyproject or _PYPROJECT
    if not path.is_file():
        raise BenchError(f"bench's methods are not registered: the {DISTRIBUTION} distribution "
                         f"has no '{METHODS.group}' entry points and {path} cannot be read",
                         "pip install -e . in the bench checkout")
    with path.open("rb") as fh:
        table = tomllib.load(fh).get("project", {}).get("entry-points", {}).get(METHODS.group)
    if not table:
        raise BenchError(f"{path} has no [project.entry-points.\"{METHODS.group}\"] table",
                         "pip install -e . in the bench checkout")
    return dict(table)


def load_builtins() -> None:
    """bench's own registrations, once (cheap: no model or data is loaded)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in _BUILTIN_MODULES:
        importlib.import_module(name)
    for name, target in builtin_method_targets().items():
        ep = importlib.metadata.EntryPoint(name, target, METHODS.group)
        METHODS.add(name, ep.load(), origin="bench")


def method_rank(name: str) -> int:
    """Where a method sits in tables and plots (the class's ``rank``; lower first). A name
    not registered now (e.g. a plugin's, in old results) ranks with plugins (1000)."""
    load_builtins()
    cls = METHODS.get(name) if name in METHODS else None
    return int(getattr(cls, "rank", DEFAULT_RANK))


def load_plugins(specs: list[str] | None) -> None:
    load_builtins()
    for spec in specs or []:
        load_plugin(spec)


__all__ = ["METHODS", "SUITES", "SHIFTS", "MODELS", "register_method", "register_suite",
           "register_shift", "register_model", "load_builtins", "load_plugins", "method_rank",
           "builtin_method_targets"]
