"""Key for tests/real/talwar_lstm_claims.md (Talwar, "Build an LSTM from scratch").

Forward as the post defines it: f, g, q, e = sigma(b + U x^(t) + W h^(t-1)) (e with a sigmoid, eq. 2.4),
s^(t) = f o s^(t-1) + g o e, h^(t) = q o tanh(s^(t)), theta^(t) = U h^(t) + b, softmax, J^(t) the step's
cross-entropy; h^(0) = s^(0) = 0. The dummy copies are real: W_f^(k) is step k's own copy of W_f, and
for the split of s^(k-1) the forward pass is rerun with two leaves s_a (read by s^(k) only) and s_b (read
by h^(k-1) only). delta_t^(k) = dJ^(t)/ds^(k) and gamma_t^(k) = dJ^(t)/dh^(k) are autograd's totals.
Checked at every t and every k <= t (k >= 2 where s^(k-1), h^(k-1) must be states of the sequence).
"""
import torch
from common import Key, close, verdict

torch.manual_seed(11)
T, d, n, V = 4, 2, 3, 3
P = {g: (torch.randn(n), torch.randn(n, d), 0.8 * torch.randn(n, n)) for g in "fgqe"}
Uo, bo = torch.randn(V, n), torch.randn(V)
X = {t: torch.randn(d) for t in range(1, T + 1)}
Y = {t: torch.nn.functional.one_hot(torch.randint(V, ()), V).double() for t in range(1, T + 1)}


def run(Wf_copies=None, split=None):
    """split = (k, s_a, s_b): s^(k-1) is read as s_a by s^(k) and as s_b by h^(k-1)."""
    h, s, zf, gates = {0: torch.zeros(n)}, {0: torch.zeros(n)}, {}, {}
    J = {}
    for t in range(1, T + 1):
        pre = {g: P[g][0] + P[g][1] @ X[t] + (Wf_copies[t] if (g == "f" and Wf_copies) else P[g][2]) @ h[t - 1] for g in "fgqe"}
        zf[t] = pre["f"]
        f, g_, q, e = (torch.sigmoid(pre[c]) for c in "fgqe")
        gates[t] = (f, g_, q, e)
        s_prev = split[1] if (split and t == split[0]) else s[t - 1]
        s[t] = f * s_prev + g_ * e
        s_for_h = split[2] if (split and t == split[0] - 1) else s[t]
        h[t] = q * torch.tanh(s_for_h)
        J[t] = -(Y[t] * torch.log_softmax(Uo @ h[t] + bo, 0)).sum()
    return h, s, zf, gates, J


copies = {k: P["f"][2].clone().requires_grad_() for k in range(1, T + 1)}
h, s, zf, gates, J = run(copies)
gcopy, delta, gamma, gf = {}, {}, {}, {}
for t in range(1, T + 1):
    leaves = [copies[k] for k in range(1, T + 1)] + [s[k] for k in range(1, t + 1)] + [h[k] for k in range(1, t + 1)]
    gs = torch.autograd.grad(J[t], leaves, retain_graph=True, allow_unused=True)
    for k in range(1, T + 1):
        gcopy[t, k] = gs[k - 1] if gs[k - 1] is not None else torch.zeros(n, n)
    for k in range(1, t + 1):
        delta[t, k] = gs[T + k - 1]
        gamma[t, k] = gs[T + t + k - 1]
    for k in range(1, t + 1):  # dJ^(t)/df^(k): f^(k) as its own node
        f_k = gates[k][0]
        gf[t, k] = torch.autograd.grad(J[t], f_k, retain_graph=True)[0]
Wshared = P["f"][2].clone().requires_grad_()
_, _, _, _, Js = run({k: Wshared for k in range(1, T + 1)})
gW = {t: torch.autograd.grad(Js[t], Wshared, retain_graph=True)[0] for t in range(1, T + 1)}
S = {k: v.detach() for k, v in s.items()}
H = {k: v.detach() for k, v in h.items()}
F = {k: gates[k][0].detach() for k in gates}
Q = {k: gates[k][2].detach() for k in gates}
dsig_f = {k: torch.sigmoid(zf[k].detach()) * (1 - torch.sigmoid(zf[k].detach())) for k in zf}
jac = torch.autograd.functional.jacobian
Wf = P["f"][2]
df_dW = {k: jac(lambda W: torch.sigmoid(P["f"][0] + P["f"][1] @ X[k] + W @ H[k - 1]), Wf) for k in zf}  # [p, i, j]
ds_df = {k: torch.diag(S[k - 1]) for k in zf}                                                               # [m, p]
pairs = [(t, k) for t in range(1, T + 1) for k in range(1, t + 1)]
pairs2 = [(t, k) for t, k in pairs if k >= 2]
dtanh = lambda v: 1 - torch.tanh(v) ** 2


def split_grads(t, k):
    sa = S[k - 1].clone().requires_grad_()
    sb = S[k - 1].clone().requires_grad_()
    *_, Jd = run(split=(k, sa, sb))
    ga, gb = torch.autograd.grad(Jd[t], [sa, sb])
    return ga, gb


SG = {tk: split_grads(*tk) for tk in pairs2}
I = torch.eye(n)

kk = Key("talwar_lstm")
kk.claim(12, r"\frac {\partial J^{(t)}} {\partial W_{f [i,j]}} = \sum_{k=1}^{T} \frac {\partial J^{(t)}} {\partial W_{f [i,j]}^{(k)}} \times \underbrace{\frac {\partial W_{f [i,j]}^{(k)}} {\partial W_{f[i,j]}}}_{Equals \space 1.}", "all",
         "each copy W_f^(k) is W_f; copies at steps k > t do not reach J^(t).",
         verdict(all(close(sum(gcopy[t, k] for k in range(1, T + 1)), gW[t]) for t in range(1, T + 1))))
kk.claim(12, r"\frac {\partial J^{(t)}} {\partial W_{f [i,j]}} = \sum_{k=1}^{T} \frac {\partial J^{(t)}} {\partial W_{f [i,j]}^{(k)}} \tag{xx}\\", "all",
         "the same sum without the factor 1.", verdict(all(close(sum(gcopy[t, k] for k in range(1, T + 1)), gW[t]) for t in range(1, T + 1))))
kk.claim(22, r"\frac {\partial J^{(t)}} {\partial W_{f[i,j]}^{(k)}} = \sum_{p=1}^{D} \underbrace{\frac {\partial J^{(t)}} {\partial f_{[p]}^{(k)}}}_{\text{Eq. xx1}} \times \underbrace{\frac {\partial f_{[p]}^{(k)}} {\partial W_{f[i,j]}^{(k)}} }_{\text{Eq. xx2}}  \tag{xx}", "all",
         "W_f^(k) reaches J^(t) only through f^(k).",
         verdict(all(close(torch.tensordot(gf[t, k], df_dW[k], dims=1), gcopy[t, k]) for t, k in pairs)))
kk.claim(31, r"\frac {\partial f_{[p]}^{(k)}} {\partial W_{f[i,j]}^{(k)}} = \begin{cases} 0, & \text{p $\ne$ i} \\[2ex] \sigma'(z_{f[i]}^{(k)}) \times h_{[j]}^{(k-1)}, & \text{p = i} \tag{xx2} \end{cases}", "all",
         "f_p depends on row p of W_f only.", verdict(all(close(torch.einsum("pi,i,j->pij", I, dsig_f[k], H[k - 1]), df_dW[k]) for k in zf)))
kk.claim(43, r"\frac {\partial J^{(t)}} {\partial f_{[p]}^{(k)}} = \sum_{m=1}^{D} \frac {\partial J^{(t)}} {\partial s_{[m]}^{(k)}} \times \frac {\partial s_{[m]}^{(k)}} {\partial f_{[p]}^{(k)}}", "all",
         "f^(k) reaches J^(t) only through s^(k).", verdict(all(close(delta[t, k] @ ds_df[k], gf[t, k]) for t, k in pairs)))
kk.claim(43, r"\frac {\partial J^{(t)}} {\partial f_{[p]}^{(k)}} = \frac {\partial J^{(t)}} {\partial s_{[p]}^{(k)}} \times s_{[p]}^{(k-1)} \tag{xx1}", "all",
         "ds_m/df_p = s_p^(k-1) when m = p, else 0.", verdict(all(close(delta[t, k] * S[k - 1], gf[t, k]) for t, k in pairs)))
kk.claim(52, r"\frac {\partial J^{(t)}} {\partial W_{f[i,j]}^{(k)}} = \frac {\partial J^{(t)}} {\partial s_{[i]}^{(k)}} \times \sigma'(z_{f[i]}^{(k)}) \times s_{[i]}^{(k-1)} \times h_{[j]}^{(k-1)}", "all",
         "(xx1) and (xx2) in (xx).", verdict(all(close(torch.einsum("i,i,i,j->ij", delta[t, k], dsig_f[k], S[k - 1], H[k - 1]), gcopy[t, k]) for t, k in pairs)))
kk.claim(60, r"\frac {\partial J^{(t)}} {\partial W_{f}^{(k)}} = \left( \underbrace{\frac {\partial J^{(t)}} {\partial s^{(k)}}}_{\delta_{t}^{k}} \circ \underbrace{\sigma'(z_{f}^{(k)})}_{\text{Local}} \circ \underbrace{s^{(k-1)}}_{\text{Local}} \right) (\underbrace{h^{(k-1)}}_{\text{Local}})^{Tr}", "all",
         "the same in matrix form: an outer product.", verdict(all(close(torch.outer(delta[t, k] * dsig_f[k] * S[k - 1], H[k - 1]), gcopy[t, k]) for t, k in pairs)))
kk.claim(68, r"\frac {\partial J^{(t)}} {\partial s_{[i]}^{(k-1)}} = \underbrace{\frac {\partial J^{(t)}} {\partial s_{a[i]}^{(k-1)}}}_{\text{Eq. zz1}} + \underbrace{\frac {\partial J^{(t)}} {\partial s_{b[i]}^{(k-1)}}}_{\text{Eq. zz2}} \tag{Eq. zz}", "all",
         "the two dummy copies split s^(k-1)'s two uses without overlap.", verdict(all(close(SG[t, k][0] + SG[t, k][1], delta[t, k - 1]) for t, k in pairs2)))
ds_dsa = {k: torch.diag(F[k]) for k in F}
kk.claim(75, r"\frac {\partial J^{(t)}} {\partial s_{a[i]}^{(k-1)}} = \sum_{p=1}^{D} \frac {\partial J^{(t)}} {\partial s_{[p]}^{(k)}} \times \frac {\partial s_{[p]}^{(k)}} {\partial s_{a[i]}^{(k-1)}}", "all",
         "s_a is read by s^(k) only.", verdict(all(close(delta[t, k] @ ds_dsa[k], SG[t, k][0]) for t, k in pairs2)))
kk.claim(75, r"\frac {\partial J^{(t)}} {\partial s_{a[i]}^{(k-1)}} = \delta_{t[i]}^{(k)} f^{(k)}_{[i]} \tag{zz1}", "all",
         "ds^(k)/ds_a = diag(f^(k)).", verdict(all(close(delta[t, k] * F[k], SG[t, k][0]) for t, k in pairs2)))
dh_dsb = {k: torch.diag(Q[k - 1] * dtanh(S[k - 1])) for k in range(2, T + 1)}
kk.claim(84, r"\frac {\partial J^{(t)}} {\partial s_{b[i]}^{(k-1)}} = \sum_{p=1}^{D} \underbrace{\frac {\partial J^{(t)}} {\partial h_{[p]}^{(k-1)}}}_{\gamma_{[p]t}^{(k)}} \times \underbrace{\frac {\partial h_{[p]}^{(k-1)}} {\partial s_{b[i]}^{(k-1)}}}_{\text{Eq. zz21}} \tag{zz2} \\[2ex]", "all",
         "s_b is read by h^(k-1) only (the underbrace label should read gamma_t^(k-1)).", verdict(all(close(gamma[t, k - 1] @ dh_dsb[k], SG[t, k][1]) for t, k in pairs2)))
kk.claim(91, r"\frac {\partial h_{[p]}^{(k-1)}} {\partial s_{b[i]}^{(k-1)}} = \begin{cases} 0, & \text{p $\ne$ i} \\[2ex] q_{[i]}^{(k-1)} \times tanh'(s_{b[i]}^{(k-1)}), & \text{p = i} \tag{zz21} \end{cases}", "all",
         "h = q o tanh(s), entrywise.",
         verdict(all(close(dh_dsb[k], jac(lambda ss: Q[k - 1] * torch.tanh(ss), S[k - 1])) for k in range(2, T + 1))))
kk.claim(101, r"\frac {\partial J^{(t)}} {\partial s_{b[i]}^{(k-1)}} = \gamma_{t[i]}^{(k-1)} \times  q_{[i]}^{(k-1)} \times tanh'(s_{b[i]}^{(k-1)}) \tag{zz2}", "all",
         "(zz21) in (zz2).", verdict(all(close(gamma[t, k - 1] * Q[k - 1] * dtanh(S[k - 1]), SG[t, k][1]) for t, k in pairs2)))
kk.claim(107, r"\frac {\partial J^{(t)}} {\partial s_{[i]}^{(k-1)}} = \gamma_{t[i]}^{(k-1)} \times  q_{[i]}^{(k-1)} \times tanh'(s_{[i]}^{(k-1)}) +  \delta_{t[i]}^{(k)} \times f^{(k)}_{[i]}", "all",
         "both paths of s^(k-1), with gamma and delta the total derivatives.",
         verdict(all(close(gamma[t, k - 1] * Q[k - 1] * dtanh(S[k - 1]) + delta[t, k] * F[k], delta[t, k - 1]) for t, k in pairs2)))
kk.claim(114, r"\frac {\partial J^{(t)}} {\partial s^{(k-1)}} = \gamma_{t}^{(k-1)} \circ  q^{(k-1)} \circ tanh'(s^{(k-1)}) +  \delta_{t}^{(k)} \circ f^{(k)}", "all",
         "the same in vector form.",
         verdict(all(close(gamma[t, k - 1] * Q[k - 1] * dtanh(S[k - 1]) + delta[t, k] * F[k], delta[t, k - 1]) for t, k in pairs2)))
kk.finish()
