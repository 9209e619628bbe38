"""DDP through torchrun (gloo, 2 CPU processes) gives the single-process losses on the same global batch."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from scratchformers.data import RandomWindows
from scratchformers.models import GPT, GPTConfig
from scratchformers.training.config import TrainConfig
from scratchformers.training.trainer import Trainer

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    torch.set_num_threads(1)
    from scratchformers.data import RandomWindows
    from scratchformers.models import GPT, GPTConfig
    from scratchformers.training.config import TrainConfig
    from scratchformers.training.distributed import cleanup_distributed
    from scratchformers.training.trainer import Trainer

    out = sys.argv[1]
    ids = np.load(out + "/ids.npy")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, max_positions=16, num_layers=2, num_heads=2, d_model=32, dropout=0.0))
    cfg = TrainConfig(max_steps=6, lr=3e-3, warmup_steps=2, batch_size=8, grad_accum_steps=2, log_every=1,
                      eval_every=10**9, save_every=6, progress=False, plot=False, run_dir=out + "/run", device="cpu")
    trainer = Trainer(model, cfg, RandomWindows(ids, 8, 8, seed=1))
    history = trainer.fit()
    if trainer.dist.rank == 0:
        json.dump({"world": trainer.dist.world_size, "loss": [r["loss"] for r in history]}, open(out + "/ddp.json", "w"))
    cleanup_distributed()
    # torch 2.13 + gloo: about 1 run in 10, a rank aborts in interpreter shutdown AFTER the process
    # group is destroyed ("terminate called without an active exception"; seen with this repo's
    # code before and after the oneDNN change, not with os._exit in 36 runs). The results above are
    # already written, so leave without the shutdown that crashes.
    import os
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
    """
)


def test_two_process_gloo_ddp_matches_single_process(tmp_path, token_ids):
    np.save(tmp_path / "ids.npy", token_ids)
    script = tmp_path / "train_ddp.py"
    script.write_text(_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script), str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ddp = json.loads((tmp_path / "ddp.json").read_text())
    assert ddp["world"] == 2

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, max_positions=16, num_layers=2, num_heads=2, d_model=32, dropout=0.0))
    cfg = TrainConfig(max_steps=6, lr=3e-3, warmup_steps=2, batch_size=8, grad_accum_steps=2, log_every=1,
                      eval_every=10**9, save_every=0, progress=False, plot=False, run_dir=str(tmp_path / "single"),
                      device="cpu")
    single = [r["loss"] for r in Trainer(model, cfg, RandomWindows(token_ids, 8, 8, seed=1)).fit()]
    assert ddp["loss"] == pytest.approx(single, rel=1e-5, abs=1e-6)
    assert single[-1] < single[0]
    # rank 0 alone wrote the checkpoint, with the RNG state of both ranks
    state = json.loads(next((tmp_path / "run" / "checkpoints").glob("step_*/state.json")).read_text())
    assert len(state["rng"]) == 2
