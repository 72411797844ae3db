"""A NumPy stand-in over object arrays of mpmath numbers, for high-precision evaluation.

The NumPy printer's code calls ``np.exp``, ``np.maximum``, ``@`` and a few more; bound to this
module instead of NumPy it runs at mpmath's working precision (``mpmath.mp.dps``). It is the
reference where float64 cannot be one: extreme logits, and comparing a student's expression
with the truth beyond rounding.
"""

from __future__ import annotations

import mpmath
import numpy

float64 = numpy.float64


def array(values) -> numpy.ndarray:
    """An object array of mpf from numbers or a float array."""
    out = numpy.empty(numpy.shape(values), dtype=object)
    flat = numpy.asarray(values, dtype=object).ravel()
    out.ravel()[:] = [mpmath.mpf(v) for v in flat]
    return out


def _elementwise(fn):
    vec = numpy.frompyfunc(fn, 1, 1)

    def apply(x):
        result = vec(x)
        return result if isinstance(result, numpy.ndarray) else mpmath.mpf(result)

    return apply


exp = _elementwise(mpmath.exp)
log = _elementwise(mpmath.log)
tanh = _elementwise(mpmath.tanh)
sin = _elementwise(mpmath.sin)
cos = _elementwise(mpmath.cos)
sqrt = _elementwise(mpmath.sqrt)
_max2 = numpy.frompyfunc(lambda a, b: a if a >= b else b, 2, 1)
_logaddexp = numpy.frompyfunc(lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)), 2, 1)
_heaviside = numpy.frompyfunc(lambda x, at0: mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else at0), 2, 1)


def maximum(a, b):
    return _max2(a, b)


def logaddexp(a, b):
    return _logaddexp(a, b)


def heaviside(x, at_zero):
    return _heaviside(x, mpmath.mpf(at_zero))


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    return numpy.sum(numpy.asarray(x, dtype=object), axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.max
    return numpy.max(numpy.asarray(x, dtype=object), axis=axis, keepdims=keepdims)


def zeros(shape, dtype=None):
    return array(numpy.zeros(shape))


def ones(shape, dtype=None):
    return array(numpy.ones(shape))


def eye(size, dtype=None):
    return array(numpy.eye(int(size)))


def zeros_like(x):
    return array(numpy.zeros(numpy.shape(x)))


def diagflat(v):
    out = zeros((len(numpy.ravel(v)),) * 2)
    for j, value in enumerate(numpy.ravel(v)):
        out[j, j] = value
    return out


kron = numpy.kron
concatenate = numpy.concatenate
reshape = numpy.reshape
asarray = numpy.asarray


def point(p):
    """An evaluate.Point with every array turned into mpf entries."""
    from derive.evaluate import Point

    def convert(v):
        return {key: array(m) for key, m in v.items()} if isinstance(v, dict) else array(v)

    return Point(p.sizes, p.steps, {k: array(v) for k, v in p.params.items()},
                 {k: convert(v) for k, v in p.data.items()}, p.hypers, p.functions)
