"""A learned boundary value: h_0 = s (or g_{T+1} = s for a state running backward) is a
parameter, ∂L/∂s = ∂L/∂h_0 (what reaches it from the step it feeds). Derivations are checked by
the three oracles, modules by autograd at random parameters (s not at 0)."""

from __future__ import annotations

import numpy as np
import pytest
from harness import network_failures
from modules import assert_matches_autograd, imported

from derive import Network, ops
from derive.codegen.plan import plan_module
from derive.codegen.render import render_module
from derive.deriver import derive
from derive.network import DeclarationError


def lstm():
    """An LSTM on [h_{t-1}; x_t] whose h_0 and C_0 are both learned."""
    net = Network("lstm-learned", sizes=dict(n=2, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W = {g: net.param(f"W_{g}", n, n + d) for g in "fioc"}
    b = {g: net.param(f"b_{g}", n) for g in "fioc"}
    h0, c0 = net.param("h_init", n), net.param("C_init", n)
    V, c = net.param("V", k, n), net.param("c", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    h, C = net.state("h", n, initial=h0), net.state("C", n, initial=c0)
    z = ops.concat(h.prev, x)
    f, i, o = (net.step(g, ops.sigmoid(W[g] @ z + b[g])) for g in "fio")
    cand = net.step("Ctilde", ops.tanh(W["c"] @ z + b["c"]))
    net.step(C, ops.add(ops.hadamard(f, C.prev), ops.hadamard(i, cand)))
    net.step(h, ops.hadamard(o, ops.tanh(C.now)))
    out = net.step("o_t", V @ h.now + c)
    net.let("L", ops.sum_over_time(net.step("l", ops.cross_entropy(ops.softmax(out), y))))
    return net


def backward_rnn():
    """A state running backward in time from a learned g_{T+1}; squared error at every step."""
    net = Network("backward-learned", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U, V, s = net.param("W", n, n), net.param("U", n, d), net.param("V", k, n), net.param("s", n)
    x, y = net.input("x", d), net.target("y", k, "real")
    g = net.state("g", n, backward=True, initial=s)
    net.step(g, ops.tanh(W @ g.next + U @ x))
    net.let("L", ops.sum_over_time(net.step("l", ops.squared_error(V @ g.now, y))))
    return net


NETWORKS = {"lstm": lstm, "backward-rnn": backward_rnn}


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_derivation_passes_the_three_oracles(name, layout):
    assert network_failures(NETWORKS[name](), 3, layout, with_sympy=name != "lstm") == []


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_module_starts_from_the_parameter_and_matches_autograd(name, tmp_path):
    net = NETWORKS[name]()
    sizes = {k: v for k, v in net.sizes_default.items() if k != "T"}
    path = tmp_path / "learned_grad.py"
    path.write_text(render_module(plan_module(derive(net), sizes)))
    assert "_0" not in path.read_text().split("Inputs:")[1].splitlines()[0]  # no h_0 input beside the parameter
    assert_matches_autograd(net, imported(path), ((1, 1), (2, 3), (4, 2)), seed=4)


def test_a_learned_initial_state_starts_at_zero_and_is_shown():
    from derive.report import TerminalReport

    net = NETWORKS["backward-rnn"]()
    assert net.initial_value("s") == 0.0  # init_params starts it where the fixed boundary was
    text = TerminalReport(derive(net), 3).render()
    assert "  g_{T+1} = s\n" in text
    assert "∂L/∂s = Wᵀ (∂L/∂g_T ⊙ tanh'(W g_{T+1} + U x_T))" in text


def test_the_initial_value_must_be_a_parameter_of_the_states_shape():
    net = Network("bad", sizes=dict(n=3, d=2, T=3))
    n, d = net.sizes("n d")
    wrong = net.param("s", d)
    with pytest.raises(DeclarationError, match="initial value of h"):
        net.state("h", n, initial=wrong)


def test_a_learned_h0_read_elsewhere_too_keeps_its_own_share(tmp_path):
    """h_0 = s with s also the bias: ∂L/∂h_0 is the share from step 1 alone, one term of ∂L/∂s
    (once judged as all of ∂L/∂s: 'dL/ds = dL/dh_0' correct, the right ∂L/∂h_0 incorrect). The
    share is checked against autograd's adjoint of h_0; the document does not write them equal."""

    from derive import oracles, source
    from derive.check.run import check_answers
    from derive.evaluate import adjoint_key, backward, forward, value

    problem = tmp_path / "shared.md"
    problem.write_text("---\nforward: |\n  h_0 = s\n  h_t = \\tanh(W h_{t-1} + U x_t + s)\n"
                       "  \\hat{y}_t = \\mathrm{softmax}(V h_t)\n"
                       "  L = -\\sum_{t=1}^{T} y_t^\\top \\log \\hat{y}_t\n---\n")
    net = source.resolve(str(problem)).build({})
    derivation = derive(net)
    point, _ = oracles.random_point(net, 3, seed=5)
    ns = forward(net, point)
    backward(derivation, ns)
    _, adjoints = oracles.autograd_gradients(net, point)
    share = np.asarray(value(derivation.initial_adjoints["h"], ns), dtype=float)
    assert np.allclose(share, adjoints["h"][0], atol=1e-12)
    assert not np.allclose(share, ns[adjoint_key(ns, "s")])  # s's own gradient has the bias terms too
    claims = [(r"\frac{\partial L}{\partial s} = \frac{\partial L}{\partial h_0}", "incorrect"),
              (r"\frac{\partial L}{\partial h_0} = "
               r"W^\top \left(\frac{\partial L}{\partial h_1} \odot (1 - h_1^2)\right)", "correct"),
              (r"\frac{\partial L}{\partial s} = W^\top \left(\frac{\partial L}{\partial h_1} \odot (1 - h_1^2)\right)"
               r" + \sum_{t=1}^{T} \frac{\partial L}{\partial h_t} \odot (1 - h_t^2)", "correct")]
    _, verdicts = check_answers(None, str(problem), None, tuple(c for c, _ in claims))
    assert [v.verdict for v in verdicts] == [want for _, want in claims], [v.reason for v in verdicts]
    from derive.cli import main

    tex = tmp_path / "doc.tex"
    assert main(["latex", str(problem), "-o", str(tex)]) == 0
    text = tex.read_text()
    assert r"\partial L/\partial s = \partial L/\partial h_{0}" not in text and "elsewhere too" in text


def test_one_parameter_may_start_two_states_in_forward_equations(tmp_path, capsys):
    """f_0 = s and g_{T+1} = s: one learned vector starts both halves of a bidirectional RNN (the
    reader once declared s twice: 'name s is not a fresh identifier')."""
    from derive.cli import main

    problem = tmp_path / "bi.md"
    problem.write_text("---\nforward: |\n  f_0 = s\n  g_{T+1} = s\n  f_t = \\tanh(W f_{t-1} + U x_t)\n"
                       "  g_t = \\tanh(R g_{t+1} + Q x_t)\n  o_t = A f_t + B g_t\n"
                       "  L = \\sum_{t=1}^{T} \\frac{1}{2} \\lVert o_t - y_t \\rVert^2\n---\n")
    assert main(["show", str(problem)]) == 0
    out = capsys.readouterr().out
    assert "f₀ = s" in out and "∂L/∂s = " in out
    from derive import source

    assert network_failures(source.resolve(str(problem)).build({}), 3, "denominator", with_sympy=False) == []


def test_a_weight_times_a_parameter_vector_in_a_step(tmp_path):
    """h_t = tanh(W h_{t-1} + U x_t + W s), h_0 = s: ∂L/∂W gets Σ_{t,b} ∂L/∂a_t sᵀ, s having no row
    per example (the module once paired them row by row: 'shapes (2,2) and (1,3) not aligned')."""
    from derive import source
    from derive.cli import main

    problem = tmp_path / "ws.md"
    problem.write_text("---\nforward: |\n  h_0 = s\n  h_t = \\tanh(W h_{t-1} + U x_t + W s)\n"
                       "  \\hat{y}_t = \\mathrm{softmax}(V h_t)\n"
                       "  L = -\\sum_{t=1}^{T} y_t^\\top \\log \\hat{y}_t\n---\n")
    out = tmp_path / "ws_grad.py"
    assert main(["numpy", str(problem), "-o", str(out)]) == 0
    net = source.resolve(str(problem)).build({})
    assert_matches_autograd(net, imported(out), ((1, 1), (3, 2)), seed=2)
