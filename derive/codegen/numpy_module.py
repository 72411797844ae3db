"""``derive numpy``: a standalone NumPy module (init_params, forward, gradients) for a preset."""

from __future__ import annotations

from derive import presets
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.network import DeclarationError

# Generated code computes numbers, so generic functions get a concrete default, which the
# module's docstring states; --set chooses another.
# A generic function has no numbers: the module uses the first of these the preset offers.
CONCRETE_DEFAULTS = {
    "activation": [({"activation": "tanh"}, "the activation is generic in the preset; this module uses tanh")],
    "loss": [({"output": "softmax", "loss": "ce"},
              "ℓ is generic in the preset; this module uses softmax cross-entropy on the outputs"),
             ({"loss": "mse"}, "ℓ is generic in the preset; this module uses the squared error ½‖z − y‖²")],
}


def concrete_settings(preset: str, settings: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The settings with every generic function replaced by its default, and notes saying so."""
    known = presets.get(preset).options
    chosen = {**presets.get(preset).defaults, **settings}
    out, notes = dict(settings), []
    for option, candidates in CONCRETE_DEFAULTS.items():
        if chosen.get(option) != "generic":
            continue
        if settings.get(option) == "generic":
            raise DeclarationError(f"generated code needs a concrete {option}; --set {option}=generic has none")
        replacement, note = next((r, n) for r, n in candidates
                                 if all(value in known.get(key, ()) for key, value in r.items()))
        for key, value in replacement.items():
            out.setdefault(key, value)
        notes.append(note + f" (--set {option}=... for another).")
    return out, notes


def numpy_module(preset: str, settings: dict[str, str] | None = None) -> str:
    """The source of the generated module for ``preset`` with ``settings``."""
    settings, notes = concrete_settings(preset, dict(settings or {}))
    net = presets.build(preset, settings)
    # Sizes the shapes read (a conv's geometry is fixed when the network is built).
    shaped = {str(s) for x in [*net.params, *net.inputs, *net.target_symbols] for s in x.shape if not s.is_Integer
              for s in s.free_symbols}
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T" and k in shaped}
    return render_module(plan_module(derive(net), sizes), notes)
