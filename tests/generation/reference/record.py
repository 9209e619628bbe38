"""Record group (diverse) beam search and constrained beam search outputs of transformers 4.46.3,
the last release line whose ``generate`` still implements ``num_beam_groups`` and ``force_words_ids``
in the library (transformers 5 moved them to the hub repositories
``transformers-community/group-beam-search`` / ``constrained-beam-search``, not available offline).

Run from the repository root (needs network once, for the wheel):

    python tests/generation/reference/record.py

It downloads the transformers 4.46.3 wheel (no dependencies) into a temporary folder, unpacks it,
disables its import-time dependency version check (it asks for older tokenizers / huggingface-hub,
which GPT-2 generation does not use), and runs this file again under it with ``--run`` to write
``group_beam_4_46_3.json`` and ``constrained_4_46_3.json``: for each case the options, the returned sequences and sequences_scores.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
VERSION = "4.46.3"
OUTPUT = HERE / "group_beam_4_46_3.json"

# (name, generate options); "eos": "frequent" = a token that greedy decoding produces often
CASES = [
    ("g2-p1", dict(num_beams=4, num_beam_groups=2, diversity_penalty=1.0, num_return_sequences=4)),
    ("g3-p05-eos", dict(num_beams=6, num_beam_groups=3, diversity_penalty=0.5, num_return_sequences=3, eos="frequent")),
    ("g4-p2-eos-early", dict(num_beams=4, num_beam_groups=4, diversity_penalty=2.0, num_return_sequences=2,
                             early_stopping=True, eos="frequent")),
    ("g2-p03-lp05-eos", dict(num_beams=4, num_beam_groups=2, diversity_penalty=0.3, length_penalty=0.5, eos="frequent")),
    ("g2-p15-never-eos", dict(num_beams=4, num_beam_groups=2, diversity_penalty=1.5, early_stopping="never",
                              num_return_sequences=2, eos="frequent")),
    # the unpadded prompt only: transformers 4.46 penalises left-padding ids too, 5.x (and we) skip them
    ("g2-p1-rep", dict(num_beams=4, num_beam_groups=2, diversity_penalty=1.0, repetition_penalty=1.5,
                       no_repeat_ngram_size=2, num_return_sequences=2, eos="frequent", rows=[0])),
]  # fmt: skip
MAX_NEW_TOKENS = 10
# constrained beam search (force_words_ids: every phrase must appear), same model and prompts
CONSTRAINED_CASES = [
    ("one-phrase", dict(num_beams=4, force_words_ids=[[5, 6]], num_return_sequences=2)),
    ("two-phrases-eos", dict(num_beams=4, force_words_ids=[[7], [20, 21]], num_return_sequences=3, eos="frequent")),
    ("three-phrases-eos-lp", dict(num_beams=6, force_words_ids=[[30, 31, 32], [9], [44, 45]], length_penalty=0.7,
                                  eos="frequent")),
    ("early-eos", dict(num_beams=4, force_words_ids=[[3, 4]], early_stopping=True, num_return_sequences=2, eos="frequent")),
]  # fmt: skip
CONSTRAINED_OUTPUT = HERE / "constrained_4_46_3.json"


def run() -> None:
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel

    sys.path.insert(0, str(HERE))
    from weights import GPT2_CONFIG, PAD, fill, prompts

    assert transformers.__version__ == VERSION, transformers.__version__
    model = fill(GPT2LMHeadModel(GPT2Config(**GPT2_CONFIG)))
    model.generation_config.eos_token_id = None
    ids, mask = prompts()
    greedy = model.generate(ids, attention_mask=mask, max_new_tokens=MAX_NEW_TOKENS, do_sample=False, pad_token_id=PAD)
    frequent = int(torch.mode(greedy[:, ids.size(1) + 2 :].reshape(-1)).values)
    for cases, output in ((CASES, OUTPUT), (CONSTRAINED_CASES, CONSTRAINED_OUTPUT)):
        record(model, cases, output, ids, mask, frequent)


def record(model, cases, output, ids, mask, frequent) -> None:
    import torch
    from weights import PAD

    records = []
    for name, options in cases:
        options = dict(options)
        if options.pop("eos", None) == "frequent":
            options["eos_token_id"] = frequent
        rows = options.pop("rows", list(range(ids.size(0))))
        with torch.no_grad():
            out = model.generate(ids[rows], attention_mask=mask[rows], max_new_tokens=MAX_NEW_TOKENS, do_sample=False, pad_token_id=PAD,
                                 return_dict_in_generate=True, output_scores=True, **options)  # fmt: skip
        records.append({"name": name, "options": options, "rows": rows, "sequences": out.sequences.tolist(),
                        "sequences_scores": out.sequences_scores.tolist()})  # fmt: skip
    meta = {"transformers": VERSION, "torch": torch.__version__, "max_new_tokens": MAX_NEW_TOKENS,
            "prompt_ids": ids.tolist(), "attention_mask": mask.tolist()}  # fmt: skip
    output.write_text(json.dumps({"meta": meta, "cases": records}, indent=1) + "\n")
    print(f"wrote {output}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"transformers=={VERSION}", "-d", tmp], check=True)
        site = Path(tmp) / "site"
        with zipfile.ZipFile(next(Path(tmp).glob("transformers-*.whl"))) as wheel:
            wheel.extractall(site)
        check = site / "transformers" / "dependency_versions_check.py"
        check.write_text(check.read_text().replace("for pkg in pkgs_to_check_at_runtime:", "for pkg in []:"))
        subprocess.run([sys.executable, __file__, "--run"], check=True, env={**__import__("os").environ, "PYTHONPATH": str(site)})


if __name__ == "__main__":
    run() if "--run" in sys.argv else main()
