"""Where a 2-D convolution reads: the index maps of valid cross-correlation, in one place.

An image of ``c_in`` channels, ``size`` × ``size`` pixels, is a column vector of length
c_in·size² (channel by channel, each row-major); a kernel bank is a matrix of c_out·k rows and
c_in·k columns whose block (o, c) is the k × k filter from channel c to channel o; the output
is a column vector of c_out·out² entries (channel by channel, row-major), with
out = (size + 2·padding − k) // stride + 1. With one channel each these are the 4 × 4 input,
3 × 3 kernel and 2 × 2 output of seed 000, flattened row-major.

The functions here are plain Python over NumPy integers. The symbolic nodes, the oracles, the
LaTeX element-by-element expansion and the generated modules all use them (the modules get
their source, so that a module still needs nothing but NumPy).
"""

import numpy as _numpy


def conv_out_size(size, kernel, stride, padding):
    """Pixels per side of the output."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_patch_indices(c_in, size, kernel, stride, padding):
    """(P, Q) integers: entry [p, q] is the input entry that output position p reads with
    kernel entry q (q runs over channel, kernel row, kernel column); positions in the padding
    read index c_in·size², one past the input, where a zero is appended."""
    out = (size + 2 * padding - kernel) // stride + 1
    i, j = _numpy.divmod(_numpy.arange(out * out), out)
    c, uv = _numpy.divmod(_numpy.arange(c_in * kernel * kernel), kernel * kernel)
    u, v = _numpy.divmod(uv, kernel)
    rows = i[:, None] * stride + u[None, :] - padding
    cols = j[:, None] * stride + v[None, :] - padding
    inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    flat = c[None, :] * size * size + _numpy.clip(rows, 0, size - 1) * size + _numpy.clip(cols, 0, size - 1)
    return _numpy.where(inside, flat, c_in * size * size)


def conv_kernel_indices(c_in, c_out, kernel):
    """(c_out, Q) integers: entry [o, q] is where kernel entry q of output channel o sits in the
    row-major kernel-bank matrix (c_out·k rows, c_in·k columns)."""
    c, uv = _numpy.divmod(_numpy.arange(c_in * kernel * kernel), kernel * kernel)
    u, v = _numpy.divmod(uv, kernel)
    o = _numpy.arange(c_out)[:, None]
    return (o * kernel + u[None, :]) * (c_in * kernel) + c[None, :] * kernel + v[None, :]
