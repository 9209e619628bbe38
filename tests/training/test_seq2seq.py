"""EncoderDecoder learns to reverse strings of 5-20 characters: >= 95% exact match, greedy, < 60 s."""

import time

import torch

from scratchformers.models import EncoderDecoder, EncoderDecoderConfig
from scratchformers.models.encoder_decoder.model import shift_right
from scratchformers.training.seq2seq import BOS, EOS, PAD, ReversalData, exact_match
from scratchformers.training.trainer import Trainer


def test_reversal_batches_are_teacher_forcing_shaped():
    data = ReversalData(3, seed=0)
    batch = data.next_batch()
    for i in range(3):
        n = int(batch["attention_mask"][i].sum())  # source + EOS
        source = batch["input_ids"][i, : n - 1].tolist()
        assert batch["input_ids"][i, n - 1] == EOS and (batch["input_ids"][i, n:] == PAD).all()
        labels = batch["labels"][i].tolist()
        assert labels[: n] == source[::-1] + [EOS] and all(t == -100 for t in labels[n:])
        # what the model reads: the labels shifted right behind BOS, padding as PAD
        decoder_inputs = shift_right(batch["labels"], BOS, PAD)[i].tolist()
        assert decoder_inputs[: n] == [BOS] + source[::-1] and all(t == PAD for t in decoder_inputs[n + 1 :])
        assert 5 <= n - 1 <= 20
    assert set(batch) == {"input_ids", "attention_mask", "labels"}


def test_string_reversal_reaches_95_percent_exact_match(make_config):
    start = time.process_time()  # CPU seconds: wall time on a shared machine measures the neighbours
    torch.manual_seed(0)
    data = ReversalData(64, seed=0)
    model = EncoderDecoder(EncoderDecoderConfig(vocab_size=data.vocab_size, max_positions=32, num_encoder_layers=2,
                                                num_decoder_layers=2, num_heads=4, d_model=64, d_ff=256, dropout=0.0))
    cfg = make_config(task="seq2seq", max_steps=500, lr=4e-3, warmup_steps=50, min_lr_ratio=0.0, weight_decay=0.01,
                      betas=(0.9, 0.98), batch_size=64, log_every=100)
    Trainer(model, cfg, data).fit()
    accuracy = exact_match(model, data, num_examples=500)  # fresh strings, greedy decoding with a KV cache
    elapsed = time.process_time() - start
    assert accuracy >= 0.95, accuracy
    assert elapsed < 60, elapsed
