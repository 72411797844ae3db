"""Every derived gradient and adjoint agrees with SymPy scalar differentiation, central finite
differences and HIPS autograd, for every preset x activation x layout x T in {1, 2, 3, 5}."""

import itertools

import pytest
from harness import SMALL, Case, failures

from derive import presets

ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity", "generic")
LAYOUTS = ("denominator", "numerator")
RNNS = ("rnn-binary", "rnn-softmax", "rnn-d2l")


def _cases():
    for preset, activation, steps in itertools.product(RNNS, ACTIVATIONS, (1, 2, 3, 5)):
        marks = [pytest.mark.slow] if steps == 5 else []
        yield pytest.param(preset, activation, steps, marks=marks, id=f"{preset}-{activation}-T{steps}")
    for activation in ACTIVATIONS:
        yield pytest.param("mlp-l2", activation, 1, id=f"mlp-l2-{activation}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("preset,activation,steps", list(_cases()))
def test_three_oracles_at_small_sizes(preset, activation, steps, layout):
    case = Case(preset, {"activation": activation}, steps, sizes=SMALL)
    assert failures(case, layout, with_sympy=True) == []


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("preset,activation,steps", list(_cases()))
def test_autograd_and_finite_differences_at_default_sizes(preset, activation, steps, layout):
    case = Case(preset, {"activation": activation}, steps)
    assert failures(case, layout, with_sympy=False) == []


def _option_grid():
    """The other options of each family (outputs, losses, where the loss sits, reduction,
    biases), in every valid combination, with two activations."""
    for preset in RNNS:
        options = presets.get(preset).options
        for output, loss, loss_at, reduction, biases in itertools.product(
            options["output"], options["loss"], options["loss_at"], options["reduction"], options["biases"]
        ):
            settings = dict(output=output, loss=loss, loss_at=loss_at, reduction=reduction, biases=biases)
            try:
                presets.build(preset, settings)
            except ValueError:
                continue
            for activation in ("tanh", "generic"):
                yield pytest.param(preset, {**settings, "activation": activation},
                                   id=f"{preset}-" + "-".join(f"{v}" for v in settings.values()) + f"-{activation}")
    options = presets.get("mlp-l2").options
    for output, loss, l2, biases in itertools.product(options["output"], options["loss"], options["l2"],
                                                      options["biases"]):
        settings = dict(output=output, loss=loss, l2=l2, biases=biases)
        try:
            presets.build("mlp-l2", settings)
        except ValueError:
            continue
        yield pytest.param("mlp-l2", settings, id="mlp-l2-" + "-".join(settings.values()))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("preset,settings", list(_option_grid()))
def test_every_option_combination(preset, settings, layout):
    case = Case(preset, settings, 3, seed=7)
    assert failures(case, layout, with_sympy=False) == []


@pytest.mark.parametrize("preset", ["rnn-softmax", "rnn-binary"])
def test_sympy_oracle_on_an_option_combination(preset):
    settings = {"biases": "off", "activation": "tanh"}
    if preset == "rnn-softmax":
        settings.update(loss="mse", reduction="mean")
    case = Case(preset, settings, 3, sizes=SMALL, seed=3)
    assert failures(case, "denominator", with_sympy=True) == []


def _gated_grid(preset):
    """Every option combination of a gated cell (no activation option)."""
    options = presets.get(preset).options
    for values in itertools.product(*options.values()):
        settings = dict(zip(options, values, strict=True))
        yield pytest.param(preset, settings, id=f"{preset}-" + "-".join(values))


GATED = ("lstm", "gru")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("preset,settings", [c for p in GATED for c in _gated_grid(p)])
def test_gated_cells_against_three_oracles(preset, settings, layout):
    # SymPy's scalar expressions of a gated cell grow fast with T: n = 2 at T = 1, n = 1 at T = 2.
    assert failures(Case(preset, settings, 1, sizes=dict(n=2, d=1, k=2)), layout, with_sympy=True) == []
    assert failures(Case(preset, settings, 2, sizes=dict(n=1, d=1, k=2)), layout, with_sympy=True) == []
    for steps in (1, 2, 3, 5):
        assert failures(Case(preset, settings, steps, seed=steps), layout, with_sympy=False) == []


def _conv_cases():
    for activation in ACTIVATIONS:
        yield pytest.param({"activation": activation}, id=f"seed-000-{activation}")
    small = dict(size="2", kernel="2", c_in="2", c_out="2")
    for stride, padding, bias in itertools.product(("1", "2"), ("0", "1"), ("on", "off")):
        settings = dict(small, stride=stride, padding=padding, bias=bias, activation="tanh", loss="mse")
        yield pytest.param(settings, id=f"channels-s{stride}-p{padding}-bias-{bias}")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("settings", list(_conv_cases()))
def test_conv_dense_against_three_oracles(settings, layout):
    assert failures(Case("conv-dense", settings, 1), layout, with_sympy=True) == []
