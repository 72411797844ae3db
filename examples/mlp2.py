"""A two-hidden-layer perceptron with biases and softmax cross-entropy (no time).

    z1 = W1 x + b1;   h1 = ReLU(z1)
    z2 = W2 h1 + b2;  h2 = ReLU(z2)
    o  = W3 h2 + b3;  L = −yᵀ log softmax(o)

    derive show examples/mlp2.py --set activation=tanh
"""

from derive import Network, ops

ACTIVATIONS = {"relu": ops.relu, "tanh": ops.tanh, "sigmoid": ops.sigmoid}


def network(activation="relu"):
    act = ACTIVATIONS[activation]
    net = Network("mlp2", sizes=dict(d=2, n1=3, n2=3, k=2), sequential=False)
    d, n1, n2, k = net.sizes("d n1 n2 k")
    W1, b1 = net.param("W1", n1, d), net.param("b1", n1)
    W2, b2 = net.param("W2", n2, n1), net.param("b2", n2)
    W3, b3 = net.param("W3", k, n2), net.param("b3", k)
    x, y = net.input("x", d), net.target("y", k, "onehot")
    z1 = net.let("z1", ops.add(ops.matmul(W1, x), b1))
    h1 = net.let("h1", act(z1))
    z2 = net.let("z2", ops.add(ops.matmul(W2, h1), b2))
    h2 = net.let("h2", act(z2))
    o = net.let("o", ops.add(ops.matmul(W3, h2), b3))
    p = net.let("p", ops.softmax(o))
    net.let("L", ops.cross_entropy(p, y))
    return net
