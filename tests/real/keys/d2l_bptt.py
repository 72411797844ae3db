"""Key for tests/real/d2l_bptt_claims.md (d2l.ai 2nd ed., section 9.7.2).

Forward (as the source defines it): h_t = W_hx x_t + W_hh h_{t-1} (identity activation, no bias),
o_t = W_qh h_t, L = (1/T) sum_t l(o_t, y_t) with l generic: here a smooth nonlinear l chosen at random.
"""
import torch
from common import Key, all_close, close, jac, prod, verdict

torch.manual_seed(0)
T, d, n, q = 4, 2, 3, 2
Wx = torch.randn(n, d, requires_grad=True)
Wh = torch.randn(n, n, requires_grad=True) * 0.8
Wh = Wh.detach().requires_grad_()
Wq = torch.randn(q, n, requires_grad=True)
X = [torch.randn(d) for _ in range(T)]
Y = [torch.randn(q) for _ in range(T)]
a = torch.randn(q)


def l(o, y):  # a generic per-step loss
    return (torch.sin(o + a) * y).sum() + 0.5 * (o ** 2 * y.abs()).sum()


def forward(Wx, Wh, Wq):
    h = [torch.zeros(n)]
    o = []
    for t in range(T):
        h.append(Wx @ X[t] + Wh @ h[-1])
        o.append(Wq @ h[-1])
    L = sum(l(o[t], Y[t]) for t in range(T)) / T
    return h, o, L


h, o, L = forward(Wx, Wh, Wq)
grads = torch.autograd.grad(L, [Wx, Wh, Wq] + h[1:] + o, retain_graph=True)
gWx, gWh, gWq = grads[:3]
gh = {t + 1: g for t, g in enumerate(grads[3:3 + T])}  # dL/dh_t, t = 1..T
go = {t + 1: g for t, g in enumerate(grads[3 + T:])}  # dL/do_t
H = {t: h[t] for t in range(T + 1)}
O = {t + 1: o[t] for t in range(T)}
Xs = {t + 1: X[t] for t in range(T)}
Ys = {t + 1: Y[t] for t in range(T)}
dl = {t: torch.autograd.functional.jacobian(lambda oo: l(oo, Ys[t]), O[t].detach()) for t in range(1, T + 1)}

k = Key("d2l_bptt")

k.claim(10, r"\frac{\partial L}{\partial \mathbf{o}_t} = \frac{\partial l (\mathbf{o}_t, y_t)}{T \cdot \partial \mathbf{o}_t} \in \mathbb{R}^q.",
        "all", "dL/do_t is the step loss's gradient divided by T.",
        verdict(all_close((dl[t] / T, go[t]) for t in range(1, T + 1))))

# prod(dL/do_t, do_t/dW_qh): contract the gradient with the Jacobian of o_t = W_qh h_t in W_qh
J_o_Wq = {t: jac(lambda W: W @ H[t].detach(), Wq.detach()) for t in range(1, T + 1)}
k.claim(15, r"\frac{\partial L}{\partial \mathbf{W}_{qh}} = \sum_{t=1}^T \text{prod}\left(\frac{\partial L}{\partial \mathbf{o}_t}, \frac{\partial \mathbf{o}_t}{\partial \mathbf{W}_{qh}}\right)",
        "none", "prod contracts dL/do_t with the Jacobian of o_t in W_qh; summed over t this is the gradient.",
        verdict(close(sum(prod(go[t], J_o_Wq[t], 1) for t in range(1, T + 1)), gWq)))
k.claim(15, r"\frac{\partial L}{\partial \mathbf{W}_{qh}} = \sum_{t=1}^T \frac{\partial L}{\partial \mathbf{o}_t} \mathbf{h}_t^\top,",
        "none", "the outer products dL/do_t h_t^T summed over t.",
        verdict(close(sum(torch.outer(go[t], H[t]) for t in range(1, T + 1)), gWq)))

J_o_h = jac(lambda hh: Wq.detach() @ hh, H[T].detach())
k.claim(22, r"\frac{\partial L}{\partial \mathbf{h}_T} = \text{prod}\left(\frac{\partial L}{\partial \mathbf{o}_T}, \frac{\partial \mathbf{o}_T}{\partial \mathbf{h}_T} \right)",
        "t=T", "at the last step h_T reaches L only through o_T.",
        verdict(close(prod(go[T], J_o_h, 1), gh[T])))
k.claim(22, r"\frac{\partial L}{\partial \mathbf{h}_T} = \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_T}.",
        "t=T", "W_qh^T dL/do_T.",
        verdict(close(Wq.detach().T @ go[T], gh[T])))


def jac_h_next(t):  # Jacobian of h_{t+1} in h_t (identity activation: W_hh)
    return jac(lambda hh: Wx.detach() @ Xs[t + 1] + Wh.detach() @ hh, H[t].detach())


k.claim(26, r"\frac{\partial L}{\partial \mathbf{h}_t} = \text{prod}\left(\frac{\partial L}{\partial \mathbf{h}_{t+1}}, \frac{\partial \mathbf{h}_{t+1}}{\partial \mathbf{h}_t} \right) + \text{prod}\left(\frac{\partial L}{\partial \mathbf{o}_t}, \frac{\partial \mathbf{o}_t}{\partial \mathbf{h}_t} \right)",
        "t<T", "for t < T, h_t reaches L through h_{t+1} and o_t.",
        verdict(all_close((prod(gh[t + 1], jac_h_next(t), 1) + prod(go[t], J_o_h, 1), gh[t]) for t in range(1, T))))
k.claim(26, r"\frac{\partial L}{\partial \mathbf{h}_t} = \mathbf{W}_{hh}^\top \frac{\partial L}{\partial \mathbf{h}_{t+1}} + \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_t}.",
        "t<T", "the recurrence of the identity-activation RNN, for t < T as the text says.",
        verdict(all_close((Wh.detach().T @ gh[t + 1] + Wq.detach().T @ go[t], gh[t]) for t in range(1, T))))

WhT = Wh.detach().T
k.claim(30, r"\frac{\partial L}{\partial \mathbf{h}_t}= \sum_{i=t}^T {\left(\mathbf{W}_{hh}^\top\right)}^{T-i} \mathbf{W}_{qh}^\top \frac{\partial L}{\partial \mathbf{o}_{T+t-i}}.",
        "all", "with s = T+t-i the sum is sum_{s=t}^T (W_hh^T)^{s-t} W_qh^T dL/do_s, the unrolled recurrence.",
        verdict(all_close((sum(torch.linalg.matrix_power(WhT, T - i) @ Wq.detach().T @ go[T + t - i] for i in range(t, T + 1)), gh[t])
                          for t in range(1, T + 1))))

J_h_Wx = {t: jac(lambda W: W @ Xs[t] + Wh.detach() @ H[t - 1].detach(), Wx.detach()) for t in range(1, T + 1)}
J_h_Wh = {t: jac(lambda W: Wx.detach() @ Xs[t] + W @ H[t - 1].detach(), Wh.detach()) for t in range(1, T + 1)}
k.claim(36, r"\frac{\partial L}{\partial \mathbf{W}_{hx}} = \sum_{t=1}^T \text{prod}\left(\frac{\partial L}{\partial \mathbf{h}_t}, \frac{\partial \mathbf{h}_t}{\partial \mathbf{W}_{hx}}\right)",
        "none", "prod contracts the total dL/dh_t with the immediate Jacobian of h_t in W_hx.",
        verdict(close(sum(prod(gh[t], J_h_Wx[t], 1) for t in range(1, T + 1)), gWx)))
k.claim(36, r"\frac{\partial L}{\partial \mathbf{W}_{hx}} = \sum_{t=1}^T \frac{\partial L}{\partial \mathbf{h}_t} \mathbf{x}_t^\top,",
        "none", "sum of dL/dh_t x_t^T.",
        verdict(close(sum(torch.outer(gh[t], Xs[t]) for t in range(1, T + 1)), gWx)))
k.claim(39, r"\frac{\partial L}{\partial \mathbf{W}_{hh}} = \sum_{t=1}^T \text{prod}\left(\frac{\partial L}{\partial \mathbf{h}_t}, \frac{\partial \mathbf{h}_t}{\partial \mathbf{W}_{hh}}\right)",
        "none", "prod contracts the total dL/dh_t with the immediate Jacobian of h_t in W_hh.",
        verdict(close(sum(prod(gh[t], J_h_Wh[t], 1) for t in range(1, T + 1)), gWh)))
k.claim(39, r"\frac{\partial L}{\partial \mathbf{W}_{hh}} = \sum_{t=1}^T \frac{\partial L}{\partial \mathbf{h}_t} \mathbf{h}_{t-1}^\top,",
        "none", "sum of dL/dh_t h_{t-1}^T.",
        verdict(close(sum(torch.outer(gh[t], H[t - 1]) for t in range(1, T + 1)), gWh)))

k.finish()
