"""Lay a planned module out with the Jinja2 template in templates/numpy/."""

from __future__ import annotations

from derive import templates
from derive.codegen.buffers import lifetimes
from derive.codegen.lines import calls_in, names_in
from derive.codegen.plan import Plan
from derive.printing.numpy_module import HELPERS
from derive.printing.unicode import UnicodePrinter


def render_module(plan: Plan, notes: list[str] | None = None, commands: tuple[str, str] | None = None) -> str:
    """The module's source; ``commands`` are the ``derive numpy`` and ``derive show`` lines
    that make it and print its derivation (the docstring names them)."""
    net = plan.network
    uni = UnicodePrinter(net.notation, objective=net.objective.name)
    declared = plan.source or net  # the forward pass as the model declares it
    shown = UnicodePrinter(declared.notation, objective=declared.objective.name)
    forward_doc = [f"{shown.doprint(a.target)} = {shown.doprint(a.expr)}" for a in declared.assignments]
    every = plan.forward_lines() + plan.backward_lines() + plan.gradients
    code = [piece for line in every for piece in (line.statements or (line.code,))]
    code += [c for _, c in plan.outputs] + [plan.objective]
    # a one-hot target's label positions, found once where the code reads them
    positions = plan.arrays.label_at
    label_index = [(positions[y.name], f"_label_index({y.name}, {y.classes})") for y in plan.targets
                   if y.kind == "onehot" and positions[y.name] in _names(code)]
    code += [index for _, index in label_index]
    # _validate's checks, which every module makes
    called = {"_as_float", "_expect_shape", "_expect_keys", "_expect_finite_result"} | _calls(code)
    called |= {"_expect_target"} if plan.targets else set()
    called |= {"_buffers", "_NoBuffers", "thread_workspace"} if plan.buffer_count else set()
    slots = [a for seg in plan.forward + plan.backward for a in getattr(seg, "alloc", []) if a.slot is not None]
    called |= {"_zeros"} if any(a.zeros for a in slots) else set()
    called |= {"_empty"} if any(not a.zeros for a in slots) else set()
    helpers = _helpers_called(called)
    forward_allocs = [a for seg in plan.forward for a in getattr(seg, "alloc", [])]
    backward_allocs = [a for seg in plan.backward for a in getattr(seg, "alloc", [])]
    forward_code = [piece for line in plan.forward_lines() if line.in_forward
                    for piece in (line.statements or (line.code,))]
    forward_code += [a.shape for a in forward_allocs] + [c for _, c in plan.outputs]
    gradient_code = code + [a.shape for a in forward_allocs + backward_allocs] + [t.setup for t in plan.targets]

    def sizes_read(pieces):
        names = _names(pieces)
        return [(name, source) for name, source in plan.size_sources if name in names]

    context = dict(
        name=net.name,
        numpy_command=commands[0] if commands else f"derive numpy {net.name}",
        show_command=commands[1] if commands else f"derive show {net.name}",
        sequential=plan.sequential,
        initial_doc=", ".join([f"{plan.keys.get(state, state)}_0 = inputs['{key}'] or 0"
                               for state, key, _ in plan.initial]
                              + [f"{s.name}_{'0' if s.direction == 'forward' else '(T+1)'} = params['"
                                 f"{plan.keys.get(s.learned.name, s.learned.name)}']" for s in net.states if s.learned]
                              + [f"{s.name}_(T+1) = 0" for s in net.states
                                 if s.direction != "forward" and not s.learned]),
        forward_doc=forward_doc,
        notes=[*([f"Options: {', '.join(f'{k}={v}' for k, v in net.options.items())}."] if net.options else []),
               *(notes or [])],
        param_doc=", ".join(f"{p.key} {p.doc}" for p in plan.params),
        input_doc=", ".join([f"{x.key} {x.doc}" for x in plan.inputs]
                            + [f"optionally {key} {shape} (the initial {state}, 0 if absent)"
                               for state, key, shape in plan.initial]),
        initial=plan.initial,
        param_keys=_listed([p.key for p in plan.params]),
        input_keys=_listed([x.key for x in plan.inputs] + [key for _, key, _ in plan.initial]),
        target_keys=_listed([t.key for t in plan.targets]),
        init_note="".join(f", {p.key} {p.initial}" for p in plan.params
                            if p.initial and float(p.initial) != 0.0),
        initial_of={state: key for state, key, _ in plan.initial},
        target_doc=", ".join(f"{t.key} {t.shape}" for t in plan.targets),
        output_doc=", ".join(key for key, _ in plan.outputs),
        objective_doc=uni.doprint(net.objective),
        sizes=repr({plan.keys.get(name, name): value for name, value in plan.sizes.items()}),
        size_names=[(name, plan.keys.get(name, name)) for name in plan.sizes],
        grad_keys=plan.keys,
        hypers=plan.hypers,
        params=plan.params,
        inputs=plan.inputs,
        first_input=plan.inputs[0].ident,
        forward_sizes=sizes_read(forward_code),
        all_sizes=plan.size_sources,
        gradient_sizes=sizes_read(gradient_code),
        targets=plan.targets,
        label_index=label_index,
        forward=plan.forward,
        outputs=plan.outputs,
        objective=plan.objective,
        released=plan.released,
        backward=plan.backward,
        gradients=plan.gradients,
        helpers=helpers,
        buffers=plan.buffer_count > 0,
        lifetimes="_LIFETIMES = []",  # read off the rendered gradients() below
        # what every buffer's shape follows from: shapes of inputs and parameters (the dtype too)
        shape_key=", ".join(f"{port.ident}.shape" for port in plan.inputs + plan.params),
        # e^-a overflowing to inf in σ(a) gives the right 0: no warning for that
        decorator='@np.errstate(over="ignore")\n' if "_sigmoid" in _calls(code) else "",
    )
    template = templates.environment("numpy").get_template("module.py.j2")
    source = template.render(**context)
    if not plan.buffer_count:
        return source
    spans = lifetimes(source, plan.buffer_count)
    return template.render(**{**context, "lifetimes": _wrapped([f"({a}, {b})" for a, b in spans], "_LIFETIMES = [",
                                                               close="]")})


def _wrapped(items: list[str], head: str, close: str, width: int = 100) -> str:
    """Items as code after ``head`` and before ``close``, wrapped between items within ``width``."""
    lines, line = [], head
    for j, item in enumerate(items):
        text = item + (", " if j < len(items) - 1 else close)
        if len(line) + len(text.rstrip()) > width:
            lines.append(line.rstrip())
            line = " " * len(head)
        line += text
    return "\n".join([*lines, line])


def _listed(keys: list[str]) -> str:
    """A list of string keys as code, wrapped to stay within a line's width."""
    text = "[" + ", ".join(f'"{k}"' for k in keys) + "]"
    if len(text) <= 70:
        return text
    return "[\n        " + ",\n        ".join(f'"{k}"' for k in keys) + ",\n    ]"


def _names(pieces: list[str]) -> set[str]:
    return set().union(*map(names_in, pieces))


def _calls(pieces: list[str]) -> set[str]:
    return set().union(*map(calls_in, pieces))


def _helpers_called(called: set[str]) -> list[str]:
    """The sources of the helpers called, and of the helpers those call."""
    chosen, new = set(), {name for name in called if name in HELPERS}
    while new:
        chosen |= new
        new = {name for name in _calls([HELPERS[x] for x in new]) if name in HELPERS} - chosen
    return [source for name, source in HELPERS.items() if name in chosen]
