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


@pytest.mark.parametrize("preset", list(TORCH))
@pytest.mark.parametrize("activation", list(ACT))
def test_module_matches_torch_autograd(preset, activation):
    settings = {"activation": activation}
    module = load(preset, tuple(settings.items()))
    net = network(preset, settings)
    params, inputs, targets = random_batch(net, module, 5, 4, seed=11)
    loss, grads = module.gradients(params, inputs, targets)
    p = {k: t(v) for k, v in params.items()}
    x = torch.tensor(inputs["x"])
    (name, y), = targets.items()
    y = torch.tensor(y) if y.dtype.kind == "i" else torch.tensor(y, dtype=torch.float64)
    reference = TORCH[preset](p, x, y, ACT[activation])
    reference.backward()
    assert abs(loss - reference.item()) <= 1e-10 * max(1.0, abs(reference.item()))
    for k, v in p.items():
        expected = v.grad.numpy()
        assert np.max(np.abs(grads[k] - expected)) <= 1e-10 * max(1.0, np.max(np.abs(expected))), k
