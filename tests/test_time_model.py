"""The time model: states forward and backward in time, values computed once from a whole
sequence and read by later steps, and every read placed — or refused when declared."""

import pytest

from derive import Network, ops
from derive.derivation import AFTER_FIRST, FIRST, SUMMED
from derive.deriver import derive
from derive.network import DeclarationError
from derive.nodes import T as T_SYM
from derive.printing.unicode import UnicodePrinter


def rnn(**sizes):
    net = Network("t", dict(n=2, d=2, k=2, T=3, **sizes))
    n, d, k = net.sizes("n d k")
    W, U = net.param("W", n, n), net.param("U", n, d)
    return net, (n, d, k), W, U, net.input("x", d)


def test_a_state_reads_itself_only_in_its_direction():
    net, (n, *_), W, U, x = rnn()
    h = net.state("h", n)
    g = net.state("g", n, backward=True)
    with pytest.raises(DeclarationError, match="runs backward in time"):
        _ = g.prev
    with pytest.raises(DeclarationError, match="runs forward in time"):
        _ = h.next
    with pytest.raises(DeclarationError, match="reads h at t \\+ 1, but h runs forward"):
        net.step(h, ops.tanh(W @ h.now.at(h.now.index + 1) + U @ x))
    with pytest.raises(DeclarationError, match="reads x at t - 1, which derive cannot place"):
        net.step("a", U @ x.at(x.index - 1))


def test_a_value_outside_the_steps_is_read_at_T_or_1_only():
    net, (n, *_), W, U, x = rnn()
    h = net.state("h", n)
    net.step(h, ops.tanh(W @ h.prev + U @ x))
    net.let("last", ops.frobenius_sq(h.last))  # h_T: fine
    with pytest.raises(DeclarationError, match="reads h at 2, which derive cannot place"):
        net.let("middle", ops.frobenius_sq(h.now.at(2)))


def test_a_cycle_through_a_sum_over_time_is_refused():
    net, (n, *_), W, U, x = rnn()
    h = net.state("h", n)
    total = net.let("total", ops.sum_over_time(ops.tanh(U @ x)))
    net.step(h, ops.tanh(W @ h.prev + total))
    net.let("L", ops.frobenius_sq(h.last))
    assert [p.kind for p in net.phases()] == ["static", "forward", "static"]
    looped = Network("loop", dict(n=2, T=3))
    (m,) = looped.sizes("n")
    V = looped.param("V", m, m)
    s = looped.state("s", m)
    mean = looped.let("mean", ops.sum_over_time(s.now))
    looped.step(s, ops.tanh(V @ s.prev + mean))
    with pytest.raises(DeclarationError, match="depend on each other across time"):
        looped.phases()


def test_a_static_read_at_every_step_gets_the_sum_of_its_uses():
    """α_t = exp(e_t) / Σ_s exp(e_s): the sum is read at every t, so its adjoint sums over t
    (was: recorded once per step, a wrong derivation)."""
    net, (n, *_), W, U, x = rnn()
    v = net.param("v", n)
    h = net.state("h", n)
    net.step(h, ops.tanh(W @ h.prev + U @ x))
    e = net.step("e", v.T @ h.now)
    alpha = net.step("alpha", ops.softmax_over_time(e))
    z = net.let("z", ops.sum_over_time(alpha * h.now))
    net.let("L", ops.frobenius_sq(z))
    d = derive(net)
    assert {c.when for c in d.adjoints["alpha_sum"].terms} == {SUMMED}
    (eq,) = d.adjoint_equations("alpha_sum")
    assert UnicodePrinter(net.notation, "L").doprint(eq.rhs).startswith("Σ[t=1..T]")
    assert [p.kind for p in net.phases()] == ["forward", "map", "static", "map", "static"]


def test_a_backward_state_has_its_recurrence_from_the_first_step():
    net, (n, d, k), W, U, x = rnn()
    g = net.state("g", n, backward=True)
    net.step(g, ops.tanh(W @ g.next + U @ x))
    net.let("L", ops.frobenius_sq(g.first))
    d = derive(net)
    whens = {c.when for c in d.adjoints["g"].terms}
    assert whens == {AFTER_FIRST, FIRST}
    shown = [(UnicodePrinter(net.notation, "L").doprint(eq.lhs), str(eq.condition)) for eq in d.recurrences()]
    assert shown == [("∂L/∂gₜ", "t > 1"), ("∂L/∂g₁", "Eq(t, 1)")]


def test_a_context_computed_once_and_read_through_a_weight_at_every_step(tmp_path):
    """m = mean over t of tanh(A x_t), read by every step as C m: ∂L/∂C = Σ_t ∂L/∂a_t mᵀ, where
    m is one row per example and ∂L/∂a_t one per step (the module once paired them row by row
    and crashed: "shapes (3,12) and (3,3) not aligned")."""
    import importlib.util

    import numpy as np
    from modules import random_batch, reference, reused_gradients

    from derive.codegen.plan import plan_module
    from derive.codegen.render import render_module

    net = Network("context", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    A, W, U, C = net.param("A", n, d), net.param("W", n, n), net.param("U", n, d), net.param("C", n, n)
    V, c = net.param("V", k, n), net.param("c", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    q = net.step("q", ops.tanh(A @ x))
    m = net.let("m", ops.mean_over_time(q))
    h = net.state("h", n)
    net.step(h, ops.tanh(W @ h.prev + U @ x + C @ m))
    o = net.step("o", V @ h.now + c)
    step_loss = net.step("l", ops.cross_entropy(ops.softmax(o), y))
    net.let("L", ops.sum_over_time(step_loss) + ops.frobenius_sq(C @ m))
    path = tmp_path / "context_grad.py"
    path.write_text(render_module(plan_module(derive(net), {"n": 3, "d": 2, "k": 2})))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for steps in (1, 4):
        params, inputs, targets = random_batch(net, module, steps, 3, seed=steps)
        loss, grads = reused_gradients(module, params, inputs, targets)
        want_loss, want = reference(net, params, inputs, targets, steps)
        assert abs(loss - want_loss) < 1e-10
        for key in want:
            assert np.allclose(grads[key], want[key], atol=1e-10, rtol=0), key


def test_a_per_step_output_read_only_at_the_last_step(tmp_path):
    """o_t = V h_t at every step, the loss on o_T alone (CS231n's vanishing-gradient setting):
    ∂L/∂o_t is 0 for t < T. The checker's evaluator crashed on it (a bare 0.0 multiplied as a
    matrix), the generator could not print the zero for every t, and once it could, the t = T
    entry, dL_do[-1] = dL_do[-1] + softmax(o_T) − y_T, was written as two statements that read
    the entry after overwriting it: a gradient twice too large. Each is pinned here."""
    import importlib.util

    import numpy as np
    from harness import network_failures
    from modules import random_batch, reference, reused_gradients

    from derive.check.run import check_answers
    from derive.codegen.plan import plan_module
    from derive.codegen.render import render_module

    net = Network("last-only", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U, V = net.param("W", n, n), net.param("U", n, d), net.param("V", k, n)
    x, y, h = net.input("x", d), net.target("y", k, "onehot", per_step=False), net.state("h", n)
    net.step(h, ops.tanh(W @ h.prev + U @ x))
    o = net.step("o", V @ h.now)
    net.let("L", ops.cross_entropy(ops.softmax(o.at(T_SYM)), y))
    assert network_failures(net, 3, "denominator", with_sympy=True) == []
    path = tmp_path / "last_grad.py"
    path.write_text(render_module(plan_module(derive(net), {"n": 3, "d": 2, "k": 2})))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for steps, batch in ((1, 1), (4, 3)):
        params, inputs, targets = random_batch(net, module, steps, batch, seed=steps)
        loss, grads = reused_gradients(module, params, inputs, targets)
        want_loss, want = reference(net, params, inputs, targets, steps)
        assert abs(loss - want_loss) < 1e-10
        for key in want:
            assert np.allclose(grads[key], want[key], atol=1e-10, rtol=0), key
    problem = tmp_path / "last.md"
    problem.write_text("---\nforward: |\n  h_t = \\tanh(W h_{t-1} + U x_t)\n  o_t = V h_t\n"
                       "  L = -y^\\top \\log \\mathrm{softmax}(o_T)\ndata: [y]\n---\n")
    _, verdicts = check_answers(None, str(problem), None, (r"\frac{\partial L}{\partial V} = "
                                                            r"(\mathrm{softmax}(o_T) - y) h_T^\top",
                                                            r"\frac{\partial L}{\partial o_1} = 0"))
    assert [v.verdict for v in verdicts] == ["correct", "correct"], [v.reason for v in verdicts]
