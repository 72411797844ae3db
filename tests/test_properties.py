"""Random sizes, sequence lengths, options and points: the derivation still agrees with
autograd and finite differences (hypothesis explores what the fixed grid does not)."""

from harness import Case, failures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from derive import presets

RNN_OPTIONS = st.fixed_dictionaries({
    "activation": st.sampled_from(["relu", "tanh", "sigmoid", "identity", "generic"]),
    "biases": st.sampled_from(["on", "off"]),
    "loss_at": st.sampled_from(["every", "last"]),
    "head": st.sampled_from([("softmax", "ce"), ("sigmoid", "bce"), ("linear", "mse"), ("linear", "generic"),
                             ("softmax", "generic"), ("sigmoid", "mse")]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(["rnn-softmax", "rnn-d2l", "rnn-binary"]),
    options=RNN_OPTIONS,
    n=st.integers(1, 4), d=st.integers(1, 3), k=st.integers(1, 3), steps=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    layout=st.sampled_from(["denominator", "numerator"]),
)
def test_random_rnns_agree_with_autograd_and_finite_differences(preset, options, n, d, k, steps, seed, layout):
    output, loss = options.pop("head")
    settings_ = {**options, "output": output, "loss": loss, "reduction": "sum"}
    sizes = {"n": n, "d": d, "k": k}
    if preset == "rnn-binary":
        sizes.pop("k")
    case = Case(preset, settings_, steps, sizes=sizes, seed=seed)
    presets.build(preset, settings_)
    assert failures(case, layout, with_sympy=False) == []


@settings(max_examples=15, deadline=None)
@given(
    activation=st.sampled_from(["relu", "tanh", "sigmoid", "identity", "generic"]),
    d=st.integers(1, 4), n=st.integers(1, 4), k=st.integers(1, 3), seed=st.integers(0, 10_000),
    biases=st.sampled_from(["on", "off"]),
)
def test_random_mlps_agree(activation, d, n, k, seed, biases):
    case = Case("mlp-l2", {"activation": activation, "biases": biases}, 1, sizes={"d": d, "n": n, "k": k}, seed=seed)
    assert failures(case, "denominator", with_sympy=False) == []
