"""What a user would write or pick instead of the generated modules of two user-declared cells
(examples/mgu.py, the minimal gated unit, and examples/gru_torch.py, a GRU in PyTorch's
convention), softmax cross-entropy at every step, for bench/grad_speed.py:

    numpy batch  a hand-written BPTT where only the recurrence stays in the loop: every input
                 part one GEMM over all T·B rows before it, the GRU's three recurrent blocks one
                 GEMM per step each way, every weight gradient one GEMM over all steps
    torch        PyTorch eager autograd over the cell written out per step
    torch fused  nn.GRU + a linear head (the GRU only)

Each takes the generated module's parameters and returns (loss, grads), the loss summed over
steps and averaged over the batch.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _rows(a):
    return a.reshape(-1, a.shape[-1])


def _head(p, H, y):
    """Softmax cross-entropy on V h_t + c for every t at once: (loss, dL/do)."""
    T, B, _ = H.shape
    o = H @ p["V"].T + p["c"]
    o -= o.max(axis=-1, keepdims=True)
    e = np.exp(o)
    total = e.sum(axis=-1, keepdims=True)
    rows, labels = np.arange(T * B), y.reshape(-1)
    loss = (np.log(total).reshape(-1) - o.reshape(T * B, -1)[rows, labels]).sum() / B
    do = e / total
    do.reshape(T * B, -1)[rows, labels] -= 1.0
    return loss, do


def mgu_batched(p, x, y):
    """f = σ(W_f h + U_f x + b_f); g = tanh(W_h (f ⊙ h) + U_h x + b_h); h' = (1 − f) ⊙ h + f ⊙ g."""
    T, B, d = x.shape
    n = p["W_f"].shape[0]
    xf = (_rows(x) @ p["U_f"].T + p["b_f"]).reshape(T, B, n)
    xg = (_rows(x) @ p["U_h"].T + p["b_h"]).reshape(T, B, n)
    H = np.zeros((T + 1, B, n))
    F, G = np.empty((T, B, n)), np.empty((T, B, n))
    for t in range(T):
        h = H[t]
        F[t] = _sigmoid(xf[t] + h @ p["W_f"].T)
        G[t] = np.tanh(xg[t] + (F[t] * h) @ p["W_h"].T)
        H[t + 1] = h + F[t] * (G[t] - h)
    loss, do = _head(p, H[1:], y)
    dH = (_rows(do) @ p["V"]).reshape(T, B, n)
    dAf, dAg = np.empty((T, B, n)), np.empty((T, B, n))
    carry = np.zeros((B, n))
    for t in reversed(range(T)):
        h, f, g = H[t], F[t], G[t]
        dh = dH[t] + carry
        dAg[t] = dh * f * (1.0 - g * g)
        dfh = dAg[t] @ p["W_h"]  # ∂L/∂(f ⊙ h)
        dAf[t] = (dh * (g - h) + dfh * h) * f * (1.0 - f)
        carry = dh * (1.0 - f) + dfh * f + dAf[t] @ p["W_f"]
    af, ag = _rows(dAf), _rows(dAg)
    grads = {
        "W_f": af.T @ _rows(H[:-1]), "U_f": af.T @ _rows(x), "b_f": af.sum(axis=0),
        "W_h": ag.T @ _rows(F * H[:-1]), "U_h": ag.T @ _rows(x), "b_h": ag.sum(axis=0),
        "V": _rows(do).T @ _rows(H[1:]), "c": _rows(do).sum(axis=0),
    }
    return loss, {k: v / B for k, v in grads.items()}


def gru_batched(p, x, y):
    """torch.nn.GRU's cell: r, z = σ(W_i· x + b_i· + W_h· h + b_h·); n = tanh(W_in x + b_in + r ⊙
    (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h."""
    T, B, d = x.shape
    m = p["W_hr"].shape[0]
    Wi = np.concatenate([p["W_ir"], p["W_iz"], p["W_in"]])
    Wh = np.concatenate([p["W_hr"], p["W_hz"], p["W_hn"]])
    bi = np.concatenate([p["b_ir"] + p["b_hr"], p["b_iz"] + p["b_hz"], p["b_in"]])
    bhn = p["b_hn"]
    X = (_rows(x) @ Wi.T + bi).reshape(T, B, 3 * m)
    H = np.zeros((T + 1, B, m))
    RZ, N, HN = np.empty((T, B, 2 * m)), np.empty((T, B, m)), np.empty((T, B, m))
    for t in range(T):
        h = H[t]
        U = h @ Wh.T
        RZ[t] = _sigmoid(X[t, :, :2 * m] + U[:, :2 * m])
        HN[t] = U[:, 2 * m:] + bhn
        N[t] = np.tanh(X[t, :, 2 * m:] + RZ[t, :, :m] * HN[t])
        z = RZ[t, :, m:]
        H[t + 1] = N[t] + z * (h - N[t])
    loss, do = _head(p, H[1:], y)
    dH = (_rows(do) @ p["V"]).reshape(T, B, m)
    dA = np.empty((T, B, 3 * m))  # [∂L/∂a_r, ∂L/∂a_z, ∂L/∂a_n] (the pre-activations)
    dHN = np.empty((T, B, m))  # ∂L/∂(W_hn h + b_hn)
    carry = np.zeros((B, m))
    for t in reversed(range(T)):
        h, n, r, z = H[t], N[t], RZ[t, :, :m], RZ[t, :, m:]
        dh = dH[t] + carry
        dn = dh * (1.0 - z) * (1.0 - n * n)
        dA[t, :, 2 * m:] = dn
        dHN[t] = dn * r
        dA[t, :, :m] = dn * HN[t] * r * (1.0 - r)
        dA[t, :, m:2 * m] = dh * (h - n) * z * (1.0 - z)
        dU = np.concatenate([dA[t, :, :2 * m], dHN[t]], axis=1)
        carry = dh * z + dU @ Wh
    a = _rows(dA)
    dU = np.concatenate([dA[..., :2 * m], dHN], axis=-1)
    dWi, dWh = a.T @ _rows(x), _rows(dU).T @ _rows(H[:-1])
    dbi, dbh = a.sum(axis=0), _rows(dU).sum(axis=0)
    grads = {"V": _rows(do).T @ _rows(H[1:]), "c": _rows(do).sum(axis=0)}
    for j, g in enumerate("rzn"):
        block = slice(j * m, (j + 1) * m)
        grads[f"W_i{g}"], grads[f"W_h{g}"] = dWi[block], dWh[block]
        grads[f"b_i{g}"], grads[f"b_h{g}"] = dbi[block], dbh[block]
    return loss, {k: v / B for k, v in grads.items()}


def mgu_flops(B, d, n, k, T) -> float:
    """Products of forward and backward: U_f x, U_h x, W_f h, W_h (f⊙h), V h; their backward."""
    return 2.0 * T * B * (3 * 2 * d * n + 3 * 2 * n * n + 3 * n * k)


def gru_flops(B, d, n, k, T) -> float:
    return 2.0 * T * B * (3 * 3 * d * n + 3 * 3 * n * n + 3 * n * k)


def torch_peers(cell: str, p, x, y, threads: int) -> dict:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    F = torch.nn.functional
    tp = {name: torch.tensor(v, requires_grad=True) for name, v in p.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)
    T, B, _ = x.shape

    def step_mgu(h, xt):
        f = torch.sigmoid(h @ tp["W_f"].T + xt @ tp["U_f"].T + tp["b_f"])
        g = torch.tanh((f * h) @ tp["W_h"].T + xt @ tp["U_h"].T + tp["b_h"])
        return (1 - f) * h + f * g

    def step_gru(h, xt):
        r = torch.sigmoid(xt @ tp["W_ir"].T + tp["b_ir"] + h @ tp["W_hr"].T + tp["b_hr"])
        z = torch.sigmoid(xt @ tp["W_iz"].T + tp["b_iz"] + h @ tp["W_hz"].T + tp["b_hz"])
        n = torch.tanh(xt @ tp["W_in"].T + tp["b_in"] + r * (h @ tp["W_hn"].T + tp["b_hn"]))
        return (1 - z) * n + z * h

    step = step_mgu if cell == "mgu" else step_gru
    rows = p["V"].shape[1]

    def eager():
        for v in tp.values():
            v.grad = None
        h = torch.zeros(B, rows, dtype=torch.float64)
        loss = 0
        for t in range(T):
            h = step(h, tx[t])
            loss = loss + F.cross_entropy(h @ tp["V"].T + tp["c"], ty[t], reduction="sum")
        loss = loss / B
        loss.backward()
        return loss.item(), {name: v.grad for name, v in tp.items()}

    peers = {"torch": eager}
    if cell == "gru":
        gru = torch.nn.GRU(x.shape[-1], rows, dtype=torch.float64)
        with torch.no_grad():
            for attr, parts in (("weight_ih_l0", "W_i"), ("weight_hh_l0", "W_h"), ("bias_ih_l0", "b_i"),
                                ("bias_hh_l0", "b_h")):
                getattr(gru, attr).copy_(torch.tensor(np.concatenate([p[f"{parts}{g}"] for g in "rzn"])))
        V, c = tp["V"], tp["c"]

        def fused():
            gru.zero_grad()
            V.grad = c.grad = None
            states, _ = gru(tx)
            loss = F.cross_entropy((states @ V.T + c).reshape(T * B, -1), ty.reshape(-1), reduction="sum") / B
            loss.backward()
            return loss.item(), {"weight_hh": gru.weight_hh_l0.grad, "V": V.grad}

        peers["torch fused"] = fused
    return peers
