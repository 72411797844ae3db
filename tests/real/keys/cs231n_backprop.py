"""Key for tests/real/cs231n_backprop_claims.md (CS231n notes, "Backpropagation derivation").

Forward as the notes define it: a^0 = x, z^l_j = sum_k w^l_{jk} a^{l-1}_k + b^l_j, a^l_j = sigma(z^l_j) for
l < L, no activation on layer L, a cost C of z^L; sigma and C generic (arbitrary smooth choices here),
L = 3 layers. Every index-level claim is checked at every layer l it is stated for and every j, k.
"""
import torch
from common import Key, close, verdict

torch.manual_seed(6)
sizes = [3, 4, 4, 2]          # a^0 = x has 3 units, layers 1..3
Lyr = 3
w = {l: torch.randn(sizes[l], sizes[l - 1], requires_grad=True) for l in range(1, Lyr + 1)}
b = {l: torch.randn(sizes[l], requires_grad=True) for l in range(1, Lyr + 1)}
x, y = torch.randn(sizes[0], requires_grad=True), torch.randn(sizes[Lyr])


def sigma(z):
    return torch.tanh(z) + 0.2 * z


def dsigma(z):
    return 1 - torch.tanh(z) ** 2 + 0.2


def cost(zL):
    return torch.logsumexp(zL, 0) - (zL * y).sum() + 0.1 * (zL ** 3).sum()


a = {0: x}
z = {}
prods = {}  # the products w^l_{jk} a^{l-1}_k, as their own nodes
for l in range(1, Lyr + 1):
    prods[l] = w[l] * a[l - 1].unsqueeze(0)          # [j, k]
    z[l] = prods[l].sum(1) + b[l]
    a[l] = sigma(z[l]) if l < Lyr else z[l]
C = cost(z[Lyr])
nodes = [w[l] for l in w] + [b[l] for l in b] + [z[l] for l in z] + [a[l] for l in range(0, Lyr)] + [prods[l] for l in prods]
g = torch.autograd.grad(C, nodes, allow_unused=True)
gw = {l: g[l - 1] for l in range(1, Lyr + 1)}
gb = {l: g[Lyr + l - 1] for l in range(1, Lyr + 1)}
delta = {l: g[2 * Lyr + l - 1] for l in range(1, Lyr + 1)}          # dC/dz^l: the notes' delta^l
ga = {l: g[3 * Lyr + l] for l in range(0, Lyr)}                     # dC/da^l, l = 0..L-1
gprod = {l: g[4 * Lyr + l - 1] for l in range(1, Lyr + 1)}
Z = {l: v.detach() for l, v in z.items()}
A = {l: v.detach() for l, v in a.items()}
Wd = {l: v.detach() for l, v in w.items()}
J = lambda l: range(sizes[l])
K = lambda l: range(sizes[l - 1])
allL = range(1, Lyr + 1)

k = Key("cs231n_backprop")
# the definition: delta is dC/dz; autograd's dC/dz is what every other claim is compared with
k.claim(10, r"\delta^l\_j = \frac{\partial{C}}{\partial{z}^l\_j}", "all", "the definition of delta^l_j (the notes' name for dC/dz^l_j).", "correct")
k.claim(14, r"\frac{\partial{C}}{\partial{b^l\_j}} = \delta^l\_j", "all", "b^l_j enters z^l_j with coefficient 1 (every layer, every j).",
        verdict(all(close(gb[l], delta[l]) for l in allL)))
k.claim(18, r"\frac{\partial{C}}{\partial{w^l\_{jk}a^{l-1}\_k}} = \delta^l\_j", "all",
        "the product w^l_jk a^(l-1)_k enters z^l_j with coefficient 1.",
        verdict(all(close(gprod[l][j, kk], delta[l][j]) for l in allL for j in J(l) for kk in K(l))))
k.claim(23, r"\frac{\partial{C}}{\partial{w^l\_{jk}}} = \delta^l\_ja^{l-1}\_k", "all", "the multiply gate: delta^l_j a^(l-1)_k.",
        verdict(all(close(gw[l][j, kk], delta[l][j] * A[l - 1][kk]) for l in allL for j in J(l) for kk in K(l))))
k.claim(27, r"\frac{\partial{C}}{\partial{a^{l-1}\_k}} = \sum_j\delta^l\_jw^l\_{jk}", "all",
        "a^(l-1)_k feeds every unit j of layer l (checked for l = 1..L, a^0 = x included).",
        verdict(all(close(ga[l - 1][kk], sum(delta[l][j] * Wd[l][j, kk] for j in J(l))) for l in allL for kk in K(l))))
rec = lambda l: all(close(delta[l][j], dsigma(Z[l][j]) * (delta[l + 1] @ Wd[l + 1][:, j])) for j in J(l))
k.claim(32, r"\delta^l\_j = \sigma'(z^l\_j)(\delta^{l+1})^Tw^{l+1}\_{.j}", "all",
        "sigma'(z^l_j) times the dot product of delta^(l+1) with column j of w^(l+1), for l = 1..L-1.",
        verdict(all(rec(l) for l in range(1, Lyr))))
k.claim(37, r"\delta^L\_{j} = \frac{\partial{C}}{\partial{z^L\_j}}", "all", "the definition of delta at the last layer.", "correct")
k.claim(38, r"\delta^l\_{j} = \sigma'(z^l\_j)(\delta^{l+1})^Tw^{l+1}\_{.j} \text{ for $l=1 \dots L-1$}", "all",
        "as line 32, for l = 1..L-1.", verdict(all(rec(l) for l in range(1, Lyr))))
k.claim(39, r"\frac{\partial{C}}{\partial{w^l\_{jk}}} = \delta^l\_ja^{l-1}\_k \text{ for $l=1 \dots L$}", "all",
        "as line 23, for l = 1..L (a^0 = x).",
        verdict(all(close(gw[l][j, kk], delta[l][j] * A[l - 1][kk]) for l in allL for j in J(l) for kk in K(l))))
k.claim(40, r"\frac{\partial{C}}{\partial{b^l\_j}} = \delta^l\_j \text{ for $l=1 \dots L$}", "all", "as line 14.",
        verdict(all(close(gb[l], delta[l]) for l in allL)))
k.finish()
