"""PNG figures of a run: loss and learning-rate curves (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from scratchformers.viz.figures import pyplot, save_figure


def plot_training_curves(history: list[dict], eval_history: list[dict], path: str | Path) -> Path:
    plt = pyplot()

    fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [r["step"] for r in history]
    ax_loss.plot(steps, [r["loss"] for r in history], lw=0.8, label="train loss")
    for key in sorted({k for r in eval_history for k in r if k.endswith("loss")}):
        points = [(r["step"], r[key]) for r in eval_history if key in r]
        ax_loss.plot(*zip(*points), "o-", label=key)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.legend()
    ax_loss.grid(alpha=0.3)
    ax_lr.plot(steps, [r["lr"] for r in history], color="tab:orange")
    ax_lr.set_xlabel("step")
    ax_lr.set_ylabel("learning rate")
    ax_lr.grid(alpha=0.3)
    return save_figure(fig, path)
