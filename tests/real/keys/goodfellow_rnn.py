"""Key for tests/real/goodfellow_rnn_claims.md (Deep Learning book, eqs. 10.17-10.28).

Forward as the book defines it (eqs. 10.8-10.14): a^(t) = b + W h^(t-1) + U x^(t), h^(t) = tanh(a^(t)),
o^(t) = c + V h^(t), yhat^(t) = softmax(o^(t)), L = sum_t L^(t), L^(t) = -log yhat^(t)_{y^(t)};
h^(0) = 0, t = 1..tau. Vectors are kept as columns (n x 1) where a claim's product order matters.
"""
import torch
from common import Key, all_close, attempt, close, jac, verdict

torch.manual_seed(4)
tau, d, n, k_ = 4, 2, 3, 3
b, c = torch.randn(n, requires_grad=True), torch.randn(k_, requires_grad=True)
W = (0.7 * torch.randn(n, n)).requires_grad_()
U, V = torch.randn(n, d, requires_grad=True), torch.randn(k_, n, requires_grad=True)
X = {t: torch.randn(d) for t in range(1, tau + 1)}
Y = {t: int(torch.randint(k_, ())) for t in range(1, tau + 1)}

h = {0: torch.zeros(n)}
o, Lt = {}, {}
for t in range(1, tau + 1):
    h[t] = torch.tanh(b + W @ h[t - 1] + U @ X[t])
    o[t] = c + V @ h[t]
    Lt[t] = -torch.log_softmax(o[t], 0)[Y[t]]
L = sum(Lt.values())
names = [b, c, W, U, V] + [h[t] for t in range(1, tau + 1)] + [o[t] for t in range(1, tau + 1)] + [Lt[t] for t in range(1, tau + 1)]
g = torch.autograd.grad(L, names)
gb, gc, gW, gU, gV = g[:5]
gh = {t: g[4 + t] for t in range(1, tau + 1)}
go = {t: g[4 + tau + t] for t in range(1, tau + 1)}
gLt = {t: g[4 + 2 * tau + t] for t in range(1, tau + 1)}
H = {t: v.detach() for t, v in h.items()}
O = {t: v.detach() for t, v in o.items()}
Wd, Vd, Ud = W.detach(), V.detach(), U.detach()
yhat = {t: torch.softmax(O[t], 0) for t in O}
onehot = {t: torch.nn.functional.one_hot(torch.tensor(Y[t]), k_).double() for t in O}
dLt_do = {t: jac(lambda oo: -torch.log_softmax(oo, 0)[Y[t]], O[t]) for t in O}
T = range(1, tau + 1)

k = Key("goodfellow_rnn")
k.claim(11, r"\frac{\partial L}{\partial L^{(t)}} = 1.", "all", "L is the plain sum of the L^(t).",
        verdict(all(close(gLt[t], torch.tensor(1.0)) for t in T)))
k.claim(17, r"(\nabla_{\Vo^{(t)}} L)_i = \frac{\partial L}{\partial o_i^{(t)}}", "all",
        "the i-th entry of a gradient is the partial derivative in the i-th entry (a definition).",
        verdict(all(close(go[t], go[t]) for t in T)))
k.claim(17, r"(\nabla_{\Vo^{(t)}} L)_i = \frac{\partial L}{\partial L^{(t)}}  \frac{\partial L^{(t)}}{\partial o_i^{(t)}}", "all",
        "o^(t) reaches L only through L^(t).",
        verdict(all_close((gLt[t] * dLt_do[t], go[t]) for t in T)))
k.claim(17, r"(\nabla_{\Vo^{(t)}} L)_i = \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}.", "all",
        "softmax followed by the negative log-likelihood: yhat - onehot(y).",
        verdict(all_close((yhat[t] - onehot[t], go[t]) for t in T)))
k.claim(25, r"\nabla_{\Vh^{(\tau)}} L = \MV^\top \nabla_{\Vo^{(\tau)}} L.", "t=T",
        "h^(tau) has only o^(tau) as a successor.", verdict(close(Vd.T @ go[tau], gh[tau])))


def J_next(t):  # d h^(t+1) / d h^(t), rows indexed by h^(t+1)
    return jac(lambda hh: torch.tanh(b.detach() + Wd @ hh + Ud @ X[t + 1]), H[t])


J_oh = jac(lambda hh: c.detach() + Vd @ hh, H[1])
k.claim(31, r"\nabla_{\Vh^{(t)}} L = \Big( \frac{\partial \Vh^{(t+1)}}{ \partial \Vh^{(t)}}  \Big)^\top(\nabla_{\Vh^{(t+1)}} L) + \Big( \frac{\partial \Vo^{(t)}}{ \partial \Vh^{(t)}}  \Big)^\top (\nabla_{\Vo^{(t)}} L)",
        "t<T", "transposed Jacobians times the successors' gradients, for t < tau.",
        verdict(all_close((J_next(t).T @ gh[t + 1] + J_oh.T @ go[t], gh[t]) for t in range(1, tau))))


def printed_1021(t):  # W^T (grad h^(t+1)) diag(1 - h^(t+1)^2) + V^T grad o^(t), with column vectors
    col = gh[t + 1].unsqueeze(1)
    return (Wd.T @ col @ torch.diag(1 - H[t + 1] ** 2) + Vd.T @ go[t].unsqueeze(1)).squeeze(1)


def commuted_1021(t):  # the entrywise reading (W^T g) * (1 - h^2): also not the gradient
    return Wd.T @ gh[t + 1] * (1 - H[t + 1] ** 2) + Vd.T @ go[t]


assert not any(close(commuted_1021(t), gh[t]) for t in range(1, tau))
assert all(close(Wd.T @ torch.diag(1 - H[t + 1] ** 2) @ gh[t + 1] + Vd.T @ go[t], gh[t]) for t in range(1, tau))
k.claim(31, r"\nabla_{\Vh^{(t)}} L = \MW^\top (\nabla_{\Vh^{(t+1)}} L) \text{diag} \Big( 1 - (\Vh^{(t+1)})^2 \Big) + \MV^\top ( \nabla_{\Vo^{(t)}} L ),",
        "t<T", "the diagonal Jacobian sits on the wrong side of the gradient: (n x n)(n x 1)(n x n) is not conformable; W^T diag(1 - h^2) grad is right.",
        verdict(attempt(lambda: all(close(printed_1021(t), gh[t]) for t in range(1, tau)))))

k.claim(40, r"\nabla_{\Vc} L = \sum_t \Big( \frac{\partial \Vo^{(t)}}{\partial \Vc} \Big)^\top \nabla_{\Vo^{(t)}} L", "none",
        "do/dc is the identity.", verdict(close(sum(jac(lambda cc: cc + Vd @ H[t], c.detach()).T @ go[t] for t in T), gc)))
k.claim(40, r"\nabla_{\Vc} L = \sum_t \nabla_{\Vo^{(t)}} L", "none", "sum of the output gradients.",
        verdict(close(sum(go[t] for t in T), gc)))
k.claim(42, r"\nabla_{\Vb} L = \sum_t \Big( \frac{\partial \Vh^{(t)}}{\partial \Vb^{(t)}} \Big)^\top \nabla_{\Vh^{(t)}} L", "none",
        "b^(t) is the copy of b used at step t; its Jacobian is diag(1 - h^2).",
        verdict(close(sum(jac(lambda bb: torch.tanh(bb + Wd @ H[t - 1] + Ud @ X[t]), b.detach()).T @ gh[t] for t in T), gb)))
k.claim(42, r"\nabla_{\Vb} L = \sum_t \text{diag} \Big( 1 - \big( \Vh^{(t)} \big)^2 \Big)  \nabla_{\Vh^{(t)}} L", "none",
        "diag(1 - h^2) times the total gradient in h^(t), summed.",
        verdict(close(sum(torch.diag(1 - H[t] ** 2) @ gh[t] for t in T), gb)))
E = torch.eye
k.claim(44, r"\nabla_{\MV} L = \sum_t \sum_i \Big( \frac{\partial L} {\partial o_i^{(t)}}\Big) \nabla_{\MV} o_i^{(t)}", "none",
        "grad_V o_i^(t) = e_i h^(t)T.",
        verdict(close(sum(sum(go[t][i] * torch.outer(E(k_)[i], H[t]) for i in range(k_)) for t in T), gV)))
k.claim(44, r"\nabla_{\MV} L = \sum_t (\nabla_{\Vo^{(t)}} L) \Vh^{(t)^\top}", "none", "outer products summed over t.",
        verdict(close(sum(torch.outer(go[t], H[t]) for t in T), gV)))
k.claim(46, r"\nabla_{\MW} L = \sum_t \sum_i \Big( \frac{\partial L} {\partial h_i^{(t)}}\Big) \nabla_{\MW^{(t)}} h_i^{(t)}", "none",
        "grad of h_i^(t) in the step-t copy W^(t) is (1 - h_i^2) e_i h^(t-1)T.",
        verdict(close(sum(sum(gh[t][i] * jac(lambda WW: torch.tanh(b.detach() + WW @ H[t - 1] + Ud @ X[t])[i], Wd) for i in range(n)) for t in T), gW)))
k.claim(46, r"\nabla_{\MW} L = \sum_t \text{diag} \Big( 1 - \big( \Vh^{(t)} \big)^2 \Big) ( \nabla_{\Vh^{(t)}} L) \Vh^{(t-1)^\top}", "none",
        "diag(1 - h^2) grad h^(t) times h^(t-1)T, summed.",
        verdict(close(sum(torch.outer(torch.diag(1 - H[t] ** 2) @ gh[t], H[t - 1]) for t in T), gW)))
k.claim(49, r"\nabla_{\MU} L = \sum_t \sum_i \Big( \frac{\partial L} {\partial h_i^{(t)}}\Big) \nabla_{\MU^{(t)}} h_i^{(t)}", "none",
        "grad of h_i^(t) in the step-t copy U^(t) is (1 - h_i^2) e_i x^(t)T.",
        verdict(close(sum(sum(gh[t][i] * jac(lambda UU: torch.tanh(b.detach() + Wd @ H[t - 1] + UU @ X[t])[i], Ud) for i in range(n)) for t in T), gU)))
k.claim(49, r"\nabla_{\MU} L = \sum_t \text{diag} \Big( 1 - \big( \Vh^{(t)} \big)^2 \Big) ( \nabla_{\Vh^{(t)}} L) \Vx^{(t)^\top}", "none",
        "diag(1 - h^2) grad h^(t) times x^(t)T, summed.",
        verdict(close(sum(torch.outer(torch.diag(1 - H[t] ** 2) @ gh[t], X[t]) for t in T), gU)))
k.finish()
