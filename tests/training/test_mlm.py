"""BERT masking: 15% of the eligible tokens selected; of those 80% [MASK], 10% random, 10% kept."""

import numpy as np
import pytest
import torch

from scratchformers.training.mlm import MaskedWindows, mask_tokens

MASK, SPECIALS = 4, (0, 1, 2, 3, 4)


def test_masking_statistics():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 1000, (400, 100), generator=gen)
    ids[:, 0], ids[:, -1] = 1, 2  # [CLS] ... [SEP]
    attention = torch.ones_like(ids)
    attention[:, 90:] = 0  # padding
    ids[:, 90:] = 0
    inputs, labels = mask_tokens(ids, vocab_size=1000, mask_token_id=MASK, special_ids=SPECIALS,
                                 attention_mask=attention, generator=gen)
    eligible = (attention == 1) & ~torch.isin(ids, torch.tensor(SPECIALS))
    selected = labels != -100
    assert not (selected & ~eligible).any()  # never specials, never padding
    assert torch.equal(labels[selected], ids[selected])  # labels are the original tokens
    rate = selected.sum().item() / eligible.sum().item()
    assert rate == pytest.approx(0.15, abs=0.006)  # n ~ 35k: 0.006 is > 3 sigma
    n = selected.sum().item()
    masked = (inputs[selected] == MASK).sum().item() / n
    kept = (inputs[selected] == ids[selected]).sum().item() / n
    randomized = 1 - masked - kept
    assert masked == pytest.approx(0.8, abs=0.02)
    assert kept == pytest.approx(0.1, abs=0.015)
    assert randomized == pytest.approx(0.1, abs=0.015)
    assert torch.equal(inputs[~selected], ids[~selected])  # unselected tokens untouched


def test_masked_windows_batches_are_resumable():
    ids = np.arange(5, 505, dtype=np.uint16)
    src = MaskedWindows(ids, 16, 4, vocab_size=600, cls_id=1, sep_id=2, mask_id=MASK, special_ids=SPECIALS, seed=0)
    src.next_batch()
    state = src.state_dict()
    a = src.next_batch()
    other = MaskedWindows(ids, 16, 4, vocab_size=600, cls_id=1, sep_id=2, mask_id=MASK, special_ids=SPECIALS, seed=9)
    other.load_state_dict(state)
    b = other.next_batch()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert a["input_ids"].shape == (4, 16)
    assert (a["input_ids"][:, 0] == 1).all() and (a["input_ids"][:, -1] == 2).all()
    assert (a["labels"][:, [0, -1]] == -100).all()


def test_bert_mlm_learns_on_masked_windows(make_config):
    from scratchformers.models import BertConfig, BertForMaskedLM
    from scratchformers.training.trainer import Trainer

    torch.manual_seed(0)
    ids = np.tile(np.arange(5, 25, dtype=np.uint16), 100)  # a fully predictable stream
    model = BertForMaskedLM(BertConfig(vocab_size=32, max_positions=16, num_layers=2, num_heads=2, d_model=64,
                                       d_ff=128, dropout=0.0, attention_dropout=0.0))
    src = MaskedWindows(ids, 16, 16, vocab_size=32, cls_id=1, sep_id=2, mask_id=MASK, special_ids=SPECIALS)
    history = Trainer(model, make_config(max_steps=300, lr=3e-3, warmup_steps=10, batch_size=16), src).fit()
    # ln(20) = 3.0 is the best a model can do without reading the neighbours of a masked token
    assert history[0]["loss"] > 3.0
    assert np.mean([r["loss"] for r in history[-10:]]) < 2.3
