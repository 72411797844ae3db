"""The buffers a generated module's gradients() keeps between calls (derive/codegen/buffers.py
says which arrays and why). These definitions are copied into every module that has buffers
(``SOURCES``); they are tested here, where they live.
"""

from __future__ import annotations

import inspect
import threading

import numpy as np

_ALIGN = 64  # each slot starts on a cache line


class Workspace:
    """The arrays gradients() keeps between calls, for the ``keep`` most recent shapes and dtypes
    (2: a truncated-BPTT loop's full chunks and its shorter last one; 0 keeps nothing). One per
    thread: two calls running at once must not share one."""

    def __init__(self, keep=2):
        self.keep = keep
        # (the module's lifetimes, dtype, shapes) -> (those lifetimes, the buffers), most recent last
        self._kept = {}

    def buffers(self, key, lifetimes):
        """The buffers of one module (``lifetimes``, its own object) for these shapes and dtype:
        on the first call a _Recorder (every slot None, each array's shape and dtype noted),
        then views into one block laid out from those. Modules sharing a workspace never share
        buffers: the entry keeps the module's lifetimes, so no other object takes their id."""
        key = (id(lifetimes), key)
        _, found = self._kept.pop(key, (None, None))
        if isinstance(found, _Recorder):
            found = _packed(found.made, lifetimes)
        elif found is None:
            found = _Recorder(len(lifetimes))
        while self._kept and len(self._kept) >= self.keep:
            del self._kept[next(iter(self._kept))]
        if self.keep:
            self._kept[key] = (lifetimes, found)
        return found

    @property
    def nbytes(self):
        """The memory the kept arrays hold."""
        kept = [a for _, buffers in self._kept.values() if isinstance(buffers, list) for a in buffers
                if a is not None]
        blocks = {id(a.base): a.base.nbytes for a in kept if a.base is not None}
        return sum(blocks.values()) + sum(a.nbytes for a in kept if a.base is None)

    def clear(self):
        """Let every kept array go."""
        self._kept.clear()


class _Recorder:
    """A first call's buffers: every slot reads None (out=None makes a new array) and keeps
    only the shape and dtype of what is stored in it, so that call's memory is as without them."""

    def __init__(self, count):
        self.made = [None] * count

    def __getitem__(self, slot):
        return (None,) * len(range(*slot.indices(len(self.made)))) if isinstance(slot, slice) else None

    def __setitem__(self, slot, value):
        if isinstance(slot, slice):
            for j, a in zip(range(*slot.indices(len(self.made))), value, strict=True):
                self.made[j] = (a.shape, a.dtype)
        else:
            self.made[slot] = (value.shape, value.dtype)


def _packed(made, lifetimes):
    """Arrays of the recorded shapes and dtypes, views into one block: two share bytes only
    when their lifetimes (first and last statement using each) do not overlap. Largest first,
    each at the lowest offset clear of those alive beside it."""
    sizes = [0 if m is None else -(-int(np.prod(m[0])) * np.dtype(m[1]).itemsize // _ALIGN) * _ALIGN for m in made]
    placed, offsets = [], {}
    for j in sorted(range(len(made)), key=lambda j: -sizes[j]):
        if made[j] is None:
            continue
        first, last = lifetimes[j]
        offset = 0
        for start, end in sorted((s, e) for s, e, f, q in placed if f <= last and first <= q):
            if offset + sizes[j] <= start:
                break
            offset = max(offset, end)
        placed.append((offset, offset + sizes[j], first, last))
        offsets[j] = offset
    block = np.empty(max([end for _, end, _, _ in placed], default=0), dtype=np.uint8)
    return [None if m is None else
            block[offsets[j]:offsets[j] + sizes[j]].view(m[1])[:int(np.prod(m[0]))].reshape(m[0])
            for j, m in enumerate(made)]


_THREAD = threading.local()  # each thread's own Workspace


def thread_workspace():
    """This thread's own Workspace, the one gradients() keeps its arrays in when given none
    (``thread_workspace().clear()`` lets them go)."""
    workspace = getattr(_THREAD, "workspace", None)
    if workspace is None:
        workspace = _THREAD.workspace = Workspace()
    return workspace


def _buffers(workspace, key, lifetimes):
    """The buffers of ``workspace`` (None: this thread's own) for the shapes and dtype ``key``."""
    return (workspace or thread_workspace()).buffers(key, lifetimes)


def _empty(buffers, slot, shape, dtype):
    """The array in buffers[slot] (new where there is none yet)."""
    a = buffers[slot]
    if a is None:
        a = np.empty(shape, dtype=dtype)
        buffers[slot] = a
    return a


def _zeros(buffers, slot, shape, dtype):
    """The array in buffers[slot] (new where there is none yet), all 0."""
    a = buffers[slot]
    if a is None:
        a = np.zeros(shape, dtype=dtype)
        buffers[slot] = a
    else:
        a.fill(0)
    return a


class _NoBuffers:
    """forward()'s buffers: every slot None and nothing kept (what it returns is the caller's)."""

    def __getitem__(self, slot):
        return (None,) * (slot.stop - slot.start) if isinstance(slot, slice) else None

    def __setitem__(self, slot, value):
        pass


# each helper's source, as the module generator copies it (the name its code is called by)
SOURCES = {
    "Workspace": inspect.getsource(Workspace),
    "_Recorder": inspect.getsource(_Recorder),
    "_packed": f"_ALIGN = {_ALIGN}  # each slot starts on a cache line\n\n\n" + inspect.getsource(_packed),
    "thread_workspace": "_THREAD = threading.local()  # each thread's own Workspace\n\n\n"
                        + inspect.getsource(thread_workspace),
    "_buffers": inspect.getsource(_buffers),
    "_empty": inspect.getsource(_empty),
    "_zeros": inspect.getsource(_zeros),
    "_NoBuffers": inspect.getsource(_NoBuffers),
}
