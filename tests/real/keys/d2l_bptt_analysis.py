"""Key for tests/real/d2l_bptt_analysis_claims.md (d2l.ai 2nd ed., section 9.7.1).

Forward as the source defines it, with scalars and generic f, g, l (chosen here as arbitrary smooth
functions of all their arguments): h_t = f(x_t, h_{t-1}, w_h), o_t = g(h_t, w_o),
L = (1/T) sum_t l(y_t, o_t); h_0 = 0.
"""
import torch
from common import Key, all_close, close, verdict

torch.manual_seed(1)
T = 4
x = torch.randn(T + 1)
y = torch.randn(T + 1)
w_h = torch.tensor(0.7, requires_grad=True)
w_o = torch.tensor(-1.3, requires_grad=True)


def f(x, h, w):
    return torch.tanh(w * h + 0.5 * x) + 0.3 * torch.sin(w * x) * h + 0.1 * w


def g(h, w):
    return torch.sin(w * h) + 0.4 * h * w ** 2


def l(y, o):
    return (o - y) ** 2 * 0.5 + torch.cos(o * y)


def run(w_h, w_o):
    h = {0: torch.tensor(0.0)}
    o = {}
    for t in range(1, T + 1):
        h[t] = f(x[t], h[t - 1], w_h)
        o[t] = g(h[t], w_o)
    L = sum(l(y[t], o[t]) for t in range(1, T + 1)) / T
    return h, o, L


h, o, L = run(w_h, w_o)
dL_dwh = torch.autograd.grad(L, w_h, retain_graph=True)[0]
dh_dwh = {0: torch.tensor(0.0)}
for t in range(1, T + 1):
    dh_dwh[t] = torch.autograd.grad(h[t], w_h, retain_graph=True)[0]  # total derivative
dl_dwh = {t: torch.autograd.grad(l(y[t], o[t]), w_h, retain_graph=True)[0] for t in range(1, T + 1)}


def partial(fn, args, i):
    """partial derivative of fn(*args) in argument i, others held fixed."""
    args = [a.detach().clone().requires_grad_(j == i) for j, a in enumerate(args)]
    return torch.autograd.grad(fn(*args), args[i])[0]


H = {t: h[t].detach() for t in h}
O = {t: o[t].detach() for t in o}
wh, wo = w_h.detach(), w_o.detach()
dl_do = {t: partial(l, (y[t], O[t]), 1) for t in O}
dg_dh_typo = {t: partial(g, (H[t], wh), 0) for t in O}   # g(h_t, w_h) as printed
dg_dh = {t: partial(g, (H[t], wo), 0) for t in O}        # g(h_t, w_o) as defined
df_dw = {t: partial(f, (x[t], H[t - 1], wh), 2) for t in range(1, T + 1)}
df_dh = {t: partial(f, (x[t], H[t - 1], wh), 1) for t in range(1, T + 1)}

k = Key("d2l_bptt_analysis")
k.claim(10, r"\frac{\partial L}{\partial w_h} = \frac{1}{T}\sum_{t=1}^T \frac{\partial l(y_t, o_t)}{\partial w_h}",
        "none", "the derivative of a mean is the mean of the step losses' (total) derivatives.",
        verdict(close(sum(dl_dwh.values()) / T, dL_dwh)))
typo = close(sum(dl_do[t] * dg_dh_typo[t] * dh_dwh[t] for t in O) / T, dL_dwh)
fixed = close(sum(dl_do[t] * dg_dh[t] * dh_dwh[t] for t in O) / T, dL_dwh)
assert fixed and not typo
k.claim(10, r"\frac{\partial L}{\partial w_h} = \frac{1}{T}\sum_{t=1}^T \frac{\partial l(y_t, o_t)}{\partial o_t} \frac{\partial g(h_t, w_h)}{\partial h_t}  \frac{\partial h_t}{\partial w_h}.",
        "none", "as printed g is evaluated at (h_t, w_h), but o_t = g(h_t, w_o): with w_o the chain rule is right (a typo).",
        verdict(typo))
k.claim(14, r"\frac{\partial h_t}{\partial w_h} = \frac{\partial f(x_{t},h_{t-1},w_h)}{\partial w_h} +\frac{\partial f(x_{t},h_{t-1},w_h)}{\partial h_{t-1}} \frac{\partial h_{t-1}}{\partial w_h}.",
        "all", "total derivative = direct partial + partial in h_{t-1} times the total derivative of h_{t-1} (h_0 fixed).",
        verdict(all_close((df_dw[t] + df_dh[t] * dh_dwh[t - 1], dh_dwh[t]) for t in range(1, T + 1))))


def closed(t):
    s = df_dw[t]
    for i in range(1, t):
        p = torch.tensor(1.0)
        for j in range(i + 1, t + 1):
            p = p * df_dh[j]
        s = s + p * df_dw[i]
    return s


k.claim(18, r"\frac{\partial h_t}{\partial w_h} = \frac{\partial f(x_{t},h_{t-1},w_h)}{\partial w_h}+\sum_{i=1}^{t-1}\left(\prod_{j=i+1}^{t} \frac{\partial f(x_{j},h_{j-1},w_h)}{\partial h_{j-1}} \right) \frac{\partial f(x_{i},h_{i-1},w_h)}{\partial w_h}.",
        "all", "the recurrence a_t = b_t + c_t a_{t-1} (a_0 = 0) unrolled; scalars, so the product's order does not matter.",
        verdict(all_close((closed(t), dh_dwh[t]) for t in range(1, T + 1))))
k.finish()
