"""A generated module's interface: the parameters, inputs and targets it takes (under the
caller's names), the sizes it reads off their shapes, and what ``forward`` returns."""

from __future__ import annotations

from sympy import degree, preorder_traversal

from derive.codegen.lines import Port, Target
from derive.network import matrix_symbols
from derive.nodes import LOSSES, TimeSym
from derive.printing.numpy_module import ModulePrinter, _unwrap


def param_shape(shape) -> tuple[str, str]:
    """(the NumPy shape of a parameter, its fan-in) as code: (n, d) and d, (n,) and 1."""
    rows, cols = shape
    if cols == 1 and rows == 1:
        return "()", "1"
    if cols == 1:
        return f"({rows},)", "1"
    return f"({rows}, {cols})", str(cols)


def params(planner) -> list[Port]:
    out = []
    layouts = column_layouts(planner.original)
    for p, p0 in zip(planner.net.params, planner.original.params, strict=True):
        shape, fan_in = param_shape(p.shape)
        initial = planner.original.initial_value(p0.name)
        doc = param_shape(p0.shape)[0] + (f" {layouts[p0.name]}" if p0.name in layouts else "")
        out.append(Port(p.name, planner.key(p.name), shape, fan_in, doc, "" if initial is None else repr(initial)))
    return out


def column_layouts(net) -> dict[str, str]:
    """How a parameter's entries are laid out, where its shape alone does not say, as the
    docstring documents it: a weight that multiplies a stack [h_{t-1}; x_t] ("with columns
    [hₜ₋₁ | xₜ]"), and whatever a primitive documents of its own arguments (a kernel bank)."""
    from sympy.matrices.expressions import MatMul

    from derive.primitives import Concat, Primitive
    from derive.printing.unicode import UnicodePrinter

    printer = UnicodePrinter(net.notation, objective=net.objective.name)
    names, found = {p.name for p in net.params}, {}

    def walk(x):
        if isinstance(x, MatMul) and len(x.args) == 2 and isinstance(x.args[1], Concat):
            name = getattr(x.args[0], "name", None)
            if name in names:
                found[name] = "with columns [" + " | ".join(printer.doprint(part) for part in x.args[1].args) + "]"
        if isinstance(x, Primitive):
            found.update({name: text for name, text in x.argument_layouts().items() if name in names})
        for a in getattr(x, "args", ()):
            walk(a)

    for a in net.assignments:
        walk(a.expr)
    return found


def inputs(planner) -> list[Port]:
    lead = "T, B" if planner.net.sequential else "B"
    printer = ModulePrinter(planner.arrays)
    return [Port(x.name, planner.key(x.name), f"({lead}, {printer.doprint(x.shape[0])})", "",
                 f"({lead}, {x0.shape[0]})")
            for x, x0 in zip(planner.net.inputs, planner.original.inputs, strict=True)]


def targets(planner) -> list[Target]:
    out = []
    for y in planner.net.target_symbols:
        kind = planner.net.targets[y.name]
        lead = "T, B" if isinstance(y, TimeSym) else "B"
        rows = y.shape[0]
        key = planner.key(y.name)
        lead_code = "(T, B)" if isinstance(y, TimeSym) else "(B,)"
        with_rows = f"({lead}, {ModulePrinter(planner.arrays).doprint(rows)})"
        if kind == "onehot":  # kept as labels; the printer expands them where a formula needs it
            out.append(Target(y.name, kind, f"({lead}) integer classes in [0, {rows})",
                              f'np.asarray(targets["{key}"])', planner.arrays.labels[y.name], key, lead_code))
        elif kind == "binary":
            shape = f"({lead})" if rows == 1 else f"({lead}, {rows})"
            code = f'np.asarray(targets["{key}"], dtype=dtype)'
            out.append(Target(y.name, kind, f"{shape} labels in {{0, 1}}",
                              code + ("[..., None]" if rows == 1 else ""), key=key,
                              expect=lead_code if rows == 1 else with_rows))
        else:
            out.append(Target(y.name, kind, f"({lead}, {rows}) real values",
                              f'np.asarray(targets["{key}"], dtype=dtype)', key=key, expect=with_rows))
    return out


def initial_states(planner) -> list[tuple[str, str, str]]:
    """(state's identifier, the input key of its initial value, its shape as code) for every state
    carried forward: an optional input h_0 (default 0), so that truncated BPTT carries the last
    state of one chunk into the next."""
    taken = {planner.key(x.name) for x in [*planner.net.params, *planner.net.inputs, *planner.net.target_symbols]}
    out = []
    for s in planner.net.states:
        if s.direction != "forward" or s.learned is not None:  # a learned h_0 is a parameter, not an input
            continue
        key = f"{planner.key(s.name)}_0"
        if key in taken:
            key = f"{planner.key(s.name)}_initial"
        out.append((s.name, key, f"(B, {ModulePrinter(planner.arrays).doprint(s.shape[0])})"))
    return out


def size_sources(planner) -> list[tuple[str, str]]:
    """(size, the code reading it off the parameters' and inputs' shapes): an axis that is the
    size itself, else one linear in it and in sizes already read (2*n, n + d)."""
    axes = [(dim, f'params["{planner.key(p.name)}"].shape[{axis}]')
            for p in planner.net.params for axis, dim in enumerate(p.shape)]
    axes += [(x.shape[0], f'inputs["{planner.key(x.name)}"].shape[-1]') for x in planner.net.inputs]
    found = {}
    for dim, code in axes:
        if dim.is_Symbol and dim.name not in found:
            found[dim.name] = code
    direct = sorted((name, code) for name, code in found.items())
    derived, progress = [], True
    while progress:
        progress = False
        for dim, code in axes:
            unknown = [x for x in dim.free_symbols if x.name not in found]
            if len(unknown) != 1 or not dim.is_polynomial(unknown[0]) or degree(dim, unknown[0]) != 1:
                continue
            size = unknown[0]
            factor, rest = dim.coeff(size), dim - dim.coeff(size) * size
            if not factor.is_Integer or factor <= 0:
                continue
            value = code if rest == 0 else f"({code} - ({ModulePrinter(planner.arrays).doprint(rest)}))"
            found[size.name] = value if factor == 1 else f"{value} // {factor}"
            derived.append((size.name, found[size.name]))
            progress = True
    return direct + derived


def outputs(planner) -> list[tuple[str, str]]:
    """(key, code) of what ``forward`` returns: the prediction each loss term reads, and every state."""
    net = planner.net
    out = []
    losses = [node for a in net.assignments for node in preorder_traversal(a.expr) if isinstance(node, LOSSES)]
    for prediction in dict.fromkeys(loss.args[0] for loss in losses):
        per_step = any(isinstance(x, TimeSym) for x in matrix_symbols(prediction))
        printer = ModulePrinter(planner.arrays, "all" if per_step else "static")
        code = _unwrap(printer.doprint(prediction))
        if prediction.shape[0] == 1:
            code = f"{code}[..., 0]"
        key, count = planner.key(output_name(prediction)), 2
        while key in dict(out):  # two predictions spelled alike (V h and V b: matmul_V)
            key, count = f"{planner.key(output_name(prediction))}_{count}", count + 1
        out.append((key, code))
    for state in net.states:  # without the boundary value (h_0, or g_{T+1})
        kept = "[1:]" if state.direction == "forward" else "[:-1]"
        out.append((planner.key(state.name), f"{state.name}{kept}"))
    return out


def output_name(prediction) -> str:
    """The key of a prediction in ``forward``'s result: its name, or for one written inside
    the loss (cross_entropy(softmax(o), y)) the function and its argument's name."""
    name = getattr(prediction, "name", None)
    if name is not None:
        return name
    inner = getattr(prediction, "args", ())
    arg = output_name(inner[0]) if inner else "output"
    return f"{type(prediction).__name__.lower()}_{arg}"
