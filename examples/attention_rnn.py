"""An RNN whose states are pooled by attention over time, then classified once per sequence.

    h_t = tanh(W h_{t-1} + U x_t + b)
    e_t = vᵀ h_t                          a score for every step
    α_t = exp(e_t) / Σ_s exp(e_s)          softmax over time
    z   = Σ_t α_t h_t                      the pooled state
    L   = −yᵀ log softmax(V z + c)         one label y for the sequence

∂L/∂h_t has three paths: through the next step, through α_t (every α_s shares the sum), and
directly through z.
"""

from derive import Network, ops


def network(**options):
    net = Network("attention-rnn", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W, U, b = net.param("W", n, n), net.param("U", n, d), net.param("b", n)
    v = net.param("v", n)
    V, c = net.param("V", k, n), net.param("c", k)
    x = net.input("x", d)
    y = net.target("y", k, "onehot", per_step=False)
    h = net.state("h", n)
    net.step(h, ops.tanh(W @ h.prev + U @ x + b))
    e = net.step("e", v.T @ h.now)
    alpha = net.step("alpha", ops.softmax_over_time(e))
    z = net.let("z", ops.sum_over_time(alpha * h.now))
    o = net.let("o", V @ z + c)
    net.let("L", ops.cross_entropy(ops.softmax(o), y))
    return net
