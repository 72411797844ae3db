"""The words that name each rule in a shown derivation (printing, not math: one table)."""

from __future__ import annotations

from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, Transpose

from derive import nodes

RULE_LABELS = {
    MatAdd: "sum",
    MatMul: "matrix product",
    HadamardProduct: "entrywise product",
    Transpose: "transpose",
    nodes.Sigmoid: "σ' = σ(1 − σ)",
    nodes.Tanh: "tanh' = 1 − tanh²",
    nodes.ReLU: "ReLU' = 𝕀(· > 0)",
    nodes.Exp: "exp' = exp",
    nodes.Log: "log' = 1/x",
    nodes.Phi: "φ' (generic)",
    nodes.Divide: "quotient",
    nodes.Power: "power",
    nodes.Softmax: "softmax Jacobian diag(p) − p pᵀ",
    nodes.LogSumExp: "d log Σ exp(o)/do = softmax(o)",
    nodes.CrossEntropy: "cross-entropy",
    nodes.BinaryCrossEntropy: "binary cross-entropy",
    nodes.SquaredError: "squared error",
    nodes.GenericLoss: "∂ℓ/∂o (generic)",
    nodes.FrobeniusSq: "d‖W‖²/dW = 2W",
    nodes.Concat: "split of a stacked vector",
    nodes.TimeSum: "sum over t",
}


def rule_label(cls) -> str:
    for base in cls.__mro__:
        if base in RULE_LABELS:
            return RULE_LABELS[base]
    return cls.__name__

# Why a fused rule's result is simpler than the chain of its two rules.
FUSED_LABELS = {
    (nodes.Softmax, nodes.CrossEntropy): "softmax + cross-entropy: (diag(p) − p pᵀ)(−y ⊘ p) = p − y as 1ᵀy = 1",
    (nodes.Sigmoid, nodes.BinaryCrossEntropy): "σ + binary cross-entropy: σ' = p(1 − p) cancels the denominators",
}
