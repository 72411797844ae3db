"""The conv → dense → dense stack of seed 000 (part 1):

    y_1 = conv(w_1, z_0) + b_1     valid cross-correlation, one shared bias per output channel
    z_1 = f(y_1)                   f: relu | tanh | sigmoid | identity | generic
    y_2 = w_2ᵀ z_1;  z_2 = f(y_2)
    y_3 = w_3ᵀ z_2;  z_3 = f(y_3)
    L   = L(z_3, y)                generic loss, or squared error

The image z_0 (c_in channels of size × size pixels) and the conv output y_1 are columns,
flattened channel by channel and row-major (see conv_geometry.py): with the defaults, the 4 × 4
input, 3 × 3 kernel and 2 × 2 output y_{1,1..4} of the seed.
"""

from __future__ import annotations

from derive import ops
from derive.algebra import transpose
from derive.conv_geometry import conv_out_size
from derive.models.rnn import ACTIVATIONS
from derive.network import DeclarationError, Network
from derive.nodes import Broadcast, Conv2d, conv_geometry
from derive.notation import Notation

OPTIONS = {
    "activation": ("generic", *[a for a in ACTIVATIONS if a != "generic"]),
    "loss": ("generic", "mse"),
    "stride": ("1", "2", "3"),
    "padding": ("0", "1", "2"),
    "bias": ("on", "off"),
}

GEOMETRY = ("size", "kernel", "c_in", "c_out")  # sizes fixed when the network is built


def build(name: str, options: dict[str, str], sizes: dict[str, int], *, seed="",
          notation: Notation | None = None) -> Network:
    size, kernel, c_in, c_out = (sizes[s] for s in GEOMETRY)
    stride, padding = int(options["stride"]), int(options["padding"])
    if kernel > size + 2 * padding:
        raise DeclarationError(f"a {kernel}×{kernel} kernel does not fit a {size}×{size} image with padding {padding}")
    out = conv_out_size(size, kernel, stride, padding)
    net = Network(name, sizes, seed=seed, kind="conv", sequential=False, notation=notation, options=options)
    m, k = net.sizes("m k")
    act = ACTIVATIONS[options["activation"]]
    f = (lambda x: ops.phi(x, "f")) if options["activation"] == "generic" else act

    w1 = net.param("w_1", c_out * kernel, c_in * kernel)
    b1 = net.param("b_1", c_out) if options["bias"] == "on" else None
    w2 = net.param("w_2", c_out * out * out, m)
    w3 = net.param("w_3", m, k)
    z0 = net.input("z_0", c_in * size * size)
    y = net.target("y", k, "real")

    conv = Conv2d(w1, z0, conv_geometry(c_in, c_out, size, kernel, stride, padding))
    y1 = net.let("y_1", ops.add(conv, Broadcast(b1, out * out)) if b1 is not None else conv)
    z1 = net.let("z_1", f(y1))
    y2 = net.let("y_2", ops.matmul(transpose(w2), z1))
    z2 = net.let("z_2", f(y2))
    y3 = net.let("y_3", ops.matmul(transpose(w3), z2))
    z3 = net.let("z_3", f(y3))
    net.let("L", ops.generic_loss(z3, y) if options["loss"] == "generic" else ops.squared_error(z3, y))
    return net
