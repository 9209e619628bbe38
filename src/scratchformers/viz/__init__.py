"""Attention visualisation: a heatmap PNG of one head, a standalone HTML head view + model view.

    attentions = sf.viz.collect_attention(model, input_ids)       # per layer (B, H, T, T)
    sf.viz.attention_heatmap(attentions, tokens, layer=2, head=5, path="head.png")
    sf.viz.attention_html(attentions, tokens, path="attention.html")
    sf.viz.show(attentions, tokens)                                # the same view inline in Jupyter
"""

from scratchformers.viz.heatmap import attention_heatmap
from scratchformers.viz.html import attention_html, decode_weights, encode_weights
from scratchformers.viz.show import show
from scratchformers.viz.weights import as_layers, collect_attention

__all__ = ["as_layers", "attention_heatmap", "attention_html", "collect_attention", "decode_weights", "encode_weights", "show"]
