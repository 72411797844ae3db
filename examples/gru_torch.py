"""A GRU in PyTorch's convention (torch.nn.GRU): the update gate z_t keeps the old state, the
reset gate multiplies the recurrent part of the candidate after its product with W_hn, and
every product has its own bias; softmax cross-entropy at every step.

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    o_t = V h_t + c;   L = Σ_t −y_tᵀ log softmax(o_t)

The hidden size is m (n is the candidate, as torch writes it). The parameters are
torch.nn.GRU's: weight_ih_l0 = [W_ir; W_iz; W_in], weight_hh_l0 = [W_hr; W_hz; W_hn], and the
biases likewise.

    derive show examples/gru_torch.py
    derive numpy examples/gru_torch.py
"""

from derive import Network, ops


def network(**options):
    net = Network("gru-torch", sizes=dict(m=3, d=2, k=2, T=3))
    m, d, k = net.sizes("m d k")
    W_i = {g: net.param(f"W_i{g}", m, d) for g in "rzn"}
    W_h = {g: net.param(f"W_h{g}", m, m) for g in "rzn"}
    b_i = {g: net.param(f"b_i{g}", m) for g in "rzn"}
    b_h = {g: net.param(f"b_h{g}", m) for g in "rzn"}
    V, c = net.param("V", k, m), net.param("c", k)
    x, y, h = net.input("x", d), net.target("y", k, "onehot"), net.state("h", m)

    def gate(g):
        return ops.sigmoid(ops.add(ops.matmul(W_i[g], x), b_i[g], ops.matmul(W_h[g], h.prev), b_h[g]))

    r = net.step("r", gate("r"))
    z = net.step("z", gate("z"))
    recurrent = ops.add(ops.matmul(W_h["n"], h.prev), b_h["n"])
    cand = net.step("n", ops.tanh(ops.add(ops.matmul(W_i["n"], x), b_i["n"], ops.hadamard(r, recurrent))))
    net.step(h, ops.add(ops.hadamard(ops.one_minus(z), cand), ops.hadamard(z, h.prev)))
    o = net.step("o", ops.add(ops.matmul(V, h.now), c))
    loss_t = net.step("l", ops.cross_entropy(ops.softmax(o), y))
    net.let("L", ops.sum_over_time(loss_t))
    return net
