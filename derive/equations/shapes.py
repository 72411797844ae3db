"""Shapes by unification: every symbol's rows and columns are dimension variables; a product, a
sum, an entrywise product each say which must be equal; a stacked [a; b] has rows a + b. What is
left open after the equations is a size of its own, named from the first symbol that has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ShapeError(ValueError):
    """Two dimensions that must be equal and cannot be."""


@dataclass
class Dims:
    """Union-find over dimension variables; a class may be fixed to a number, a named size, or a
    sum of other classes (the rows of a stack)."""

    parent: list[int] = field(default_factory=list)
    value: dict[int, object] = field(default_factory=dict)  # root -> int | ("size", name) | ("sum", (dims))

    def new(self, value=None) -> int:
        self.parent.append(len(self.parent))
        if value is not None:
            self.value[len(self.parent) - 1] = value
        return len(self.parent) - 1

    def find(self, d: int) -> int:
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def unify(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        va, vb = self.value.get(a), self.value.get(b)
        if va is not None and vb is not None:
            if isinstance(va, tuple) and isinstance(vb, tuple) and va[0] == vb[0] == "sum" and len(va[1]) == len(vb[1]):
                self.parent[b] = a
                for x, y in zip(va[1], vb[1], strict=True):
                    self.unify(x, y)
                return
            if self.number(a) is not None and self.number(a) == self.number(b):
                self.parent[b] = a
                return
            if va != vb:
                raise ShapeError(f"{self.show(a)} and {self.show(b)} would have to be equal")
        for open_root, other in ((a, vb), (b, va)):
            if other is not None and open_root in self._parts(other):
                raise ShapeError("a size would have to equal itself plus another (a stack of a vector with itself)")
        self.parent[b] = a
        if va is None and vb is not None:
            self.value[a] = vb

    def _parts(self, value) -> set[int]:
        """The classes a sum is made of, through nested sums."""
        if not (isinstance(value, tuple) and value[0] == "sum"):
            return set()
        roots = {self.find(x) for x in value[1]}
        for root in list(roots):
            roots |= self._parts(self.value.get(root))
        return roots

    def number(self, d: int) -> int | None:
        v = self.value.get(self.find(d))
        if isinstance(v, int):
            return v
        if isinstance(v, tuple) and v[0] == "sum":
            parts = [self.number(x) for x in v[1]]
            return sum(parts) if all(p is not None for p in parts) else None
        return None

    def is_fixed(self, d: int) -> bool:
        return self.find(d) in self.value

    def show(self, d: int) -> str:
        v = self.value.get(self.find(d))
        if v is None:
            return "an open size"
        if isinstance(v, int):
            return str(v)
        if v[0] == "size":
            return v[1]
        return " + ".join(self.show(x) for x in v[1])


@dataclass(frozen=True)
class Shape:
    rows: int
    cols: int

    def t(self) -> Shape:
        return Shape(self.cols, self.rows)
