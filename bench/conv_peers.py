"""What a user would pick instead of `derive numpy conv-dense` at a 1 × 28 × 28 input, 8
channels, a 3 × 3 kernel and batch 64 (tanh, squared error), for bench/grad_speed.py:

    torch        PyTorch eager autograd with torch.nn.functional.conv2d
    numpy im2col a hand-written NumPy version: patches by stride tricks, one GEMM each way

Each takes the generated module's parameters and returns (loss, grads) averaged over the batch.
"""

from __future__ import annotations

import numpy as np

SETTINGS = dict(size="28", kernel="3", c_in="1", c_out="8", m="32", k="10", activation="tanh", loss="mse")
BATCH = 64


def _kernel_bank(w, c_in, c_out, kernel):
    """(c_out, c_in, k, k) filters from the (c_out·k, c_in·k) kernel-bank matrix."""
    return w.reshape(c_out, kernel, c_in, kernel).transpose(0, 2, 1, 3)


def numpy_im2col(p, z, y, c_in=1, c_out=8, size=28, kernel=3):
    B = z.shape[0]
    out = size - kernel + 1
    images = z.reshape(B, c_in, size, size)
    windows = np.lib.stride_tricks.sliding_window_view(images, (kernel, kernel), axis=(2, 3))
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(B * out * out, c_in * kernel * kernel)  # (B·P, Q)
    bank = _kernel_bank(p["w_1"], c_in, c_out, kernel).reshape(c_out, -1)
    y1 = (cols @ bank.T).reshape(B, out * out, c_out).transpose(0, 2, 1).reshape(B, -1) + np.repeat(p["b_1"], out * out)
    z1 = np.tanh(y1)
    z2 = np.tanh(z1 @ p["w_2"])
    z3 = np.tanh(z2 @ p["w_3"])
    loss = 0.5 * ((z3 - y) ** 2).sum() / B
    dy3 = (z3 - y) * (1 - z3**2)
    dy2 = (dy3 @ p["w_3"].T) * (1 - z2**2)
    dy1 = (dy2 @ p["w_2"].T) * (1 - z1**2)
    per_channel = dy1.reshape(B, c_out, out * out)
    dbank = per_channel.transpose(1, 0, 2).reshape(c_out, -1) @ cols  # (c_out, Q)
    dw = dbank.reshape(c_out, c_in, kernel, kernel).transpose(0, 2, 1, 3).reshape(c_out * kernel, c_in * kernel)
    grads = {
        "w_1": dw / B,
        "b_1": per_channel.sum(axis=(0, 2)) / B,
        "w_2": z1.T @ dy2 / B,
        "w_3": z2.T @ dy3 / B,
    }
    return loss, grads


def torch_peer(p, z, y, threads, c_in=1, c_out=8, size=28, kernel=3):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    tp = {name: torch.tensor(v, requires_grad=True) for name, v in p.items()}
    tz, ty = torch.tensor(z), torch.tensor(y)
    B = z.shape[0]

    def eager():
        for v in tp.values():
            v.grad = None
        weight = tp["w_1"].reshape(c_out, kernel, c_in, kernel).permute(0, 2, 1, 3)
        conv = torch.nn.functional.conv2d(tz.reshape(B, c_in, size, size), weight, tp["b_1"])
        z1 = torch.tanh(conv.reshape(B, -1))
        z3 = torch.tanh(torch.tanh(z1 @ tp["w_2"]) @ tp["w_3"])
        loss = 0.5 * ((z3 - ty) ** 2).sum() / B
        loss.backward()
        return loss.item(), {name: v.grad for name, v in tp.items()}

    return {"torch": eager}
