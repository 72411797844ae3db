"""Key for tests/real/talwar_rnn_claims.md (Talwar, "Build an RNN from scratch").

Forward as the post defines it (eqs. 1.1-3.3): z^(t) = W_h h^(t-1) + W_x x^(t) + b_1, h^(t) = sigma(z^(t))
(logistic), theta^(t) = U h^(t) + b_2, yhat^(t) = softmax(theta^(t)), J^(t) = -sum_i y_i log yhat_i,
J = sum_t J^(t); h^(0) = 0. The post's dummy variables are real here: step k uses its own copy W_h^(k)
of W_h (all equal), so dJ^(t)/dW_h^(k) is autograd's gradient in that copy. gamma_t^(k) = dJ^(t)/dh^(k).
Every claim is checked at every t and every k <= t it is stated for (k >= 1; h^(0) is fixed).
"""
import torch
from common import Key, close, verdict

torch.manual_seed(10)
T, d, n, V = 4, 2, 3, 3
Wh, Wx, U = 0.8 * torch.randn(n, n), torch.randn(n, d), torch.randn(V, n)
b1, b2 = torch.randn(n), torch.randn(V)
X = {t: torch.randn(d) for t in range(1, T + 1)}
Y = {t: torch.nn.functional.one_hot(torch.randint(V, ()), V).double() for t in range(1, T + 1)}
copies = {k: Wh.clone().requires_grad_() for k in range(1, T + 1)}
h = {0: torch.zeros(n)}
z, J = {}, {}
for t in range(1, T + 1):
    z[t] = copies[t] @ h[t - 1] + Wx @ X[t] + b1
    h[t] = torch.sigmoid(z[t])
    J[t] = -(Y[t] * torch.log_softmax(U @ h[t] + b2, 0)).sum()
gcopy, gamma, gW = {}, {}, {}
for t in range(1, T + 1):
    gs = torch.autograd.grad(J[t], [copies[k] for k in range(1, T + 1)] + [h[k] for k in range(1, t + 1)], retain_graph=True, allow_unused=True)
    for k in range(1, T + 1):
        gcopy[t, k] = gs[k - 1] if gs[k - 1] is not None else torch.zeros(n, n)
    for k in range(1, t + 1):
        gamma[t, k] = gs[T + k - 1]
# dJ^(t)/dW_h with one shared W_h (no copies), for the first claim
Whs = Wh.clone().requires_grad_()
hs = {0: torch.zeros(n)}
for t in range(1, T + 1):
    hs[t] = torch.sigmoid(Whs @ hs[t - 1] + Wx @ X[t] + b1)
    gW[t] = torch.autograd.grad(-(Y[t] * torch.log_softmax(U @ hs[t] + b2, 0)).sum(), Whs, retain_graph=True)[0]
H = {t: v.detach() for t, v in h.items()}
Z = {t: v.detach() for t, v in z.items()}
ds = {t: torch.sigmoid(Z[t]) * (1 - torch.sigmoid(Z[t])) for t in Z}
jac = torch.autograd.functional.jacobian
dh_dz = {k: jac(torch.sigmoid, Z[k]) for k in Z}                                           # [p, m]
dz_dW = {k: jac(lambda W: W @ H[k - 1] + Wx @ X[k] + b1, Wh) for k in Z}                   # [m, i, j]
dh_dW = {k: jac(lambda W: torch.sigmoid(W @ H[k - 1] + Wx @ X[k] + b1), Wh) for k in Z}    # [p, i, j]
dh_dhprev = {k: jac(lambda hh: torch.sigmoid(Wh @ hh + Wx @ X[k] + b1), H[k - 1]) for k in Z}  # [i, j]
dz_dhprev = {k: Wh for k in Z}
pairs = [(t, k) for t in range(1, T + 1) for k in range(1, t + 1)]
ks = range(1, T + 1)
I = torch.eye(n)

k_ = Key("talwar_rnn")
k_.claim(12, r"\frac {\partial J^{(t)}} {\partial W_{h [i,j]}} = \sum_{k=1}^{T} \frac {\partial J^{(t)}} {\partial W_{h [i,j]}^{(k)}} \times \underbrace{\frac {\partial W_{h [i,j]}^{(k)}} {\partial W_{h[i,j]}}}_{Equals \space 1.}", "all",
         "every copy W_h^(k) is W_h (d copy / d W_h = 1); the copies at steps k > t do not reach J^(t).",
         verdict(all(close(sum(gcopy[t, k] for k in ks), gW[t]) for t in ks)))
k_.claim(12, r"\frac {\partial J^{(t)}} {\partial W_{h [i,j]}} = \sum_{k=1}^{T} \frac {\partial J^{(t)}} {\partial W_{h [i,j]}^{(k)}} \\", "all",
         "the same sum without the factor 1.", verdict(all(close(sum(gcopy[t, k] for k in ks), gW[t]) for t in ks)))
k_.claim(22, r"\frac {\partial J^{(t)}} {\partial W_{h[i,j]}^{(k)}} = \sum_{p=1}^{D_h} \underbrace{\frac {\partial J^{(t)}} {\partial h_{[p]}^{(k)}}}_{\gamma_{t[p]}^{(k)}} \times \underbrace{\frac {\partial h_{[p]}^{(k)}} {\partial W_{h[i,j]}^{(k)}} }_{Eq. \space xx}  \tag{yy}", "all",
         "the copy W_h^(k) reaches J^(t) only through h^(k).",
         verdict(all(close(torch.tensordot(gamma[t, k], dh_dW[k], dims=1), gcopy[t, k]) for t, k in pairs)))
k_.claim(31, r"\frac {\partial h_{[p]}^{(k)}} {\partial W_{h[i,j]}^{(k)}} = \sum_{m=1}^{D_h} \frac {\partial h_{[p]}^{(k)}} {\partial z_{[m]}^{(k)}} \times \frac {\partial z_{[m]}^{(k)}} {\partial W_{h[i,j]}^{(k)}} \tag{xx}", "all",
         "through z^(k).", verdict(all(close(torch.tensordot(dh_dz[k], dz_dW[k], dims=1), dh_dW[k]) for k in ks)))
cases_xx1 = lambda k: torch.diag(ds[k])
k_.claim(39, r"\frac {\partial h_{[p]}^{(k)}} {\partial z_{[m]}^{(k)}} = \begin{cases} 0, & \text{p $\ne$ m} \\[2ex] \sigma' (z_{[p]}^{(k)}), & \text{p = m} \tag{xx1} \end{cases}", "all",
         "the sigmoid acts entrywise.", verdict(all(close(cases_xx1(k), dh_dz[k]) for k in ks)))
cases_xx2 = lambda k: torch.einsum("mi,j->mij", I, H[k - 1])
k_.claim(51, r"\frac {\partial z_{[m]}^{(k)}} {\partial W_{h[i,j]}^{(k)}} = \begin{cases} 0, & \text{m $\ne$ i} \\[2ex] h_{[j]}^{(k-1)}, & \text{m = i} \tag{xx2} \end{cases}", "all",
         "z_m depends on row m of W_h only.", verdict(all(close(cases_xx2(k), dz_dW[k]) for k in ks)))
k_.claim(63, r"\frac {\partial h_{[p]}^{(k)}} {\partial W_{h[i,j]}^{(k)}} = \begin{cases} 0, & \text{p $\ne$ i} \\[2ex] \sigma' (z_{[i]}^{(k)}) \times h_{[j]}^{(k-1)}, & \text{p = i} \end{cases}", "all",
         "(xx1) and (xx2) in (xx).", verdict(all(close(torch.einsum("pi,i,j->pij", I, ds[k], H[k - 1]), dh_dW[k]) for k in ks)))
k_.claim(75, r"\frac {\partial J^{(t)}} {\partial W_{h[i,j]}^{(k)}} = \gamma_{t[i]}^k \times  \sigma' (z_{[i]}^{(k)}) \times h_{[j]}^{(k-1)}", "all",
         "entry (i, j) of (gamma o sigma') h^(k-1)T.",
         verdict(all(close(torch.einsum("i,i,j->ij", gamma[t, k], ds[k], H[k - 1]), gcopy[t, k]) for t, k in pairs)))
k_.claim(83, r"\frac {\partial J^{(t)}} {\partial W_{h}^{(k)}} = (\underbrace{\gamma_{t}^{(k)}}_{\text{???}} \circ  \underbrace{\sigma' (z^{(k)})}_{\text{Local}}) \times (\underbrace{h^{(k-1)}}_{\text{Local}})^{Tr}", "all",
         "the outer product of gamma o sigma'(z^(k)) with h^(k-1) (the x here is a matrix product).",
         verdict(all(close(torch.outer(gamma[t, k] * ds[k], H[k - 1]), gcopy[t, k]) for t, k in pairs)))
pairs2 = [(t, k) for t, k in pairs if k >= 2]   # gamma^(k-1) with k - 1 >= 1
k_.claim(92, r"\gamma_{t[j]}^{(k-1)} = \frac {\partial J^{(t)}} {\partial h_{[j]}^{(k-1)}}", "all", "the definition of gamma.", "correct")
k_.claim(92, r"\gamma_{t[j]}^{(k-1)} = \sum_{i=1}^{D_h} \underbrace{\frac {\partial J^{(t)}} {\partial h_{[i]}^{(k)}}}_{\gamma_{t[i]}^{(k)}} \times \frac {\partial h_{[i]}^{(k)}} {\partial h_{[j]}^{(k-1)}} \tag{z0}", "all",
         "h^(k-1) reaches J^(t) only through h^(k) (k <= t).",
         verdict(all(close(gamma[t, k] @ dh_dhprev[k], gamma[t, k - 1]) for t, k in pairs2)))
k_.claim(101, r"\frac {\partial h_{[i]}^{(k)}} {\partial h_{[j]}^{(k-1)}} = \sum_{p=1}^{D_h} \frac {\partial h_{[i]}^{(k)}} {\partial z_{[p]}^{(k)}} \times \frac {\partial z_{[p]}^{(k)}} {\partial h_{[j]}^{(k-1)}} \tag{zz}", "all",
         "through z^(k).", verdict(all(close(dh_dz[k] @ dz_dhprev[k], dh_dhprev[k]) for k in ks)))
k_.claim(109, r"\frac {\partial h_{[i]}^{(k)}} {\partial z_{[p]}^{(k)}} = \begin{cases} 0, & \text{i $\ne$ p} \\[2ex] \sigma'(z_{[i]}^{(k)}, & \text{i = p}  \tag{zz1} \end{cases}", "all",
         "as (xx1) (a parenthesis is missing in the source).", verdict(all(close(cases_xx1(k), dh_dz[k]) for k in ks)))
k_.claim(121, r"\frac {\partial z_{[p]}^{(k)}} {\partial h_{[j]}^{(k-1)}} = W_{h[p,j]}^{(k)} \tag{zz2} \\", "all",
         "z^(k) = W_h^(k) h^(k-1) + ...", verdict(all(close(jac(lambda hh: Wh @ hh + Wx @ X[k] + b1, H[k - 1]), Wh) for k in ks)))
k_.claim(129, r"\frac {\partial h_{[i]}^{(k)}} {\partial h_{[j]}^{(k-1)}} = \sigma'(z_{[i]}^{(k)}) \times W_{h[i,j]}^{(k)})", "all",
         "(zz1) and (zz2) in (zz) (a stray parenthesis in the source).",
         verdict(all(close(ds[k].unsqueeze(1) * Wh, dh_dhprev[k]) for k in ks)))
k_.claim(137, r"\gamma_{t[j]}^{(k-1)} = \sum_{i=1}^{D_h} \gamma_{t[i]}^{(k)} \times  \sigma'(z_{[i]}^{(k)}) \times W_{h[i,j]}^{(k)})", "all",
         "entry j of W_h^T (gamma o sigma').", verdict(all(close(Wh.T @ (gamma[t, k] * ds[k]), gamma[t, k - 1]) for t, k in pairs2)))
k_.claim(145, r"\gamma_{t}^{(k-1)} = (W_{h}^{(k)})^{Tr} (\gamma_{t}^{(k)} \circ \sigma'(z_{}^{(k)}))", "all",
         "the same in matrix form.", verdict(all(close(Wh.T @ (gamma[t, k] * ds[k]), gamma[t, k - 1]) for t, k in pairs2)))
k_.finish()
