"""Networks: MLPs (and, later, the Impala-CNN and heads)."""

from offline_scaling.nets.mlp import MLP

__all__ = ["MLP"]
