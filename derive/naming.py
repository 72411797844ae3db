"""The one namer: every identifier code derive writes (generated modules, the evaluators'
namespaces) comes from here, unique among the names already taken.

The user's symbols come first and keep their own names where those are free Python
identifiers; a name that is a keyword, a builtin, NumPy's ``np``, a name the code itself uses
(``T``, ``B``, ``dtype``, ``params``, a helper) or another symbol's gets a suffix. Generated
names (an adjoint dL_dh, a hoisted h_in, a stacked weight) are made from a base the same way,
so a user's variable called ``h_in`` or ``dL_dh`` can never be mistaken for one of them.
"""

from __future__ import annotations

import builtins
import keyword

# What every piece of generated code reads besides the network's own symbols.
COMMON = {"np", "T", "t", "_", "_numpy"}
# The names of a generated module's own: its functions, their arguments and locals.
MODULE = {"SIZES", "init_params", "forward", "gradients", "params", "inputs", "targets", "seed", "sizes",
          "unknown", "rng", "dtype", "B", "loss", "grads", "out", "final", "check_finite", "return_states",
          "_validate", "workspace", "buffers", "threading", "_THREAD", "_ALIGN", "_LIFETIMES",
          "thread_workspace", "Workspace"}
RESERVED = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins)) | COMMON


class Namer:
    """Identifiers for keys ((kind, name) pairs or plain generated bases), each unique."""

    def __init__(self, reserved=()):
        self.taken: set[str] = set(RESERVED) | set(reserved)
        self.of: dict[tuple, str] = {}
        self.owner: dict[str, tuple] = {}

    def free(self, name: str) -> bool:
        return name.isidentifier() and name not in self.taken

    def claim(self, key: tuple, wanted: str, suffix: str = "_") -> str:
        """The identifier of ``key``: ``wanted`` when free, else ``wanted`` + suffix (+ a number)."""
        if key in self.of:
            return self.of[key]
        base = wanted if wanted.isidentifier() else _identifier(wanted)
        name, count = base, 1
        while not self.free(name):
            count += 1
            name = f"{base}{suffix}" if count == 2 else f"{base}{suffix}{count}"
        self.taken.add(name)
        self.of[key] = name
        self.owner[name] = key
        return name

    def fresh(self, base: str) -> str:
        """A new identifier for a generated value: ``base``, else ``base`` numbered (h_in, h_in2)."""
        name, count = base if base.isidentifier() else _identifier(base), 1
        while not self.free(name):
            count += 1
            name = f"{base}{count}"
        self.taken.add(name)
        self.owner[name] = ("generated", name)
        return name

    def get(self, key: tuple) -> str | None:
        return self.of.get(key)

    # ---------------------------------------------------------------- the kinds of a network

    def symbol(self, name: str) -> str:
        """A matrix symbol's identifier: a user's symbol as claimed, a generated one as it is."""
        found = self.of.get(("symbol", name))
        if found is not None:
            return found
        if self.owner.get(name, ("generated",))[0] == "generated":
            return name
        raise KeyError(f"no identifier for the symbol {name!r}")

    def adjoint(self, name: str) -> str:
        """dL/d<name>: claimed on first use, ``dL_d<identifier>`` where free."""
        return self.claim(("adjoint", name), f"dL_d{self.symbol(name)}")

    def size(self, name: str) -> str:
        return self.of.get(("size", name), name)

    def scalar(self, name: str) -> str:
        """A hyperparameter's identifier (``lambda`` -> ``lambda_``)."""
        return self.of.get(("scalar", name), name)

    def function(self, name: str) -> str:
        return self.of.get(("function", name), name)

    def derivative(self, name: str) -> str:
        """The identifier of a generic function's derivative (dphi, dell)."""
        return self.claim(("derivative", name), f"d{self.function(name)}")


def _identifier(text: str) -> str:
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return out if out and not out[0].isdigit() else f"v_{out}"


def network_namer(net, reserved=()) -> Namer:
    """A namer holding ``net``'s symbols: first those whose own names are free, then the rest with
    a suffix; then each adjoint, in declaration order (the same input, the same names)."""
    namer = Namer(reserved)
    symbols = ([p.name for p in net.params] + [x.name for x in net.inputs] + [y.name for y in net.target_symbols]
               + [s.name for s in net.states] + [a.name for a in net.assignments if a.name not in
                                                 {s.name for s in net.states}])
    functions = sorted(net.generic_function_names())
    entries = ([(("symbol", name), name, "_") for name in symbols]
               + [(("scalar", str(h)), str(h), "_") for h in net.hypers]
               + [(("function", name), name, "_") for name in functions]
               + [(("size", name), name, "_size") for name in net.sizes_default if name != "T"])
    for key, wanted, suffix in entries:  # own names first, so a suffix never takes a user's name
        if namer.free(wanted):
            namer.claim(key, wanted, suffix)
    for key, wanted, suffix in entries:
        namer.claim(key, wanted, suffix)
    for name in functions:
        namer.derivative(name)
    for name in [p.name for p in net.params] + [a.name for a in net.assignments]:
        namer.adjoint(name)
    return namer


def renamed(net, namer: Namer):
    """A copy of ``net`` in which every symbol is named by its identifier in ``namer`` (a
    parameter ``np`` becomes ``np_``, a size ``n`` beside a variable ``n`` becomes ``n_size``),
    spelled as before in LaTeX and Unicode; ``net`` itself when no name changes."""
    from sympy import Basic, Symbol
    from sympy.core.symbol import Str
    from sympy.matrices.expressions import MatrixSymbol

    from derive.network import Assignment, State
    from derive.nodes import DeclaredSymbol, GenericLoss, LossGrad, Phi, TimeSym
    from derive.notation import Notation

    symbols = {key[1]: ident for key, ident in namer.of.items() if key[0] == "symbol" and key[1] != ident}
    functions = {key[1]: ident for key, ident in namer.of.items() if key[0] == "function" and key[1] != ident}
    scalars = {key[1]: ident for key, ident in namer.of.items() if key[0] in ("size", "scalar") and key[1] != ident}
    if not (symbols or functions or scalars):
        return net
    scalar_map = {}
    for sym in list(net.size_symbols.values()) + list(net.hypers):
        if sym.name in scalars:
            scalar_map[sym] = Symbol(scalars[sym.name], **sym.assumptions0)

    def walk(x):
        if isinstance(x, Symbol):
            return scalar_map.get(x, x)
        if isinstance(x, TimeSym):
            return TimeSym(symbols.get(x.name, x.name), walk(x.index), walk(x.shape[0]), walk(x.shape[1]))
        if isinstance(x, MatrixSymbol):
            cls = DeclaredSymbol if isinstance(x, DeclaredSymbol) else MatrixSymbol
            return cls(symbols.get(x.name, x.name), walk(x.shape[0]), walk(x.shape[1]))
        if isinstance(x, (Phi, GenericLoss, LossGrad)):
            args = [walk(a) for a in x.args[:-1]]
            return type(x)(*args, functions.get(x.fname, x.fname))
        if not isinstance(x, Basic) or not x.args or isinstance(x, Str):
            return x
        from derive.algebra import rebuild

        new = [walk(a) for a in x.args]
        return x if all(n is a for n, a in zip(new, x.args, strict=True)) else rebuild(x, new)

    copy = net.with_assignments([Assignment(walk(a.target), walk(a.expr), a.per_step) for a in net.assignments])
    copy.params = [walk(p) for p in net.params]
    copy.inputs = [walk(x) for x in net.inputs]
    copy.target_symbols = [walk(y) for y in net.target_symbols]
    copy.targets = {symbols.get(name, name): kind for name, kind in net.targets.items()}
    copy.states = [State(walk(s.now), s.direction, walk(s.learned) if s.learned is not None else None)
                   for s in net.states]
    copy.hypers = {scalar_map.get(sym, sym): value for sym, value in net.hypers.items()}
    copy.size_symbols = {scalars.get(name, name): scalar_map.get(sym, sym) for name, sym in net.size_symbols.items()}
    copy.sizes_default = {scalars.get(name, name): value for name, value in net.sizes_default.items()}
    table = dict(net.notation.table)
    for old, new in [*symbols.items(), *functions.items(), *scalars.items()]:
        table[new] = net.notation.spelling(old)
    copy.notation = Notation(table)
    return copy
