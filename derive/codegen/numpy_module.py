"""``derive numpy``: a standalone NumPy module (init_params, forward, gradients) for a model."""

from __future__ import annotations

from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.model import Model, command


def numpy_module(model: Model, settings: dict[str, str] | None = None) -> str:
    """The source of the generated module for ``model`` with ``settings``; generic functions
    get the concrete choice the model offers (the docstring says which)."""
    settings = dict(settings or {})
    concrete, notes = model.concrete_settings(settings)
    net = model.build(concrete)
    # Sizes the shapes read (a conv's geometry is fixed when the network is built).
    shaped = {str(s) for x in [*net.params, *net.inputs, *net.target_symbols] for s in x.shape if not s.is_Integer
              for s in s.free_symbols}
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T" and k in shaped}
    commands = (command("numpy", model, settings), command("show", model, settings))
    return render_module(plan_module(derive(net), sizes), notes, commands)
