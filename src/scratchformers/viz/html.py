"""A standalone HTML attention viewer: head view + model view, no network, no libraries.

Head view: tokens in two columns, a line from query i to key j with opacity = weight; pick the
layer and the heads; hover a token to see only its lines. Model view: a layers x heads grid of
thumbnails of every attention matrix; click one to open it in the head view.

The weights travel inside the page as one JSON block (``<script type="application/json"
id="sf-attention-data">``): weights quantised to uint16 (``round(w * 65535)``), base64. Short inputs
(<= 64 tokens) are stored dense; longer ones keep each query row's ``top_k`` strongest keys
(uint16 indices), so a 512-token, 6-layer, 12-head input stays a few MB and smooth to draw.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np

from scratchformers.errors import ShapeError
from scratchformers.viz.weights import as_layers

DENSE_MAX_TOKENS = 64
QUANT = 65535  # weights travel as uint16: a step of 1.5e-5, fine even for 512-token rows


def encode_weights(layers: np.ndarray, top_k: int = 16) -> dict:
    """(L, H, Tq, Tk) -> the JSON-able payload the page reads (see :func:`decode_weights`)."""
    n_layers, n_heads, t_q, t_k = layers.shape
    dense = t_k <= DENSE_MAX_TOKENS
    k = t_k if dense else min(top_k, t_k)
    if dense:
        values = layers
    else:
        top = np.argpartition(-layers, k - 1, axis=-1)[..., :k]  # (L, H, Tq, k): the k strongest, unordered
        order = np.argsort(-np.take_along_axis(layers, top, axis=-1), axis=-1, kind="stable")
        indices = np.take_along_axis(top, order, axis=-1)  # strongest first
        values = np.take_along_axis(layers, indices, axis=-1)
    q = np.clip(np.rint(values * QUANT), 0, QUANT).astype("<u2")
    payload = {
        "layers": n_layers, "heads": n_heads, "queries": t_q, "keys": t_k, "k": k, "dense": dense, "scale": QUANT,
        "values": base64.b64encode(q.tobytes()).decode("ascii"),
    }
    if not dense:
        payload["indices"] = base64.b64encode(indices.astype("<u2").tobytes()).decode("ascii")
    return payload


def decode_weights(payload: dict) -> np.ndarray:
    """The inverse of :func:`encode_weights`: (L, H, Tq, Tk), zeros where a sparse row was cut."""
    shape = (payload["layers"], payload["heads"], payload["queries"], payload["k"])
    values = np.frombuffer(base64.b64decode(payload["values"]), dtype="<u2").reshape(shape) / payload["scale"]
    if payload["dense"]:
        return values
    indices = np.frombuffer(base64.b64decode(payload["indices"]), dtype="<u2").reshape(shape).astype(np.int64)
    out = np.zeros(shape[:3] + (payload["keys"],))
    np.put_along_axis(out, indices, values, axis=-1)
    return out


def attention_html(weights, tokens: list[str], *, path: str | Path | None = None, batch: int = 0,
                   key_tokens: list[str] | None = None, title: str = "attention", top_k: int = 16) -> str:
    """Build the page (and write it to ``path`` if given). ``weights`` as for ``attention_heatmap``."""
    layers = as_layers(weights, batch)
    key_tokens = list(tokens) if key_tokens is None else list(key_tokens)
    if layers.shape[2:] != (len(tokens), len(key_tokens)):
        raise ShapeError(f"weights are {layers.shape[2]} x {layers.shape[3]} but got {len(tokens)} query and "
                         f"{len(key_tokens)} key tokens")
    data = encode_weights(layers, top_k=top_k)
    data["tokens"] = [str(t) for t in tokens]
    data["key_tokens"] = [str(t) for t in key_tokens]
    page = _fill(_TEMPLATE, TITLE=html.escape(str(title)), DATA=script_json(data), SCRIPT=_SCRIPT)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


# Characters JSON may carry verbatim but a <script> element or a JavaScript parser must not see:
# "</script" or "<!--" would end or derail the element; U+2028/2029 are line breaks in old JS.
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_PLACEHOLDER = re.compile(r"__(TITLE|DATA|SCRIPT)__")


def script_json(data) -> str:
    """JSON safe inside ``<script type="application/json">``: ``JSON.parse`` gives ``data`` back exactly."""
    text = json.dumps(data, separators=(",", ":"))  # ASCII only: lone surrogates, U+2028/9 become \uXXXX
    return text.translate(str.maketrans(_SCRIPT_ESCAPES))


def _fill(template: str, **values: str) -> str:
    """Replace every ``__NAME__`` of the template in ONE pass: inserted text is never scanned again, so a
    title or token spelling ``__DATA__`` stays text (sequential ``str.replace`` calls would expand it)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:system-ui,sans-serif;margin:16px;color:#222}
.bar{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
.tabs button{padding:4px 10px;border:1px solid #999;background:#f4f4f4;cursor:pointer}
.tabs button.on{background:#333;color:#fff}
#head-view{position:relative;font-size:12px}
#head-view .col{position:absolute;top:0}
#head-view .tok{height:18px;line-height:18px;white-space:pre;cursor:default;padding:0 4px}
#head-view .tok:hover{background:#fe8}
#grid{display:grid;gap:6px}
#grid canvas{border:1px solid #ccc;cursor:pointer;image-rendering:pixelated}
#grid .lbl{font-size:11px;text-align:center}
.heads label{margin-right:6px;font-size:12px}
</style></head><body>
<h2>__TITLE__</h2>
<div class="tabs bar"><button id="tab-head" class="on">head view</button><button id="tab-model">model view</button>
<span id="info"></span></div>
<div id="head-panel"><div class="bar">layer <select id="layer"></select><span class="heads" id="heads"></span></div>
<div id="head-view"><canvas id="lines"></canvas></div></div>
<div id="model-panel" style="display:none"><div id="grid"></div></div>
<script type="application/json" id="sf-attention-data">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_SCRIPT = r"""
(function(){
const D = JSON.parse(document.getElementById('sf-attention-data').textContent);
function b64(s, T){const bin=atob(s);const a=new Uint8Array(bin.length);for(let i=0;i<bin.length;i++)a[i]=bin.charCodeAt(i);return T===Uint16Array?new Uint16Array(a.buffer):a;}
const V = b64(D.values, Uint16Array), I = D.dense ? null : b64(D.indices, Uint16Array);
const K = D.k, TQ = D.queries, TK = D.keys, ROW = 18;
function row(l,h,i){const base=((l*D.heads+h)*TQ+i)*K;const out=[];for(let r=0;r<K;r++){const w=V[base+r]/D.scale;if(w>0)out.push([D.dense?r:I[base+r],w]);}return out;}
const colors = ['#e6194b','#3cb44b','#4363d8','#f58231','#911eb4','#46f0f0','#f032e6','#bcf60c','#008080','#9a6324','#800000','#000075','#808000','#ffd8b1','#aaffc3','#fabebe'];
const layerSel=document.getElementById('layer'), headsBox=document.getElementById('heads');
for(let l=0;l<D.layers;l++){const o=document.createElement('option');o.value=l;o.textContent=l;layerSel.appendChild(o);}
const headOn=[];for(let h=0;h<D.heads;h++){headOn.push(true);const lab=document.createElement('label');const cb=document.createElement('input');cb.type='checkbox';cb.checked=true;cb.onchange=()=>{headOn[h]=cb.checked;draw();};lab.appendChild(cb);lab.appendChild(document.createTextNode(' '+h));lab.style.color=colors[h%colors.length];headsBox.appendChild(lab);}
const view=document.getElementById('head-view'), canvas=document.getElementById('lines');
const left=document.createElement('div'), right=document.createElement('div');left.className=right.className='col';
D.tokens.forEach((t,i)=>{const d=document.createElement('div');d.className='tok';d.textContent=t;d.style.textAlign='right';d.onmouseenter=()=>draw(i);d.onmouseleave=()=>draw();left.appendChild(d);});
D.key_tokens.forEach(t=>{const d=document.createElement('div');d.className='tok';d.textContent=t;right.appendChild(d);});
view.appendChild(left);view.appendChild(right);
const W=160;
function layout(){const lw=left.offsetWidth+4;canvas.style.position='absolute';canvas.style.left=lw+'px';canvas.width=W;canvas.height=Math.max(TQ,TK)*ROW;right.style.left=(lw+W)+'px';view.style.height=canvas.height+'px';}
function draw(only){const c=canvas.getContext('2d');c.clearRect(0,0,canvas.width,canvas.height);const l=+layerSel.value;
 for(let h=0;h<D.heads;h++){if(!headOn[h])continue;c.strokeStyle=colors[h%colors.length];
  for(let i=0;i<TQ;i++){if(only!==undefined&&i!==only)continue;for(const [j,w] of row(l,h,i)){if(w<0.02&&only===undefined)continue;c.globalAlpha=Math.min(1,w);c.lineWidth=1+2*w;c.beginPath();c.moveTo(0,i*ROW+ROW/2);c.lineTo(W,j*ROW+ROW/2);c.stroke();}}}
 c.globalAlpha=1;document.getElementById('info').textContent=`${D.layers} layers x ${D.heads} heads, ${TQ} x ${TK} tokens`+(D.dense?'':` (top ${K} keys per query)`);}
layerSel.onchange=()=>draw();
const grid=document.getElementById('grid');grid.style.gridTemplateColumns=`repeat(${D.heads},auto)`;
function thumb(l,h){const cv=document.createElement('canvas');cv.width=TK;cv.height=TQ;const px=Math.max(60,Math.min(140,Math.round(900/D.heads)));cv.style.width=px+'px';cv.style.height=Math.round(px*TQ/TK)+'px';
 const c=cv.getContext('2d');const img=c.createImageData(TK,TQ);for(let i=0;i<TQ;i++){for(const [j,w] of row(l,h,i)){const p=4*(i*TK+j);const v=Math.round(255*(1-Math.sqrt(w)));img.data[p]=v;img.data[p+1]=v;img.data[p+2]=255;img.data[p+3]=255;}}
 for(let p=3;p<img.data.length;p+=4){if(img.data[p]===0){img.data[p-3]=img.data[p-2]=img.data[p-1]=img.data[p]=255;}}
 c.putImageData(img,0,0);cv.title=`layer ${l} head ${h}`;cv.onclick=()=>{layerSel.value=l;for(let k=0;k<D.heads;k++){headOn[k]=(k===h);headsBox.children[k].firstChild.checked=(k===h);}show('head');draw();};return cv;}
let built=false;
function buildGrid(){if(built)return;built=true;for(let l=0;l<D.layers;l++)for(let h=0;h<D.heads;h++){const box=document.createElement('div');box.appendChild(thumb(l,h));const lb=document.createElement('div');lb.className='lbl';lb.textContent=`L${l} H${h}`;box.appendChild(lb);grid.appendChild(box);}}
function show(which){document.getElementById('head-panel').style.display=which==='head'?'':'none';document.getElementById('model-panel').style.display=which==='model'?'':'none';document.getElementById('tab-head').className=which==='head'?'on':'';document.getElementById('tab-model').className=which==='model'?'on':'';if(which==='model')buildGrid();}
document.getElementById('tab-head').onclick=()=>show('head');document.getElementById('tab-model').onclick=()=>show('model');
layout();draw();
})();
"""
