"""Training and fine-tuning: one :class:`Trainer` loop, AdamW + schedules, crash-safe checkpoints, tasks.

>>> from scratchformers.training import Trainer, TrainConfig      # doctest: +SKIP
>>> Trainer(model, TrainConfig(max_steps=100), batches).fit()     # doctest: +SKIP
"""

from scratchformers.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from scratchformers.training.classification import apply_strategy, finetune, layer_groups
from scratchformers.training.config import PRESETS, TrainConfig, build_config
from scratchformers.training.guard import NonFiniteLossError
from scratchformers.training.metrics import classification_report, confusion_matrix, plot_confusion_matrix
from scratchformers.training.mlm import mask_tokens
from scratchformers.training.optim import build_optimizer, build_scheduler, parameter_groups
from scratchformers.training.recipes import build_trainer
from scratchformers.training.seq2seq import ReversalData, greedy_decode
from scratchformers.training.trainer import Callback, Trainer

__all__ = [
    "PRESETS",
    "Callback",
    "NonFiniteLossError",
    "ReversalData",
    "TrainConfig",
    "Trainer",
    "apply_strategy",
    "build_config",
    "build_optimizer",
    "build_scheduler",
    "build_trainer",
    "classification_report",
    "confusion_matrix",
    "finetune",
    "greedy_decode",
    "latest_checkpoint",
    "layer_groups",
    "load_checkpoint",
    "mask_tokens",
    "parameter_groups",
    "plot_confusion_matrix",
    "save_checkpoint",
]
