"""Key for tests/real/d2l_backprop_claims.md (d2l.ai 2nd ed., section 5.3.3).

Forward as the source defines it: z = W1 x, h = phi(z), o = W2 h, L = l(o, y),
s = (lambda/2)(||W1||_F^2 + ||W2||_F^2), J = L + s; phi and l generic (arbitrary smooth choices).
"""
import torch
from common import Key, close, jac, prod, verdict

torch.manual_seed(3)
d, nh, q, lam = 3, 4, 2, 0.1
W1 = torch.randn(nh, d, requires_grad=True)
W2 = torch.randn(q, nh, requires_grad=True)
x, y = torch.randn(d), torch.randn(q)


def phi(z):
    return torch.tanh(z) + 0.1 * z ** 2


def l(o, y):
    return (torch.sin(o) * y).sum() + 0.5 * (o ** 2).sum()


z = W1 @ x
z.retain_grad()
h = phi(z)
h.retain_grad()
o = W2 @ h
o.retain_grad()
L = l(o, y)
L.retain_grad()
s = lam / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum())
s.retain_grad()
J = L + s
J.backward()
gz, gh, go, gL, gs, gW1, gW2 = z.grad, h.grad, o.grad, L.grad, s.grad, W1.grad, W2.grad
ds_dW1, ds_dW2 = torch.autograd.grad(lam / 2 * ((W1 ** 2).sum() + (W2 ** 2).sum()), [W1, W2])
oo = o.detach().requires_grad_()
dL_do = torch.autograd.grad(l(oo, y), oo)[0]
zz = z.detach().requires_grad_()
dphi = torch.autograd.grad(phi(zz).sum(), zz)[0]  # phi'(z), entrywise
W1d, W2d, hd = W1.detach(), W2.detach(), h.detach()

k = Key("d2l_backprop")
k.claim(10, r"\frac{\partial J}{\partial L} = 1", "none", "J = L + s.", verdict(close(gL, torch.tensor(1.0))))
k.claim(10, r"\frac{\partial J}{\partial s} = 1", "none", "J = L + s.", verdict(close(gs, torch.tensor(1.0))))
k.claim(15, r"\frac{\partial J}{\partial \mathbf{o}} = \text{prod}\left(\frac{\partial J}{\partial L}, \frac{\partial L}{\partial \mathbf{o}}\right)",
        "none", "a scalar 1 times dL/do.", verdict(close(gL * dL_do, go)))
k.claim(15, r"\frac{\partial J}{\partial \mathbf{o}} = \frac{\partial L}{\partial \mathbf{o}} \in \mathbb{R}^q.",
        "none", "o reaches J only through L, and dJ/dL = 1.", verdict(close(dL_do, go)))
k.claim(23, r"\frac{\partial s}{\partial \mathbf{W}^{(1)}} = \lambda \mathbf{W}^{(1)}", "none",
        "d/dW of (lambda/2)||W||_F^2.", verdict(close(lam * W1d, ds_dW1)))
k.claim(25, r"\frac{\partial s}{\partial \mathbf{W}^{(2)}} = \lambda \mathbf{W}^{(2)}.", "none",
        "d/dW of (lambda/2)||W||_F^2.", verdict(close(lam * W2d, ds_dW2)))
J_o_W2 = jac(lambda W: W @ hd, W2d)
k.claim(29, r"\frac{\partial J}{\partial \mathbf{W}^{(2)}} = \text{prod}\left(\frac{\partial J}{\partial \mathbf{o}}, \frac{\partial \mathbf{o}}{\partial \mathbf{W}^{(2)}}\right) + \text{prod}\left(\frac{\partial J}{\partial s}, \frac{\partial s}{\partial \mathbf{W}^{(2)}}\right)",
        "none", "the path through o plus the path through s.", verdict(close(prod(go, J_o_W2, 1) + gs * ds_dW2, gW2)))
k.claim(29, r"\frac{\partial J}{\partial \mathbf{W}^{(2)}} = \frac{\partial J}{\partial \mathbf{o}} \mathbf{h}^\top + \lambda \mathbf{W}^{(2)}.",
        "none", "dJ/do h^T plus the weight-decay term.", verdict(close(torch.outer(go, hd) + lam * W2d, gW2)))
J_o_h = jac(lambda hh: W2d @ hh, hd)
k.claim(34, r"\frac{\partial J}{\partial \mathbf{h}} = \text{prod}\left(\frac{\partial J}{\partial \mathbf{o}}, \frac{\partial \mathbf{o}}{\partial \mathbf{h}}\right)",
        "none", "h reaches J only through o.", verdict(close(prod(go, J_o_h, 1), gh)))
k.claim(34, r"\frac{\partial J}{\partial \mathbf{h}} = {\mathbf{W}^{(2)}}^\top \frac{\partial J}{\partial \mathbf{o}}.",
        "none", "W2^T dJ/do.", verdict(close(W2d.T @ go, gh)))
J_h_z = jac(phi, z.detach())
k.claim(42, r"\frac{\partial J}{\partial \mathbf{z}} = \text{prod}\left(\frac{\partial J}{\partial \mathbf{h}}, \frac{\partial \mathbf{h}}{\partial \mathbf{z}}\right)",
        "none", "z reaches J only through h.", verdict(close(prod(gh, J_h_z, 1), gz)))
k.claim(42, r"\frac{\partial J}{\partial \mathbf{z}} = \frac{\partial J}{\partial \mathbf{h}} \odot \phi'\left(\mathbf{z}\right).",
        "none", "phi acts entrywise, so its Jacobian is diag(phi'(z)).", verdict(close(gh * dphi, gz)))
J_z_W1 = jac(lambda W: W @ x, W1d)
k.claim(50, r"\frac{\partial J}{\partial \mathbf{W}^{(1)}} = \text{prod}\left(\frac{\partial J}{\partial \mathbf{z}}, \frac{\partial \mathbf{z}}{\partial \mathbf{W}^{(1)}}\right) + \text{prod}\left(\frac{\partial J}{\partial s}, \frac{\partial s}{\partial \mathbf{W}^{(1)}}\right)",
        "none", "the path through z plus the path through s.", verdict(close(prod(gz, J_z_W1, 1) + gs * ds_dW1, gW1)))
k.claim(50, r"\frac{\partial J}{\partial \mathbf{W}^{(1)}} = \frac{\partial J}{\partial \mathbf{z}} \mathbf{x}^\top + \lambda \mathbf{W}^{(1)}.",
        "none", "dJ/dz x^T plus the weight-decay term.", verdict(close(torch.outer(gz, x) + lam * W1d, gW1)))
k.finish()
