"""Lab 2's gradient figure shows real gradients, and the trap it warns about is real (issue 18, item 2).

The lab runs as a script (quick mode); its variables are read back. The reference is mathematics: a
LayerNorm with gain 1 and bias 0 outputs vectors of mean 0 and variance 1, so the mean square of the
output is 1 for any weights and its gradient is 0 up to float rounding."""

import runpy
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[2] / "labs" / "02_transformer_block.py"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    patch.setenv("SCRATCHFORMERS_LAB_QUICK", "1")
    patch.setenv("SCRATCHFORMERS_LAB_OUT", str(tmp_path_factory.mktemp("lab2")))
    patch.syspath_prepend(str(LAB.parent))
    patch.delitem(sys.modules, "_lab", raising=False)  # re-read the environment above
    try:
        yield runpy.run_path(str(LAB))
    finally:
        patch.undo()
        sys.modules.pop("_lab", None)


def relative(grad_norms: list[float], model) -> list[float]:
    return [g / b.self_attn.q_proj.weight.norm().item() for g, b in zip(grad_norms, model.blocks)]


def test_the_plotted_gradients_are_far_above_rounding(lab):
    model = lab["model"]  # the last one built: same shapes and initialisation scale as the others
    for name, values in lab["norms"].items():
        for weight in ("W_q", "W_up"):
            assert min(relative(values[weight], model)) > 1e-4, (name, weight, values[weight])


def test_the_old_loss_is_constant_and_its_gradient_is_rounding(lab):
    model = lab["model"]
    out = model(lab["ids"]).last_hidden_state
    assert out.pow(2).mean().item() == pytest.approx(1.0, abs=1e-4)  # LayerNorm output: mean 0, variance 1
    for values in lab["trap"].values():
        assert max(relative(values["W_q"], model)) < 1e-6
        assert max(values["W_q"]) < 1e-3 * min(min(v["W_q"]) for v in lab["norms"].values())
