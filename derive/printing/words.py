"""The words that name each rule in a shown derivation (printing, not math: one table)."""

from __future__ import annotations

from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, Transpose

from derive import nodes
from derive.primitives import PRIMITIVES, Primitive
from derive.rules import Scaling

# The rules of the algebra and of time; every primitive names its own (derive/primitives).
RULE_LABELS = {
    MatAdd: "addition",
    MatMul: "matrix product",
    HadamardProduct: "entrywise product",
    Transpose: "transpose",
    nodes.Phi: "generic function",
    nodes.TimeSum: "sum over t",
    Scaling: "scaling",
}


def shown_rules(rules: tuple) -> tuple:
    """The rules worth naming in a step: an addition only passes its gradient through, so it is
    named only where it is all there is (Cₜ = fₜ ⊙ Cₜ₋₁ + iₜ ⊙ C̃ₜ gives iₜ an entrywise product,
    not a 'sum')."""
    kept = tuple(r for r in rules if not issubclass(r, MatAdd))
    return kept or tuple(rules[:1])


def rule_label(cls) -> str:
    if issubclass(cls, Primitive):
        return cls.label[0]
    for base in cls.__mro__:
        if base in RULE_LABELS:
            return RULE_LABELS[base]
    return cls.__name__


# Why a fused rule's result is simpler than the chain of its two rules: (inner, loss) -> text.
FUSED_LABELS = {(inner, loss): why[0] for loss in PRIMITIVES for inner, why in loss.fused_label.items()}


# ---------------------------------------------------------------------------- LaTeX documents
# Sentences of a derivation document in each language. <<name>> marks a value to fill in (the
# text is LaTeX, whose braces and dollars a format string would trip on).

PHRASES = {
    "en": {
        "title": r"Gradients of <<kind>>",
        "subtitle": r"<<layout>> layout, unrolled for $T = <<steps>>$",
        "subtitle_static": r"<<layout>> layout",
        "layout_name_denominator": "Denominator",
        "layout_name_numerator": "Numerator",
        "network_title": "The network",
        "network_intro": r"This handout derives every gradient of <<kind>> with <<features>>.",
        "network_intro_plain": r"This handout derives every gradient of <<kind>>.",
        "kind_rnn": "a recurrent network", "kind_lstm": "an LSTM network", "kind_gru": "a GRU network",
        "kind_mlp": "a multilayer perceptron", "kind_conv": "a convolutional network",
        "kind_recurrent": "a recurrent network", "kind_feedforward": "a feed-forward network",
        "and": " and ", "list_comma": ", ", "and_parts": " and ", "list_semicolon": "; ",
        "feature_activation": "<<names>> as activation", "feature_activations": "<<names>> as activations",
        "feature_activation_generic": "a generic activation <<names>>",
        "feature_activations_generic": "generic activations <<names>>",
        "feature_conv": "a convolution with stride <<stride>> and zero padding <<padding>>",
        "feature_conv_nopad": "a convolution with stride <<stride>> and no padding",
        "feature_output": "a <<name>> output", "feature_linear_output": "a linear output",
        "feature_loss": "the <<loss>>", "feature_loss_sum": "the <<loss>> summed over the steps",
        "feature_loss_mean": "the <<loss>> averaged over the steps",
        "feature_loss_last": "the <<loss>> at the last step",
        "feature_constant": r"the constant $<<name>> = <<value>>$",
        "parameters": r"Its parameters are <<params>>, and the forward pass is",
        "time_range": r"for $t = 1, \dots, T$, starting from <<initial>>.",
        "conventions_title": "Conventions",
        "layout_denominator": r"Denominator layout: a derivative $\partial <<objective>>/\partial X$ has the shape "
                              r"of $X$ (a column for a vector), and the chain rule multiplies by transposed "
                              r"Jacobians.",
        "layout_numerator": r"Numerator layout: $\partial <<objective>>/\partial \mathbf{u}$ of a column "
                            r"$\mathbf{u}$ is a row, and a Jacobian $\partial \mathbf{v}/\partial \mathbf{u}$ has "
                            r"one row per entry of $\mathbf{v}$; the chain rule multiplies Jacobians from the right.",
        "adjoint_meaning": r"On the right of an equation $\partial <<objective>>/\partial X$ is the total derivative "
                           r"of the loss with respect to $X$, along every path. $\odot$ is the entrywise product, "
                           r"$\oslash$ entrywise division, and $\operatorname{diag}(\mathbf{v})$ the diagonal "
                           r"matrix of $\mathbf{v}$.",
        "derivatives": "The activations' derivatives, written with the forward results they reuse:",
        "notation": r"Notation: <<notes>>.",
        "backward_title": "Backward, one chain rule at a time",
        "backward_intro": "Reverse mode visits the forward equations from the last to the first. For each "
                          "variable the first line is the chain rule over the variables that read it; the "
                          "next lines are what the rule of each operation gives.",
        "adjoint_of": r"The derivative with respect to <<var>> (rules: <<rules>>):",
        "fused": r"The loss and the function before it simplify together: <<why>>.",
        "recurrence_title": "The adjoint recurrence",
        "recurrence_intro": r"In terms of the state's own adjoint and the loss alone, it runs backwards from $t = T$:",
        "closed_form": r"Unrolled, what the loss reads at every step $<<index>> \ge t$ reaches <<state>> through "
                       r"the Jacobians of the steps in between:",
        "closed_form_last": r"Unrolled, the loss at the last step reaches <<state>> through the Jacobians of the "
                            r"steps in between:",
        "stack": r"The states run forward together, so backpropagation through time runs over their stack "
                 r"<<stack>>, each state a coordinate of its own; one step's Jacobian is a block matrix of the "
                 r"Jacobians between steps (the section on Jacobians between steps gives each block):",
        "stack_partial": r"Its adjoint <<adjoint>> takes each block with the other states of the same step held "
                         r"fixed. <<readers>> reads <<read>> within the step, so the block of <<read>> leaves out "
                         r"the paths through <<readers>>: the adjoint of <<read>> in the recurrence above is that "
                         r"block plus those paths.",
        "stack_product": r"Across several steps, the stack's Jacobian is the product of the one-step block matrices:",
        "empty_product": r"$k < t$; the empty product is the identity",
        "gradients_title": "The gradients",
        "gradients_intro": "Each parameter collects one term for every step at which it is used; the second "
                           "line writes the adjoints out:",
        "gradients_intro_static": "Each parameter's derivative collects one term for every use of it; the second "
                                  "line writes the adjoints out:",
        "learned_initial": r"The initial state is learned, <<initial>>: <<equation>>, what reaches it from the "
                           r"step it feeds.",
        "learned_initial_shared": r"The initial state is learned, <<initial>>, and the network reads that "
                                  r"parameter elsewhere too: its derivative adds <<share>>, what reaches the "
                                  r"initial state from the step it feeds, to the terms of its other uses.",
        "kronecker": r"A matrix parameter's derivative is the row of $\partial <<objective>>/\partial W$ over its "
                     r"entries in row-major order, and $(\mathbf{I}_n \otimes \mathbf{u}^{\top})$ is the Jacobian of "
                     r"$W\mathbf{u}$ with respect to those entries.",
        "conv_title": "The convolution, entry by entry",
        "conv_intro": r"The image <<image>> enters as a column, row by row, and the output as <<outputs>>. "
                      r"Each kernel entry is used at every output position, so its derivative sums over them,"
                      r"\[\frac{\partial L}{\partial w_j} = \sum_k \frac{\partial L}{\partial y_k} "
                      r"\frac{\partial y_k}{\partial w_j},\]"
                      r"with $\partial y_k/\partial w_j$ the input entry that $w_j$ meets at position $k$; "
                      r"together they are the correlation of the input with the output gradient:",
        "conv_elided": r"The other <<count>> kernel entries follow the same pattern.",
        "conv_too_large": r"With <<count>> outputs the sums are not written out entry by entry (this document does "
                          r"so up to <<limit>> outputs).",
        "conv_bias": r"The bias is shared by every position of its channel, so its derivative is the sum of "
                     r"the output gradient over those positions, not the output gradient itself:",
        "jacobians_title": "Jacobians between steps",
        "jacobians_intro": r"One step of the recurrence, and a chain of them:",
        "jacobians_denominator": r"A Jacobian $\partial \mathbf{v}/\partial \mathbf{u}$ is the same matrix in both "
                                 r"layouts, one row per entry of $\mathbf{v}$; in this layout the chain rule "
                                 r"multiplies by its transpose, so the sums below transpose the products.",
        "product_example": r"For example, from $t = 1$ to $t = 3$:",
        "direct_path": r"With several states, the product for <<state>> is the direct path alone, through "
                       r"<<state>>'s own steps; the paths through the other states add to the full Jacobian. "
                       r"Where <<gate>> $= 1$ at every step (and nothing new is written to the state), the "
                       r"product is the identity: the gradient flows back along this path unchanged however far "
                       r"apart $t$ and $k$ are, which is why gated cells resist vanishing gradients.",
        "bptt_title": r"Backpropagation through time for $T = <<steps>>$",
        "bptt_intro": r"Every path from the loss at step $t$ back to a use of the parameter at step $k \le t$ "
                      r"gives one term, <<count>> in all:",
        "bptt_terms": r"The terms of <<theta>> for $T = <<steps>>$:",
        "more_terms": r"<<count>> more terms",
        "bptt_equal": r"Grouping the terms by $k$ gives the recurrence form above, because the sum over "
                      r"$t \ge k$ is the adjoint of <<state>>:",
        "fused_softmax_ce": r"$(\operatorname{diag}(<<p>>) - <<p>> <<pt>>)(-<<y>> \oslash <<p>>) = "
                            r"<<p>> - <<y>>$, because $\mathbf{1}^{\top} <<y>> = 1$",
        "fused_sigmoid_bce": r"$\sigma'(<<z>>) = <<p>>(1 - <<p>>)$ cancels the denominators, leaving $<<p>> - <<y>>$",
        "analysis_title": "Vanishing and exploding gradients",
        "analysis_jacobians": r"The one-step Jacobians, and their product from step $k$ to step $t$ "
                              r"(numerator layout):",
        "analysis_bound": r"The spectral norm is submultiplicative and $\lVert\operatorname{diag}(v)\rVert_2 = "
                          r"\max_i |v_i|$, so, with $\gamma$ a bound of every entry of <<factor>>,",
        "analysis_gamma": r"Here $\gamma = <<gamma>>$.",
        "analysis_gamma_generic": r"Here $\gamma = \sup |<<phi>>'|$ ($<<phi>>$ is generic); the numbers below use "
                                  r"<<used>>, for which $\gamma = <<gamma>>$.",
        "analysis_no_bound": r"The step Jacobian is not one diagonal factor times one matrix with bounded entries, so "
                             r"no bound of the form $(\gamma \lVert W\rVert_2)^{t-k}$ is derived; the measured norms "
                             r"below stand alone.",
        "analysis_cell": r"Along the direct path, <<jac>> $= \prod_{j=k+1}^{t} \operatorname{diag}(<<factor>>)$; "
                         r"every entry of $<<factor>>$ is at most <<gamma>> in size, so this path never grows, and "
                         r"it is the identity exactly when $<<factor>> = 1$ for every $j$.",
        "analysis_numbers": r"The numbers: weights <<source>>, $T = <<steps>>$, sizes <<sizes>>.",
        "analysis_matrix": r"The recurrent matrix $<<name>>$ has the eigenvalues <<values>>; its spectral radius is "
                           r"$\rho = <<radius>>$ and $\lVert <<name>> \rVert_2 = <<norm>>$.",
        "analysis_power": r" $<<name>>^{<<n>>} = Q\Lambda^{<<n>>}Q^{-1}$ agrees with the direct power to a relative "
                          r"$<<error>>$.",
        "analysis_table": r"Along one sampled trajectory (the spectral norms at distance $T - k$):",
        "analysis_verdicts": r"The verdicts: the measured norms over this horizon (the per-step rate over the last "
                             r"half of the distances, vanishing where it shrinks the norm at least twofold there, "
                             r"exploding where it grows it twofold), the bound by $\gamma\lVert W\rVert_2 < 1$, the "
                             r"pure power by its spectral radius:",
        "analysis_figure": r"The norms against $T - k$ (log scale).",
        "verdict_vanishing": "vanishing", "verdict_exploding": "exploding", "verdict_neither": "neither",
        "verdict_no conclusion": "no conclusion",
        "analysis_rate": r"<<verdict>>, $\times <<rate>>$ per step",
        "series_measured": "measured", "series_bound": "bound", "series_power": "pure power",
        "series_cell": "cell path",
    },
    "zh": {
        "title": r"<<kind>>的梯度推导",
        "subtitle": r"<<layout>>布局，展开至 $T = <<steps>>$",
        "subtitle_static": r"<<layout>>布局",
        "layout_name_denominator": "分母",
        "layout_name_numerator": "分子",
        "network_title": "网络结构",
        "network_intro": r"本文推导<<kind>>的全部梯度，网络使用<<features>>。",
        "network_intro_plain": r"本文推导<<kind>>的全部梯度。",
        "kind_rnn": "循环神经网络", "kind_lstm": "LSTM 网络", "kind_gru": "GRU 网络",
        "kind_mlp": "多层感知机", "kind_conv": "卷积网络",
        "kind_recurrent": "循环网络", "kind_feedforward": "前馈网络",
        "and": "和", "list_comma": "，", "and_parts": "，", "list_semicolon": "；",
        "feature_activation": "激活函数 <<names>>", "feature_activations": "激活函数 <<names>>",
        "feature_activation_generic": "一般激活函数 <<names>>",
        "feature_activations_generic": "一般激活函数 <<names>>",
        "feature_conv": "步长为 <<stride>>、零填充 <<padding>> 的卷积",
        "feature_conv_nopad": "步长为 <<stride>>、无填充的卷积",
        "feature_output": "<<name>> 输出层", "feature_linear_output": "线性输出层",
        "feature_loss": "<<loss>>", "feature_loss_sum": "各时间步<<loss>>之和",
        "feature_loss_mean": "各时间步<<loss>>的平均",
        "feature_loss_last": "最后一个时间步的<<loss>>",
        "feature_constant": r"常数 $<<name>> = <<value>>$",
        "parameters": r"参数为 <<params>>，前向计算为",
        "time_range": r"其中 $t = 1, \dots, T$，初值 <<initial>>。",
        "conventions_title": "记号与约定",
        "layout_denominator": r"分母布局：导数 $\partial <<objective>>/\partial X$ 与 $X$ 同形（向量为列向量），"
                              r"链式法则中乘以雅可比矩阵的转置。",
        "layout_numerator": r"分子布局：列向量 $\mathbf{u}$ 的 $\partial <<objective>>/\partial \mathbf{u}$ "
                            r"为行向量，雅可比矩阵 "
                            r"$\partial \mathbf{v}/\partial \mathbf{u}$ 的每一行对应 $\mathbf{v}$ 的一个分量，"
                            r"链式法则从右侧相乘。",
        "adjoint_meaning": r"等式右边的 $\partial <<objective>>/\partial X$ 表示损失对 $X$ 的全导数（经过所有路径）。"
                           r"$\odot$ 为逐元素乘积，$\oslash$ 为逐元素除法，$\operatorname{diag}(\mathbf{v})$ 为以 "
                           r"$\mathbf{v}$ 为对角线的矩阵。",
        "derivatives": "激活函数的导数（用前向计算的结果表示）：",
        "notation": r"记号：<<notes>>。",
        "backward_title": "反向传播：逐步应用链式法则",
        "backward_intro": "反向模式从最后一个前向等式倒推到第一个。对每个变量，第一行是对读取它的变量应用链式法则，"
                          "其后各行是各运算的求导规则给出的结果。",
        "adjoint_of": r"对 <<var>> 的导数（所用规则：<<rules>>）：",
        "fused": r"损失函数与其前面的函数可合并化简：<<why>>。",
        "recurrence_title": "伴随变量的递推",
        "recurrence_intro": r"只用状态自身的伴随变量与损失表示，从 $t = T$ 向前递推：",
        "closed_form": r"展开后，损失在每一步 $<<index>> \ge t$ 读取的量经过其间各步的雅可比矩阵到达 <<state>>：",
        "closed_form_last": r"展开后，最后一步的损失经过其间各步的雅可比矩阵到达 <<state>>：",
        "stack": r"各状态一起沿时间前进，因此随时间反向传播在它们的拼接 <<stack>> 上进行，每个状态各为一组坐标；"
                 r"一步的雅可比矩阵是由步间雅可比矩阵组成的分块矩阵（各块见“时间步之间的雅可比矩阵”一节）：",
        "stack_partial": r"其伴随变量 <<adjoint>> 的每一块都在同一步其他状态固定时求导。"
                         r"<<readers>> 在同一步内读取 <<read>>，所以 <<read>> 的块不含经过 <<readers>> 的路径："
                         r"上面递推中 <<read>> 的伴随变量等于这一块加上这些路径。",
        "stack_product": r"跨越多步时，拼接状态的雅可比矩阵是各步分块矩阵的连乘：",
        "empty_product": r"$k < t$；空乘积为单位矩阵",
        "gradients_title": "梯度",
        "gradients_intro": "每个参数在用到它的每一步贡献一项；第二行把伴随变量展开：",
        "gradients_intro_static": "每个参数的导数对它的每一次使用贡献一项；第二行把伴随变量展开：",
        "learned_initial": r"初始状态是可学习的参数，<<initial>>：<<equation>>，即从它所输入的那一步传回的梯度。",
        "learned_initial_shared": r"初始状态是可学习的参数，<<initial>>，且网络在别处也用到该参数："
                                  r"它的导数在其他用处的各项之外，再加上 <<share>>，"
                                  r"即从初始状态所输入的那一步传回的梯度。",
        "kronecker": r"矩阵参数的导数是 $\partial <<objective>>/\partial W$ 按行优先排成的行向量，"
                     r"$(\mathbf{I}_n \otimes \mathbf{u}^{\top})$ 是 $W\mathbf{u}$ 对这些元素的雅可比矩阵。",
        "conv_title": "逐元素展开卷积",
        "conv_intro": r"图像 <<image>> 按行排成列向量输入，输出记为 <<outputs>>。"
                      r"每个卷积核元素在每个输出位置都被使用，因此它的导数要对所有位置求和："
                      r"\[\frac{\partial L}{\partial w_j} = \sum_k \frac{\partial L}{\partial y_k} "
                      r"\frac{\partial y_k}{\partial w_j}\]"
                      r"其中 $\partial y_k/\partial w_j$ 是 $w_j$ 在位置 $k$ 遇到的输入元素；"
                      r"合起来就是输入与输出梯度的互相关：",
        "conv_elided": r"其余 <<count>> 个卷积核元素同理。",
        "conv_too_large": r"输出有 <<count>> 个，不再逐元素写出求和（本文档在输出不超过 <<limit>> 个时逐元素展开）。",
        "conv_bias": r"偏置被同一通道的所有位置共享，所以它的导数是输出梯度在这些位置上的和，而不是输出梯度本身：",
        "jacobians_title": "时间步之间的雅可比矩阵",
        "jacobians_intro": r"递推的一步及其连乘：",
        "jacobians_denominator": r"雅可比矩阵 $\partial \mathbf{v}/\partial \mathbf{u}$ 在两种布局下相同，"
                                 r"每行对应 $\mathbf{v}$ 的一个元素；本布局的链式法则乘以它的转置，"
                                 r"所以下面的求和中连乘带转置。",
        "product_example": r"例如从 $t = 1$ 到 $t = 3$：",
        "direct_path": r"有多个状态时，<<state>> 的连乘只是直接路径，即只经过 <<state>> 自身的各步；"
                       r"经过其他状态的路径还要加到完整的雅可比矩阵上。若每一步都有 <<gate>> $= 1$"
                       r"（且不向状态写入新内容），连乘就是单位矩阵：梯度沿这条路径原样传回，"
                       r"无论 $t$ 与 $k$ 相距多远，这正是门控单元能抵抗梯度消失的原因。",
        "bptt_title": r"$T = <<steps>>$ 时的随时间反向传播",
        "bptt_intro": r"从第 $t$ 步的损失回到第 $k \le t$ 步对参数的使用，每条路径给出一项，共 <<count>> 项：",
        "bptt_terms": r"$T = <<steps>>$ 时 <<theta>> 的各项：",
        "more_terms": r"另有 <<count>> 项",
        "bptt_equal": r"按 $k$ 合并各项即得上面的递推形式，因为对 $t \ge k$ 的求和正是 <<state>> 的伴随变量：",
        "fused_softmax_ce": r"$(\operatorname{diag}(<<p>>) - <<p>> <<pt>>)(-<<y>> \oslash <<p>>) = "
                            r"<<p>> - <<y>>$，因为 $\mathbf{1}^{\top} <<y>> = 1$",
        "fused_sigmoid_bce": r"$\sigma'(<<z>>) = <<p>>(1 - <<p>>)$ 与分母相消，得 $<<p>> - <<y>>$",
        "analysis_title": "梯度消失与梯度爆炸",
        "analysis_jacobians": r"单步雅可比矩阵，以及从第 $k$ 步到第 $t$ 步的乘积（分子布局）：",
        "analysis_bound": r"谱范数满足次乘性，且 $\lVert\operatorname{diag}(v)\rVert_2 = \max_i |v_i|$，"
                          r"记 $\gamma$ 为 <<factor>> 每个元素的上界，则",
        "analysis_gamma": r"这里 $\gamma = <<gamma>>$。",
        "analysis_gamma_generic": r"这里 $\gamma = \sup |<<phi>>'|$（$<<phi>>$ 为一般函数）；下面的数值取 <<used>>，"
                                  r"此时 $\gamma = <<gamma>>$。",
        "analysis_no_bound": r"单步雅可比矩阵不是一个对角因子乘一个矩阵的形式，因此不给出 "
                             r"$(\gamma \lVert W\rVert_2)^{t-k}$ 形式的上界；下面只给出实测范数。",
        "analysis_cell": r"沿直接路径，<<jac>> $= \prod_{j=k+1}^{t} \operatorname{diag}(<<factor>>)$；"
                         r"$<<factor>>$ 的每个元素绝对值不超过 <<gamma>>，所以这条路径不会增长，"
                         r"且当且仅当对每个 $j$ 都有 $<<factor>> = 1$ 时它是单位矩阵。",
        "analysis_numbers": r"数值：权重 <<source>>，$T = <<steps>>$，尺寸 <<sizes>>。",
        "analysis_matrix": r"循环矩阵 $<<name>>$ 的特征值为 <<values>>；谱半径 $\rho = <<radius>>$，"
                           r"$\lVert <<name>> \rVert_2 = <<norm>>$。",
        "analysis_power": r"$<<name>>^{<<n>>} = Q\Lambda^{<<n>>}Q^{-1}$ 与直接计算的幂的相对误差为 $<<error>>$。",
        "analysis_table": r"沿一条采样轨迹（距离 $T - k$ 处的谱范数）：",
        "analysis_verdicts": r"结论：实测范数看本时间范围（后一半距离上的每步比率，使范数在其中缩小至少一半为消失，"
                             r"增大至少一倍为爆炸），上界看 $\gamma\lVert W\rVert_2 < 1$，纯幂看谱半径：",
        "analysis_figure": r"范数随 $T - k$ 的变化（对数坐标）。",
        "verdict_vanishing": "梯度消失", "verdict_exploding": "梯度爆炸", "verdict_neither": "既不消失也不爆炸",
        "verdict_no conclusion": "无结论",
        "analysis_rate": r"<<verdict>>，每步 $\times <<rate>>$",
        "series_measured": "实测", "series_bound": "上界", "series_power": "纯幂", "series_cell": "细胞路径",
    },
}

RULE_PHRASES = {
    MatAdd: ("addition", "加法"),
    MatMul: ("matrix product", "矩阵乘法"),
    HadamardProduct: ("entrywise product", "逐元素乘积"),
    Transpose: ("transpose", "转置"),
    # symbol-free: the model's function may be f, g or φ, and the equations show which
    nodes.Phi: ("generic function", "一般函数"),
    nodes.TimeSum: (r"sum over $t$", r"对 $t$ 求和"),
    Scaling: ("scaling", "数乘"),
}

FUSED_PHRASES = {(inner, loss): why[1] for loss in PRIMITIVES for inner, why in loss.fused_label.items()}


def phrase(lang: str, key: str, **values) -> str:
    text = PHRASES[lang][key]
    for name, value in values.items():
        text = text.replace(f"<<{name}>>", str(value))
    return text


def rule_phrase(lang: str, cls) -> str:
    if issubclass(cls, Primitive):  # its LaTeX phrase; in Chinese where it has one
        return cls.label_zh if lang != "en" and cls.label_zh else cls.label[1]
    for base in cls.__mro__:
        if base in RULE_PHRASES:
            return RULE_PHRASES[base][0 if lang == "en" else 1]
    return cls.__name__
