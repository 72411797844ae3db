"""The minimal gated unit (Zhou et al., 2016): one forget gate f_t decides both how much of
h_{t-1} the candidate g_t reads and how much of it survives; softmax cross-entropy at every
step.

    f_t = σ(W_f h_{t-1} + U_f x_t + b_f)
    g_t = tanh(W_h (f_t ⊙ h_{t-1}) + U_h x_t + b_h)
    h_t = (1 − f_t) ⊙ h_{t-1} + f_t ⊙ g_t
    o_t = V h_t + c;   L = Σ_t −y_tᵀ log softmax(o_t)

    derive show examples/mgu.py
    derive latex examples/mgu.py
    derive numpy examples/mgu.py
    derive check examples/mgu_claims.md --model examples/mgu.py
"""

from derive import Network, ops


def network(**options):
    net = Network("mgu", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W_f, U_f, b_f = net.param("W_f", n, n), net.param("U_f", n, d), net.param("b_f", n)
    W_h, U_h, b_h = net.param("W_h", n, n), net.param("U_h", n, d), net.param("b_h", n)
    V, c = net.param("V", k, n), net.param("c", k)
    x, y, h = net.input("x", d), net.target("y", k, "onehot"), net.state("h", n)
    f = net.step("f", ops.sigmoid(ops.add(ops.matmul(W_f, h.prev), ops.matmul(U_f, x), b_f)))
    g = net.step("g", ops.tanh(ops.add(ops.matmul(W_h, ops.hadamard(f, h.prev)), ops.matmul(U_h, x), b_h)))
    net.step(h, ops.add(ops.hadamard(ops.one_minus(f), h.prev), ops.hadamard(f, g)))
    o = net.step("o", ops.add(ops.matmul(V, h.now), c))
    loss_t = net.step("l", ops.cross_entropy(ops.softmax(o), y))
    net.let("L", ops.sum_over_time(loss_t))
    return net
