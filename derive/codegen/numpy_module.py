"""``derive numpy``: a standalone NumPy module (init_params, forward, gradients) for a preset."""

from __future__ import annotations

from derive import presets
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.network import DeclarationError

# Generated code computes numbers, so generic functions get a concrete default, which the
# module's docstring states; --set chooses another.
CONCRETE_DEFAULTS = {
    "activation": ({"activation": "tanh"}, "φ is generic in the preset; this module uses tanh"),
    "loss": ({"output": "softmax", "loss": "ce"},
             "ℓ is generic in the preset; this module uses softmax cross-entropy on the outputs"),
}


def concrete_settings(preset: str, settings: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The settings with every generic function replaced by its default, and notes saying so."""
    chosen = {**presets.get(preset).defaults, **settings}
    out, notes = dict(settings), []
    for option, (replacement, note) in CONCRETE_DEFAULTS.items():
        if chosen.get(option) != "generic":
            continue
        if settings.get(option) == "generic":
            raise DeclarationError(f"generated code needs a concrete {option}; --set {option}=generic has none")
        for key, value in replacement.items():
            out.setdefault(key, value)
        notes.append(note + f" (--set {option}=... for another).")
    return out, notes


def numpy_module(preset: str, settings: dict[str, str] | None = None) -> str:
    """The source of the generated module for ``preset`` with ``settings``."""
    settings, notes = concrete_settings(preset, dict(settings or {}))
    net = presets.build(preset, settings)
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    return render_module(plan_module(derive(net), sizes), notes)
