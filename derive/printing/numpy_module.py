"""Batched NumPy for generated modules.

A column vector of the math is, in a module, a stack of rows: x_t becomes ``x[t - 1]`` of
shape (B, d), and all steps at once ``x`` of shape (T, B, d). So A v prints as
``np.dot(v, A.T)``, Wᵀ g as ``np.dot(g, W)``, and a parameter's gradient sum_t g_t u_tᵀ as one
GEMM over the stacked rows. Every such product is of 2-D arrays, where np.dot is matmul without
its broadcasting machinery: about 0.4 µs less a call, a tenth of a small RNN's step. Three modes:

    step    inside the loop over t          h_{t-1} -> h[t - 1]
    all     every step at once              h_{t-1} -> h[:-1]
    static  outside time                    h_T     -> h[-1]

Storage (``Arrays``) says where each variable lives: states keep h_0 at index 0 (length
T + 1); other per-step arrays keep step t at index t - 1 (length T); values used only within
one iteration are loop locals. Elementwise functions print as in the column printer.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np
from sympy import Integer, preorder_traversal
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatrixExpr, MatrixSymbol, Transpose, ZeroMatrix
from sympy.printing.str import sstr

from derive.algebra import matmul, neg, split_coefficient, substitute, transpose
from derive.codegen.lines import names_in, subscripts_in
from derive.codegen.workspace import SOURCES as WORKSPACE_SOURCES
from derive.nodes import (
    Concat,
    Elementwise,
    Grad,
    T,
    TimeSum,
    TimeSym,
    t,
)
from derive.primitives import PARTS, PRIMITIVES, REGISTRY
from derive.printing.inplace import inplace_statements
from derive.printing.numpy import NumpyPrinter

# The module's own helpers (batched products, one-hot targets kept as labels); every
# primitive brings those its code calls (derive/primitives).
HELPERS = {
    **{op.batched_helper.split("(")[0][4:]: op.batched_helper for op in REGISTRY if op.batched_helper},
    **{op.helper.split("(")[0][4:]: op.helper for op in REGISTRY if op.helper},
    "_matmul": (
        "def _matmul(a, b, out=None):\n"
        '    """a @ b for a stack of rows a (..., m): one GEMM over every leading axis (into ``out``, an\n'
        '    array of the product\'s shape, where given)."""\n'
        "    if out is None:\n"
        "        return np.dot(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])\n"
        "    np.dot(a.reshape(-1, a.shape[-1]), b, out=out.reshape(-1, out.shape[-1]))\n"
        "    return out\n"
    ),
    # the buffers gradients() keeps between calls (derive/codegen/buffers.py)
    **WORKSPACE_SOURCES,
    "_label_index": (
        "def _label_index(labels, size):\n"
        '    """Where each label sits in an array of shape labels.shape + (size,), flattened; a label\n'
        '    outside [0, size) raises ValueError (it would read another row\'s entry)."""\n'
        "    rows = np.arange(labels.size)\n"
        "    return np.ravel_multi_index((rows, labels.reshape(-1)), (labels.size, size)).reshape(labels.shape)\n"
    ),
    # what every module checks before any arithmetic (_validate, made per model, calls these)
    "_as_float": (
        "def _as_float(arrays, kind, key, ndim):\n"
        '    """arrays[key] as an array, refused (ValueError naming it) unless float32 or float64 with\n'
        '    ndim axes."""\n'
        "    if key not in arrays:\n"
        "        raise ValueError(f\"{kind} has no {key!r}\")\n"
        "    a = np.asarray(arrays[key])\n"
        "    if a.dtype not in (np.float32, np.float64):\n"
        "        raise ValueError(f\"{kind}[{key!r}] is {a.dtype}; these functions take float32 or float64\")\n"
        "    if a.ndim != ndim:\n"
        "        raise ValueError(f\"{kind}[{key!r}] has {a.ndim} axes (shape {a.shape}); expected {ndim}\")\n"
        "    return a\n"
    ),
    "_expect_keys": (
        "def _expect_keys(arrays, kind, known):\n"
        '    """ValueError for a key the model does not read (c_0 for C_0, h0 for h_0): it would be ignored."""\n'
        "    extra = sorted(set(arrays) - set(known))\n"
        "    if extra:\n"
        "        raise ValueError(f\"{kind} has {extra[0]!r}, which this model does not read (it reads \"\n"
        "                         f\"{', '.join(known)})\")\n"
    ),
    "_expect_shape": (
        "def _expect_shape(kind, key, a, shape):\n"
        '    """ValueError naming the argument when it does not have the math\'s shape."""\n'
        "    if a.shape != shape:\n"
        "        raise ValueError(f\"{kind}[{key!r}] has shape {a.shape}; expected {shape}\")\n"
    ),
    "_expect_target": (
        "def _expect_target(targets, key, kind, shape, classes=None):\n"
        '    """A target of the kind the loss reads: integer classes in [0, classes), labels in {0, 1},\n'
        '    or real values, of the given shape."""\n'
        "    if key not in targets:\n"
        "        raise ValueError(f\"targets has no {key!r}\")\n"
        "    y = np.asarray(targets[key])\n"
        "    if y.shape != shape:\n"
        "        raise ValueError(f\"targets[{key!r}] has shape {y.shape}; expected {shape}\")\n"
        "    if kind == \"onehot\":\n"
        "        if y.dtype.kind not in \"iu\":\n"
        "            raise ValueError(f\"targets[{key!r}] is {y.dtype}; it holds integer classes\")\n"
        "        if y.size and (y.min() < 0 or y.max() >= classes):\n"
        "            raise ValueError(f\"targets[{key!r}] holds a class outside [0, {classes})\")\n"
        "    elif y.dtype.kind not in \"biuf\" or (y.dtype.kind == \"f\"\n"
        "                                         and y.dtype not in (np.float32, np.float64)):\n"
        "        raise ValueError(f\"targets[{key!r}] is {y.dtype}; it holds real numbers\")\n"
        "    elif kind == \"binary\" and not np.isin(y, (0, 1)).all():\n"
        "        raise ValueError(f\"targets[{key!r}] holds a label other than 0 and 1\")\n"
    ),
    "_expect_finite_result": (
        "def _expect_finite_result(results, params, inputs, targets):\n"
        '    """ValueError when a result is NaN or inf: naming the first argument holding NaN or inf, or\n'
        '    saying that the arithmetic overflowed (check_finite=False returns such a result)."""\n'
        "    if all(np.isfinite(r).all() for r in results):\n"
        "        return\n"
        "    for kind, arrays in ((\"params\", params), (\"inputs\", inputs), (\"targets\", targets or {})):\n"
        "        for key, a in arrays.items():\n"
        "            if np.asarray(a).dtype.kind == \"f\" and not np.isfinite(a).all():\n"
        "                raise ValueError(f\"{kind}[{key!r}] holds NaN or inf (check_finite=False allows it)\")\n"
        "    raise ValueError(\"the result overflowed: the inputs or parameters are too large (check_finite=False \"\n"
        "                     \"returns it)\")\n"
    ),
    "_pick": (
        "def _pick(a, at):\n"
        '    """a[..., label] for each row: yᵀ a for a one-hot y kept as its labels\' positions."""\n'
        "    return a.take(at)[..., None]\n"
    ),
    "_add_at": (
        "def _add_at(a, at, value):\n"
        '    """a += value y in place, for a one-hot y kept as its labels\' positions (a is contiguous)."""\n'
        "    a.reshape(-1)[at] += value\n"
    ),
    "_one_hot": (
        "def _one_hot(labels, size, dtype):\n"
        '    """The one-hot vectors of labels, where a formula needs them whole."""\n'
        "    return np.eye(size, dtype=dtype)[labels]\n"
    ),
    "_outer_sum": (
        "def _outer_sum(g, u):\n"
        '    """sum over every leading axis (time, batch) of g uᵀ: one GEMM over stacked rows."""\n'
        "    return np.dot(g.reshape(-1, g.shape[-1]).T, u.reshape(-1, u.shape[-1]))\n"
    ),
    **{name: source for op in PRIMITIVES + PARTS for name, source in op.module_helpers.items()},
}


# NumPy functions other than ufuncs that write into out= of the result's exact shape
OUT_FUNCTIONS = {"dot", "concatenate"}


def _reads_target(code: str, target: str) -> bool:
    """Whether ``code`` reads what ``target`` (dL_dC, or an entry dL_do[-1]) holds now: the
    array itself, or that entry, or the whole array it is an entry of."""
    array, _, entry = target.partition("[")
    if not entry:
        return target in names_in(code)
    return bool(subscripts_in(code, array) & {"", f"[{ast.unparse(ast.parse(entry[:-1], mode='eval').body)}]"})


def takes_out(callee: str) -> bool:
    """True when a call of ``callee`` can write into ``out=``: a NumPy ufunc or out-taking
    function (``np.tanh``, ``np.dot``), or a module helper with an ``out`` parameter."""
    if callee.startswith("np."):
        name = callee[3:]
        return isinstance(getattr(np, name, None), np.ufunc) or name in OUT_FUNCTIONS
    return callee in _HELPERS_WITH_OUT


def _helpers_with_out() -> set[str]:
    found = set()
    for name, source in HELPERS.items():
        definition = ast.parse(source).body[-1]
        if isinstance(definition, ast.FunctionDef) and "out" in [a.arg for a in definition.args.args]:
            found.add(name)
    return found


_HELPERS_WITH_OUT = _helpers_with_out()


class Printed(MatrixExpr):
    """A value already printed (a per-example number in a product, an array slot), standing in
    an expression that is printed around it."""

    def __new__(cls, code: str):
        obj = MatrixExpr.__new__(cls)
        obj.code = code
        return obj

    shape = (Integer(1), Integer(1))
    args = ()


@dataclass
class Arrays:
    """Where each variable of a generated module is kept."""

    states: set[str] = field(default_factory=set)  # (T + 1, B, m), h_0 at index 0
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (first t, last t - T) it holds
    locals: set[str] = field(default_factory=set)  # one step's value, a plain name
    definitions: dict[str, MatrixExpr] = field(default_factory=dict)  # name -> forward expression
    data: set[str] = field(default_factory=set)  # names of per-example values (not parameters)
    logsumexp: dict[str, tuple] = field(default_factory=dict)  # p = softmax(o) -> (its log Σ exp(o), o)
    labels: dict[str, str] = field(default_factory=dict)  # one-hot target kept as labels -> its size
    label_at: dict[str, str] = field(default_factory=dict)  # such a target -> its label positions' name
    names: object = None  # the module's namer (derive/naming.py)

    def span(self, name: str) -> tuple[int, int]:
        """(the t at index 0, the last t it holds minus T): (0, 0) for a forward state (h_0 at
        index 0), (1, 1) for a backward one (g_{T+1} at index T), (1, -1) for a value that
        exists for t < T only, (1, 0) for the rest."""
        if name in self.spans:
            return self.spans[name]
        return (0, 0) if name in self.states else (1, 0)


class ModulePrinter(NumpyPrinter):
    def __init__(self, arrays: Arrays, mode: str = "step", steps: tuple[int, int] = (1, 0)):
        """``steps`` = (first t, last t - T): in 'all' mode, the steps computed at once (a value
        that reads step t + 1 exists for t = 1..T - 1 only: (1, -1); one that reads t - 1 for
        t = 2..T: (2, 0))."""
        super().__init__(arrays.names)
        self.arrays = arrays
        self.mode = mode
        self.steps = steps

    def in_mode(self, mode: str) -> ModulePrinter:
        return ModulePrinter(self.arrays, mode)

    # ---------------------------------------------------------------- where values live

    def _print_MatrixSymbol(self, expr):
        code = expr.name
        return self._dense(expr.name, code)

    def _dense(self, name: str, code: str) -> str:
        """A one-hot target is kept as labels; where a formula needs the vectors, expand them."""
        if name in self.arrays.labels:
            return f"_one_hot({code}, {self.arrays.labels[name]}, dtype)"
        return code

    def _labels(self, y) -> str | None:
        """Where the labels of a one-hot target y sit in a flattened array of its vectors, shape
        labels + (k,) (None for any other value). Those of the whole target are found once
        (``Arrays.label_at``): the loss and ∂L/∂o both read them."""
        name = getattr(y, "name", None)
        if name not in self.arrays.labels:
            return None
        code = self._sequence(name, y.index) if isinstance(y, TimeSym) else name
        return self.arrays.label_at[name] if code == name else f"_label_index({code}, {self.arrays.labels[name]})"

    def _sequence(self, name: str, index) -> str:
        """A per-step array (or loop local) at a math index, in the current mode."""
        if name in self.arrays.locals and self.mode == "step":
            return name
        first, extra = self.arrays.span(name)
        if self.mode == "step" or not index.has(t):
            position = index - first
            if position.has(T):  # the last entries: count from the end
                length = T + extra - first + 1
                return f"{name}[{sstr(position - length)}]"
            return f"{name}[{sstr(position)}]"
        shift = index - t  # every t of the statement's steps, as one slice
        lo, hi = self.steps
        start, stop = lo + shift - first, hi + shift - extra  # stop counted from the end of the array
        start_text = "" if start == 0 else sstr(start)
        stop_text = "" if stop == 0 else sstr(stop)
        if not start_text and not stop_text:
            return name
        return f"{name}[{start_text}:{stop_text}]"

    def _print_TimeSym(self, expr):
        return self._dense(expr.name, self._sequence(expr.name, expr.index))

    def _print_Grad(self, expr):
        var = expr.var
        name = self._adjoint_name(var.name)
        return self._sequence(name, var.index) if isinstance(var, TimeSym) else name

    # ---------------------------------------------------------------- rows

    def is_data(self, expr) -> bool:
        """True for a per-example value (it depends on inputs, states or adjoints)."""
        if isinstance(expr, (TimeSym, Grad, Printed)):
            return True
        if isinstance(expr, MatrixSymbol):
            return expr.name in self.arrays.data
        return any(self.is_data(a) for a in getattr(expr, "args", ()) if isinstance(a, MatrixExpr))

    def _print_MatMul(self, expr):
        coeff, mats = split_coefficient(expr)
        mats = self._inner_products(mats)
        data = [m for m in mats if self.is_data(m)]
        if not data:
            body = " @ ".join(self._wrap(m) for m in mats)
        elif all(m.shape == (1, 1) for m in mats):  # per-example numbers multiply entrywise
            body = " * ".join(self._wrap(m) for m in mats)
        elif len(data) == 1 and mats[-1] is data[0]:
            # A_1 ... A_m v  ->  v @ A_mᵀ @ ... @ A_1ᵀ, as np.dot of rows (B, m) (in 'all' mode one
            # GEMM over T * B rows each)
            body = self._wrap(data[0])
            for m in reversed(mats[:-1]):
                other = self._transposed(m)
                body = f"_matmul({body}, {other})" if self.mode == "all" else f"np.dot({body}, {other})"
        elif len(mats) == 2 and mats[1].shape == (1, 1) and all(self.is_data(m) for m in mats):
            body = f"{self._wrap(mats[0])} * {self._wrap(mats[1])}"  # a column times a number
        else:
            raise ValueError(f"no batched form for the product {expr}")
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-({body})" if " " in body else f"-{body}"
        return f"{self._wrap_scalar(coeff)} * {self._wrap(body) if ' @ ' in body else body}"

    def _inner_products(self, mats):
        """Per-example uᵀ v inside a product, as one (B, 1) number each."""
        out, j = [], 0
        while j < len(mats):
            m = mats[j]
            following = mats[j + 1] if j + 1 < len(mats) else None
            if (following is not None and m.shape[0] == 1 and m.shape[1] != 1 and following.shape[1] == 1
                    and self.is_data(m) and self.is_data(following)):
                u, v = self._wrap(transpose(m)), self._wrap(following)
                out.append(Printed(f"np.sum({u} * {v}, axis=-1, keepdims=True)"))
                j += 2
            else:
                out.append(m)
                j += 1
        return out

    def _print_Printed(self, expr):
        return expr.code

    def _transposed(self, m) -> str:
        if isinstance(m, Transpose):
            if isinstance(m.arg, MatrixSymbol) and m.arg.shape[1] == 1 and m.arg.shape[0] != 1:
                return f"{self._wrap(m.arg)}[:, None]"  # vᵀ h: a column parameter is kept as (n,)
            return self._wrap(m.arg)
        if isinstance(m, MatrixSymbol) and m.shape[1] == 1 and m.shape[0] != 1 and not self.is_data(m):
            return f"{self._wrap(m)}[None, :]"  # v g for a number g: the column parameter as a row
        return f"{self._wrap(m)}.T"

    def _print_Transpose(self, expr):
        if expr.shape == (1, 1):
            return self._print(expr.arg)
        if self.is_data(expr):
            raise ValueError(f"a per-example row {expr} has no batched form outside a gradient sum")
        return super()._print_Transpose(expr)

    def _print_OneMatrix(self, expr):
        return "1"

    def _print_ZeroMatrix(self, expr):
        """A zero per-example column, as the batch holds it (B rows): ∂L/∂h_T where nothing reads h_T;
        for every t at once (T, B, rows): ∂L/∂o_t where the loss reads only o_T (its t = T entry is
        added after)."""
        if expr.shape[1] != 1:
            raise ValueError(f"no batched form for a zero of shape {expr.shape}")
        rows = self._print(expr.shape[0])
        if self.mode == "all":
            first, last = self.steps
            extra = last - (first - 1)  # steps computed at once: t = first..T + last
            count = "T" if extra == 0 else f"T {'+' if extra > 0 else '-'} {abs(extra)}"
            return f"np.zeros(({count}, B, {rows}), dtype=dtype)"
        return f"np.zeros((B, {rows}), dtype=dtype)"

    def _print_Activation(self, expr):
        return expr.code(self._print(expr.arg), self._wrap(expr.arg), batched=True)

    def _print_Primitive(self, expr):  # every other primitive writes its own code (derive/primitives)
        return expr.module(self)

    # ---------------------------------------------------------------- vector functions

    # ---------------------------------------------------------------- losses, from logits when possible

    def _defined_as(self, p, cls):
        """The argument of ``cls`` when p is a variable defined as cls(arg), else None."""
        name = getattr(p, "name", None)
        definition = self.arrays.definitions.get(name)
        return definition.args[0] if isinstance(definition, cls) else None

    def _print_TimeSum(self, expr):
        index = expr.limits[0]
        if index != t or self.mode != "static":
            raise ValueError(f"no batched form for {expr}")
        return f"{self.in_mode('all')._wrap(expr.body)}.sum(axis=0)"

    # ---------------------------------------------------------------- statements in a loop

    def statements(self, target: str, expr, into_slot: bool, dead: frozenset = frozenset()) -> list[str]:
        """``target = expr`` as statements that make as few temporary arrays as they can:
        a sum starts from its one fresh product (or from a stored array no later line reads,
        ``dead``) and adds the rest in place; an entrywise function or product writes
        straight into an array slot (``out=``); an entrywise formula for every t at once
        is computed in its one array (printing/inplace.py)."""
        if self.mode in ("all", "static") and not into_slot:  # (outside a loop: a whole array)
            steps = inplace_statements(target, expr, self)
            if steps:
                return steps
        if isinstance(expr, MatAdd):
            # A term that reads the target's old value (dL/dC_{t+1} in dL/dC_t's slot) must
            # be the first statement, before the target is overwritten.
            reads_old = [a for a in expr.args if _reads_target(self._print(a), target)]
            if len(reads_old) > 1 or (reads_old and into_slot):
                return [self._store(target, expr, into_slot)]
            fresh = reads_old or [a for a in expr.args if self._is_fresh(a)]
            if not fresh and not into_slot:  # a stored array no later line reads, and this sum only once
                fresh = [a for a in expr.args if self.is_data(a) and self._print(a) in dead
                         and list(expr.args).count(a) == 1][:1]
            if fresh:
                first = list(expr.args).index(fresh[0])  # by position: a sum may hold equal terms (o + o)
                lines = [self._store(target, expr.args[first], into_slot)]
                for position, term in enumerate(expr.args):
                    if position == first:
                        continue
                    coeff, mats = split_coefficient(term)
                    labels = self._labels(mats[0]) if len(mats) == 1 and coeff in (1, -1) else None
                    if labels is not None:  # ± a one-hot y: one entry per row
                        lines.append(f"_add_at({target}, {labels}, {float(coeff)})")
                    elif isinstance(term, Concat) and target.isidentifier():  # + [a; b]: each into its rows
                        lines += [f"{target}[..., {self._print(lo)}:{self._print(hi)}] += {self._print(part)}"
                                  for part, (lo, hi) in zip(term.args, term.offsets(), strict=True)
                                  if not isinstance(part, ZeroMatrix)]
                    elif coeff.could_extract_minus_sign():
                        lines.append(f"{target} -= {self._print(neg(term))}")
                    else:
                        lines.append(f"{target} += {self._print(term)}")
                return lines
        return [self._store(target, expr, into_slot)]

    def _is_fresh(self, expr) -> bool:
        """True when printing ``expr`` makes a new array worth keeping as the start of a sum:
        not a view of a stored one, nor a stored one merely scaled (-y)."""
        stored = (TimeSym, Grad, MatrixSymbol)
        _, mats = split_coefficient(expr)
        scaled_copy = len(mats) == 1 and isinstance(mats[0], stored)
        return self.is_data(expr) and not isinstance(expr, stored) and not scaled_copy

    def _store(self, target: str, expr, into_slot: bool) -> str:
        code = self._print(expr)
        if into_slot and isinstance(expr, Elementwise) and _is_call(code) and takes_out(code.split("(")[0]):
            # f(x) -> f(x, out=slot)
            return f"{code[:-1]}, out={target})"
        if into_slot and isinstance(expr, HadamardProduct) and len(expr.args) == 2:
            return f"np.multiply({self._print(expr.args[0])}, {self._print(expr.args[1])}, out={target})"
        return f"{target} = {_unwrap(code)}"

    # ---------------------------------------------------------------- the loss of a batch

    def batch_total(self, expr, definitions: dict) -> str:
        """The sum over the batch (and over t inside time sums) of a per-example scalar,
        with the loss variables of ``definitions`` written out: one reduction per loss term
        (a dot product for a cross-entropy) instead of per-step arrays."""
        name = getattr(expr, "name", None)
        if name in definitions:
            body = definitions[name]
            if isinstance(expr, TimeSym):
                body = substitute(body, {t: expr.index})
            return self.batch_total(body, definitions)
        if isinstance(expr, MatAdd):
            return " + ".join(self.batch_total(a, definitions) for a in expr.args)
        coeff, mats = split_coefficient(expr)
        if coeff != 1 and len(mats) == 1:
            return f"{self._wrap_scalar(coeff)} * ({self.batch_total(mats[0], definitions)})"
        if isinstance(expr, TimeSum):
            return self.in_mode("all").batch_total(expr.body, definitions)
        if not self.is_data(expr):  # the same for every example: counted B times
            return f"B * {self._wrap(expr)}"
        if hasattr(expr, "module_total"):  # a loss summed in one reduction (derive/primitives)
            return expr.module_total(self)
        return f"{self._wrap(expr)}.sum()"

    # ---------------------------------------------------------------- a parameter's gradient

    def gradient_term(self, term) -> str:
        """sum over the batch (and over t in 'all' mode) of one per-example gradient term."""
        coeff, mats = split_coefficient(term)
        prefix = "" if coeff == 1 else f"{self._wrap_scalar(coeff)} * "
        if len(mats) == 1 and hasattr(mats[0], "module_gradient_sum"):  # a primitive that sums itself
            return f"{prefix}{mats[0].module_gradient_sum(self)}"
        if len(mats) >= 2 and mats[-1].shape == (1, 1) and mats[0].shape[1] == 1:  # g u for a number u
            body = f"({self._wrap(matmul(*mats[:-1]))} * {self._wrap(mats[-1])})"
            return f"{prefix}{body}.sum({'axis=(0, 1)' if self.mode == 'all' else 'axis=0'})"
        if len(mats) >= 2 and mats[-1].shape[0] == 1:  # g uᵀ: an outer product
            g, u = matmul(*mats[:-1]), transpose(mats[-1])
            left, right = self._print(g), self._print(u)
            if not self.is_data(u):  # W s with s a parameter: Σ g sᵀ = (Σ g) sᵀ, s has no row per example
                axes = "axis=(0, 1)" if self.mode == "all" else "axis=0"
                return f"{prefix}np.outer({self._wrap(g)}.sum({axes}), {right})"
            if self.mode == "all" and _per_step(g) != _per_step(u):  # Σ_t g_t mᵀ = (Σ_t g_t) mᵀ, m one row per example
                left, right = (f"{self._wrap(g)}.sum(axis=0)", right) if _per_step(g) else \
                    (left, f"{self._wrap(u)}.sum(axis=0)")
            return f"{prefix}_outer_sum({left}, {right})"
        body = self._wrap(matmul(*mats))
        axes = "axis=(0, 1)" if self.mode == "all" else "axis=0"
        if term.shape == (1, 1):
            return f"{prefix}{body}.sum()"
        return f"{prefix}{body}.sum({axes})"


def _per_step(expr) -> bool:
    """True for a value with an entry per step (it reads some X_t, or an adjoint of one)."""
    return any(isinstance(x, TimeSym) and x.index.has(t) for x in preorder_traversal(expr))


def _unwrap(code: str) -> str:
    """Drop one pair of parentheses around a whole expression."""
    if code.startswith("(") and code.endswith(")"):
        depth = 0
        for pos, ch in enumerate(code):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and pos < len(code) - 1:
                return code
        return code[1:-1]
    return code


def _is_call(code: str) -> bool:
    """True for one call f(...) whose parentheses close at the end."""
    head, paren, _ = code.partition("(")
    if not paren or not head.replace(".", "").replace("_", "").isalnum():
        return False
    depth = 0
    for pos, ch in enumerate(code):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and ch == ")":
            return pos == len(code) - 1
    return False
