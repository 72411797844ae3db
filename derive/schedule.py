"""When each assignment of a network runs: the phases its forward pass goes through.

A phase is one of

    static    once: an MLP's layers, a head on h_T, a reduction over time, the objective
    map       every step independently: U x_t + b before a recurrence, the outputs after it
    forward   a recurrence over t = 1..T: it reads a state at t - 1 (h_0 = 0)
    backward  a recurrence over t = T..1: it reads a state at t + 1 (g_{T+1} = 0)

in an order that computes every value before it is read; the backward pass runs them in
reverse. A read that no such order can serve (a value of step t + 1 of a forward state, a cycle
through a reduction over time) is refused when it is declared, never derived.
"""

from __future__ import annotations

from dataclasses import dataclass

from derive.nodes import T, TimeSum, TimeSym, t

STATIC, MAP, FORWARD, BACKWARD = "static", "map", "forward", "backward"


class CannotPlace(ValueError):
    """A read or a dependency that no order of the phases can serve."""


@dataclass(frozen=True)
class Phase:
    kind: str  # static | map | forward | backward
    assignments: tuple  # in an order that computes each before the others of the step read it

    @property
    def per_step(self) -> bool:
        return self.kind != STATIC

    def steps(self, count: int) -> range:
        """The order in which the forward pass visits t (the backward pass runs it reversed)."""
        return range(count, 0, -1) if self.kind == BACKWARD else range(1, count + 1)


def _time_reads(expr, inside: bool = False) -> list[tuple[str, object, bool]]:
    """(name, index, inside) of every time-indexed value ``expr`` reads, inside: within a step
    (``inside`` given) or a sum over t."""
    found = []

    def walk(x, inside):
        if isinstance(x, TimeSym):
            found.append((x.name, x.index, inside))
        elif isinstance(x, TimeSum):
            walk(x.body, True)
        else:
            for a in getattr(x, "args", ()):
                if hasattr(a, "args"):
                    walk(a, inside)

    walk(expr, inside)
    return found


def _shift(index):
    """s for an index t + s with s a whole number, else None."""
    shift = index - t
    return int(shift) if shift.is_Integer else None


def reads(expr) -> list[tuple[str, object]]:
    """(name, where) of every time-indexed value ``expr`` reads: where is the shift s of a read
    at t + s in a step (or in a sum over t), or the index itself ("T", 1) of a fixed step."""
    return [(name, index if _shift(index) is None else _shift(index)) for name, index, _ in _time_reads(expr)]


def check_reads(net, target_name: str, expr, per_step: bool) -> None:
    """Refuse a read that the phases cannot place, naming the equation and the symbol."""
    directions = {s.name: s.direction for s in net.states}
    per_step_names = {a.name for a in net.assignments if a.per_step} | set(directions)
    per_step_names |= {x.name for x in net.inputs + net.target_symbols if isinstance(x, TimeSym)}
    for name, where in _reads_with_context(expr, per_step):
        inside, value = where
        if name not in per_step_names and name != target_name:
            continue
        if inside:  # in the step, or in a sum over t
            if value == 0:
                continue
            direction = directions.get(name)
            if value == -1 and direction == FORWARD or value == 1 and direction == BACKWARD:
                continue
            if value in (-1, 1) and direction is not None:
                other = "t - 1" if direction == FORWARD else "t + 1"
                raise CannotPlace(f"{target_name} reads {name} at t {'+' if value > 0 else '-'} 1, but {name} runs "
                                  f"{direction} in time: it can read {name} at {other} only")
            raise CannotPlace(f"{target_name} reads {name} at {_shown(value)}, which derive cannot place: a step "
                              "reads values of its own step, a forward state at t - 1 and a backward state at t + 1")
        if value == T or value == 1:
            continue
        raise CannotPlace(f"{target_name} reads {name} at {_shown(value)}, which derive cannot place: outside a "
                          f"sum over t, {name} is read at T (the last step) or at 1 (the first)")


def _reads_with_context(expr, per_step):
    """(name, (inside, where)): where is the shift of a read inside a step or a sum over t, else its index."""
    return [(name, (inside, _shift(index) if inside and _shift(index) is not None else index))
            for name, index, inside in _time_reads(expr, per_step)]


def _shown(index) -> str:
    if isinstance(index, int):
        return "t" if index == 0 else f"t {'+' if index > 0 else '-'} {abs(index)}"
    return str(index)


def phases(net) -> list[Phase]:
    """The phases of ``net``'s forward pass, in order (see the module's docstring)."""
    assignments = list(net.assignments)
    by_name = {a.name: a for a in assignments}
    directions = {s.name: s.direction for s in net.states}
    position = {a.name: j for j, a in enumerate(assignments)}
    step = [a for a in assignments if a.per_step]

    def same_step_reads(a):
        return {name for name, where in reads(a.expr) if where == 0 and name in by_name and by_name[name].per_step}

    kind = {}
    for direction, shift in ((FORWARD, -1), (BACKWARD, 1)):
        carried = set()
        for _ in step:  # to a fixed point: a step may read a value declared after it
            for a in step:
                shifted = any(where == shift and directions.get(name) == direction for name, where in reads(a.expr))
                if shifted or same_step_reads(a) & carried:
                    carried.add(a.name)
        needed = {name for name, d in directions.items() if d == direction}
        for _ in step:
            for a in step:
                if a.name in needed:
                    needed |= same_step_reads(a)
        for name in carried & needed:
            if name in kind:
                raise CannotPlace(f"{name} is part of a recurrence forward in time and of one backward in time; "
                                  "derive cannot place it")
            kind[name] = direction
    for a in assignments:
        kind.setdefault(a.name, MAP if a.per_step else STATIC)

    # Units: each recurrence (its assignments joined by what they read of each other) is one
    # sweep; every other assignment is a unit of its own.
    unit_of = {a.name: a.name for a in assignments}

    def root(name):
        while unit_of[name] != name:
            name = unit_of[name]
        return name

    for a in step:
        if kind[a.name] in (FORWARD, BACKWARD):
            for name, _ in reads(a.expr):
                if name in kind and kind[name] == kind[a.name]:
                    unit_of[root(name)] = root(a.name)
    units: dict[str, list] = {}
    for a in assignments:
        units.setdefault(root(a.name), []).append(a)
    depends = {u: set() for u in units}
    for u, members in units.items():
        for a in members:
            for name in _all_reads(a.expr):
                if name in by_name and root(name) != u:
                    depends[u].add(root(name))
    order = _topological(list(units), depends, lambda u: min(position[a.name] for a in units[u]))
    result = []
    for u in order:
        members = _within_step(units[u], same_step_reads, position)
        phase_kind = kind[members[0].name]
        if result and phase_kind in (STATIC, MAP) and result[-1].kind == phase_kind:
            result[-1] = Phase(phase_kind, result[-1].assignments + tuple(members))
        else:
            result.append(Phase(phase_kind, tuple(members)))
    return result


def _all_reads(expr) -> set[str]:
    from derive.network import reads as names

    return names(expr)


def _topological(units, depends, rank):
    """Kahn's order, the earliest-declared ready unit first; a cycle cannot be placed."""
    done, order = set(), []
    pending = sorted(units, key=rank)
    while pending:
        ready = [u for u in pending if depends[u] <= done]
        if not ready:
            names = ", ".join(sorted(pending))
            raise CannotPlace(f"{names} depend on each other across time (a reduction over t read inside the "
                              "steps it sums); derive cannot place them")
        first = ready[0]
        order.append(first)
        done.add(first)
        pending.remove(first)
    return order


def _within_step(members, same_step_reads, position):
    """The members in an order that computes what a step reads of its own step first."""
    names = {a.name for a in members}
    done, order = set(), []
    pending = sorted(members, key=lambda a: position[a.name])
    while pending:
        ready = [a for a in pending if (same_step_reads(a) & names) - {a.name} <= done]
        if not ready:
            raise CannotPlace(f"{', '.join(a.name for a in pending)} read each other within one step")
        order.append(ready[0])
        done.add(ready[0].name)
        pending.remove(ready[0])
    return order
