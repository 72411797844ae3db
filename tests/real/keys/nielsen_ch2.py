"""Key for tests/real/nielsen_ch2_claims.md (Nielsen, Neural Networks and Deep Learning, ch. 2).

Forward as the book defines it: a^1 = x, z^l = w^l a^{l-1} + b^l, a^l = sigma(z^l) for l = 2..L (sigma the
logistic sigmoid, also at the output), C = (1/2) sum_j (y_j - a^L_j)^2 for one example; L = 4 here, so
the layer recursion is checked at two layers. delta^l = dC/dz^l (autograd), the book's definition.
"""
import torch
from common import Key, all_close, close, verdict

torch.manual_seed(7)
sizes = {1: 3, 2: 4, 3: 4, 4: 2}
L_ = 4
w = {l: torch.randn(sizes[l], sizes[l - 1], requires_grad=True) for l in range(2, L_ + 1)}
b = {l: torch.randn(sizes[l], requires_grad=True) for l in range(2, L_ + 1)}
x, y = torch.randn(sizes[1]), torch.rand(sizes[L_])
sig = torch.sigmoid
a = {1: x}
z = {}
for l in range(2, L_ + 1):
    z[l] = w[l] @ a[l - 1] + b[l]
    a[l] = sig(z[l])
C = 0.5 * ((y - a[L_]) ** 2).sum()
nodes = [w[l] for l in w] + [b[l] for l in b] + [z[l] for l in z] + [a[L_]]
g = torch.autograd.grad(C, nodes)
nl = L_ - 1
gw = {l: g[l - 2] for l in range(2, L_ + 1)}
gb = {l: g[nl + l - 2] for l in range(2, L_ + 1)}
delta = {l: g[2 * nl + l - 2] for l in range(2, L_ + 1)}
gaL = g[-1]                                       # nabla_a C = dC/da^L
Z = {l: v.detach() for l, v in z.items()}
A = {l: v.detach() for l, v in a.items()}
Wd = {l: v.detach() for l, v in w.items()}
ds = {l: sig(Z[l]) * (1 - sig(Z[l])) for l in Z}  # sigma'(z^l)
Sig = {l: torch.diag(ds[l]) for l in ds}          # Sigma'(z^l)
hidden = range(2, L_)                             # layers with a next layer
layers = range(2, L_ + 1)
da_dz = torch.autograd.functional.jacobian(sig, Z[L_])  # da^L_k / dz^L_j, [k, j]
Lr = L_

k = Key("nielsen_ch2")
k.claim(11, r"\delta^l_j \equiv \frac{\partial C}{\partial z^l_j}.", "all", "the book's definition of the error delta^l_j.", "correct")
k.claim(17, r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j).", "all", "a^L_j depends on z^L_j alone.",
        verdict(close(gaL * ds[Lr], delta[Lr])))
k.claim(22, r"\partial C / \partial a^L_j = (a_j^L-y_j)", "all", "derivative of the quadratic cost.", verdict(close(A[Lr] - y, gaL)))
k.claim(27, r"\delta^L = \nabla_a C \odot \sigma'(z^L).", "all", "(BP1) for all j at once.", verdict(close(gaL * ds[Lr], delta[Lr])))
k.claim(32, r"\nabla_a C = (a^L-y)", "all", "the gradient of the quadratic cost in a^L.", verdict(close(A[Lr] - y, gaL)))
k.claim(37, r"\delta^L = (a^L-y) \odot \sigma'(z^L).", "all", "(BP1a) with the quadratic cost.", verdict(close((A[Lr] - y) * ds[Lr], delta[Lr])))
k.claim(43, r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l),", "all", "checked at l = 2 and 3 (L = 4).",
        verdict(all_close(((Wd[l + 1].T @ delta[l + 1]) * ds[l], delta[l]) for l in hidden)))
k.claim(48, r"\frac{\partial C}{\partial b^l_j} = \delta^l_j.", "all", "b^l_j enters z^l_j with coefficient 1 (every layer).",
        verdict(all_close((gb[l], delta[l]) for l in layers)))
k.claim(55, r"\frac{\partial C}{\partial b} = \delta,", "all", "(BP3) in shorthand, neuron by neuron.",
        verdict(all_close((gb[l], delta[l]) for l in layers)))
k.claim(61, r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j.", "all", "every entry, every layer.",
        verdict(all_close((gw[l], torch.outer(delta[l], A[l - 1])) for l in layers)))
k.claim(66, r"\frac{\partial C}{\partial w} = a_{\rm in} \delta_{\rm out},", "all", "(BP4) in shorthand: the input activation times the output neuron's error.",
        verdict(all_close((gw[l], torch.outer(delta[l], A[l - 1])) for l in layers)))
k.claim(73, r"\delta^L = \Sigma'(z^L) \nabla_a C,", "all", "the Hadamard product with sigma'(z^L) as the diagonal matrix.",
        verdict(close(Sig[Lr] @ gaL, delta[Lr])))
k.claim(79, r"\delta^l = \Sigma'(z^l) (w^{l+1})^T \delta^{l+1}.", "all", "(BP2) with the diagonal matrix; l = 2, 3.",
        verdict(all_close((Sig[l] @ Wd[l + 1].T @ delta[l + 1], delta[l]) for l in hidden)))


def chain(l):
    m = Sig[Lr] @ gaL
    for j in range(Lr - 1, l - 1, -1):
        m = Sig[j] @ Wd[j + 1].T @ m
    return m


k.claim(85, r"\delta^l = \Sigma'(z^l) (w^{l+1})^T \ldots \Sigma'(z^{L-1}) (w^L)^T \Sigma'(z^L) \nabla_a C", "all",
        "(33) and (34) composed down from the output layer; l = 2, 3.", verdict(all_close((chain(l), delta[l]) for l in hidden)))
k.claim(92, r"\delta^L_j = \frac{\partial C}{\partial z^L_j}.", "all", "the definition, at the output layer.", "correct")
k.claim(98, r"\delta^L_j = \sum_k \frac{\partial C}{\partial a^L_k} \frac{\partial a^L_k}{\partial z^L_j},", "all",
        "the chain rule over all output activations.", verdict(close(da_dz.T @ gaL, delta[Lr])))
k.claim(104, r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \frac{\partial a^L_j}{\partial z^L_j}.", "all",
        "the off-diagonal da^L_k/dz^L_j vanish.", verdict(close(gaL * torch.diagonal(da_dz), delta[Lr])))
k.claim(110, r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j),", "all", "(BP1) again.",
        verdict(close(gaL * ds[Lr], delta[Lr])))
k.claim(116, r"\delta^l_j = \frac{\partial C}{\partial z^l_j} \tag{40}", "all", "the definition.", "correct")
dz_dz = {l: torch.autograd.functional.jacobian(lambda zz: Wd[l + 1] @ sig(zz) + b[l + 1].detach(), Z[l]) for l in hidden}  # [k, j]
k.claim(116, r"\delta^l_j = \sum_k \frac{\partial C}{\partial z^{l+1}_k} \frac{\partial z^{l+1}_k}{\partial z^l_j} \tag{41}", "all",
        "the chain rule through layer l+1; l = 2, 3.", verdict(all_close((dz_dz[l].T @ delta[l + 1], delta[l]) for l in hidden)))
k.claim(116, r"\delta^l_j = \sum_k \frac{\partial z^{l+1}_k}{\partial z^l_j} \delta^{l+1}_k,", "all",
        "(41) with the factors swapped and delta^(l+1)_k substituted.", verdict(all_close((dz_dz[l].T @ delta[l + 1], delta[l]) for l in hidden)))
k.claim(124, r"\frac{\partial z^{l+1}_k}{\partial z^l_j} = w^{l+1}_{kj} \sigma'(z^l_j).", "all", "z^(l+1)_k = sum_j w_kj sigma(z^l_j) + b_k.",
        verdict(all_close((Wd[l + 1] * ds[l].unsqueeze(0), dz_dz[l]) for l in hidden)))
k.claim(130, r"\delta^l_j = \sum_k w^{l+1}_{kj}  \delta^{l+1}_k \sigma'(z^l_j).", "all", "(BP2) in components; l = 2, 3.",
        verdict(all_close(((Wd[l + 1].T @ delta[l + 1]) * ds[l], delta[l]) for l in hidden)))
k.finish()
