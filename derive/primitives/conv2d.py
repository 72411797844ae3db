"""A 2-D convolution: the node conv(w, z) (valid cross-correlation with stride and zero
padding, channels in and out), its rule (the kernel gets conv(g, z), the image the full
convolution of g with the rotated kernel), a per-channel bias shared by every position of its
channel (its gradient the sum over positions), and how each target writes them. Where each
output reads is conv_geometry.py, shared with the oracles and the generated code."""

import inspect

from sympy import Add, Basic, ImmutableMatrix, Integer, Tuple, sympify

from derive import conv_geometry as geometry
from derive.primitives.base import Primitive

# The index maps of a convolution, as source (one definition, also run in-process).
CONV_GEOMETRY = "import numpy as _numpy\n\n\n" + "\n\n".join(
    inspect.getsource(fn) for fn in (geometry.conv_patch_indices, geometry.conv_kernel_indices))

COLUMN_HELPERS = {
    "_conv2d": CONV_GEOMETRY + (
        "\n\ndef _patches(z, c_in, size, kernel, stride, padding):\n"
        "    flat = np.concatenate([np.reshape(z, (-1,)), np.zeros(1)])\n"
        "    return flat[conv_patch_indices(c_in, size, kernel, stride, padding)]\n"
        "\n\ndef _conv2d(w, z, c_in, c_out, size, kernel, stride, padding):\n"
        "    bank = np.reshape(w, (-1,))[conv_kernel_indices(c_in, c_out, kernel)]\n"
        "    return np.reshape(bank @ _patches(z, c_in, size, kernel, stride, padding).T, (-1, 1))\n"
        "\n\ndef _conv2d_kernel_grad(g, z, c_in, c_out, size, kernel, stride, padding):\n"
        "    per_channel = np.reshape(g, (c_out, -1)) @ _patches(z, c_in, size, kernel, stride, padding)\n"
        "    out = np.zeros(c_out * kernel * c_in * kernel)\n"
        "    out[np.reshape(conv_kernel_indices(c_in, c_out, kernel), (-1,))] = np.reshape(per_channel, (-1,))\n"
        "    return np.reshape(out, (c_out * kernel, c_in * kernel))\n"
        "\n\ndef _conv2d_input_grad(g, w, c_in, c_out, size, kernel, stride, padding):\n"
        "    bank = np.reshape(w, (-1,))[conv_kernel_indices(c_in, c_out, kernel)]\n"
        "    spread = np.reshape(g, (c_out, -1)).T @ bank\n"
        "    out = np.zeros(c_in * size * size + 1)\n"
        "    _numpy.add.at(out, conv_patch_indices(c_in, size, kernel, stride, padding), spread)\n"
        "    return np.reshape(out[:-1], (-1, 1))\n"
    ),
    "_broadcast": (
        "def _broadcast(b, positions):\n"
        "    import numpy as _numpy\n"
        "    channels = _numpy.repeat(_numpy.arange(len(b)), positions)\n"
        "    return np.reshape(np.reshape(b, (-1,))[channels], (-1, 1))\n"
    ),
}

MODULE_HELPERS = {
    # Convolutions over a batch of flattened images (..., c_in·size²): every patch gathered
    # once by index, then one GEMM; no Python loop over pixels.
    "conv_patch_indices": inspect.getsource(geometry.conv_patch_indices).replace("_numpy.", "np."),
    "conv_kernel_indices": inspect.getsource(geometry.conv_kernel_indices).replace("_numpy.", "np."),
    "_image_patches": (
        "def _image_patches(z, c_in, size, kernel, stride, padding):\n"
        '    """Every patch each output position reads, for a batch of images: (..., P, Q)."""\n'
        "    padded = np.concatenate([z, np.zeros(z.shape[:-1] + (1,), dtype=z.dtype)], axis=-1)\n"
        "    # np.take lays the patches out contiguously (fancy indexing may not)\n"
        "    return np.take(padded, conv_patch_indices(c_in, size, kernel, stride, padding), axis=-1)\n"
    ),
    "_conv2d_rows": (
        "def _conv2d_rows(w, z, c_in, c_out, size, kernel, stride, padding, out=None):\n"
        '    """conv(w, z) for a batch of images z (..., c_in·size²): (..., c_out·P), into ``out`` (an\n'
        '    array of that shape) where given."""\n'
        "    bank = w.reshape(-1)[conv_kernel_indices(c_in, c_out, kernel)]\n"
        "    patches = _image_patches(z, c_in, size, kernel, stride, padding)\n"
        "    if out is None:\n"
        "        return np.matmul(bank, np.swapaxes(patches, -1, -2)).reshape(*z.shape[:-1], -1)\n"
        "    np.matmul(bank, np.swapaxes(patches, -1, -2), out=out.reshape(*z.shape[:-1], c_out, -1))\n"
        "    return out\n"
    ),
    "_conv2d_kernel_grad_sum": (
        "def _conv2d_kernel_grad_sum(g, z, c_in, c_out, size, kernel, stride, padding):\n"
        '    """The sum over the batch of conv(g, z), in the shape of the kernel bank: one GEMM."""\n'
        "    patches = _image_patches(z, c_in, size, kernel, stride, padding)\n"
        "    positions, taps = patches.shape[-2:]\n"
        "    by_channel = np.swapaxes(g.reshape(-1, c_out, positions), 0, 1).reshape(c_out, -1)\n"
        "    per_channel = by_channel @ patches.reshape(-1, taps)\n"
        "    out = np.empty(c_out * kernel * c_in * kernel, dtype=per_channel.dtype)\n"
        "    out[conv_kernel_indices(c_in, c_out, kernel).reshape(-1)] = per_channel.reshape(-1)\n"
        "    return out.reshape(c_out * kernel, c_in * kernel)\n"
    ),
    "_conv2d_input_grad_rows": (
        "def _conv2d_input_grad_rows(g, w, c_in, c_out, size, kernel, stride, padding):\n"
        '    """The full convolution of g with the rotated kernel, for a batch: (..., c_in·size²)."""\n'
        "    bank = w.reshape(-1)[conv_kernel_indices(c_in, c_out, kernel)]\n"
        "    lead = g.shape[:-1]\n"
        "    spread = np.swapaxes(g.reshape(-1, c_out, g.shape[-1] // c_out), -1, -2) @ bank\n"
        "    out = np.zeros((spread.shape[0], c_in * size * size + 1), dtype=g.dtype)\n"
        "    rows = np.arange(spread.shape[0])[:, None, None]\n"
        "    np.add.at(out, (rows, conv_patch_indices(c_in, size, kernel, stride, padding)[None]), spread)\n"
        "    return out[:, :-1].reshape(*lead, -1)\n"
    ),

}


# What a document says of the notation the convolution's nodes print (conv for the layer and
# its kernel's derivative, 1_P for a bias shared over the positions and its sum over them).
CONV_NOTATION = {
    "en": r"$\operatorname{conv}(w, z)$ is the valid cross-correlation of the image $z$ with the kernels $w$, as "
          r"deep-learning libraries compute a convolution (a subscript $s$ or $p$ gives a stride other than 1 or a "
          r"zero padding); the kernel's derivative $\operatorname{conv}(g, z)$ correlates the image with the "
          r"output's gradient",
    "zh": r"$\operatorname{conv}(w, z)$ 是图像 $z$ 与卷积核 $w$ 的有效互相关（即深度学习框架中的卷积；下标 $s$、$p$ "
          r"表示不为 1 的步长与零填充）；卷积核的导数 $\operatorname{conv}(g, z)$ 是图像与输出梯度的互相关",
}
ONES_NOTATION = {
    "en": r"$\mathbf{1}_{P}$ is the column of $P$ ones, one per output position: $\mathbf{1}_{P} b$ repeats a shared "
          r"bias at every position, $\mathbf{b} \otimes \mathbf{1}_{P}$ (the Kronecker product) each channel's bias "
          r"at that channel's positions, and $\mathbf{1}_{P}^{\top}$ sums over them",
    "zh": r"$\mathbf{1}_{P}$ 是 $P$ 个 1 组成的列（每个输出位置一个）：$\mathbf{1}_{P} b$ 把共享偏置复制到每个位置，"
          r"$\mathbf{b} \otimes \mathbf{1}_{P}$（克罗内克积）把每个通道的偏置复制到该通道的各位置，"
          r"$\mathbf{1}_{P}^{\top}$ 对这些位置求和",
}


class ConvGeometry:
    """The integers of a 2-D convolution (see conv_geometry.py), read from a node's last arg."""

    def __init__(self, args: Tuple):
        self.c_in, self.c_out, self.size, self.kernel, self.stride, self.padding = (int(a) for a in args)
        self.out = geometry.conv_out_size(self.size, self.kernel, self.stride, self.padding)
        self.positions = self.out * self.out

    def patches(self):
        return geometry.conv_patch_indices(self.c_in, self.size, self.kernel, self.stride, self.padding)

    def kernel_entries(self):
        return geometry.conv_kernel_indices(self.c_in, self.c_out, self.kernel)

    def call_args(self) -> str:
        """The integers as the keyword arguments of the NumPy helpers."""
        return (f"c_in={self.c_in}, c_out={self.c_out}, size={self.size}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding}")


def conv_geometry(c_in, c_out, size, kernel, stride, padding) -> Tuple:
    return Tuple(*(Integer(v) for v in (c_in, c_out, size, kernel, stride, padding)))


class _ConvNode(Primitive):
    geometry = property(lambda self: ConvGeometry(self.args[-1]))


class Conv2d(_ConvNode):
    """conv(w, z): valid cross-correlation of the image z (a column of c_in·size² entries) with
    the kernel bank w (c_out·k × c_in·k), stride and zero padding; a column of c_out·out²."""

    defines = CONV_NOTATION

    def __new__(cls, w, z, geom):
        return Basic.__new__(cls, w, z, geom)

    kernel = property(lambda self: self.args[0])
    image = property(lambda self: self.args[1])
    shape = property(lambda self: (self.geometry.c_out * self.geometry.positions, 1))

    def explicit(self, w, z, geom):
        g = self.geometry
        image = list(z) + [Integer(0)]
        weights = list(w)  # row-major
        patches, entries = g.patches(), g.kernel_entries()
        rows = [Add(*[weights[entries[o, q]] * image[patches[p, q]] for q in range(patches.shape[1])])
                for o in range(g.c_out) for p in range(g.positions)]
        return ImmutableMatrix(len(rows), 1, rows)

    label = ("convolution: the kernel gets conv(g, z)", r"convolution: the kernel gets $\operatorname{conv}(g, z)$")
    label_zh = r"卷积：卷积核得到 $\operatorname{conv}(g, z)$"
    helpers = COLUMN_HELPERS
    module_helpers = MODULE_HELPERS

    @staticmethod
    def vjp(g, f, ans):
        return [ConvKernelGrad(g, f.args[1], f.args[2]), ConvInputGrad(g, f.args[0], f.args[2]), None]

    def latex(self, p):
        return rf"{_latex_name(self.geometry)}\left({p._print(self.kernel)}, {p._print(self.image)}\right)"

    def unicode(self, p):
        return f"conv({p._print(self.kernel)}, {p._print(self.image)}{_unicode_suffix(self.geometry)})"

    def argument_layouts(self):
        g = self.geometry
        name = getattr(self.kernel, "name", None)
        if name is None:
            return {}
        k = g.kernel
        return {name: f"with row {k}·o + u, column {k}·c + v holding output channel o's weight on input "
                      f"channel c at kernel entry (u, v) (o < {g.c_out}, c < {g.c_in}, u, v < {k})"}

    def numpy(self, p):
        return f"_conv2d({p._print(self.kernel)}, {p._print(self.image)}, {self.geometry.call_args()})"

    def module(self, p):
        return f"_conv2d_rows({p._print(self.kernel)}, {p._print(self.image)}, {self.geometry.call_args()})"

    @classmethod
    def sample(cls, net, a, b):
        """Two channels of a 3×3 image, a 2×2 kernel bank with stride 1 and padding 1."""
        from derive.algebra import add, matmul

        z = net.input("z_conv", 18)
        w = net.param("w_conv", 2 * 2, 2 * 2)
        bias = net.param("b_conv", 2)
        conv = cls(w, z, conv_geometry(2, 2, 3, 2, 1, 1))
        y = add(conv, Broadcast(bias, 16))
        return add(matmul(net.param("V_conv", a.shape[0], 32), y), a)


class ConvKernelGrad(_ConvNode):
    """dL/dw of y = conv(w, z) given g = dL/dy: the correlation of the input with the output
    gradient, conv(g, z), in the kernel bank's shape."""

    defines = CONV_NOTATION

    def __new__(cls, g, z, geom):
        return Basic.__new__(cls, g, z, geom)

    grad = property(lambda self: self.args[0])
    image = property(lambda self: self.args[1])

    @property
    def shape(self):
        geo = self.geometry
        return (geo.c_out * geo.kernel, geo.c_in * geo.kernel)

    def explicit(self, g, z, geom):
        geo = self.geometry
        image, grads = list(z) + [Integer(0)], list(g)
        patches, entries = geo.patches(), geo.kernel_entries()
        out = [Integer(0)] * (self.shape[0] * self.shape[1])
        for o in range(geo.c_out):
            for q in range(patches.shape[1]):
                out[entries[o, q]] = Add(*[grads[o * geo.positions + p] * image[patches[p, q]]
                                           for p in range(geo.positions)])
        return ImmutableMatrix(self.shape[0], self.shape[1], out)

    def latex(self, p):
        return rf"{_latex_name(self.geometry)}\left({p._print(self.grad)}, {p._print(self.image)}\right)"

    def unicode(self, p):
        return f"conv({p._print(self.grad)}, {p._print(self.image)}{_unicode_suffix(self.geometry)})"

    def numpy(self, p):
        return f"_conv2d_kernel_grad({p._print(self.grad)}, {p._print(self.image)}, {self.geometry.call_args()})"

    def module_gradient_sum(self, p):
        """Its sum over the batch in a generated module: one GEMM over every patch."""
        return (f"_conv2d_kernel_grad_sum({p._print(self.grad)}, {p._print(self.image)}, "
                f"{self.geometry.call_args()})")


class ConvInputGrad(_ConvNode):
    """dL/dz of y = conv(w, z) given g = dL/dy: the full convolution of g with the kernel
    rotated by 180° (for stride 1; in general, each output's gradient spread back over the
    pixels it read)."""

    defines = {"en": r"$\operatorname{conv}_{\mathrm{full}}$ pads its second argument with the kernel size less one "
                     r"zeros on every side, and $\operatorname{rot180}(w)$ turns every kernel by $180^{\circ}$",
               "zh": r"$\operatorname{conv}_{\mathrm{full}}$ 在第二个参数四周补卷积核尺寸减一圈零，"
                     r"$\operatorname{rot180}(w)$ 把每个卷积核旋转 $180^{\circ}$"}

    def __new__(cls, g, w, geom):
        return Basic.__new__(cls, g, w, geom)

    grad = property(lambda self: self.args[0])
    kernel = property(lambda self: self.args[1])
    shape = property(lambda self: (self.geometry.c_in * self.geometry.size**2, 1))

    def explicit(self, g, w, geom):
        geo = self.geometry
        weights, grads = list(w), list(g)
        patches, entries = geo.patches(), geo.kernel_entries()
        terms = [[] for _ in range(self.shape[0] + 1)]
        for o in range(geo.c_out):
            for p in range(geo.positions):
                for q in range(patches.shape[1]):
                    terms[patches[p, q]].append(grads[o * geo.positions + p] * weights[entries[o, q]])
        return ImmutableMatrix(self.shape[0], 1, [Add(*entry) for entry in terms[:-1]])

    def latex(self, p):
        full = _latex_name(self.geometry, r"\operatorname{conv}_{\mathrm{full}}")
        return rf"{full}\left(\operatorname{{rot180}}({p._print(self.kernel)}), {p._print(self.grad)}\right)"

    def unicode(self, p):
        kernel, grad = p._print(self.kernel), p._print(self.grad)
        return f"conv_full(rot180({kernel}), {grad}{_unicode_suffix(self.geometry)})"

    def numpy(self, p):
        return f"_conv2d_input_grad({p._print(self.grad)}, {p._print(self.kernel)}, {self.geometry.call_args()})"

    def module(self, p):
        return (f"_conv2d_input_grad_rows({p._print(self.grad)}, {p._print(self.kernel)}, "
                f"{self.geometry.call_args()})")


class Broadcast(Primitive):
    """A per-channel bias b (c × 1) repeated over the positions of each channel: c·P × 1."""

    defines = ONES_NOTATION

    def __new__(cls, b, positions):
        return Basic.__new__(cls, b, sympify(positions))

    vec = property(lambda self: self.args[0])
    positions = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].shape[0] * self.args[1], 1))

    def explicit(self, b, positions):
        return ImmutableMatrix([b[c, 0] for c in range(b.shape[0]) for _ in range(int(positions))])

    label = ("shared bias: sum over positions", "shared bias: sum over positions")
    label_zh = "共享偏置：对位置求和"

    @staticmethod
    def vjp(g, f, ans):  # a shared bias: the sum over positions
        return [PositionSum(g, f.positions), None]

    def latex(self, p):
        ones = rf"\mathbf{{1}}_{{{p._print(self.positions)}}}"
        if self.vec.shape[0] == 1:
            return f"{ones} {p._factor(self.vec)}"
        return rf"{p._factor(self.vec)} \otimes {ones}"

    def unicode(self, p):
        from derive.printing.unicode import subscript

        ones = "1" + subscript(p._print(self.positions))
        if self.vec.shape[0] == 1:
            return f"{ones} {p._factor(self.vec)}"
        return f"{p._factor(self.vec)} ⊗ {ones}"

    def numpy(self, p):
        return f"_broadcast({p._print(self.vec)}, {p._print(self.positions)})"

    def module(self, p):
        return f"np.repeat({p._print(self.vec)}, {p._print(self.positions)})"


class PositionSum(Primitive):
    """The sum over the positions of each channel of a c·P × 1 column: c × 1 (the gradient of
    a shared bias: one sum per channel)."""

    defines = ONES_NOTATION

    def __new__(cls, g, positions):
        return Basic.__new__(cls, g, sympify(positions))

    vec = property(lambda self: self.args[0])
    positions = property(lambda self: self.args[1])
    shape = property(lambda self: (self.args[0].shape[0] / self.args[1], 1))

    def explicit(self, g, positions):
        size = int(positions)
        return ImmutableMatrix([Add(*g[c * size : (c + 1) * size]) for c in range(g.shape[0] // size)])

    label = ("sum over positions", "sum over positions")
    label_zh = "对位置求和"

    @staticmethod
    def vjp(g, f, ans):
        return [Broadcast(g, f.positions), None]

    def latex(self, p):
        ones = rf"\mathbf{{1}}_{{{p._print(self.positions)}}}^{{\top}}"
        if self.shape[0] == 1:
            return f"{ones} {p._factor(self.vec)}"
        return rf"\left(\mathbf{{I}} \otimes {ones}\right) {p._factor(self.vec)}"

    def unicode(self, p):
        from derive.printing.unicode import subscript

        ones = "1" + subscript(p._print(self.positions)) + "ᵀ"
        if self.shape[0] == 1:
            return f"{ones} {p._factor(self.vec)}"
        return f"(I ⊗ {ones}) {p._factor(self.vec)}"

    def numpy(self, p):
        per_channel = f"np.reshape({p._print(self.vec)}, (-1, {p._print(self.positions)}))"
        return f"np.sum({per_channel}, axis=1, keepdims=True)"

    def module(self, p):
        g = p._wrap(self.vec)
        return f"{g}.reshape(*{g}.shape[:-1], -1, {p._print(self.positions)}).sum(axis=-1)"

    def linear_in(self, g, linear_map):
        """Its matrix: (I_c ⊗ 1_Pᵀ), one row of ones per channel (1_Pᵀ for one channel)."""
        from sympy.matrices.expressions import Identity, KroneckerProduct, OneMatrix

        from derive.algebra import matmul

        ones = OneMatrix(1, self.positions)
        channels = self.shape[0]
        summed = ones if channels == 1 else KroneckerProduct(Identity(channels), ones)
        return matmul(summed, linear_map(self.vec, g))


def _latex_name(geometry, name=r"\operatorname{conv}") -> str:
    parts = [f"s={geometry.stride}"] if geometry.stride != 1 else []
    parts += [f"p={geometry.padding}"] if geometry.padding else []
    return name + (f"_{{{','.join(parts)}}}" if parts else "")


def _unicode_suffix(geometry) -> str:
    parts = [f"stride {geometry.stride}"] if geometry.stride != 1 else []
    parts += [f"padding {geometry.padding}"] if geometry.padding else []
    return "; " + ", ".join(parts) if parts else ""
