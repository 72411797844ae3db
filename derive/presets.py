"""The built-in models: the seeds' networks, each an instance of a family with options.

A preset fixes a family, its default options and sizes, the order and names its source uses,
and a notation table (what the renderer writes and the checker accepts).
"""

from __future__ import annotations

from derive.model import Concrete, Model
from derive.models import conv, gru, lstm, mlp, rnn
from derive.network import DeclarationError, Network
from derive.notation import Notation

BF = r"\mathbf"


def _bold(*names: str) -> dict:
    """Bold-face spellings (\\mathbf{W}), accepting the plain letter too."""
    return {n: ((f"{BF}{{{n}}}", n, rf"\boldsymbol{{{n}}}", rf"\bm{{{n}}}"), n) for n in names}


RNN_BINARY_NOTATION = Notation.of(
    **_bold("W", "U", "b", "V", "x", "h", "a"),
    d=("d", "d"),
    z=("z", "z"),
    y_pred=((r"y_{\text{pred}}", r"y_{pred}", r"y_{\mathrm{pred}}", r"\hat{y}"), "y_pred"),
    y_gt=((r"y_{\text{gt}}", r"y_{gt}", r"y_{\mathrm{gt}}", "y"), "y_gt"),
    L=((r"\mathcal{L}", "L"), "L"),
    T=(("T", "l"), "T"),  # seed 001 writes the sequence length l
)

RNN_SOFTMAX_NOTATION = Notation.of(
    yhat=((r"\hat{y}", r"\hat{\mathbf{y}}", "Y"), "ŷ"),
    loss_t=(("L", r"\mathcal{L}"), "L"),
    L=(("L", r"\mathcal{L}", "J"), "L"),
)

RNN_D2L_NOTATION = Notation.of(
    x=(("x", "X"), "x"),
    h=(("h", "H"), "h"),
    W_hx=((r"W_{hx}", rf"{BF}{{W}}_{{hx}}", r"W_{xh}"), "W_hx"),
    W_hh=((r"W_{hh}", rf"{BF}{{W}}_{{hh}}"), "W_hh"),
    W_qh=((r"W_{qh}", rf"{BF}{{W}}_{{qh}}", r"W_{yh}", r"W_{y_h}"), "W_qh"),
    o=(("o", "O"), "o"),
    yhat=((r"\hat{y}",), "ŷ"),
    loss_t=((r"\ell", "l"), "ℓ"),
    ell=((r"\ell", "l"), "ℓ"),
    phi=((r"\phi", r"\varphi", r"\psi", r"\rho"), "φ"),
    L=(("L", r"\mathcal{L}"), "L"),
)

MLP_NOTATION = Notation.of(
    W1=((r"W^{(1)}", rf"{BF}{{W}}^{{(1)}}", r"w^{(1)}"), "W⁽¹⁾"),
    W2=((r"W^{(2)}", rf"{BF}{{W}}^{{(2)}}", r"w^{(2)}"), "W⁽²⁾"),
    b1=((r"b^{(1)}",), "b⁽¹⁾"),
    b2=((r"b^{(2)}",), "b⁽²⁾"),
    ell=((r"\ell", "l"), "ℓ"),
    phi=((r"\phi", r"\varphi", "f"), "φ"),
    L=(("L", r"\mathcal{L}"), "L"),
    s=(("s", "S"), "s"),
    yhat=((r"\hat{y}",), "ŷ"),
)

LSTM_NOTATION = Notation.of(
    Ctilde=((r"\tilde{C}", r"\tilde C", r"\widetilde{C}"), "C̃"),
    yhat=((r"\hat{y}", r"\hat{\mathbf{y}}"), "ŷ"),
    loss_t=(("L", r"\mathcal{L}"), "L"),
    L=(("L", r"\mathcal{L}", "J"), "L"),
)

GRU_NOTATION = Notation.of(
    htilde=((r"\tilde{h}", r"\tilde h", r"\tilde{\mathbf{h}}"), "h̃"),
    W_hq=((r"W_{hq}", rf"{BF}{{W}}_{{hq}}"), "W_hq"),
    yhat=((r"\hat{y}",), "ŷ"),
    loss_t=((r"\ell", "l"), "ℓ"),
    L=(("L", r"\mathcal{L}"), "L"),
)

CONV_NOTATION = Notation.of(
    w_1=(("w_{1}", "w_1", r"\mathbf{w}_{1}", "W_{1}", "W_1", "K"), "w₁"),
    w_2=(("w_{2}", "w_2", r"\mathbf{w}_{2}", "W_{2}", "W_2"), "w₂"),
    w_3=(("w_{3}", "w_3", r"\mathbf{w}_{3}", "W_{3}", "W_3"), "w₃"),
    b_1=(("b_{1}", "b_1", "B"), "b₁"),
    z_0=(("z_{0}", "z_0"), "z₀"),
    z_1=(("z_{1}", "z_1"), "z₁"),
    z_2=(("z_{2}", "z_2"), "z₂"),
    z_3=(("z_{3}", "z_3"), "z₃"),
    y_1=(("y_{1}", "y_1"), "y₁"),
    y_2=(("y_{2}", "y_2"), "y₂"),
    y_3=(("y_{3}", "y_3"), "y₃"),
    ell=((r"\ell", "L", r"\mathcal{L}"), "ℓ"),
    L=(("L", r"\mathcal{L}"), "L"),
)


# Generated code computes numbers: a generic function gets the first concrete choice a preset
# offers, and the module's docstring says so.
CONCRETE = (
    Concrete("activation", {"activation": "tanh"}, "the activation is generic in the preset; {user} uses tanh"),
    Concrete("loss", {"output": "softmax", "loss": "ce"},
             "ℓ is generic in the preset; {user} uses softmax cross-entropy on the outputs"),
    Concrete("loss", {"loss": "mse"}, "ℓ is generic in the preset; {user} uses the squared error ½‖z − y‖²"),
)


def _preset(name, seed, options, defaults, sizes, factory) -> Model:
    return Model(name, name, seed, options, defaults, sizes, factory, CONCRETE)


def _rnn(name, seed, defaults, sizes, **kw) -> Model:
    return _preset(name, seed, rnn.OPTIONS, defaults, sizes,
                  lambda options, sz: rnn.build(name, options, sz, seed=seed, **kw))


PRESETS: dict[str, Model] = {
    p.ref: p
    for p in [
        _rnn("rnn-binary", "001",
             dict(activation="relu", output="sigmoid", loss="bce", loss_at="last", reduction="sum", biases="on"),
             dict(n=3, d=2, T=3),
             names=dict(c="d", o="z", p="y_pred", y="y_gt"), notation=RNN_BINARY_NOTATION,
             input_terms=("b", "W", "U"), scalar_output=True),
        _rnn("rnn-softmax", "000, 004",
             dict(activation="sigmoid", output="softmax", loss="ce", loss_at="every", reduction="sum", biases="on"),
             dict(n=3, d=2, k=2, T=3),
             notation=RNN_SOFTMAX_NOTATION),
        _rnn("rnn-d2l", "002",
             dict(activation="generic", output="linear", loss="generic", loss_at="every", reduction="mean",
                  biases="off"),
             dict(n=3, d=2, k=2, T=3),
             names=dict(W="W_hh", U="W_hx", V="W_qh", b="b_h", c="b_q"), notation=RNN_D2L_NOTATION,
             input_terms=("U", "W", "b")),
        _preset("mlp-l2", "002", mlp.OPTIONS,
               dict(activation="generic", output="linear", loss="generic", l2="on", biases="off"),
               dict(d=2, n=3, k=2),
               lambda options, sz: mlp.build("mlp-l2", options, sz, seed="002", notation=MLP_NOTATION)),
        _preset("lstm", "003", lstm.OPTIONS,
               dict(weights="concat", peepholes="off", biases="on"),
               dict(n=3, d=2, k=2, T=3),
               lambda options, sz: lstm.build("lstm", options, sz, seed="003", notation=LSTM_NOTATION)),
        _preset("conv-dense", "000", conv.OPTIONS,
               dict(activation="generic", loss="generic", stride="1", padding="0", bias="on"),
               dict(size=4, kernel=3, c_in=1, c_out=1, m=3, k=1),
               lambda options, sz: conv.build("conv-dense", options, sz, seed="000", notation=CONV_NOTATION)),
        _preset("gru", "", gru.OPTIONS, dict(biases="on"), dict(n=3, d=2, k=2, T=3),
               lambda options, sz: gru.build("gru", options, sz, notation=GRU_NOTATION)),
    ]
}


def get(name: str) -> Model:
    if name not in PRESETS:
        raise DeclarationError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name]


def build(name: str, settings: dict[str, str] | None = None) -> Network:
    return get(name).build(settings)
