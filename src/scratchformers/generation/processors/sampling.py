"""Sampling warpers: which tokens may be sampled, and how sharply (temperature, top-k, top-p,
min-p, typical, epsilon and eta sampling).

Each is a pure function ``(scores, ...) -> new scores`` with the exact semantics of its Hugging
Face counterpart (same tie handling, same ``min_tokens_to_keep``), plus a tiny callable class
``(input_ids, scores) -> scores`` for a :class:`~scratchformers.generation.processors.LogitsProcessorList`.

With ``p = softmax(scores)`` and ``H = -sum p log p`` (the entropy):

- typical (Meister et al. 2022): sort tokens by ``|-log p - H|`` (how far their surprise is from the
  expected surprise) and keep the closest ones until their mass reaches ``typical_p``;
- epsilon (Hewitt et al. 2022): keep ``p >= epsilon``;
- eta: keep ``p >= min(eta, sqrt(eta) * exp(-H))`` (a cut-off that relaxes when the distribution is flat).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from scratchformers.errors import ConfigError
from scratchformers.generation.processors.base import NEG_INF, check_min_keep, check_scores, keep_top


def temperature(scores: torch.Tensor, t: float) -> torch.Tensor:
    """``scores / t``. ``t`` must be > 0 (``generate`` turns ``temperature=0`` into greedy)."""
    if not t > 0:
        raise ConfigError(
            f"temperature must be > 0 to rescale scores, got {t!r}; "
            "use temperature=0 (or do_sample=False) in generate for greedy decoding"
        )
    return scores / t


def top_k(
    scores: torch.Tensor, k: int, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Keep the ``k`` highest scores per row; ties with the k-th score are kept too.

    ``k=0`` disables the filter (as in HF ``generate``). At least ``min_tokens_to_keep`` survive.
    """
    check_scores(scores)
    if not isinstance(k, int) or k < 0:
        raise ConfigError(f"top_k must be an integer >= 0 (0 disables it), got {k!r}")
    check_min_keep(min_tokens_to_keep)
    if k == 0:
        return scores
    k = min(max(k, min_tokens_to_keep), scores.size(-1))
    kth_best = torch.topk(scores, k).values[:, -1:]  # (B, 1)
    return scores.masked_fill(scores < kth_best, filter_value)


def top_p(
    scores: torch.Tensor, p: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose probability reaches ``p``.

    Computed like HF: sort ascending, drop every token whose cumulative probability (from the
    least likely upwards) is ``<= 1 - p``; the ``min_tokens_to_keep`` most likely always stay.
    """
    check_scores(scores)
    if not 0 < p <= 1:
        raise ConfigError(f"top_p must be in (0, 1], got {p!r}; 1.0 disables the filter")
    check_min_keep(min_tokens_to_keep)
    sorted_scores, sorted_idx = torch.sort(scores, descending=False)  # (B, V) each
    cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    sorted_remove = cumulative <= (1 - p)
    sorted_remove[:, -min_tokens_to_keep:] = False  # the most likely tokens sit at the end
    remove = sorted_remove.scatter(1, sorted_idx, sorted_remove)  # back to vocab order
    return scores.masked_fill(remove, filter_value)


def min_p(
    scores: torch.Tensor, p: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Keep tokens whose probability is at least ``p`` times the top token's probability."""
    check_scores(scores)
    if not 0 <= p <= 1:
        raise ConfigError(f"min_p must be in [0, 1], got {p!r}")
    check_min_keep(min_tokens_to_keep)
    probs = scores.softmax(dim=-1)
    remove = probs < p * probs.amax(dim=-1, keepdim=True)
    keep_idx = torch.topk(probs, min(min_tokens_to_keep, probs.size(-1)), dim=-1).indices
    remove.scatter_(-1, keep_idx, False)
    return scores.masked_fill(remove, filter_value)


def _check_open_unit(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{name} must be a float in (0, 1), got {value!r}")
    return float(value)


def typical_p(
    scores: torch.Tensor, mass: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Locally typical sampling: keep the tokens whose surprise ``-log p`` is closest to the entropy,
    up to (and including) the first one whose cumulative mass reaches ``mass``."""
    check_scores(scores)
    mass = _check_open_unit("typical_p", mass)
    check_min_keep(min_tokens_to_keep)
    log_p = scores.log_softmax(dim=-1)
    entropy = -(log_p * log_p.exp()).nansum(-1, keepdim=True)  # (B, 1); nansum: 0 * -inf terms
    distance = (-log_p - entropy).abs()
    sorted_distance, order = distance.sort(dim=-1)
    cumulative = scores.gather(-1, order).softmax(dim=-1).cumsum(dim=-1)
    # the last kept position: the first whose cumulative mass is >= mass (ties in distance kept too)
    last = (cumulative < mass).sum(dim=1).clamp(max=scores.size(-1) - 1)
    sorted_remove = sorted_distance > sorted_distance.gather(1, last[:, None])
    sorted_remove[:, :min_tokens_to_keep] = False
    remove = sorted_remove.scatter(1, order, sorted_remove)
    return scores.masked_fill(remove, filter_value)


def epsilon_cutoff(
    scores: torch.Tensor, epsilon: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Truncation sampling: drop tokens whose probability is below ``epsilon``."""
    check_scores(scores)
    epsilon = _check_open_unit("epsilon_cutoff", epsilon)
    check_min_keep(min_tokens_to_keep)
    remove = keep_top(scores.softmax(dim=-1) < epsilon, scores, min_tokens_to_keep)
    return scores.masked_fill(remove, filter_value)


def eta_cutoff(
    scores: torch.Tensor, eta: float, *, min_tokens_to_keep: int = 1, filter_value: float = NEG_INF
) -> torch.Tensor:
    """Eta sampling: drop tokens whose probability is below ``min(eta, sqrt(eta) * exp(-entropy))``."""
    check_scores(scores)
    eta = _check_open_unit("eta_cutoff", eta)
    check_min_keep(min_tokens_to_keep)
    eta_t = torch.tensor(eta, device=scores.device)  # float32, like the reference's arithmetic
    entropy = torch.distributions.Categorical(logits=scores).entropy()  # (B,)
    threshold = torch.minimum(eta_t, eta_t.sqrt() * torch.exp(-entropy))[:, None]
    remove = keep_top(scores.softmax(dim=-1) < threshold, scores, min_tokens_to_keep)
    return scores.masked_fill(remove, filter_value)


# ----------------------------------------------------------------------------- composable classes


@dataclass
class Temperature:
    t: float

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return temperature(scores, self.t)


@dataclass
class TopK:
    k: int
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return top_k(scores, self.k, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class TopP:
    p: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return top_p(scores, self.p, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class MinP:
    p: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return min_p(scores, self.p, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class TypicalP:
    mass: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return typical_p(scores, self.mass, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class EpsilonCutoff:
    epsilon: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return epsilon_cutoff(scores, self.epsilon, min_tokens_to_keep=self.min_tokens_to_keep)


@dataclass
class EtaCutoff:
    eta: float
    min_tokens_to_keep: int = 1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return eta_cutoff(scores, self.eta, min_tokens_to_keep=self.min_tokens_to_keep)
