"""Shared helpers for the torch keys of tests/real/.

Each keys/<source>.py builds the source's forward pass in torch (float64, small random sizes),
evaluates every claim's right-hand side with the values autograd gives for the quantities it
names, and compares with autograd's value of the left-hand side.  It prints one verdict per claim
and checks it against tests/real/<source>_key.json (or writes that file with --write).

Nothing here imports derive: the key is independent of the tool it is meant to test.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch

torch.set_default_dtype(torch.float64)

REAL = Path(__file__).resolve().parent.parent


def close(a, b, tol=1e-8):
    """a and b equal (same shape, entries within tol, relative to their size)."""
    a = torch.as_tensor(a)
    b = torch.as_tensor(b)
    if a.shape != b.shape:
        if a.numel() == b.numel():
            return False  # a different layout is not the claimed object
        return False
    scale = 1.0 + float(b.detach().abs().max()) if b.numel() else 1.0
    return float((a - b).detach().abs().max()) <= tol * scale if a.numel() else True


def all_close(pairs):
    """pairs: iterable of (claimed, true); every one must agree."""
    return all(close(a, b) for a, b in pairs)


def attempt(fn):
    """Run fn(); a shape error (a product that is not conformable) counts as 'does not hold'."""
    try:
        return bool(fn())
    except (RuntimeError, ValueError, IndexError):  # torch raises RuntimeError on bad shapes
        return False


def verdict(general, special=None):
    """general: the claim holds at random values; special: it holds in the open case the source leaves
    (e.g. a generic activation taken to be the identity)."""
    if general:
        return "correct"
    if special:
        return "conditional"
    return "incorrect"


def _norm(s):
    return re.sub(r"\s+", "", s)


class Key:
    def __init__(self, source):
        self.source = source
        self.claims_path = REAL / f"{source}_claims.md"
        self.key_path = REAL / f"{source}_key.json"
        self.lines = self.claims_path.read_text().splitlines()
        self.rows = []

    def _locate(self, line, latex):
        """The claim's left side must sit on `line`, and every piece of the claim (split at the
        top-level '=' we wrote it with) must occur in the display block that starts there."""
        parts = re.split(r"\s*=\s*", latex, maxsplit=1)
        lhs, rhs = (parts[0], parts[1]) if len(parts) == 2 else (latex, "")
        here = _norm(self.lines[line - 1])
        block = _norm("\n".join(self.lines[line - 1: line + 14]))
        start = _norm(lhs)[:8]
        if start not in here or _norm(lhs) not in _norm("\n".join(self.lines[line - 1: line + 2])):
            raise SystemExit(f"{self.source}: line {line}: left side {lhs!r} does not start on that line")
        if _norm(rhs)[:40] not in block:
            raise SystemExit(f"{self.source}: line {line}: right side {rhs[:60]!r} not found near that line")

    def span(self, line):
        """The claim's text from its left side to the end of its display (for long chains)."""
        out = []
        for ln in self.lines[line - 1:]:
            if "\\end{" in ln or ln.strip().startswith("$$"):
                break
            out.append(ln.strip())
        return " ".join(out).replace("&=", "=").replace("&+", "+").replace("\\\\ ", " ").rstrip("\\")

    def claim(self, line, latex, steps, why, got):
        self._locate(line, latex)
        self.rows.append({"line": line, "latex": latex, "key": got, "why": why, "steps": steps})

    def finish(self):
        write = "--write" in sys.argv
        self.rows.sort(key=lambda r: r["line"])  # file order (stable for claims on one line)
        for r in self.rows:
            print(f"line {r['line']:>4}: {r['key']:<11} {r['why']}")
        if write:
            self.key_path.write_text(json.dumps(self.rows, indent=1, ensure_ascii=False) + "\n")
            print(f"wrote {self.key_path.name} ({len(self.rows)} claims)")
            return
        if self.key_path.exists():
            stored = json.loads(self.key_path.read_text())
            bad = [(a["line"], a["key"], b["key"]) for a, b in zip(self.rows, stored, strict=False)
                   if (a["line"], a["key"]) != (b["line"], b["key"])]
            if len(stored) != len(self.rows) or bad:
                print(f"MISMATCH with {self.key_path.name}: {bad or 'different number of claims'}")
                sys.exit(1)
            print(f"{self.source}: all {len(self.rows)} verdicts agree with {self.key_path.name}")


def jac(f, x):
    """Jacobian of f at x, shape f(x).shape + x.shape (numerator layout, as torch gives it)."""
    return torch.autograd.functional.jacobian(f, x)


def prod(grad_out, jacobian, out_ndim):
    """d2l's prod(dL/dY, dY/dX): contract the upstream gradient (shape of Y) with the Jacobian
    dY/dX (shape Y + X) over Y's axes: the conformable product the operator stands for."""
    dims = list(range(out_ndim))
    return torch.tensordot(grad_out, jacobian, dims=(dims, dims))
