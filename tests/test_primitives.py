"""Every registered elementwise primitive (derive/primitives) through the three oracles, in a
network without time and in a recurrence, at several random shapes: an op that no preset uses is
tested like the others. Adding an op to the registry adds it here."""

import numpy as np
import pytest
from harness import network_failures

from derive import Network, ops
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.primitives import PRIMITIVES, REGISTRY

SHAPES = [dict(n=2, d=1), dict(n=3, d=2), dict(n=1, d=3)]


def argument(op, z):
    """z where the op takes any real, exp(z) where it takes positive numbers only."""
    return ops.exp(z) if op.domain == "positive" else z


def layer(op, n, d) -> Network:
    net = Network(f"layer-{op.symbol}", dict(n=n, d=d, k=2), sequential=False)
    n_, d_, k_ = net.sizes("n d k")
    W, b, V = net.param("W", n_, d_), net.param("b", n_), net.param("V", k_, n_)
    x, y = net.input("x", d_), net.target("y", k_, "real")
    a = net.let("a", argument(op, W @ x + b))
    h = net.let("h", op(a))
    net.let("L", ops.squared_error(V @ h, y))
    return net


def recurrence(op, n, d) -> Network:
    net = Network(f"rnn-{op.symbol}", dict(n=n, d=d, k=2, T=3))
    n_, d_, k_ = net.sizes("n d k")
    W, U, V = net.param("W", n_, n_), net.param("U", n_, d_), net.param("V", k_, n_)
    x, y, h = net.input("x", d_), net.target("y", k_, "real"), net.state("h", n_)
    net.step(h, ops.tanh(op(argument(op, W @ h.prev + U @ x))))  # tanh keeps exp's recurrence bounded
    out = net.step("l", ops.squared_error(V @ h.now, y))
    net.let("L", ops.sum_over_time(out))
    return net


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"n{s['n']}-d{s['d']}")
@pytest.mark.parametrize("op", REGISTRY, ids=lambda op: op.symbol)
def test_every_primitive_in_a_layer_against_three_oracles(op, shape):
    net = layer(op, **shape)
    assert network_failures(net, 1, "denominator", with_sympy=True, seed=shape["n"]) == []
    assert network_failures(net, 1, "numerator", with_sympy=False, seed=shape["d"]) == []


@pytest.mark.parametrize("op", REGISTRY, ids=lambda op: op.symbol)
def test_every_primitive_in_a_recurrence_against_three_oracles(op):
    net = recurrence(op, n=2, d=1)
    assert network_failures(net, 2, "denominator", with_sympy=True, sizes=dict(n=1, d=1, k=2)) == []
    assert network_failures(net, 3, "denominator", with_sympy=False) == []


def generated_matches_autograd(net, sizes: dict, steps: int, tmp_path):
    """The module generated for ``net`` against autograd on a random batch: loss and every gradient."""
    import importlib.util

    from modules import random_batch, reference, reused_gradients

    path = tmp_path / "op_grad.py"
    path.write_text(render_module(plan_module(derive(net), sizes)))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params, inputs, targets = random_batch(net, module, steps=steps, batch=3, seed=1)
    loss, grads = reused_gradients(module, params, inputs, targets)
    ref_loss, ref = reference(net, params, inputs, targets, steps)
    assert abs(loss - ref_loss) < 1e-10
    assert all(np.allclose(grads[k], ref[k], atol=1e-10, rtol=0) for k in ref)


@pytest.mark.parametrize("op", REGISTRY, ids=lambda op: op.symbol)
def test_every_primitive_generates_code_that_matches_autograd(op, tmp_path):
    generated_matches_autograd(recurrence(op, n=3, d=2), dict(n=3, d=2, k=2), 4, tmp_path)


def test_a_primitive_with_a_constant_takes_it_by_name():
    net = Network("leaky", dict(n=2, d=1), sequential=False)
    n, d = net.sizes("n d")
    W, x = net.param("W", n, d), net.input("x", d)
    h = net.let("h", ops.leaky_relu(W @ x, slope=0.2))
    net.let("L", ops.frobenius_sq(h))
    assert float(net.assignments[0].expr.constants[0]) == 0.2
    assert network_failures(net, 1, "denominator", with_sympy=True) == []
    with pytest.raises(TypeError, match="no constant"):
        ops.leaky_relu(W @ x, alpha=0.2)


# ---------------------------------------------------------------------------- every primitive
# Each primitive's module gives a sample expression (its ``sample``); here it sits in a layer
# between two affine maps, so its rule, its printing and its code meet the same oracles.

OPS = [op for op in PRIMITIVES if op not in REGISTRY]


def sampled(op) -> Network:
    net = Network(f"sample-{op.__name__}", dict(n=2, d=2, k=2), sequential=False)
    n_, d_, k_ = net.sizes("n d k")
    W, U, V = net.param("W", n_, d_), net.param("U", n_, d_), net.param("V", k_, n_)
    x, y = net.input("x", d_), net.target("y", k_, "real")
    a, b = net.let("a", W @ x), net.let("b", ops.tanh(U @ x))
    h = net.let("h", op.sample(net, a, b))
    rest = ops.squared_error(V @ b, y)
    net.let("L", h + rest if h.shape == (1, 1) else ops.squared_error(V @ h, y) + rest)
    return net


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_every_primitive_sample_against_three_oracles(op):
    net = sampled(op)
    assert any(a.expr.atoms(op) for a in net.assignments)  # the sample uses the op itself
    assert network_failures(net, 1, "denominator", with_sympy=True, seed=2) == []
    assert network_failures(net, 1, "numerator", with_sympy=False, seed=3) == []


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_every_primitive_sample_generates_code_that_matches_autograd(op, tmp_path):
    from derive.codegen.lines import NotGeneratable

    net = sampled(op)
    if getattr(op, "generic", False):  # no numbers to compute: a clear refusal, not a NameError later
        with pytest.raises(NotGeneratable, match="generic function ell"):
            plan_module(derive(net), dict(n=2, d=2, k=2))
        return
    generated_matches_autograd(net, dict(n=2, d=2, k=2), 1, tmp_path)


# ---------------------------------------------------------------------------- meaning
# The oracles above differentiate each primitive's own meaning; PyTorch's function of the same
# name pins the meaning itself (and autograd through it the derivative), where torch has one.

# symbol -> (torch's name, its keyword arguments): derive's defaults are PyTorch's (slope 0.01)
TORCH = {"sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}), "relu": ("relu", {}), "exp": ("exp", {}),
         "log": ("log", {}), "leaky_relu": ("leaky_relu", {"negative_slope": 0.01}), "softplus": ("softplus", {}),
         "gelu": ("gelu", {"approximate": "tanh"}), "silu": ("silu", {})}


@pytest.mark.parametrize("op", REGISTRY, ids=lambda op: op.symbol)
def test_every_elementwise_primitive_means_what_pytorch_means(op):
    torch = pytest.importorskip("torch")
    from sympy import MatrixSymbol

    from derive.nodes import Prime
    from derive.printing.numpy import HELPERS, NumpyPrinter

    assert op.symbol in TORCH, f"add {op.symbol}'s PyTorch counterpart to TORCH"
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 4, size=(7, 1)) if op.domain == "positive" else rng.uniform(-4, 4, size=(7, 1))
    arg = MatrixSymbol("x", 7, 1)
    ns = {"np": np, "x": x}
    for source in HELPERS.values():
        exec(source, ns)  # noqa: S102 - derive's own helper source
    ours = eval(NumpyPrinter().doprint(op(arg)), ns)  # noqa: S307 - derive's own printed code
    ours_prime = eval(NumpyPrinter().doprint(Prime(op(arg))), ns)  # noqa: S307
    name, kwargs = TORCH[op.symbol]
    fn = getattr(torch.nn.functional, name, None) or getattr(torch, name)
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx, **kwargs)
    out.sum().backward()
    assert np.allclose(ours, out.detach().numpy(), atol=1e-12, rtol=1e-12)
    assert np.allclose(ours_prime, tx.grad.numpy(), atol=1e-12, rtol=1e-12)
