"""The three pipelines of this project's labs, with transformers' argument and output shapes.

- ``text-generation``: ``[{"generated_text": prompt + continuation}]`` (one dict per returned
  sequence); ``return_full_text=False`` gives the continuation only; other keywords go to
  :func:`~scratchformers.generation.generate` (``max_new_tokens``, default 256; ``do_sample``, ``num_beams``...).
  Greedy unless ``do_sample=True`` (transformers samples at temperature 0.7 by default: a
  deliberate difference, a pipeline call here is reproducible).
- ``text-classification`` / ``sentiment-analysis``: ``[{"label", "score"}]`` for one text (the best
  label; ``top_k=None`` gives every label, best first; a list of texts without ``top_k`` gives one
  dict per text); scores are ``softmax(logits)`` (sigmoid for a single-label head).
- ``fill-mask``: the ``top_k`` (5) best fillers of the mask token:
  ``[{"score", "token", "token_str", "sequence"}]``, ``score = softmax(logits at the mask)``.
"""

from __future__ import annotations

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation import generate
from scratchformers.pipelines.base import Pipeline


class TextGenerationPipeline(Pipeline):
    task = "text-generation"
    model_task = "causal-lm"

    def run(self, text: str, *, return_full_text: bool = True, skip_special_tokens: bool = True, **generate_kwargs):
        ids = self.ids(text)
        eos = self.tokenizer.eos_token_id
        generate_kwargs.setdefault("eos_token_id", eos)
        generate_kwargs.setdefault("max_new_tokens", 256)  # the reference's pipeline default
        if generate_kwargs.get("return_dict_in_generate"):
            raise ConfigError(
                "pipeline('text-generation') returns text, not generate's output object: drop return_dict_in_generate "
                "(call scratchformers.generation.generate(model, ids, return_dict_in_generate=True) for scores)"
            )
        out = generate(self.model, ids, tokenizer=self.tokenizer, **generate_kwargs)  # generate runs in inference mode
        # Like the reference: decode the whole sequence and cut the decoded prompt off by
        # characters, so text that merges across the boundary is not duplicated.
        prompt_chars = len(self.tokenizer.decode(ids[0].tolist(), skip_special_tokens=skip_special_tokens))
        results = []
        for row in out.tolist():
            continuation = self.tokenizer.decode(row, skip_special_tokens=skip_special_tokens)[prompt_chars:]
            results.append({"generated_text": text + continuation if return_full_text else continuation})
        return results


class TextClassificationPipeline(Pipeline):
    task = "text-classification"
    model_task = "sequence-classification"

    def __call__(self, inputs, **kwargs):
        """One text: ``[{"label", "score"}]``. A list without ``top_k``: one dict per text (the
        reference's legacy shape); a list with ``top_k``: one list per text."""
        results = super().__call__(inputs, **kwargs)
        if isinstance(inputs, str) or "top_k" in kwargs:
            return results
        return [r[0] for r in results]

    def run(self, text: str, *, top_k: int | None = 1):
        with torch.inference_mode():
            logits = self.model(self.ids(text)).logits[0].float()  # (num_labels,)
        scores = logits.sigmoid() if logits.numel() == 1 else logits.softmax(-1)
        labels = getattr(self.model, "id2label", None) or {i: f"LABEL_{i}" for i in range(logits.numel())}
        ranked = [{"label": labels[int(i)], "score": float(scores[i])} for i in scores.argsort(descending=True, stable=True)]
        return ranked if top_k is None else ranked[:top_k]


class FillMaskPipeline(Pipeline):
    task = "fill-mask"
    model_task = "masked-lm"

    def run(self, text: str, *, top_k: int = 5):
        mask_id = self.tokenizer.mask_token_id
        if mask_id is None:
            raise ConfigError("fill-mask needs a tokenizer with a mask token ([MASK])")
        ids = self.ids(text)
        where = (ids[0] == mask_id).nonzero().flatten().tolist()
        if len(where) != 1:
            raise ConfigError(
                f"fill-mask found {len(where)} mask tokens in {text!r}; put exactly one "
                f"{self.tokenizer.id_to_token(mask_id)} in each text"
            )
        with torch.inference_mode():
            probs = self.model(ids).logits[0, where[0]].float().softmax(-1)  # (vocab,)
        values, tokens = probs.topk(min(top_k, probs.numel()))
        results = []
        for score, token in zip(values.tolist(), tokens.tolist()):
            filled = ids[0].tolist()
            filled[where[0]] = token
            results.append({
                "score": score,
                "token": token,
                "token_str": self.tokenizer.decode([token]),
                "sequence": self.tokenizer.decode(filled, skip_special_tokens=True),
            })  # fmt: skip
        return results


TASKS: dict[str, type[Pipeline]] = {
    "text-generation": TextGenerationPipeline,
    "text-classification": TextClassificationPipeline,
    "sentiment-analysis": TextClassificationPipeline,
    "fill-mask": FillMaskPipeline,
}
