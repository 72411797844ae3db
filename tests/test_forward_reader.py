"""The forward reader: model files of forward equations, read strictly (one clear line and exit 2
for anything it cannot read unambiguously), their reading rules, and the answer files that carry
their own forward: equations."""

import json
import textwrap
import time
import unicodedata
from pathlib import Path

import pytest

from derive import source
from derive.cli import main
from derive.network import DeclarationError


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def problem(folder: Path, equations: str, extra: str = "", name: str = "problem.md") -> Path:
    body = textwrap.indent(textwrap.dedent(equations).strip(), "  ")
    path = folder / name
    path.write_text(f"---\nforward: |\n{body}\n{textwrap.dedent(extra)}---\n")
    return path


ELMAN = r"""
    h_t = \tanh(W h_{t-1} + U x_t + b)
    o_t = V h_t + c
    \hat{y}_t = \mathrm{softmax}(o_t)
    L = -\sum_{t=1}^{T} y_t^\top \log \hat{y}_t
"""


# ---------------------------------------------------------------------------- reading rules


def test_what_every_symbol_is_and_its_shape(tmp_path):
    net = source.resolve(str(problem(tmp_path, ELMAN))).build()
    assert [p.name for p in net.params] == ["W", "U", "b", "V", "c"]
    assert [s.name for s in net.states] == ["h"] and net.states[0].direction == "forward"
    assert [x.name for x in net.inputs] == ["x"]
    assert net.targets == {"y": "onehot"}  # read by a cross-entropy of a softmax
    assert {p.name: tuple(map(str, p.shape)) for p in net.params}["U"] == ("n", "d")
    assert net.objective.name == "L"
    assert net.sizes_default == {"d": 2, "k": 2, "n": 3, "T": 3}


def test_a_state_read_at_t_plus_one_runs_backward(tmp_path):
    net = source.resolve(str(problem(tmp_path, r"""
        g_t = \tanh(W g_{t+1} + U x_t)
        L = \sum_{t=1}^{T} \frac{1}{2} \lVert g_t - y_t \rVert^2
    """))).build()
    assert net.states[0].direction == "backward"


def test_sizes_shapes_constants_and_data_keys(tmp_path):
    path = problem(tmp_path, r"""
        h = \tanh(A u + a)
        J = \frac{1}{2} \lVert h - z \rVert^2 + \frac{\mu}{2} \lVert A \rVert_F^2
    """, """
    sizes: {m: 5, q: 4}
    shapes: {u: q, h: m}
    constants: {\\mu: 0.01}
    data: [u, z]
    """)
    net = source.resolve(str(path)).build()
    assert [p.name for p in net.params] == ["A", "a"]
    assert {str(h): float(v) for h, v in net.hypers.items()} == {"mu": 0.01}
    assert [x.name for x in net.inputs] == ["u"] and net.targets == {"z": "real"}
    assert net.sizes_default == {"m": 5, "q": 4}


def test_open_sizes_are_named_and_shown(tmp_path, capsys):
    path = problem(tmp_path, r"""
        h_t = \tanh(W h_{t-1} + U x_t)
        g_t = \tanh(R g_{t-1} + S h_t)
        L = \sum_{t=1}^{T} \frac{1}{2} \lVert P g_t - y_t \rVert^2
    """)
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "n_g=4" in out.splitlines()[1]  # g's size is its own, named from g


def test_a_product_that_does_not_conform_with_the_shapes_given(tmp_path, capsys):
    path = problem(tmp_path, r"""
        h_t = \tanh(W h_{t-1} + U x_t)
        o_t = h_t V
        L = \sum_{t=1}^{T} \frac{1}{2} \lVert o_t - y_t \rVert^2
    """, "shapes: {V: [k, n]}\n")
    code, _, err = run(capsys, "show", str(path))
    assert code == 2 and "line 4: o_t = h_t V: the shapes do not fit" in err


def test_a_yaml_model_file(tmp_path, capsys):
    path = tmp_path / "cell.yaml"
    path.write_text("forward:\n  - h = \\tanh(W x + b)\n  - L = \\frac{1}{2} \\lVert h - y \\rVert^2\n")
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "L = ½‖h − y‖²" in out


def test_canonical_losses_get_their_fused_rules(tmp_path, capsys):
    spellings = [r"-y^\top \log p", r"-\sum_{j} y_j \log p_j", r"-y^T \log(p)", r"-\log p^\top y"]
    for j, loss in enumerate(spellings):
        path = problem(tmp_path, rf"""
            p = \mathrm{{softmax}}(W x)
            L = {loss}
        """, name=f"ce{j}.md")
        code, out, _ = run(capsys, "show", str(path))
        assert code == 0 and "fused softmax + cross-entropy" in out, loss
    path = problem(tmp_path, r"""
        p = \sigma(w^T x + c)
        L = -(y \log p + (1 - y) \log(1 - p))
    """, name="bce.md")
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "fused" in out and "binary cross-entropy" in out


def test_a_generic_function_can_be_set(tmp_path, capsys):
    path = problem(tmp_path, r"""
        h = f(W x)
        L = \frac{1}{2} \lVert V h - y \rVert^2
    """)
    code, out, _ = run(capsys, "show", str(path))
    assert code == 0 and "f'(W x)" in out
    code, out, _ = run(capsys, "show", str(path), "--set", "f=tanh")
    assert code == 0 and "tanh'(W x)" in out


def test_a_cross_entropy_beside_another_term_is_still_fused(tmp_path, capsys):
    """−Σ_t y_tᵀ log ŷ_t + ½‖A h_T‖²: the sign belongs to the cross-entropy, which is then fused
    with its softmax (ŷ_t − y_t, and the stable log-sum-exp in the module) like a lone one."""
    path = problem(tmp_path, r"""
        h_t = \tanh(W h_{t-1} + U x_t + b)
        \hat{y}_t = \mathrm{softmax}(V h_t + c)
        r = A h_T
        L = -\sum_{t=1}^{T} y_t^\top \log \hat{y}_t + \frac{1}{2} \lVert r \rVert^2
    """)
    code, out, _ = run(capsys, "show", str(path))
    gradient_c = next(line for line in out.splitlines() if line.strip().startswith("∂L/∂c "))
    assert code == 0 and "fused softmax + cross-entropy" in out, out
    assert unicodedata.normalize("NFC", gradient_c).endswith(unicodedata.normalize("NFC", "= Σ[t=1..T] (ŷₜ − yₜ)"))
    code, _, _ = run(capsys, "numpy", str(path), "-o", str(tmp_path / "m.py"))
    assert code == 0 and "_logsumexp(" in (tmp_path / "m.py").read_text()


# ---------------------------------------------------------------------------- refused, one line, exit 2


BAD = {
    "unknown function": (r"h = \mathrm{LayerNorm}(W x)" "\n" r"L = h^T h", "unknown function or name 'LayerNorm'"),
    "a bare word": (r"h = LayerNorm(W x)" "\n" r"L = h^T h", "unknown function or name 'LayerNorm'"),
    "max otherwise": (r"h = \max(W x, V x)" "\n" r"L = h^T h", "max(0, x)"),
    "a norm not squared": (r"L = \lVert W x - y \rVert", "not squared"),
    "an unknown command": (r"h = \Gamma_{q}(W x) \star x" "\n" r"L = h^T h", r"\star"),
    "shapes that do not fit": (r"h = W x" "\n" r"g = [h; h] \odot h" "\n" r"L = g^T g", "the shapes do not fit"),
    "a read at t+2": (r"h_t = \tanh(W h_{t+2} + U x_t)" "\n" r"L = \sum_{t=1}^{T} h_t^T h_t", "t+2"),
    "read both ways": (r"h_t = \tanh(W h_{t-1} + R h_{t+1} + U x_t)" "\n" r"L = \sum_{t=1}^{T} h_t^T h_t",
                       "both t-1 and t+1"),
    "an objective with a time index": (r"h_t = \tanh(W h_{t-1} + U x_t)" "\n" r"L_t = h_t^T h_t", "objective"),
    "an objective that is no number": (r"L = [a; b]", "not a number"),
    "two equations for one symbol": (r"h = W x" "\n" r"h = U x" "\n" r"L = h^T h", "assigned twice"),
    "not an equation": (r"h = W x = U x" "\n" r"L = h^T h", "not one equation"),
    "unreadable": (r"h = W (x" "\n" r"L = h^T h", "line 3"),
    "an initial state that is an expression": (r"h_t = \tanh(W h_{t-1} + U x_t)" "\n" r"h_0 = A s" "\n"
                                               r"L = \sum_{t=1}^{T} h_t^T h_t", "0 or one parameter"),
    "a boundary value given twice": (r"h_t = \tanh(W h_{t-1} + U x_t)" "\n" r"h_0 = s" "\n" r"h_0 = r" "\n"
                                     r"L = \sum_{t=1}^{T} h_t^T h_t", "given twice"),
    "an initial state that is data": (r"h_t = \tanh(W h_{t-1} + U x_t)" "\n" r"h_0 = x_1" "\n"
                                      r"L = \sum_{t=1}^{T} h_t^T h_t", "0 or one parameter"),
    "a state that a product would make one number": (
        r"h_t = \tanh(W h_{t-1} + U x_t)" "\n" r"e_t = A h_t" "\n" r"z = \sum_{t=1}^{T} e_t h_t" "\n"
        r"L = \frac{1}{2} \lVert z - y \rVert^2", "would be a single number"),
    "a trained scale": (r"h = \tanh(W x)" "\n"
                        r"L = \frac{1}{2} \lVert h - y \rVert^2 + \frac{\lambda}{2} \lVert W \rVert_F^2",
                        "constants: {\\lambda: value}"),
    "a vector on the left of a product": (r"z = W x + b" "\n" r"h = \tanh(a z)" "\n"
                                          r"L = \frac{1}{2} \lVert V h - y \rVert^2",
                                          "a lowercase parameter is a column"),
    "a hidden layer of one unit": (r"s = w^T x" "\n" r"h = \tanh(W x) \odot s" "\n" r"o = V h" "\n"
                                   r"L = \frac{1}{2} \lVert o - y \rVert^2", "would be 1"),
    "the row convention": (r"h_t = \tanh(W h_{t-1} + U x_t + b)" "\n" r"o_t = h_t^\top V + c" "\n"
                           r"L = \sum_{t=1}^{T} \frac{1}{2} \lVert o_t - y_t \rVert^2", "the row convention"),
    "data that is a matrix": (r"h_t = \tanh(W_t h_{t-1} + U x_t)" "\n" r"L = \sum_{t=1}^{T} h_t^T h_t",
                              "column vectors"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_model_file_gets_one_line_and_exit_2(case, tmp_path, capsys):
    equations, phrase = BAD[case]
    path = problem(tmp_path, equations)
    out_file = tmp_path / "out.py"
    code, out, err = run(capsys, "numpy", str(path), "-o", str(out_file))
    assert code == 2 and not out_file.exists()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert phrase in err, err


def test_bounded_against_hostile_files(tmp_path, capsys):
    many = tmp_path / "many.md"
    many.write_text("---\nforward: |\n" + "".join(f"  h{j} = W x\n" for j in range(10_000)) + "---\n")
    several = tmp_path / "several.md"
    several.write_text("---\nforward: |\n" + "".join(f"  h_{{{j}}} = W x\n" for j in range(300)) + "---\n")
    bomb = tmp_path / "bomb.md"
    bomb.write_text("---\nforward: &a [\"h = W x\", *a]\n---\n")
    tag = tmp_path / "tag.md"
    tag.write_text("---\nforward: !!python/object/apply:os.system [\"echo hi\"]\n---\n")
    unknown = problem(tmp_path, "L = w^T w", "model: rnn-softmax\n", name="unknown.md")
    for path, phrase in ((many, "derive reads up to"), (several, "300 equations"), (bomb, "YAML"), (tag, "YAML"),
                         (unknown, "unknown key")):
        started = time.monotonic()
        code, _, err = run(capsys, "show", str(path))
        assert code == 2 and phrase in err and len(err.strip().splitlines()) == 1, err
        assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------- answers with forward:


def test_an_answer_file_with_its_own_forward_equations(tmp_path, capsys):
    answer = tmp_path / "answer.md"
    answer.write_text(textwrap.dedent(r"""
        ---
        forward: |
          h_t = \tanh(W h_{t-1} + U x_t + b)
          o_t = V h_t + c
          L = \sum_{t=1}^{T} \frac{1}{2} \lVert o_t - y_t \rVert^2
        ---
        $$\frac{\partial L}{\partial c} = \sum_{t=1}^{T} (o_t - y_t)$$
        $$\frac{\partial L}{\partial V} = \sum_{t=1}^{T} (o_t - y_t) h_t$$
    """).lstrip())
    code, out, _ = run(capsys, "check", str(answer), "--json")
    report = json.loads(out)
    assert code == 1 and [c["verdict"] for c in report["claims"]] == ["correct", "incorrect"]
    assert report["claims"][1]["expected"].endswith(r"h_{t}^{\top}")


def test_an_answer_file_naming_a_model_file_beside_it(tmp_path, capsys):
    problem(tmp_path, ELMAN, name="elman.md")
    answer = tmp_path / "answer.md"
    answer.write_text("---\nmodel: elman.md\n---\n"
                      r"$$\frac{\partial L}{\partial o_t} = \hat{y}_t - y_t$$" "\n")
    code, out, _ = run(capsys, "check", str(answer))
    assert code == 0 and "CORRECT" in out


def test_forward_and_model_together_are_refused(tmp_path, capsys):
    answer = tmp_path / "answer.md"
    answer.write_text("---\nmodel: rnn-softmax\nforward: |\n  L = w^T w\n---\n")
    code, _, err = run(capsys, "check", str(answer))
    assert code == 2 and "both model: and forward:" in err


def test_a_ten_equation_model_reads_and_derives_in_under_a_second(tmp_path):
    from derive.deriver import derive

    path = problem(tmp_path, r"""
        f_t = \sigma(W_f h_{t-1} + U_f x_t + b_f)
        i_t = \sigma(W_i h_{t-1} + U_i x_t + b_i)
        g_t = \tanh(W_g h_{t-1} + U_g x_t + b_g)
        q_t = \sigma(W_q h_{t-1} + U_q x_t + b_q)
        c_t = f_t \odot c_{t-1} + i_t \odot g_t
        m_t = \tanh(c_t)
        h_t = q_t \odot m_t
        o_t = V h_t + v
        p_t = \mathrm{softmax}(o_t)
        L = -\sum_{t=1}^{T} y_t^T \log p_t
    """)
    started = time.monotonic()
    derive(source.resolve(str(path)).build(), "denominator")
    assert time.monotonic() - started < 1.0


def test_an_objective_that_is_an_activation_derives_correctly(tmp_path):
    """L = tanh(w^T x): the objective's own equation applies a function (its seed is the number 1)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from harness import Case, failures

    path = problem(tmp_path, r"L = \tanh(W x)")
    for layout in ("denominator", "numerator"):
        assert failures(Case(str(path), {}, 1, sizes=dict(d=2)), layout, with_sympy=True) == []


MODULE_CASES = {
    # dL/da = a + a: the module once dropped the second a (and wrote into the stored a): every
    # gradient wrong while the loss was right
    "a sum with equal terms": r"""
        h = \tanh(W x + b)
        a = V h - y
        L = a^T a
    """,
    # nothing reads h_T: its adjoint starts at zero, once printed (n, 1) instead of (B, n)
    "an output read from the step before": r"""
        h_t = \tanh(W h_{t-1} + U x_t + b)
        o_t = V h_{t-1} + c
        L = \sum_{t=1}^{T} \frac{1}{2} \lVert o_t - y_t \rVert^2
    """,
}


@pytest.mark.parametrize("name", sorted(MODULE_CASES))
def test_generated_module_matches_autograd(name, tmp_path):
    import importlib.util
    import sys

    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from modules import random_batch, reference, reused_gradients

    from derive.codegen.numpy_module import numpy_module

    path = problem(tmp_path, MODULE_CASES[name])
    model = source.resolve(str(path))
    module_path = tmp_path / "m.py"
    module_path.write_text(numpy_module(model, {}))
    spec = importlib.util.spec_from_file_location(f"m_{abs(hash(name))}", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = model.build()
    for steps in (1, 3) if net.sequential else (1,):
        params, inputs, targets = random_batch(net, module, steps, 2, seed=5)  # B = 2, not n
        loss, grads = reused_gradients(module, params, inputs, targets)
        want_loss, want = reference(net, params, inputs, targets, steps)
        assert abs(loss - want_loss) < 1e-10
        assert all(np.allclose(grads[k], want[k], atol=1e-10) for k in params), name


def test_a_squared_error_between_two_computed_values_differentiates_both(tmp_path):
    """½‖y − t‖² with t a parameter (Bishop's t, not listed under data:): t gets its gradient."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from harness import Case, failures

    path = problem(tmp_path, r"""
        a = W x + b
        y = \sigma(a)
        E = \frac{1}{2} \lVert y - t \rVert^2
    """)
    assert [p.name for p in source.resolve(str(path)).build().params] == ["W", "b", "t"]
    assert failures(Case(str(path), {}, 1, sizes=dict(d=1, n_a=2)), "denominator", with_sympy=True) == []


def test_the_resolver_refuses_a_missing_file():
    with pytest.raises(DeclarationError, match="no such model file"):
        source.resolve("nowhere/problem.md")


# ---------------------------------------------------------------------------- equations in the answer file


TWO_PROBLEMS = r"""
Problem 1. A one-layer net:

$$h = \tanh(W x + b)$$
$$L = \frac{1}{2} \lVert h - y \rVert^2$$

$$\frac{\partial L}{\partial b} = (h - y) \odot (1 - h \odot h)$$
$$\frac{\partial L}{\partial W} = (h - y) x^T$$

Problem 2. An RNN:

$$s_t = \tanh(W s_{t-1} + U x_t)$$
$$L = \sum_{t=1}^{T} \frac{1}{2} \lVert s_t - y_t \rVert^2$$

$$\frac{\partial L}{\partial s_t} = s_t - y_t
  + W^T \left(\frac{\partial L}{\partial s_{t+1}} \odot (1 - s_{t+1} \odot s_{t+1})\right)$$
$$\frac{\partial L}{\partial U} = \sum_{t=1}^{T} \frac{\partial L}{\partial s_t} x_t^T$$
"""


def test_an_answer_file_with_two_problems_and_no_front_matter(tmp_path, capsys):
    answer = tmp_path / "answer.md"
    answer.write_text(TWO_PROBLEMS)
    code, out, _ = run(capsys, "check", str(answer), "--json")
    report = json.loads(out)
    assert [c["verdict"] for c in report["claims"]] == ["correct", "incorrect", "correct", "incorrect"]
    assert "lines 4–5" in report["model"] and "lines 12–13" in report["model"]
    assert code == 1


def test_equations_that_define_no_network_are_named_and_nothing_is_judged(tmp_path, capsys):
    answer = tmp_path / "answer.md"
    answer.write_text(r"""
$$h = \tanh(W x + b)$$
$$0 = V h$$
$$L = \frac{1}{2} \lVert o - y \rVert^2$$

$$\frac{\partial L}{\partial o} = o - y$$
""")
    code, out, _ = run(capsys, "check", str(answer), "--json")
    (claim,) = json.loads(out)["claims"]
    assert code == 0 and claim["verdict"] == "unchecked"
    assert "line 3: 0 = V h: the left side is not one symbol" in claim["reason"]


def test_check_takes_t_from_set(tmp_path, capsys):
    answer = tmp_path / "answer.md"
    answer.write_text("---\nset: {T: 6}\nforward: |\n  h_t = \\tanh(W h_{t-1} + U x_t)\n"
                      "  L = \\sum_{t=1}^{T} \\frac{1}{2} \\lVert h_t - y_t \\rVert^2\n---\n"
                      r"$$\frac{\partial L}{\partial h_t} = h_t - y_t + W^T \left(\frac{\partial L}{\partial h_{t+1}}"
                      r" \odot (1 - h_{t+1} \odot h_{t+1})\right)$$" "\n")
    code, out, _ = run(capsys, "check", str(answer))
    assert code == 0 and "t = 1, 2, 3, 4, 5 (T = 6)" in out
    code, _, err = run(capsys, "check", str(answer), "--set", "T=51")
    assert code == 2 and "at most 50" in err


# Notations real problems use, each read into a network whose derivation passes the oracles.
VARIANTS = {
    "bold, a range and a boundary": r"""
        \mathbf{h}_0 = \mathbf{0}
        \mathbf{a}_t = \mathbf{W}\mathbf{h}_{t-1} + \mathbf{U}\mathbf{x}_t + \mathbf{b}, \quad t = 1, \dots, T
        \mathbf{h}_t = \tanh(\mathbf{a}_t) \in \mathbb{R}^n
        \hat{\mathbf{y}}_t = \text{softmax}(\mathbf{V}\mathbf{h}_t + \mathbf{c})
        L = \sum_t L_t
        L_t = -\mathbf{y}_t^\top \log \hat{\mathbf{y}}_t
    """,
    "Ng's layers and binary cross-entropy": r"""
        z^{[1]} = W^{[1]} x + b^{[1]}
        a^{[1]} = \tanh(z^{[1]})
        \hat{y} = \sigma(W^{[2]} a^{[1]} + b^{[2]})
        \mathcal{L} = -\left[ y \log \hat{y} + (1-y)\log(1-\hat{y}) \right]
    """,
    "time in angle brackets, the entries summed": r"""
        h^{<t>} = \tanh(W_{aa} h^{<t-1>} + W_{ax} x^{<t>} + b_a)
        \hat{y}^{<t>} = \mathrm{softmax}(W_{ya} h^{<t>} + b_y)
        \mathcal{L} = \sum_{t=1}^{T} -\sum_{i} y_i^{<t>} \log \hat{y}_i^{<t>}
    """,
    "E and E_t, a dot product": r"""
        s_t = \tanh(U x_t + W s_{t-1})
        \hat{y}_t = \mathrm{softmax}(V s_t)
        E = \sum_t E_t
        E_t = -y_t \cdot \log \hat{y}_t
    """,
    "generic f, g and a loss with arguments": r"""
        \mathbf{h}^{(t)} = f(\mathbf{W}_{hh} \mathbf{h}^{(t-1)} + \mathbf{W}_{xh} \mathbf{x}^{(t)})
        \hat{\mathbf{y}}^{(t)} = g(\mathbf{W}_{hy} \mathbf{h}^{(t)})
        J(\theta) = \sum_{t=1}^{T} \ell(\hat{\mathbf{y}}^{(t)}, \mathbf{y}^{(t)})
    """,
    "WildML's loss without a transpose": r"""
        s_t = \tanh(U x_t + W s_{t-1})
        \hat{y}_t = \mathrm{softmax}(V s_t)
        E = -\sum_{t=1}^{T} y_t \log \hat{y}_t
    """,
    "colah's LSTM, stacked with a comma": r"""
        f_t = \sigma(W_f \cdot [h_{t-1}, x_t] + b_f)
        i_t = \sigma(W_i \cdot [h_{t-1}, x_t] + b_i)
        \tilde{C}_t = \tanh(W_C \cdot [h_{t-1}, x_t] + b_C)
        o_t = \sigma(W_o \cdot [h_{t-1}, x_t] + b_o)
        C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t
        h_t = o_t \odot \tanh(C_t)
        L = -\sum_{t=1}^{T} y_t^T \log \mathrm{softmax}(V h_t + c)
    """,
    "a bilinear score (not the row convention)": r"""
        h_t = \tanh(W h_{t-1} + U x_t)
        e_t = h_t^\top A h_t
        L = \sum_{t=1}^{T} \frac{1}{2} (e_t - y_t)^2
    """,
    "two equations on a line, a squared scalar": r"""
        a = W x + b, \quad h = \sigma(a)
        \hat{y} = \sigma(w^\top h + c)
        L = (\hat{y} - y)^2
    """,
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_notation_real_problems_use(name, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from harness import Case, failures

    path = problem(tmp_path, VARIANTS[name])
    for steps in (1, 3):
        assert failures(Case(str(path), {}, steps, seed=steps), "denominator", with_sympy=False) == []
    assert failures(Case(str(path), {}, 1, sizes=dict(n=2, d=1, k=2, n_a=2, n_z1=2)), "numerator",
                    with_sympy=True) == []


def test_a_problem_written_as_a_document(tmp_path, capsys):
    """problem.md without front matter: its display equations state the network, as homework does."""
    (tmp_path / "problem.md").write_text(textwrap.dedent(r"""
        # Problem 3

        Consider the network

        $$h_t = \tanh(W h_{t-1} + U x_t + b), \quad t = 1, \dots, T$$
        $$o_t = V h_t + c$$
        $$L = \sum_{t=1}^{T} \frac{1}{2} \lVert o_t - y_t \rVert^2$$

        Derive $\frac{\partial L}{\partial W}$.
    """))
    (tmp_path / "answer.md").write_text("---\nmodel: problem.md\n---\n"
                                        r"$$\frac{\partial L}{\partial c} = \sum_{t=1}^{T} (o_t - y_t)$$" "\n")
    code, out, _ = run(capsys, "show", str(tmp_path / "problem.md"))
    assert code == 0 and "oₜ = V hₜ + c" in out
    code, out, _ = run(capsys, "check", str(tmp_path / "answer.md"))
    assert code == 0 and "CORRECT" in out
    (tmp_path / "prose.md").write_text("no equations here\n")
    code, _, err = run(capsys, "show", str(tmp_path / "prose.md"))
    assert code == 2 and "no equations" in err


@pytest.mark.parametrize("value", ["'1/0'", "'x**2'", "true", ".nan"])
def test_a_constant_is_a_number_yaml_read_never_parsed_text(value, tmp_path, capsys):
    path = problem(tmp_path, r"""
        h = \tanh(W x)
        L = \frac{1}{2} \lVert h - y \rVert^2 + \frac{\mu}{2} \lVert W \rVert_F^2
    """, f"constants: {{\\mu: {value}}}\n")
    code, _, err = run(capsys, "show", str(path))
    assert code == 2 and "must be a number" in err
