"""What an elementwise primitive declares, and the behaviour every one shares.

A subclass sets, in its own module: ``symbol`` (its name in ``ops`` and as an option value),
``scalar(x)`` (its meaning, SymPy), ``derivative(x, ans)`` (its rule: f'(x) from x and the
forward result ans = f(x), SymPy), ``latex``/``unicode`` (its name in each target), ``numpy``
(its code, ``{x}`` for the argument; it runs on NumPy, autograd's NumPy and the precise
evaluator), optionally ``helper`` (the source of a NumPy function that code calls),
``spellings`` (how answers write it) and ``label`` (the rule's name in a shown derivation,
Unicode and LaTeX). Its derivative is printed from ``derivative`` by each target's printer;
``prime_latex``/``prime_unicode`` give it a special form (ReLU's 𝕀(x > 0)).
"""

from __future__ import annotations

from sympy import Basic, sympify

from derive.nodes import Elementwise
from derive.primitives.base import Primitive


class Activation(Primitive, Elementwise):
    symbol = ""
    latex = ""
    unicode = ""
    numpy = ""
    helper = ""  # source of a function the NumPy code calls, where one is needed
    batched = ""  # its code in generated modules where that differs (σ writes into one buffer)
    batched_helper = ""  # the source of a function that code calls
    spellings: tuple[str, ...] = ()
    label: tuple[str, str] = ("", "")
    prime_latex = ""  # a special form of f'({x}) in LaTeX, else f'(x)
    prime_unicode = ""
    parameters: tuple[str, ...] = ()  # constant arguments after x (a leaky ReLU's slope)
    defaults: tuple = ()
    domain = "real"  # where it is defined: "real", or "positive" (log)
    activation = True  # what a handout calls an activation (exp and log are not)
    # sup |f'(x)| and sup |f(x)| over the domain (None: unbounded): the gamma of the vanishing-
    # gradient bound ||dh_t/dh_k|| <= (gamma ||W||)^(t-k), and a gate's bound, in derive analyze
    derivative_sup = None
    value_sup = None

    def __new__(cls, arg, *constants, **named):
        if named:  # ops.leaky_relu(x, slope=0.2)
            unknown = set(named) - set(cls.parameters)
            if unknown:
                raise TypeError(f"{cls.symbol} has no constant {sorted(unknown)[0]!r}")
            constants = tuple(named.get(p, d) for p, d in zip(cls.parameters, cls.defaults, strict=True))
        values = [sympify(v) for v in (constants or cls.defaults)]
        if len(values) != len(cls.parameters):
            raise TypeError(f"{cls.symbol} takes {len(cls.parameters)} constant(s): {', '.join(cls.parameters)}")
        cls.validate(*values)
        return Basic.__new__(cls, arg, *values)

    @classmethod
    def validate(cls, *constants) -> None:
        """Refuse (TypeError, one line) constants for which the rule or the code would be wrong."""

    @property
    def constants(self) -> tuple:
        return self.args[1:]

    @staticmethod
    def scalar(x, *constants):  # pragma: no cover - every primitive overrides it
        raise NotImplementedError

    @staticmethod
    def derivative(x, ans, *constants):  # pragma: no cover - every primitive overrides it
        raise NotImplementedError

    def explicit(self, arg, *constants):
        return arg.applyfunc(lambda v: self.scalar(v, *constants))

    def derivative_bound(self):
        """sup |f'(x)| for this node's constants, or None where f' is unbounded."""
        return self.derivative_sup

    def answer_derivative(self):
        """f'(x), entry by entry."""
        from derive.nodes import Prime

        return Prime(self)

    def rule(self):
        """(x, ans) -> f'(x), with this node's constants bound."""
        return lambda x, ans: self.derivative(x, ans, *self.constants)

    def code(self, x: str, wrapped: str, batched: bool = False) -> str:
        """The NumPy code of f(x): ``x`` is the argument's code, ``wrapped`` the same in
        parentheses unless it is one atom (what an argument inside a formula needs)."""
        template = (self.batched or self.numpy) if batched else self.numpy
        call = template.endswith("({x})") and template.count("{x}") == 1 and "(" not in template[:-5]
        constants = {name: str(float(v)) for name, v in zip(self.parameters, self.constants, strict=True)}
        return template.format(x=x if call else wrapped, **constants)
