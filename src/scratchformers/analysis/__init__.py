"""Analysis of a forward pass, shared by the doctor and the attention visualisation.

:class:`AttentionTrace` records every torch op a model runs (a ``TorchFunctionMode``) and rebuilds
the attention sites of any ``nn.Module``, whichever way its forward computes them (explicit
softmax math, ``F.scaled_dot_product_attention``, ``nn.MultiheadAttention``). This package imports
only torch (and the bottom layers errors/utils).
"""

from scratchformers.analysis.graph import MASKED_BELOW, Node
from scratchformers.analysis.trace import AttentionSite, AttentionTrace

__all__ = ["MASKED_BELOW", "AttentionSite", "AttentionTrace", "Node"]
