"""The numbers an analysis runs on: the parameters (from a user's .npz, or random at a scale),
the inputs and targets of one sampled trajectory, and the sizes the given weights imply.

Random parameters: a weight (a parameter some product multiplies from the left: W in W h_{t−1},
a 1×1 W too) with c columns has entries N(0, scale²/c), so that a square recurrent matrix has a
spectral radius of about ``scale`` (the circular law); any other parameter (a bias, added) has
entries N(0, 0.1²). Inputs are N(0, 1) at every step. An .npz is read with
``allow_pickle=False``: it holds arrays, never code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy
from sympy import Symbol, sympify

from derive.network import Network, size_of
from derive.nodes import TimeSym

MAX_WEIGHTS_BYTES = 64 * 1024 * 1024
BIAS_SCALE = 0.1


class WeightsError(ValueError):
    """A weights file that cannot be used (one line for the user)."""


def read_weights(path: str) -> dict[str, numpy.ndarray]:
    """The arrays of an .npz (or .npy-free zip of arrays), as float64 matrices."""
    file = Path(path)
    if not file.is_file():
        raise WeightsError(f"no such weights file: {path}")
    if file.stat().st_size > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{path}: over {MAX_WEIGHTS_BYTES // 2**20} MiB; an analysis needs a few matrices")
    try:
        with numpy.load(file, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise WeightsError(f"{path}: not an .npz of arrays ({type(err).__name__})") from None
    out = {}
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise WeightsError(f"{path}: {name} holds {array.dtype} values, not real numbers")
        matrix = numpy.asarray(array, dtype=float)
        if matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        if matrix.ndim != 2:
            raise WeightsError(f"{path}: {name} has {matrix.ndim} dimensions; a parameter is a matrix")
        if not numpy.all(numpy.isfinite(matrix)):
            raise WeightsError(f"{path}: {name} holds a value that is not finite")
        out[name] = matrix
    return out


def implied_sizes(net: Network, weights: dict[str, numpy.ndarray], fixed: set[str]) -> dict[str, int]:
    """The sizes the given matrices imply (W of 2×2 gives n = 2), for sizes the user did not set.

    A parameter the model does not have is refused, and so is a size two matrices disagree on."""
    params = {p.name: p for p in net.params}
    unknown = sorted(set(weights) - set(params))
    if unknown:
        raise WeightsError(f"the weights name {unknown[0]!r}, which is not a parameter of the model "
                           f"(its parameters: {', '.join(params)})")
    implied: dict[str, tuple[int, str]] = {}
    for name, matrix in weights.items():
        rows, cols = (sympify(d) for d in params[name].shape)
        if rows == cols and matrix.shape[0] != matrix.shape[1]:
            raise WeightsError(f"{name} is {matrix.shape[0]}×{matrix.shape[1]} in the weights, but the model's {name} "
                               f"is square ({rows}×{cols})")
        for dim, actual in zip(params[name].shape, matrix.shape, strict=True):
            dim = sympify(dim)
            if isinstance(dim, Symbol) and dim.name not in fixed:
                seen = implied.get(dim.name)
                if seen is not None and seen[0] != actual:
                    raise WeightsError(f"the weights disagree on {dim.name}: {seen[1]} gives {seen[0]}, "
                                       f"{name} gives {actual}")
                implied[dim.name] = (actual, name)
    return {size: value for size, (value, _) in implied.items()}


def parameters(net: Network, sizes: dict[str, int], weights: dict[str, numpy.ndarray],
               rng: numpy.random.Generator, scale: float) -> tuple[dict[str, numpy.ndarray], list[str]]:
    """(every parameter's value, the names drawn at random): the given ones, checked against
    their shapes, and random ones for the rest."""
    values, drawn = {}, []
    scaled = net.multiplied_params()
    for p in net.params:
        shape = (size_of(p.shape[0], sizes), size_of(p.shape[1], sizes))
        if p.name in weights:
            if weights[p.name].shape != shape:
                rows, cols = (str(d) for d in p.shape)
                raise WeightsError(f"{p.name} is {weights[p.name].shape[0]}×{weights[p.name].shape[1]} in the "
                                   f"weights, but the model's {p.name} is {rows}×{cols} = {shape[0]}×{shape[1]}")
            values[p.name] = weights[p.name]
            continue
        spread = scale / shape[1] ** 0.5 if p.name in scaled else BIAS_SCALE
        values[p.name] = rng.normal(0.0, spread, shape)
        drawn.append(p.name)
    return values, drawn


def trajectory_data(net: Network, sizes: dict[str, int], steps: int, rng: numpy.random.Generator) -> dict:
    """Inputs N(0, 1) at every step and targets of the kind the model reads (the forward pass
    computes the loss too; the Jacobians do not depend on it)."""
    data = {}
    for x in net.inputs:
        rows = size_of(x.shape[0], sizes)
        data[x.name] = ({step: rng.normal(0.0, 1.0, (rows, 1)) for step in range(1, steps + 1)}
                        if isinstance(x, TimeSym) else rng.normal(0.0, 1.0, (rows, 1)))

    def target(rows, kind):
        if kind == "onehot":
            return numpy.eye(rows)[:, [int(rng.integers(rows))]]
        if kind == "binary":
            return rng.integers(0, 2, (rows, 1)).astype(float)
        return rng.normal(0.0, 1.0, (rows, 1))

    for y in net.target_symbols:
        rows, kind = size_of(y.shape[0], sizes), net.targets[y.name]
        data[y.name] = ({step: target(rows, kind) for step in range(1, steps + 1)}
                        if isinstance(y, TimeSym) else target(rows, kind))
    return data


__all__ = ["WeightsError", "implied_sizes", "parameters", "read_weights", "trajectory_data"]
