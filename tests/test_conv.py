"""The convolution op against independent oracles, on its own: the rules' kernel and image
gradients (the image one no preset reaches, since seed 000's image is data) against sympy.diff
of the forward's explicit entries, and the NumPy helpers against autograd, at a geometry with
channels, stride and padding."""

import threading

import autograd
import autograd.numpy as anp
import numpy as np
from sympy import ImmutableMatrix, MatrixSymbol, symbols

from derive import rules
from derive.nodes import Conv2d, ConvInputGrad, ConvKernelGrad, conv_geometry
from derive.printing import numpy_module
from derive.printing.numpy import HELPERS as COLUMN_HELPERS

GEOMETRY = dict(c_in=2, c_out=3, size=4, kernel=2, stride=2, padding=1)
SIZES = (GEOMETRY["c_out"] * GEOMETRY["kernel"], GEOMETRY["c_in"] * GEOMETRY["kernel"])  # the kernel bank
PIXELS = GEOMETRY["c_in"] * GEOMETRY["size"] ** 2


def geometry():
    g = GEOMETRY
    return conv_geometry(g["c_in"], g["c_out"], g["size"], g["kernel"], g["stride"], g["padding"])


def test_the_rules_match_sympy_diff_of_the_explicit_convolution():
    w = ImmutableMatrix(*SIZES, symbols(f"w0:{SIZES[0] * SIZES[1]}"))
    z = ImmutableMatrix(PIXELS, 1, symbols(f"z0:{PIXELS}"))
    y = Conv2d(w, z, geometry()).doit()
    g = ImmutableMatrix(y.shape[0], 1, symbols(f"g0:{y.shape[0]}"))
    loss = (g.T * y)[0, 0]  # gᵀ conv(w, z): its gradients are the VJPs at g
    f = Conv2d(MatrixSymbol("w", *SIZES), MatrixSymbol("z", PIXELS, 1), geometry())
    kernel_rule, image_rule, _ = rules.rule_for(f)(g, f, None)
    assert isinstance(kernel_rule, ConvKernelGrad) and isinstance(image_rule, ConvInputGrad)
    kernel = ConvKernelGrad(g, z, geometry()).doit()
    image = ConvInputGrad(g, w, geometry()).doit()
    assert kernel == ImmutableMatrix(*SIZES, [loss.diff(e) for e in w])
    assert image == ImmutableMatrix(PIXELS, 1, [loss.diff(e) for e in z])


def _namespace(helpers, np_module):
    ns = {"np": np_module, "threading": threading}  # what a generated module imports
    for source in helpers.values():
        exec(source, ns)  # noqa: S102 - derive's own helper source
    return ns


def test_column_helpers_match_autograd():
    rng = np.random.default_rng(0)
    w, z = rng.standard_normal(SIZES), rng.standard_normal((PIXELS, 1))
    traced = _namespace(COLUMN_HELPERS, anp)
    plain = _namespace(COLUMN_HELPERS, np)
    out = plain["_conv2d"](w, z, **GEOMETRY)
    g = rng.standard_normal(out.shape)

    def loss(w, z):
        return anp.sum(g * traced["_conv2d"](w, z, **GEOMETRY))

    dw, dz = autograd.grad(loss, argnum=(0, 1))(w, z)
    assert np.allclose(plain["_conv2d_kernel_grad"](g, z, **GEOMETRY), dw, atol=1e-12)
    assert np.allclose(plain["_conv2d_input_grad"](g, w, **GEOMETRY), dz, atol=1e-12)


def test_batched_module_helpers_match_the_column_ones():
    rng = np.random.default_rng(1)
    w, batch = rng.standard_normal(SIZES), rng.standard_normal((5, PIXELS))
    column = _namespace(COLUMN_HELPERS, np)
    rows = _namespace(numpy_module.HELPERS, np)
    out = rows["_conv2d_rows"](w, batch, **GEOMETRY)
    g = rng.standard_normal(out.shape)
    for b in range(5):  # each row is the column helper's value for that example
        assert np.allclose(out[b], column["_conv2d"](w, batch[b][:, None], **GEOMETRY)[:, 0])
        assert np.allclose(rows["_conv2d_input_grad_rows"](g, w, **GEOMETRY)[b],
                           column["_conv2d_input_grad"](g[b][:, None], w, **GEOMETRY)[:, 0])
    kernel = sum(column["_conv2d_kernel_grad"](g[b][:, None], batch[b][:, None], **GEOMETRY) for b in range(5))
    assert np.allclose(rows["_conv2d_kernel_grad_sum"](g, batch, **GEOMETRY), kernel)
