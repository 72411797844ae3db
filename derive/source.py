"""The resolver: MODEL as a user writes it (a preset name or a path) -> a ``Model``.

A Python model file (``cell.py``) defines ``network(**options) -> derive.Network``. It is trusted
code, so it is imported only here, when the command line names it; an answer file that names
one is refused (``allow_python=False``), since checking a student's file must never run code
the file points at.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
from pathlib import Path

from derive import presets
from derive.equations import modelfile
from derive.model import Model
from derive.network import DeclarationError, Network

PYTHON_SUFFIXES = (".py",)
EQUATION_SUFFIXES = (".md", ".tex", ".yaml", ".yml")
_loaded = itertools.count()


def builtin_models() -> list[Model]:
    """The built-in models, in the order ``derive list`` shows them."""
    return list(presets.PRESETS.values())


def looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(PYTHON_SUFFIXES + EQUATION_SUFFIXES)


def resolve(text: str, *, base: Path | None = None, allow_python: bool = True) -> Model:
    """The model ``text`` names: a preset, or a file (relative to ``base`` when given)."""
    if not looks_like_path(text):
        if text not in presets.PRESETS:
            raise DeclarationError(f"unknown preset {text!r} (known: {', '.join(presets.PRESETS)}; "
                                   "or give the path of a .py model file)")
        return presets.PRESETS[text]
    path = (base / text) if base is not None and not Path(text).is_absolute() else Path(text)
    if path.suffix in EQUATION_SUFFIXES:
        return modelfile.model(path, text)
    if path.suffix not in PYTHON_SUFFIXES:
        raise DeclarationError(f"{text}: a model file is a .py file (or a preset name)")
    if not allow_python:
        raise DeclarationError(f"{text}: an answer file cannot name a Python model (checking it would run that "
                               "code); pass it on the command line with --model")
    if not path.is_file():
        raise DeclarationError(f"no such model file: {text}")
    return python_model(path, text)


def python_model(path: Path, ref: str) -> Model:
    """The model a Python file declares with ``network(**options)``."""
    function = _network_function(path, ref)
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise DeclarationError(f"{ref}: network is not a function") from None
    named = {}
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY):
            raise DeclarationError(f"{ref}: network() takes its options by keyword, network(**options)")
        if p.kind == p.VAR_KEYWORD:
            continue
        if p.default is p.empty:
            raise DeclarationError(f"{ref}: network()'s option {p.name!r} needs a default value")
        named[p.name] = str(p.default)
    open_options = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    probe = _call(function, {}, ref)
    sizes = dict(probe.sizes_default)

    def factory(options, size_values):
        net = _call(function, options, ref)
        unknown = set(size_values) - set(net.sizes_default)
        if unknown:  # the options changed which sizes the network has
            raise DeclarationError(f"{ref}: with these options the network has no size {sorted(unknown)[0]!r}")
        net.sizes_default.update(size_values)
        net.options = {**options, **net.options}  # the header of `derive show` lists them
        return net

    return Model(ref, path.stem, "", dict.fromkeys(named), named, sizes, factory, open_options=open_options)


def _network_function(path: Path, ref: str):
    name = f"derive_model_{next(_loaded)}_{''.join(c if c.isalnum() else '_' for c in path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise DeclarationError(f"{ref}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # the model may import modules beside it
    try:
        spec.loader.exec_module(module)
    except DeclarationError as err:
        raise DeclarationError(f"{ref}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the user's code: one line, whatever it raised
        raise DeclarationError(f"{ref}: importing it failed ({type(err).__name__}: {err})") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    function = getattr(module, "network", None)
    if not callable(function):
        raise DeclarationError(f"{ref} defines no function network(**options)")
    return function


def _call(function, options: dict, ref: str) -> Network:
    try:
        net = function(**options)
    except DeclarationError as err:
        raise DeclarationError(f"{ref}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the user's code: one line, whatever it raised
        raise DeclarationError(f"{ref}: network() failed ({type(err).__name__}: {err})") from None
    if not isinstance(net, Network):
        raise DeclarationError(f"{ref}: network() returned {type(net).__name__}, not a derive.Network")
    return net
