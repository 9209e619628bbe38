"""``show(weights, tokens)``: the head view + model view inline in a Jupyter notebook.

The standalone page of :func:`~scratchformers.viz.html.attention_html` goes into an ``<iframe
srcdoc=...>``: the page keeps its own element ids and script (two views in one notebook do not
interfere), nothing is fetched from the network, and the notebook saves the view with its output.
"""

from __future__ import annotations

import html

from scratchformers.viz.html import attention_html


class InlineHTML:
    """Displayed by Jupyter through ``_repr_html_`` (used when IPython is not installed)."""

    def __init__(self, data: str):
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


def show(weights, tokens: list[str], *, height: int = 640, **page_options):
    """Display the attention view of ``weights`` (as for ``attention_html``) in the notebook.

    Returns an ``IPython.display.HTML`` object (Jupyter shows it when it is the cell's value);
    ``page_options`` go to :func:`attention_html` (``key_tokens``, ``title``, ``batch``, ``top_k``).
    """
    page = attention_html(weights, tokens, **page_options)
    # Wrapped in a div: IPython suggests IFrame (a URL to load) for bare iframes; we have no URL.
    frame = (
        '<div class="scratchformers-attention">'
        f'<iframe srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
        'title="scratchformers attention view"></iframe></div>'
    )
    try:
        from IPython.display import HTML
    except ImportError:
        return InlineHTML(frame)
    return HTML(frame)
