"""Key for tests/real/d2l_v0_bptt_analysis_claims.md (d2l.ai pre-1.0, "Recurrent Model").

Forward as the source defines it: scalars, one parameter w shared by f and g (generic functions,
chosen here as arbitrary smooth functions of all their arguments), h_t = f(x_t, h_{t-1}, w),
o_t = g(h_t, w), L = sum_t l(y_t, o_t); h_0 = 0.
"""
import torch
from common import Key, all_close, close, verdict

torch.manual_seed(2)
T = 4
x = torch.randn(T + 1)
y = torch.randn(T + 1)
w = torch.tensor(0.6, requires_grad=True)


def f(x, h, w):
    return torch.tanh(w * h + 0.5 * x) + 0.3 * torch.sin(w * x) * h + 0.1 * w


def g(h, w):
    return torch.sin(w * h) + 0.4 * h * w ** 2


def l(y, o):
    return (o - y) ** 2 * 0.5 + torch.cos(o * y)


h = {0: torch.tensor(0.0)}
o = {}
for t in range(1, T + 1):
    h[t] = f(x[t], h[t - 1], w)
    o[t] = g(h[t], w)
L = sum(l(y[t], o[t]) for t in range(1, T + 1))
dL = torch.autograd.grad(L, w, retain_graph=True)[0]
dh = {0: torch.tensor(0.0)}
for t in range(1, T + 1):
    dh[t] = torch.autograd.grad(h[t], w, retain_graph=True)[0]
dl = {t: torch.autograd.grad(l(y[t], o[t]), w, retain_graph=True)[0] for t in range(1, T + 1)}


def partial(fn, args, i):
    args = [a.detach().clone().requires_grad_(j == i) for j, a in enumerate(args)]
    return torch.autograd.grad(fn(*args), args[i])[0]


H = {t: h[t].detach() for t in h}
O = {t: o[t].detach() for t in o}
W = w.detach()
dl_do = {t: partial(l, (y[t], O[t]), 1) for t in O}
dg_dw = {t: partial(g, (H[t], W), 1) for t in O}
dg_dh = {t: partial(g, (H[t], W), 0) for t in O}
df_dw = {t: partial(f, (x[t], H[t - 1], W), 2) for t in range(1, T + 1)}
df_dh = {t: partial(f, (x[t], H[t - 1], W), 1) for t in range(1, T + 1)}
# what the chain rule gives, for the why: dl/do (dg/dw + dg/dh dh/dw)
assert close(sum(dl_do[t] * (dg_dw[t] + dg_dh[t] * dh[t]) for t in O), dL)

k = Key("d2l_v0_bptt_analysis")
k.claim(11, r"\partial_{w} L = \sum_{t=1}^T \partial_w l(y_t, o_t)",
        "none", "linearity: the derivative of the sum is the sum of the step losses' total derivatives.",
        verdict(close(sum(dl.values()), dL)))
k.claim(11, r"\partial_{w} L = \sum_{t=1}^T \partial_{o_t} l(y_t, o_t) \partial_w g(h_t, w) \partial_w h_t",
        "none", "the chain rule gives d_o l (d_w g + d_h g d_w h_t); the product d_w g d_w h_t drops d_h g and the direct path.",
        verdict(close(sum(dl_do[t] * dg_dw[t] * dh[t] for t in O), dL)))
k.claim(18, r"\partial_w h_t = \partial_w f(x_t, h_{t-1}, w) + \partial_h f(x_t, h_{t-1}, w) \partial_w h_{t-1}",
        "all", "total derivative = direct partial + partial in h_{t-1} times the total derivative of h_{t-1}.",
        verdict(all_close((df_dw[t] + df_dh[t] * dh[t - 1], dh[t]) for t in range(1, T + 1))))


def printed(t):  # sum_{i=t}^{1} [prod_{j=t}^{i} d_h f(x_j, ...)] d_w f(x_i, ...)
    s = torch.tensor(0.0)
    for i in range(t, 0, -1):
        p = torch.tensor(1.0)
        for j in range(t, i - 1, -1):
            p = p * df_dh[j]
        s = s + p * df_dw[i]
    return s


k.claim(18, r"\partial_w h_t = \sum_{i=t}^1 \left[\prod_{j=t}^i \partial_h f(x_j, h_{j-1}, w) \right] \partial_w f(x_{i}, h_{i-1}, w)",
        "all", "the product runs down to j = i, one factor too many: the unrolled recurrence needs prod_{j=i+1}^{t} (so the i = t term is d_w f alone).",
        verdict(all_close((printed(t), dh[t]) for t in range(1, T + 1))))
k.finish()
