"""Key for tests/real/cs231n_rnn_claims.md (CS231n notes, "Vanilla RNN Gradient Flow").

Forward as the notes define it: h_t = tanh(W_hh h_{t-1} + W_xh x_t), y_t = W_hy h_t, and a loss L_t "at
the very last time step" t = T (left unspecified: a generic smooth loss of y_T here). The notes leave
h_0 open; it is random here (with h_0 = 0 the one-path chains below are 0, as wrong as with it random).
Jacobians are in numerator layout (rows = the differentiated quantity), as the notes write them.
"""
import torch
from common import Key, all_close, close, jac, verdict

torch.manual_seed(5)
T, d, n, k_ = 4, 2, 3, 2
Whh = (0.8 * torch.randn(n, n)).requires_grad_()
Wxh, Why = torch.randn(n, d, requires_grad=True), torch.randn(k_, n, requires_grad=True)
X = {t: torch.randn(d) for t in range(1, T + 1)}
c = torch.randn(k_)
h0 = torch.randn(n)


def ell(y):
    return (torch.sin(y) * c).sum() + 0.5 * (y ** 2).sum()


def run(Whh, act=torch.tanh):
    h = {0: h0}
    for t in range(1, T + 1):
        h[t] = act(Whh @ h[t - 1] + Wxh.detach() @ X[t])
    return h, ell(Why.detach() @ h[T])


def key_for(act):
    h, L = run(Whh, act)
    gW = torch.autograd.grad(L, Whh, retain_graph=True)[0]
    H = {t: v.detach() for t, v in h.items()}
    W = Whh.detach()
    step = lambda t: (lambda hh: act(W @ hh + Wxh.detach() @ X[t]))
    Jh = {t: jac(step(t), H[t - 1]) for t in range(2, T + 1)}           # dh_t/dh_{t-1}
    J1W = jac(lambda WW: act(WW @ H[0] + Wxh.detach() @ X[1]), W)         # immediate dh_1/dW_hh
    gLh = jac(lambda hh: ell(Why.detach() @ hh), H[T])                    # dL/dh_T (row)
    return h, H, W, gW, Jh, J1W, gLh


h, H, W, gW, Jh, J1W, gLh = key_for(torch.tanh)
apre = {t: W @ H[t - 1] + Wxh.detach() @ X[t] for t in range(1, T + 1)}
dtanh = {t: 1 - torch.tanh(apre[t]) ** 2 for t in apre}

k = Key("cs231n_rnn")
k.claim(10, r"\frac{\partial h_t}{\partial h_{t-1}} = tanh^{'}(W_{hh}h_{t-1} + W_{xh}x_t)W_{hh}", "all",
        "the numerator-layout Jacobian diag(tanh'(a_t)) W_hh, reading tanh' of a vector as its diagonal Jacobian.",
        verdict(all_close((torch.diag(dtanh[t]) @ W, Jh[t]) for t in range(2, T + 1))))


def chain(Js):  # dL/dh_T  dh_T/dh_{T-1} ... dh_2/dh_1  dh_1/dW_hh  (one path only)
    m = gLh
    for J in Js:
        m = m @ J
    return torch.tensordot(m, J1W, dims=1)


one_path = chain([Jh[t] for t in range(T, 1, -1)])
# the full gradient needs every path: sum over k of dL/dh_T (prod) dh_k/dW_hh (immediate)
def path(kk):  # dL/dh_T dh_T/dh_{T-1} ... dh_{kk+1}/dh_kk (immediate dh_kk/dW_hh)
    m = gLh
    for t in range(T, kk, -1):
        m = m @ Jh[t]
    Jk = jac(lambda WW: torch.tanh(WW @ H[kk - 1] + Wxh.detach() @ X[kk]), W)
    return torch.tensordot(m, Jk, dims=1)


full = sum(path(kk) for kk in range(1, T + 1))
assert close(full, gW) and not close(one_path, gW)
k.claim(16, r"\frac{\partial L_{t}}{\partial W_{hh}} = \frac{\partial L_{t}}{\partial h_{t}} \frac{\partial h_{t}}{\partial h_{t-1} } \dots \frac{\partial h_{1}}{\partial W_{hh}}", "t=T",
        "only the path through h_1's own use of W_hh: the paths through h_2 ... h_T's direct dependence on W_hh (a sum over k) are missing.",
        verdict(close(one_path, gW)))
k.claim(16, r"\frac{\partial L_{t}}{\partial W_{hh}} = \frac{\partial L_{t}}{\partial h_{t}}(\prod_{t=2}^{T} \frac{\partial h_{t}}{\partial  h_{t-1}})\frac{\partial h_{1}}{\partial W_{hh}}", "t=T",
        "the same single path written as a product: the sum over k of the other paths is missing.",
        verdict(close(one_path, gW)))
prod_printed = gLh
for t in range(T, 1, -1):
    prod_printed = prod_printed @ (torch.diag(dtanh[t]) @ torch.linalg.matrix_power(W, T - 1))
k.claim(16, r"\frac{\partial L_{t}}{\partial W_{hh}} = \frac{\partial L_{t}}{\partial h_{t}}(\prod_{t=2}^{T}  tanh^{'}(W_{hh}h_{t-1} + W_{xh}x_t)W_{hh}^{T-1})\frac{\partial h_{1}}{\partial W_{hh}}", "t=T",
        "besides the missing paths, each factor carries W_hh^{T-1} instead of W_hh.",
        verdict(close(torch.tensordot(prod_printed, J1W, dims=1), gW)))

# "Removing non-linearity": the same network with the identity in place of tanh, W read as W_hh
h, H, W, gW, Jh, J1W, gLh = key_for(lambda a: a)
m = gLh
for _t in range(T, 1, -1):  # prod_{t=2}^{T} of the same factor W_hh^{T-1}
    m = m @ torch.linalg.matrix_power(W, T - 1)
k.claim(26, r"\frac{\partial L_{t}}{\partial W} = \frac{\partial L_{t}}{\partial h_{t}}(\prod_{t=2}^{T} W_{hh}^{T-1})\frac{\partial h_{1}}{\partial W}", "t=T",
        "for the linear RNN: one path only, and the product of T-1 factors W_hh^{T-1} is W_hh^{(T-1)^2}, not W_hh^{T-1}.",
        verdict(close(torch.tensordot(m, J1W, dims=1), gW)))
k.finish()
