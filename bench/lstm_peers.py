"""What a user would write or pick instead of `derive numpy lstm` (the concatenated-weights
LSTM of DESIGN.md, softmax cross-entropy at every step), for bench/grad_speed.py:

    numpy batch  hand-written BPTT, the four gates stacked into one GEMM per step, the input
                 part of every gate and every weight gradient one GEMM over all steps
    numpy loop   a textbook per-step BPTT, one GEMM per gate and step
    torch        PyTorch eager autograd over the math written out per step
    torch fused  nn.LSTM + nn.Linear (its gate order i, f, g, o; one bias)
    jax          jax.jit(jax.value_and_grad) over lax.scan

Each takes the parameters of the generated module (W_f ∈ R^{n×(n+d)} on [h_{t-1}; x_t], ...)
and returns (loss, grads) with the loss summed over steps and averaged over the batch.
"""

from __future__ import annotations

import numpy as np

GATES = ("f", "i", "C", "o")


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _stacked(p):
    """The gates' weights stacked (f, i, C, o): recurrent block, input block, bias."""
    n = p["V"].shape[1]
    W = np.concatenate([p[f"W_{g}"] for g in GATES])
    return np.ascontiguousarray(W[:, :n]), np.ascontiguousarray(W[:, n:]), np.concatenate([p[f"b_{g}"] for g in GATES])


def _unstack(p, dWh, dWx, db):
    n = p["V"].shape[1]
    grads = {}
    for j, g in enumerate(GATES):
        rows = slice(j * n, (j + 1) * n)
        grads[f"W_{g}"] = np.concatenate([dWh[rows], dWx[rows]], axis=1)
        grads[f"b_{g}"] = db[rows]
    return grads


def _head(p, H, y):
    """Softmax cross-entropy on V h_t + c for every t at once: (loss, dL/ds)."""
    T, B, _ = H.shape
    s = H @ p["V"].T + p["c"]
    s -= s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    total = e.sum(axis=-1, keepdims=True)
    rows = np.arange(T * B)
    loss = (np.log(total).reshape(-1) - s.reshape(T * B, -1)[rows, y.reshape(-1)]).sum() / B
    ds = e / total
    ds.reshape(T * B, -1)[rows, y.reshape(-1)] -= 1.0
    return loss, ds


def numpy_batched(p, x, y):
    T, B, d = x.shape
    n = p["V"].shape[1]
    Wh, Wx, b = _stacked(p)
    gates = x @ Wx.T + b  # (T, B, 4n): input part of every gate, one GEMM
    H = np.zeros((T + 1, B, n))
    C = np.zeros((T + 1, B, n))
    for t in range(T):
        a = gates[t]
        a += H[t] @ Wh.T
        a[:, : 2 * n] = _sigmoid(a[:, : 2 * n])  # f, i
        a[:, 2 * n : 3 * n] = np.tanh(a[:, 2 * n : 3 * n])  # the candidate C̃
        a[:, 3 * n :] = _sigmoid(a[:, 3 * n :])  # o
        f, i, g, o = a[:, :n], a[:, n : 2 * n], a[:, 2 * n : 3 * n], a[:, 3 * n :]
        C[t + 1] = f * C[t] + i * g
        H[t + 1] = o * np.tanh(C[t + 1])
    loss, ds = _head(p, H[1:], y)
    dh_head = ds @ p["V"]
    dA = np.empty((T, B, 4 * n))
    dh_next = np.zeros((B, n))
    dC_next = np.zeros((B, n))
    for t in range(T - 1, -1, -1):
        f, i, g, o = (gates[t][:, j * n : (j + 1) * n] for j in range(4))
        tanh_c = np.tanh(C[t + 1])
        dh = dh_head[t] + dh_next
        dC = dh * o * (1.0 - tanh_c * tanh_c) + dC_next
        da = dA[t]
        da[:, :n] = dC * C[t] * f * (1.0 - f)
        da[:, n : 2 * n] = dC * g * i * (1.0 - i)
        da[:, 2 * n : 3 * n] = dC * i * (1.0 - g * g)
        da[:, 3 * n :] = dh * tanh_c * o * (1.0 - o)
        dh_next = da @ Wh
        dC_next = dC * f
    flat = dA.reshape(T * B, 4 * n)
    grads = _unstack(p, flat.T @ H[:-1].reshape(T * B, n), flat.T @ x.reshape(T * B, d), flat.sum(axis=0))
    grads["V"] = ds.reshape(T * B, -1).T @ H[1:].reshape(T * B, n) / B
    grads["c"] = ds.reshape(T * B, -1).sum(axis=0) / B
    for g in GATES:
        grads[f"W_{g}"] /= B
        grads[f"b_{g}"] /= B
    return loss, grads


def numpy_loop(p, x, y):
    """The textbook BPTT: every gate its own GEMMs, every step its own head and weight update."""
    T, B, d = x.shape
    n = p["V"].shape[1]
    V, c = p["V"], p["c"]
    H, C, cache = [np.zeros((B, n))], [np.zeros((B, n))], []
    loss, grads = 0.0, {k: np.zeros_like(v) for k, v in p.items()}
    for t in range(T):
        hx = np.concatenate([H[-1], x[t]], axis=1)
        f = _sigmoid(hx @ p["W_f"].T + p["b_f"])
        i = _sigmoid(hx @ p["W_i"].T + p["b_i"])
        g = np.tanh(hx @ p["W_C"].T + p["b_C"])
        o = _sigmoid(hx @ p["W_o"].T + p["b_o"])
        C.append(f * C[-1] + i * g)
        H.append(o * np.tanh(C[-1]))
        cache.append((hx, f, i, g, o))
    dh_next, dC_next = np.zeros((B, n)), np.zeros((B, n))
    for t in range(T - 1, -1, -1):
        hx, f, i, g, o = cache[t]
        s = H[t + 1] @ V.T + c
        s = s - s.max(axis=1, keepdims=True)
        prob = np.exp(s)
        prob /= prob.sum(axis=1, keepdims=True)
        loss -= np.log(prob[np.arange(B), y[t]]).sum()
        ds = prob
        ds[np.arange(B), y[t]] -= 1.0
        grads["V"] += ds.T @ H[t + 1]
        grads["c"] += ds.sum(axis=0)
        dh = ds @ V + dh_next
        tanh_c = np.tanh(C[t + 1])
        dC = dh * o * (1 - tanh_c**2) + dC_next
        deltas = {"f": dC * C[t] * f * (1 - f), "i": dC * g * i * (1 - i), "C": dC * i * (1 - g**2),
                  "o": dh * tanh_c * o * (1 - o)}
        dhx = 0
        for gate, delta in deltas.items():
            grads[f"W_{gate}"] += delta.T @ hx
            grads[f"b_{gate}"] += delta.sum(axis=0)
            dhx = dhx + delta @ p[f"W_{gate}"]
        dh_next, dC_next = dhx[:, :n], dC * f
    return loss / B, {k: v / B for k, v in grads.items()}


def torch_peers(p, x, y, threads):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    tp = {name: torch.tensor(v, requires_grad=True) for name, v in p.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)
    T, B, d = x.shape
    n, k = p["V"].shape[1], p["V"].shape[0]

    def eager():
        for v in tp.values():
            v.grad = None
        h = C = torch.zeros(B, n, dtype=torch.float64)
        loss = 0
        for t in range(T):
            hx = torch.cat([h, tx[t]], dim=1)
            f = torch.sigmoid(hx @ tp["W_f"].T + tp["b_f"])
            i = torch.sigmoid(hx @ tp["W_i"].T + tp["b_i"])
            g = torch.tanh(hx @ tp["W_C"].T + tp["b_C"])
            o = torch.sigmoid(hx @ tp["W_o"].T + tp["b_o"])
            C = f * C + i * g
            h = o * torch.tanh(C)
            loss = loss + torch.nn.functional.cross_entropy(h @ tp["V"].T + tp["c"], ty[t], reduction="sum")
        loss = loss / B
        loss.backward()
        return loss.item(), {name: v.grad for name, v in tp.items()}

    # nn.LSTM stacks its gates i, f, g, o and computes W_ih x + b_ih + W_hh h + b_hh.
    cell = torch.nn.LSTM(d, n, dtype=torch.float64)
    linear = torch.nn.Linear(n, k, dtype=torch.float64)
    order = ("i", "f", "C", "o")
    with torch.no_grad():
        cell.weight_hh_l0.copy_(torch.tensor(np.concatenate([p[f"W_{g}"][:, :n] for g in order])))
        cell.weight_ih_l0.copy_(torch.tensor(np.concatenate([p[f"W_{g}"][:, n:] for g in order])))
        cell.bias_ih_l0.copy_(torch.tensor(np.concatenate([p[f"b_{g}"] for g in order])))
        cell.bias_hh_l0.zero_()
        linear.weight.copy_(torch.tensor(p["V"]))
        linear.bias.copy_(torch.tensor(p["c"]))

    def fused():
        cell.zero_grad()
        linear.zero_grad()
        out, _ = cell(tx)
        logits = linear(out)
        loss = torch.nn.functional.cross_entropy(logits.reshape(T * B, -1), ty.reshape(-1), reduction="sum") / B
        loss.backward()
        return loss.item(), {"W_hh": cell.weight_hh_l0.grad, "V": linear.weight.grad}

    return {"torch": eager, "torch fused": fused}


def jax_peer(p, x, y):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)
    B = x.shape[1]
    n = p["V"].shape[1]

    def loss_fn(params, xs, ys):
        def step(carry, inp):
            h, C = carry
            xt, yt = inp
            hx = jnp.concatenate([h, xt], axis=1)
            f = jax.nn.sigmoid(hx @ params["W_f"].T + params["b_f"])
            i = jax.nn.sigmoid(hx @ params["W_i"].T + params["b_i"])
            g = jnp.tanh(hx @ params["W_C"].T + params["b_C"])
            o = jax.nn.sigmoid(hx @ params["W_o"].T + params["b_o"])
            C = f * C + i * g
            h = o * jnp.tanh(C)
            logp = jax.nn.log_softmax(h @ params["V"].T + params["c"])
            return (h, C), -jnp.take_along_axis(logp, yt[:, None], axis=-1).sum()

        zeros = jnp.zeros((B, n))
        _, losses = jax.lax.scan(step, (zeros, zeros), (xs, ys))
        return losses.sum() / B

    return {"jax": jitted(loss_fn, p, x, y)}


def jitted(loss_fn, p, x, y):
    """jax.jit(jax.value_and_grad(loss_fn)) on these arrays, compiled outside the timing."""
    import jax
    import jax.numpy as jnp

    run = jax.jit(jax.value_and_grad(loss_fn))
    jp = {name: jnp.asarray(v) for name, v in p.items()}
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def call():
        loss, grads = run(jp, jx, jy)
        jax.block_until_ready(grads)
        return loss, grads

    call()
    return call


def matmul_flops(B, d, n, k, T) -> float:
    """FLOPs of the products in forward and backward: the gates on [h; x] (4n × (n + d)) three
    times (forward, input gradient, weight gradient), the head V h three times."""
    return 2.0 * T * B * (3 * 4 * n * (n + d) + 3 * n * k)


def stored_rows(n, k) -> int:
    """The activations per example and step an LSTM's BPTT must keep: four gates, C_t, h_t, ŷ_t."""
    return 6 * n + k
