"""A bidirectional RNN: one state reads the sequence forward, one backward, and the output at
every step reads both; softmax cross-entropy at every step.

    h_t = tanh(W_f h_{t-1} + U_f x_t + b_f)        h_0 = 0, forward in time
    g_t = tanh(W_b g_{t+1} + U_b x_t + b_b)        g_{T+1} = 0, backward in time
    o_t = V_f h_t + V_b g_t + c;   L = Σ_t −y_tᵀ log softmax(o_t)

∂L/∂h_t runs backward in time (from t = T), ∂L/∂g_t forward (from t = 1).
"""

from derive import Network, ops


def network(**options):
    net = Network("birnn", sizes=dict(n=3, d=2, k=2, T=3))
    n, d, k = net.sizes("n d k")
    W_f, U_f, b_f = net.param("W_f", n, n), net.param("U_f", n, d), net.param("b_f", n)
    W_b, U_b, b_b = net.param("W_b", n, n), net.param("U_b", n, d), net.param("b_b", n)
    V_f, V_b, c = net.param("V_f", k, n), net.param("V_b", k, n), net.param("c", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    h = net.state("h", n)
    g = net.state("g", n, backward=True)
    net.step(h, ops.tanh(W_f @ h.prev + U_f @ x + b_f))
    net.step(g, ops.tanh(W_b @ g.next + U_b @ x + b_b))
    o = net.step("o", V_f @ h.now + V_b @ g.now + c)
    loss_t = net.step("l", ops.cross_entropy(ops.softmax(o), y))
    net.let("L", ops.sum_over_time(loss_t))
    return net
