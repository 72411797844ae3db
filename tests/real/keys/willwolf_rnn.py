"""Key for tests/real/willwolf_rnn_claims.md (Will Wolf, "Recurrent Neural Network Gradients ...").

Forward as the post defines it, t = 1, 2, 3: z_t = W^xh x_t + W^hh h_{t-1}, h_t = tanh(z_t),
y_t = W^hy h_t, p_t = softmax(y_t), J_t = crossentropy(p_t, labels_t), h_0 = 0; the total cost
J = J_1 + J_2 + J_3 (the post: "our cost J_t is the total cost"). The chain-rule products are the post's
numerator-layout Jacobian products (d vector / d matrix is a 3-index array, contracted over the vector).
"""
import torch
from common import Key, attempt, close, jac, verdict

torch.manual_seed(8)
T, d, n, k_ = 3, 2, 3, 3
Wxh, Whh, Why = torch.randn(n, d), 0.8 * torch.randn(n, n), torch.randn(k_, n)
X = {t: torch.randn(d) for t in range(1, T + 1)}
lab = {t: torch.nn.functional.one_hot(torch.randint(k_, ()), k_).double() for t in range(1, T + 1)}
P = {"xh": Wxh, "hh": Whh, "hy": Why}


def forward(Wxh, Whh, Why):
    h, z, y, p, J = {0: torch.zeros(n)}, {}, {}, {}, {}
    for t in range(1, T + 1):
        z[t] = Wxh @ X[t] + Whh @ h[t - 1]
        h[t] = torch.tanh(z[t])
        y[t] = Why @ h[t]
        p[t] = torch.softmax(y[t], 0)
        J[t] = -(lab[t] * torch.log(p[t])).sum()
    return h, z, y, p, J


h, z, y, p, J = forward(Wxh, Whh, Why)


def grad_of(t, name):  # d J_t / d W^name, and of the total (t = None)
    Ws = {kk: v.clone().requires_grad_(kk == name) for kk, v in P.items()}
    *_, Jd = forward(Ws["xh"], Ws["hh"], Ws["hy"])
    out = sum(Jd.values()) if t is None else Jd[t]
    return torch.autograd.grad(out, Ws[name])[0]


# the post's factors, as Jacobians (numerator layout)
dJ_dp = {t: jac(lambda pp: -(lab[t] * torch.log(pp)).sum(), p[t]) for t in p}
dp_dy = {t: jac(lambda yy: torch.softmax(yy, 0), y[t]) for t in y}
dy_dh = {t: Why for t in y}
dh_dz = {t: jac(torch.tanh, z[t]) for t in z}
dz_dh = {t: Whh for t in z}                                                 # dz_t / dh_{t-1}
dy_dWhy = {t: jac(lambda W: W @ h[t], Why) for t in y}
dz_dW = {"hh": {t: jac(lambda W: Wxh @ X[t] + W @ h[t - 1], Whh) for t in z},
         "xh": {t: jac(lambda W: W @ X[t] + Whh @ h[t - 1], Wxh) for t in z}}
dJ_dh = {t: jac(lambda hh: -(lab[t] * torch.log_softmax(Why @ hh, 0)).sum(), h[t]) for t in h if t}


def chain(*factors):
    """row-vector x matrices x ... x final 3-index Jacobian, contracted in order."""
    m = factors[0]
    for f_ in factors[1:-1]:
        m = m @ f_
    return torch.tensordot(m, factors[-1], dims=1)


def dh_dh(t, kk):  # total Jacobian of h_t in h_k
    m = torch.eye(n)
    for s in range(t, kk, -1):
        m = m @ dh_dz[s] @ dz_dh[s]
    return m


def expansion(t, name):  # the post's expanded sum for dJ_t/dW^name (k = t down to 1)
    total = 0
    for kk in range(t, 0, -1):
        fs = [dJ_dp[t], dp_dy[t], dy_dh[t], dh_dz[t]]
        for s in range(t, kk, -1):
            fs += [dz_dh[s], dh_dz[s - 1]]
        total = total + chain(*fs, dz_dW[name][kk])
    return total


k = Key("willwolf_rnn")
for line, name in [(11, "hy"), (17, "hh"), (23, "xh")]:
    tot = grad_of(None, name)
    per = [grad_of(t, name) for t in (1, 2, 3)]
    Wn = r"\mathbf{W^{" + name + "}}"
    k.claim(line, rf"\frac{{\partial \mathbf{{J_t}}}}{{\partial {Wn}}} = \sum\limits_t \frac{{\partial \mathbf{{J_t}}}}{{\partial {Wn}}}", "none",
            "with J_t on the left the total cost (as the post defines it) and J_t under the sum the step costs: linearity.",
            verdict(close(sum(per), tot)))
    k.claim(line, rf"\frac{{\partial \mathbf{{J_t}}}}{{\partial {Wn}}} = \frac{{\partial \mathbf{{J_3}}}}{{\partial {Wn}}} + \frac{{\partial \mathbf{{J_2}}}}{{\partial {Wn}}} + \frac{{\partial \mathbf{{J_1}}}}{{\partial {Wn}}}", "none",
            "the same sum written out for t = 1, 2, 3.", verdict(close(per[2] + per[1] + per[0], tot)))
for line, t, lhs_t in [(34, 3, 3), (38, 2, 2), (42, 1, 3)]:
    rhs = chain(dJ_dp[t], dp_dy[t], dy_dWhy[t])
    k.claim(line, rf"\frac{{\partial \mathbf{{J_{lhs_t}}}}}{{\partial \mathbf{{W^{{hy}}}}}} = \frac{{\partial \mathbf{{J_{t}}}}}{{\partial \mathbf{{p_{t}}}}} \frac{{\partial \mathbf{{p_{t}}}}}{{\partial \mathbf{{y_{t}}}}} \frac{{\partial \mathbf{{y_{t}}}}}{{\partial \mathbf{{W^{{hy}}}}}}", "none",
            "the chain through p_t and y_t." if t == lhs_t else "the right side is dJ_1/dW^hy but the left side says J_3 (a typo: dJ_3/dW^hy differs).",
            verdict(close(rhs, grad_of(lhs_t, "hy"))))
for line, name in [(51, "hh"), (120, "xh")]:
    ok = all(close(sum(chain(dJ_dh[t], dh_dh(t, kk), dh_dz[kk], dz_dW[name][kk]) for kk in range(1, t + 1)), grad_of(t, name)) for t in (1, 2, 3))
    Wn = r"\mathbf{W^{" + name + "}}"
    k.claim(line, rf"\frac{{\partial \mathbf{{J_t}}}}{{\partial {Wn}}} = \sum\limits_{{k=0}}^{{t}} \frac{{\partial \mathbf{{J_t}}}}{{\partial \mathbf{{h_t}}}} \frac{{\partial \mathbf{{h_t}}}}{{\partial \mathbf{{h_k}}}} \frac{{\partial \mathbf{{h_k}}}}{{\partial \mathbf{{z_k}}}} \frac{{\partial \mathbf{{z_k}}}}{{\partial {Wn}}}", "all",
            "the step cost J_t, one term per use of the weight (the k = 0 term is zero: h_0 = 0 is fixed).", verdict(ok))
for line, t, name in [(63, 3, "hh"), (90, 2, "hh"), (108, 1, "hh"), (132, 3, "xh"), (159, 2, "xh"), (177, 1, "xh")]:
    Wn = r"\mathbf{W^{" + name + "}}"
    k.claim(line, k.span(line), "none",
            f"the {t} paths from W^{name} to J_{t}, each a product of Jacobians.", verdict(close(expansion(t, name), grad_of(t, name))))

k.claim(188, r"\frac{\partial \mathbf{J_t}}{\partial \mathbf{y_t}} = \mathbf{p_t} - \mathbf{\text{labels}_t}", "all",
        "softmax followed by cross-entropy with a one-hot label.",
        verdict(all(close(jac(lambda yy: -(lab[t] * torch.log_softmax(yy, 0)).sum(), y[t]), p[t] - lab[t]) for t in y)))
col = lambda v: v.unsqueeze(1)
k.claim(190, r"\frac{\partial \mathbf{J_t}}{\partial \mathbf{W^{hy}}} = (\mathbf{p_t} - \mathbf{\text{labels}_t})\mathbf{h_t}", "all",
        "a k-vector times an n-vector is not the k x n gradient: the outer product (p_t - labels_t) h_t^T is.",
        verdict(attempt(lambda: all(close(col(p[t] - lab[t]) @ col(h[t]), grad_of(t, "hy")) for t in y))))
k.claim(192, r"\frac{\partial \mathbf{J_t}}{\partial \mathbf{h_t}} = (\mathbf{p_t} - \mathbf{\text{labels}_t})\mathbf{W^{hy}}", "all",
        "the step cost's gradient in h_t as a row vector (numerator layout, as the post's chain products are written).",
        verdict(all(close((p[t] - lab[t]).unsqueeze(0) @ Why, dJ_dh[t].unsqueeze(0)) for t in y)))
k.claim(194, r"\frac{\partial \mathbf{h_t}}{\partial \mathbf{z_t}} = 1 - \tanh^2(\mathbf{z_t})", "all",
        "entrywise shorthand: the Jacobian of tanh is diag(1 - tanh^2(z_t)).",
        verdict(all(close(torch.diag(1 - torch.tanh(z[t]) ** 2), dh_dz[t]) for t in z)))
k.claim(194, r"\frac{\partial \mathbf{h_t}}{\partial \mathbf{z_t}} = 1 - \mathbf{h_t}^2", "all",
        "entrywise shorthand: diag(1 - h_t^2).", verdict(all(close(torch.diag(1 - h[t] ** 2), dh_dz[t]) for t in z)))
k.claim(196, r"\frac{\partial \mathbf{z_t}}{\mathbf{h_{t-1}}} = \mathbf{W^{hh}}", "all",
        "read as dz_t/dh_{t-1} (the denominator lacks its \\partial): the Jacobian is W^hh.",
        verdict(all(close(jac(lambda hh: Wxh @ X[t] + Whh @ hh, h[t - 1]), Whh) for t in z)))


def shorthand(J3, v):  # dz_i / dW_ij = v_j for every i, all other entries zero
    want = torch.zeros_like(J3)
    for i in range(J3.shape[0]):
        want[i, i, :] = v
    return close(J3, want)


k.claim(198, r"\frac{\partial \mathbf{z_t}}{\partial \mathbf{W^{xh}}} = \mathbf{x_t}", "all",
        "shorthand: dz_{t,i}/dW^xh_{ij} = x_{t,j} for every i (the other entries are 0).",
        verdict(all(shorthand(dz_dW["xh"][t], X[t]) for t in z)))
k.claim(200, r"\frac{z_t}{\partial \mathbf{W^{hh}}} = \mathbf{h_{t-1}}", "all",
        "read as dz_t/dW^hh (the numerator lacks its \\partial): shorthand for dz_{t,i}/dW^hh_{ij} = h_{t-1,j}.",
        verdict(all(shorthand(dz_dW["hh"][t], h[t - 1]) for t in z)))
k.finish()
