"""Generated modules against PyTorch autograd (float64), with each network's math written out
in torch here, independently of derive. Runs where torch is installed (CI installs it)."""

import numpy as np
import pytest
from modules import load, network, random_batch

torch = pytest.importorskip("torch")


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


ACT = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "identity": lambda a: a}


def rnn_softmax(p, x, y, act):
    T, B, _ = x.shape
    h, loss = torch.zeros(B, p["W"].shape[0], dtype=torch.float64), 0
    for step in range(T):
        h = act(x[step] @ p["U"].T + h @ p["W"].T + p["b"])
        o = h @ p["V"].T + p["c"]
        loss = loss + torch.nn.functional.cross_entropy(o, y[step], reduction="none")
    return loss.mean()


def rnn_binary(p, x, y, act):
    T, B, _ = x.shape
    h = torch.zeros(B, p["W"].shape[0], dtype=torch.float64)
    for step in range(T):
        h = act(p["b"] + h @ p["W"].T + x[step] @ p["U"].T)
    z = (h @ p["V"].T)[:, 0] + p["d"]
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="mean")


def rnn_d2l(p, x, y, act):
    T, B, _ = x.shape
    h, loss = torch.zeros(B, p["W_hh"].shape[0], dtype=torch.float64), 0
    for step in range(T):
        h = act(x[step] @ p["W_hx"].T + h @ p["W_hh"].T)
        loss = loss + torch.nn.functional.cross_entropy(h @ p["W_qh"].T, y[step], reduction="none")
    return (loss / T).mean()


def mlp_l2(p, x, y, act):
    o = act(x @ p["W1"].T) @ p["W2"].T
    loss = torch.nn.functional.cross_entropy(o, y, reduction="mean")
    return loss + 0.1 / 2 * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())


TORCH = {"rnn-softmax": rnn_softmax, "rnn-binary": rnn_binary, "rnn-d2l": rnn_d2l, "mlp-l2": mlp_l2}


def lstm(p, x, y, peepholes=False):
    """DESIGN.md's LSTM, either weight layout: W_g [h; x] or W_xg x + W_hg h."""
    T, B, _ = x.shape
    n = p["V"].shape[1]
    h = C = torch.zeros(B, n, dtype=torch.float64)
    zero, loss = torch.zeros(n, dtype=torch.float64), 0

    def pre(g, cell=None):
        if f"W_{g}" in p:
            a = torch.cat([h, x[step]], dim=1) @ p[f"W_{g}"].T
        else:
            a = x[step] @ p[f"W_x{g}"].T + h @ p[f"W_h{g}"].T
        if peepholes and cell is not None:
            a = a + p[f"p_{g}"] * cell
        return a + p.get(f"b_{g}", zero)

    for step in range(T):
        f = torch.sigmoid(pre("f", C))
        i = torch.sigmoid(pre("i", C))
        candidate = torch.tanh(pre("C"))
        C = f * C + i * candidate
        o = torch.sigmoid(pre("o", C))
        h = o * torch.tanh(C)
        logits = h @ p["V"].T + p.get("c", torch.zeros(p["V"].shape[0], dtype=torch.float64))
        loss = loss + torch.nn.functional.cross_entropy(logits, y[step], reduction="none")
    return loss.mean()


def gru(p, x, y):
    """d2l's GRU: the reset gate scales h_{t-1} before W_hh (torch's nn.GRU scales W_hh h_{t-1})."""
    T, B, _ = x.shape
    n = p["W_hh"].shape[0]
    h, loss = torch.zeros(B, n, dtype=torch.float64), 0
    zero = torch.zeros(n, dtype=torch.float64)
    for step in range(T):
        r = torch.sigmoid(x[step] @ p["W_xr"].T + h @ p["W_hr"].T + p.get("b_r", zero))
        z = torch.sigmoid(x[step] @ p["W_xz"].T + h @ p["W_hz"].T + p.get("b_z", zero))
        candidate = torch.tanh(x[step] @ p["W_xh"].T + (r * h) @ p["W_hh"].T + p.get("b_h", zero))
        h = z * h + (1 - z) * candidate
        logits = h @ p["W_hq"].T + p.get("b_q", torch.zeros(p["W_hq"].shape[0], dtype=torch.float64))
        loss = loss + torch.nn.functional.cross_entropy(logits, y[step], reduction="none")
    return loss.mean()


def fused_lstm(p, x, y):
    """torch.nn.LSTM (gates stacked i, f, g, o) + nn.Linear on the separate-weights layout."""
    n, d = p["W_xf"].shape
    cell = torch.nn.LSTM(d, n, dtype=torch.float64)
    head = torch.nn.Linear(n, p["V"].shape[0], dtype=torch.float64)
    order = ("i", "f", "C", "o")
    cell.weight_ih_l0 = torch.nn.Parameter(torch.cat([p[f"W_x{g}"] for g in order]))
    cell.weight_hh_l0 = torch.nn.Parameter(torch.cat([p[f"W_h{g}"] for g in order]))
    cell.bias_ih_l0 = torch.nn.Parameter(torch.cat([p[f"b_{g}"] for g in order]))
    cell.bias_hh_l0 = torch.nn.Parameter(torch.zeros(4 * n, dtype=torch.float64), requires_grad=False)
    head.weight, head.bias = torch.nn.Parameter(p["V"]), torch.nn.Parameter(p["c"])
    h, _ = cell(x)
    logits = head(h)
    T, B, k = logits.shape
    loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, k), y.reshape(-1), reduction="sum")
    grads = torch.autograd.grad(loss / B, [cell.weight_ih_l0, cell.weight_hh_l0, cell.bias_ih_l0,
                                           head.weight, head.bias])
    split = [g.split(n) for g in grads[:3]]
    out = {"V": grads[3], "c": grads[4]}
    for j, g in enumerate(order):
        out[f"W_x{g}"], out[f"W_h{g}"], out[f"b_{g}"] = split[0][j], split[1][j], split[2][j]
    return (loss / B).item(), out


def compare(preset, settings, reference_fn):
    module = load(preset, tuple(sorted(settings.items())))
    net = network(preset, settings)
    params, inputs, targets = random_batch(net, module, 5, 4, seed=11)
    loss, grads = module.gradients(params, inputs, targets)
    p = {k: t(v) for k, v in params.items()}
    x = torch.tensor(inputs["x"])
    (name, y), = targets.items()
    y = torch.tensor(y) if y.dtype.kind == "i" else torch.tensor(y, dtype=torch.float64)
    reference = reference_fn(p, x, y)
    reference.backward()
    assert abs(loss - reference.item()) <= 1e-10 * max(1.0, abs(reference.item()))
    assert set(grads) == set(p)
    for k, v in p.items():
        expected = v.grad.numpy()
        assert np.max(np.abs(grads[k] - expected)) <= 1e-10 * max(1.0, np.max(np.abs(expected))), k


@pytest.mark.parametrize("preset", list(TORCH))
@pytest.mark.parametrize("activation", list(ACT))
def test_module_matches_torch_autograd(preset, activation):
    compare(preset, {"activation": activation}, lambda p, x, y: TORCH[preset](p, x, y, ACT[activation]))


@pytest.mark.parametrize("weights", ["concat", "separate"])
@pytest.mark.parametrize("peepholes", ["off", "on"])
@pytest.mark.parametrize("biases", ["on", "off"])
def test_lstm_module_matches_torch_autograd(weights, peepholes, biases):
    settings = dict(weights=weights, peepholes=peepholes, biases=biases)
    compare("lstm", settings, lambda p, x, y: lstm(p, x, y, peepholes == "on"))


def test_gru_module_matches_torch_autograd():
    compare("gru", {}, gru)
    compare("gru", {"biases": "off"}, gru)


def test_lstm_module_matches_fused_nn_lstm():
    settings = {"weights": "separate"}
    module = load("lstm", tuple(settings.items()))
    params, inputs, targets = random_batch(network("lstm", settings), module, 6, 3, seed=5)
    loss, grads = module.gradients(params, inputs, targets)
    expected_loss, expected = fused_lstm({k: t(v) for k, v in params.items()},
                                         torch.tensor(inputs["x"]), torch.tensor(targets["y"]))
    assert abs(loss - expected_loss) <= 1e-10 * max(1.0, abs(expected_loss))
    assert set(expected) == set(grads)
    for k, v in expected.items():
        assert np.max(np.abs(grads[k] - v.numpy())) <= 1e-10 * max(1.0, np.max(np.abs(v.numpy()))), k


def conv_dense(p, z, y, c_in, c_out, size, kernel, stride, padding):
    """Seed 000's stack with torch.nn.functional.conv2d: the kernel bank's block (o, c) is the
    filter from channel c to channel o."""
    B = z.shape[0]
    weight = p["w_1"].reshape(c_out, kernel, c_in, kernel).permute(0, 2, 1, 3)
    bias = p["b_1"].reshape(-1) if "b_1" in p else None
    image = z.reshape(B, c_in, size, size)
    z1 = torch.tanh(torch.nn.functional.conv2d(image, weight, bias, stride=stride, padding=padding).reshape(B, -1))
    z3 = torch.tanh(torch.tanh(z1 @ p["w_2"]) @ p["w_3"])
    return (0.5 * ((z3 - y) ** 2).sum(dim=1)).mean()


@pytest.mark.parametrize("geometry", [
    dict(size=4, kernel=3, c_in=1, c_out=1, stride=1, padding=0, bias="on"),  # seed 000
    dict(size=6, kernel=3, c_in=2, c_out=3, stride=2, padding=1, bias="on"),
    dict(size=5, kernel=2, c_in=3, c_out=2, stride=1, padding=2, bias="off"),
])
def test_conv_dense_module_matches_torch_conv2d(geometry):
    geometry = dict(geometry)
    settings = {"activation": "tanh", "loss": "mse", "bias": geometry.pop("bias"),
                **{key: str(value) for key, value in geometry.items()}}
    reference = lambda p, z, y: conv_dense(p, z, y, **geometry)  # noqa: E731
    module = load("conv-dense", tuple(sorted(settings.items())))
    params, inputs, targets = random_batch(network("conv-dense", settings), module, 1, 5, seed=3)
    loss, grads = module.gradients(params, inputs, targets)
    p = {k: t(v) for k, v in params.items()}
    expected = reference(p, torch.tensor(inputs["z_0"]), torch.tensor(targets["y"]))
    expected.backward()
    assert abs(loss - expected.item()) <= 1e-10 * max(1.0, abs(expected.item()))
    for k, v in p.items():
        assert np.max(np.abs(grads[k] - v.grad.numpy())) <= 1e-10 * max(1.0, np.max(np.abs(v.grad.numpy()))), k
