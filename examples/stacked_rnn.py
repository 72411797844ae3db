"""A two-layer stacked RNN: the second layer's input at step t is the first layer's state;
softmax cross-entropy on the top layer at every step.

    h1_t = tanh(W1 h1_{t-1} + U1 x_t + b1)
    h2_t = tanh(W2 h2_{t-1} + U2 h1_t + b2)
    o_t  = V h2_t + c;   L = Σ_t −y_tᵀ log softmax(o_t)

The two layers may have different widths: --set n1=4 --set n2=3.
"""

from derive import Network, ops


def network(activation="tanh"):
    act = {"tanh": ops.tanh, "sigmoid": ops.sigmoid, "relu": ops.relu}[activation]
    net = Network("stacked-rnn", sizes=dict(n1=3, n2=3, d=2, k=2, T=3))
    n1, n2, d, k = net.sizes("n1 n2 d k")
    W1, U1, b1 = net.param("W1", n1, n1), net.param("U1", n1, d), net.param("b1", n1)
    W2, U2, b2 = net.param("W2", n2, n2), net.param("U2", n2, n1), net.param("b2", n2)
    V, c = net.param("V", k, n2), net.param("c", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    h1, h2 = net.state("h1", n1), net.state("h2", n2)
    net.step(h1, act(ops.add(ops.matmul(W1, h1.prev), ops.matmul(U1, x), b1)))
    net.step(h2, act(ops.add(ops.matmul(W2, h2.prev), ops.matmul(U2, h1.now), b2)))
    o = net.step("o", ops.add(ops.matmul(V, h2.now), c))
    p = net.step("p", ops.softmax(o))
    loss_t = net.step("l", ops.cross_entropy(p, y))
    net.let("L", ops.sum_over_time(loss_t))
    return net
