"""Key for tests/real/wildml_bptt_claims.md (WildML RNN tutorial, part 3).

Forward as the tutorial defines it: s_t = tanh(U x_t + W s_{t-1}), yhat_t = softmax(V s_t),
E_t = -y_t . log yhat_t (one-hot y_t), E = sum_t E_t; steps t = 0..4 with s_{-1} = 0 (E_3 is not the last
step here: the claims about E_3 do not depend on later steps). Jacobians in numerator layout, as the
tutorial writes its chain products; d s_k / d W inside a sum over k is the immediate Jacobian (s_{k-1}
held fixed), d s_3 / d W standing alone is read as the total derivative.
"""
import torch
from common import Key, close, jac, verdict

torch.manual_seed(9)
steps, d, n, k_ = range(0, 5), 3, 3, 4
U, W, V = torch.randn(n, d), 0.8 * torch.randn(n, n), torch.randn(k_, n)
X = {t: torch.randn(d) for t in steps}
Y = {t: torch.nn.functional.one_hot(torch.randint(k_, ()), k_).double() for t in steps}


def run(U, W, V):
    s = {-1: torch.zeros(n)}
    E = {}
    for t in steps:
        s[t] = torch.tanh(U @ X[t] + W @ s[t - 1])
        E[t] = -(Y[t] * torch.log_softmax(V @ s[t], 0)).sum()
    return s, E


s, E = run(U, W, V)
yhat = {t: torch.softmax(V @ s[t], 0) for t in steps}


def grad(name, t=None):
    P = {"U": U.clone(), "W": W.clone(), "V": V.clone()}
    P[name].requires_grad_()
    _, Ed = run(P["U"], P["W"], P["V"])
    return torch.autograd.grad(sum(Ed.values()) if t is None else Ed[t], P[name])[0]


dE3_dyhat = jac(lambda yy: -(Y[3] * torch.log(yy)).sum(), yhat[3])
dyhat_dV = jac(lambda VV: torch.softmax(VV @ s[3], 0), V)
dyhat_dz = jac(lambda zz: torch.softmax(zz, 0), V @ s[3])
dz_dV = jac(lambda VV: VV @ s[3], V)
dyhat_ds = jac(lambda ss: torch.softmax(V @ ss, 0), s[3])
ds_ds = {t: jac(lambda ss: torch.tanh(U @ X[t] + W @ ss), s[t - 1]) for t in steps if t > 0}   # ds_t/ds_{t-1}
ds_dW_imm = {t: jac(lambda WW: torch.tanh(U @ X[t] + WW @ s[t - 1]), W) for t in steps}


def total_ds_dW(t):  # d s_t / d W through every earlier state
    return jac(lambda WW: run(U, WW, V)[0][t], W)


def ds3_dsk(kk):
    m = torch.eye(n)
    for j in range(3, kk, -1):
        m = m @ ds_ds[j]
    return m


gW3, gV3 = grad("W", 3), grad("V", 3)
k = Key("wildml_bptt")
k.claim(10, r"\frac{\partial E}{\partial W} = \sum\limits_{t} \frac{\partial E_t}{\partial W}", "none", "the total error is the sum of the steps' errors.",
        verdict(close(sum(grad("W", t) for t in steps), grad("W"))))
k.claim(14, r"\frac{\partial E_3}{\partial V} = \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial V}", "none",
        "yhat_3 carries all of V's effect on E_3.", verdict(close(torch.tensordot(dE3_dyhat, dyhat_dV, dims=1), gV3)))
k.claim(14, r"\frac{\partial E_3}{\partial V} = \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial z_3}\frac{\partial z_3}{\partial V}", "none",
        "through z_3 = V s_3.", verdict(close(torch.tensordot(dE3_dyhat @ dyhat_dz, dz_dV, dims=1), gV3)))
k.claim(14, r"\frac{\partial E_3}{\partial V} = (\hat{y}_3 - y_3) \otimes s_3", "none", "the outer product (yhat_3 - y_3) s_3^T.",
        verdict(close(torch.outer(yhat[3] - Y[3], s[3]), gV3)))
k.claim(18, r"\frac{\partial E_3}{\partial W} = \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial s_3}\frac{\partial s_3}{\partial W}", "none",
        "correct with ds_3/dW the total derivative (through s_2, s_1, s_0), as the tutorial goes on to explain.",
        verdict(close(torch.tensordot(dE3_dyhat @ dyhat_ds, total_ds_dW(3), dims=1), gW3)))
summed = sum(torch.tensordot(dE3_dyhat @ dyhat_ds @ ds3_dsk(kk), ds_dW_imm[kk], dims=1) for kk in range(0, 4))
k.claim(22, r"\frac{\partial E_3}{\partial W} = \sum\limits_{k=0}^{3} \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial s_3}\frac{\partial s_3}{\partial s_k}\frac{\partial s_k}{\partial W}", "none",
        "one term per step that uses W, with ds_k/dW the immediate Jacobian (s_{k-1} fixed) and ds_3/ds_k the total one.",
        verdict(close(summed, gW3)))
z2 = U @ X[2] + W @ s[1]


def E3_of_z2(zz):  # E_3 as a function of z_2 = U x_2 + W s_1
    s2 = torch.tanh(zz)
    s3 = torch.tanh(U @ X[3] + W @ s2)
    return -(Y[3] * torch.log_softmax(V @ s3, 0)).sum()


delta = jac(E3_of_z2, z2)
dE3_ds3 = dE3_dyhat @ dyhat_ds
k.claim(26, r"\delta_2^{(3)} = \frac{\partial E_3}{\partial z_2}", "none", "the definition of the delta vector.", "correct")
k.claim(26, r"\delta_2^{(3)} = \frac{\partial E_3}{\partial s_3}\frac{\partial s_3}{\partial s_2}\frac{\partial s_2}{\partial z_2}", "none",
        "z_2 reaches E_3 through s_2 and s_3.", verdict(close(dE3_ds3 @ ds_ds[3] @ jac(torch.tanh, z2), delta)))
k.claim(30, r"\frac{\partial E_3}{\partial W} = \sum\limits_{k=0}^{3} \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial s_3}\frac{\partial s_3}{\partial s_k}\frac{\partial s_k}{\partial W}", "none",
        "as line 22 (the display is repeated).", verdict(close(summed, gW3)))
k.claim(34, r"\frac{\partial s_3}{\partial s_1} = \frac{\partial s_3}{\partial s_2}\frac{\partial s_2}{\partial s_1}", "none", "the chain rule for Jacobians.",
        verdict(close(ds_ds[3] @ ds_ds[2], jac(lambda ss: torch.tanh(U @ X[3] + W @ torch.tanh(U @ X[2] + W @ ss)), s[1]))))
prodform = 0
for kk in range(0, 4):
    m = dE3_dyhat @ dyhat_ds
    for j in range(3, kk, -1):  # the product over j = k+1..3, taken in decreasing j
        m = m @ ds_ds[j]
    prodform = prodform + torch.tensordot(m, ds_dW_imm[kk], dims=1)
k.claim(38, r"\frac{\partial E_3}{\partial W} = \sum\limits_{k=0}^{3} \frac{\partial E_3}{\partial \hat{y}_3}\frac{\partial\hat{y}_3}{\partial s_3} \left(\prod\limits_{j=k+1}^{3} \frac{\partial s_j}{\partial s_{j-1}}\right) \frac{\partial s_k}{\partial W}", "none",
        "ds_3/ds_k as the product of one-step Jacobians (in decreasing j); ds_k/dW immediate.", verdict(close(prodform, gW3)))
k.finish()
