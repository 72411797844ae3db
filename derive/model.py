"""A model: where a network comes from, and how to build it for the options and sizes a user sets.

Every command takes a ``Model`` (``derive/source.py`` finds it from a preset name or a path) and
asks it for a ``Network``; nothing past that point knows which source the network came from.

Settings are strings, as ``--set option=value`` gives them. A setting is either one of the
model's options or one of its sizes (n, d, k, T, ...); sizes are validated here once for every
source.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from derive.network import DeclarationError, Network

MAX_SIZE = 100_000


@dataclass(frozen=True)
class Concrete:
    """Settings that give a generic function numbers, for generated code, and the note saying so."""

    option: str  # the option whose value "generic" they replace
    settings: dict[str, str]
    note: str  # "{user} uses tanh": ``user`` is what computes the numbers (this module)


@dataclass(frozen=True)
class Model:
    """A network source.

    ``ref`` is how the user names it on the command line (a preset name, or a path as given),
    ``stem`` names its output folder; ``options`` maps an option to its choices (None: any
    string the source accepts); ``factory(options, sizes)`` builds the network.
    """

    ref: str
    stem: str
    seed: str
    options: dict[str, tuple[str, ...] | None]
    defaults: dict[str, str]
    sizes: dict[str, int]
    factory: Callable[[dict, dict], Network] = field(repr=False)
    concrete: tuple[Concrete, ...] = ()
    open_options: bool = False  # any other setting that is not a size is an option (network(**options))

    def build(self, settings: dict[str, str] | None = None) -> Network:
        """The network with ``settings`` (options, sizes and constants such as λ, as strings) applied."""
        settings = dict(settings or {})
        constants = self._constants(settings)
        options, sizes = self.split(settings)
        net = self.factory(options, sizes)
        for name, value in constants.items():
            net.set_hyper(name, value)
        return net

    def _constants(self, settings: dict[str, str]) -> dict[str, float]:
        """The settings that name one of the network's constants (--set lambda=0.5), taken out of
        ``settings``: a finite number, read as a float (never parsed as code). Which constants there
        are depends on the options set beside them (λ exists only with l2=on)."""
        unknown = [k for k in settings if k not in self.options and k not in self.sizes]
        if not unknown:
            return {}
        options, sizes = self.split({k: v for k, v in settings.items() if k not in unknown})
        names = {str(sym) for sym in self.factory(options, sizes).hypers}
        out = {}
        for key in unknown:
            if key not in names and key in {str(h) for h in self.factory(dict(self.defaults), dict(self.sizes)).hypers}:
                raise DeclarationError(f"{self.ref}: with these options the network has no constant {key!r}")
            if key in names:
                text = settings.pop(key)
                try:
                    value = float(text)
                except ValueError:
                    raise DeclarationError(f"{self.ref}: the constant {key} must be a number, not {text!r}") from None
                if not math.isfinite(value):
                    raise DeclarationError(f"{self.ref}: the constant {key} must be a finite number, not {text}")
                out[key] = value
        return out

    def split(self, settings: dict[str, str] | None) -> tuple[dict[str, str], dict[str, int]]:
        """(options, sizes) with the defaults filled in; a setting neither names is refused."""
        options, sizes = dict(self.defaults), dict(self.sizes)
        for key, value in (settings or {}).items():
            if key in self.options:
                choices = self.options[key]
                if choices is not None and value not in choices:
                    raise DeclarationError(f"{self.ref}: {key} must be one of {', '.join(choices)}, not {value!r}")
                options[key] = value
            elif key in sizes:
                sizes[key] = size_value(key, value)
            elif self.open_options and key.isidentifier():
                options[key] = value
            else:
                known = ", ".join([*self.options, *sizes, *(str(h) for h in self.factory(
                    dict(self.defaults), dict(self.sizes)).hypers)])
                raise DeclarationError(f"{self.ref} has no option, size or constant {key!r} (known: {known})")
        return options, sizes

    def without_time(self, settings: dict[str, str]) -> dict[str, str]:
        """``settings`` less T where the model has no time (--T on a feed-forward network)."""
        return settings if "T" in self.sizes else {k: v for k, v in settings.items() if k != "T"}

    def concrete_settings(self, settings: dict[str, str],
                          user: str = "this module") -> tuple[dict[str, str], list[str]]:
        """The settings with every generic function given numbers, and the notes saying how.

        Generated code computes numbers; a model that offers a concrete choice for a generic
        option (an activation, a loss) gets the first one it accepts."""
        chosen = {**self.defaults, **settings}
        out, notes = dict(settings), []
        done = set()
        for concrete in self.concrete:
            if concrete.option in done or chosen.get(concrete.option) != "generic":
                continue
            if settings.get(concrete.option) == "generic":
                raise DeclarationError(f"{user} needs a concrete {concrete.option}; "
                                       f"--set {concrete.option}=generic has none")
            if not all(value in (self.options.get(key) or ()) for key, value in concrete.settings.items()):
                continue
            for key, value in concrete.settings.items():
                out.setdefault(key, value)
            notes.append(concrete.note.format(user=user) + f" (--set {concrete.option}=... for another).")
            done.add(concrete.option)
        return out, notes


def size_value(key: str, value) -> int:
    """A size setting as a number, in 1..MAX_SIZE."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DeclarationError(f"size {key} must be a whole number, not {value!r}") from None
    if not 1 <= number <= MAX_SIZE:
        raise DeclarationError(f"size {key} must be between 1 and {MAX_SIZE}, not {number}")
    return number


def command(verb: str, model: Model, settings: dict[str, str] | None = None) -> str:
    """The command line that makes an output: ``derive numpy cell.py --set activation=tanh``."""
    sets = "".join(f" --set {key}={value}" for key, value in (settings or {}).items())
    return f"derive {verb} {model.ref}{sets}"
