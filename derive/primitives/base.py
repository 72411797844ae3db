"""What a primitive keeps in its own module, beside its node: its vector-Jacobian rule, how each
target prints it, the helpers its code calls, how answers write it and its rule's name.

The printers each have one method for every primitive (``_print_Primitive``) that asks the node
itself; the rule table asks the node for its rule. A primitive's module is therefore all there
is to read, and to write, about it.
"""

from __future__ import annotations

from derive.nodes import Node


class Primitive(Node):
    vjp = None  # staticmethod (g, f, ans) -> the gradient reaching each of f.args (None: none flows)
    label = ("", "")  # the rule's name: in the terminal, in a LaTeX document
    label_zh = ""  # in a Chinese document, where it differs
    helpers: dict[str, str] = {}  # the NumPy functions its column code calls: name -> source
    module_helpers: dict[str, str] = {}  # those its generated-module code calls
    fused: dict = {}  # a loss's simpler rule after a given inner function: class -> (g, p, y) -> gradient
    fused_label: dict = {}  # why: class -> (terminal text, the LaTeX documents' phrase key)
    spellings: tuple[str, ...] = ()  # how answers write it
    symbol = ""  # its name where answers apply it, f(x) (derive/primitives APPLIED)
    # what its printed notation means, for a document that prints it: language -> LaTeX sentence
    # (a reader meets [W]_{:,1:n} or conv(·,·) defined in the conventions before its first use)
    defines: dict[str, str] = {}

    def argument_layouts(self) -> dict[str, str]:
        """A parameter argument's entry layout, where its shape alone does not tell it (name ->
        the phrase a generated module's docstring gives it)."""
        return {}

    def answer_derivative(self):
        """What an answer's f'(x) means, for a function answers apply by name."""
        raise NotImplementedError(type(self).__name__)

    def latex(self, p) -> str:  # pragma: no cover - every primitive defines its spellings
        raise NotImplementedError(type(self).__name__)

    def unicode(self, p) -> str:  # pragma: no cover
        raise NotImplementedError(type(self).__name__)

    def numpy(self, p) -> str:  # pragma: no cover
        raise NotImplementedError(type(self).__name__)

    def module(self, p) -> str:
        """Its code in a generated module, where rows of a batch stand for columns."""
        return self.numpy(p)

    @classmethod
    def sample(cls, net, a, b):
        """An expression using this primitive on the columns ``a`` and ``b`` of a test network
        (declaring in ``net`` whatever else it needs): the generic op test's case."""
        return cls(a)
