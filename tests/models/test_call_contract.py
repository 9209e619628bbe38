"""One call contract for every model: ``model(input_ids, attention_mask=None, labels=None, **kw)``.

Causal-LM losses are compared with transformers' own loss on the same weights (GPT2LMHeadModel,
LlamaForCausalLM, loaded through the hub conversion); the other heads with a cross-entropy
written here by hand.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import scratchformers as sf
from scratchformers.errors import ConfigError, ShapeError

transformers = pytest.importorskip("transformers")


def _ids(vocab: int, shape=(3, 11), seed: int = 3) -> torch.Tensor:
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def _hf_gpt2():
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=90, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                                     initializer_range=0.2, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(config).eval()


def _hf_llama():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=90, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                      rms_norm_eps=1e-5, initializer_range=0.2, tie_word_embeddings=False)
    return transformers.LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("make_hf", [_hf_gpt2, _hf_llama], ids=["gpt2", "llama"])
def test_causal_lm_loss_equals_transformers_loss_on_the_same_weights(make_hf, tmp_path):
    hf = make_hf()
    hf.save_pretrained(tmp_path)
    ours = sf.from_pretrained(tmp_path)
    ids = _ids(90)
    labels = ids.clone()
    labels[0, 4:7] = -100  # ignored positions
    labels[2, :] = -100
    labels[2, 5] = ids[2, 5]
    mask = torch.ones_like(ids)
    with torch.no_grad():
        for kwargs in ({"labels": ids}, {"labels": labels}, {"labels": ids, "attention_mask": mask}):
            expected = hf(ids, **kwargs).loss
            got = ours(ids, **kwargs).loss
            assert abs(got.item() - expected.item()) <= 1e-5, kwargs.keys()


def test_causal_lm_loss_is_the_shifted_cross_entropy():
    # The same property, written out: position t is scored on token t + 1; -100 drops a position.
    torch.manual_seed(1)
    model = sf.GPT(sf.GPTConfig(vocab_size=50, max_positions=16, num_layers=1, num_heads=2, d_model=16)).eval()
    ids = _ids(50, (2, 9))
    labels = ids.clone()
    labels[1, 3] = -100
    with torch.no_grad():
        out = model(ids, labels=labels)
    logits, targets = out.logits[:, :-1].reshape(-1, 50), labels[:, 1:].reshape(-1)
    keep = targets != -100
    by_hand = -(logits[keep].log_softmax(-1).gather(1, targets[keep, None])).mean()
    torch.testing.assert_close(out.loss, by_hand)
    assert keep.sum() == 2 * 8 - 1


def test_bert_mlm_and_classification_keep_their_label_semantics():
    torch.manual_seed(2)
    cfg = sf.BertConfig(vocab_size=60, max_positions=16, num_layers=1, num_heads=2, d_model=16, d_ff=32,
                        dropout=0.0, attention_dropout=0.0, num_labels=3)
    mlm = sf.BertForMaskedLM(cfg).eval()
    ids = _ids(60, (2, 7))
    with torch.no_grad():
        out = mlm(ids, labels=ids)  # MLM: no shift, each position against its own label
        torch.testing.assert_close(out.loss, F.cross_entropy(out.logits.reshape(-1, 60), ids.reshape(-1)))
        masked = torch.full_like(ids, -100)
        masked[:, 2] = ids[:, 2]
        out = mlm(ids, torch.ones_like(ids), masked)  # positional: input_ids, attention_mask, labels
        torch.testing.assert_close(out.loss, F.cross_entropy(out.logits[:, 2], ids[:, 2]))
    classifier = sf.BertForSequenceClassification(cfg).eval()
    classes = torch.tensor([0, 2])
    with torch.no_grad():
        out = classifier(ids, labels=classes)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, classes))


def test_encoder_decoder_reads_labels_shifted_right_behind_the_start_token():
    torch.manual_seed(3)
    config = sf.EncoderDecoderConfig(vocab_size=40, max_positions=16, d_model=32, num_heads=4, d_ff=64, dropout=0.0)
    model = sf.EncoderDecoder(config).eval()
    source, target = _ids(40, (2, 7)), _ids(40, (2, 6), seed=4)
    target[1, 4:] = -100  # padding in the labels
    decoder_inputs = torch.tensor([[config.bos_token_id, *target[0, :5].tolist()],
                                   [config.bos_token_id, *target[1, :4].tolist(), config.pad_token_id]])
    with torch.no_grad():
        out = model(source, labels=target)
        explicit = model(source, decoder_input_ids=decoder_inputs).logits
    torch.testing.assert_close(out.logits, explicit)
    keep = target != -100
    torch.testing.assert_close(out.loss, F.cross_entropy(explicit[keep], target[keep]))
    with pytest.raises(ConfigError, match="labels=.*decoder_input_ids="):
        model(source)
    with pytest.raises(ShapeError, match=r"attention_mask must be \(batch, seq\) = \(2, 7\).*decoder_input_ids="):
        model(source, decoder_inputs, labels=target)  # an old positional decoder input lands on attention_mask


@pytest.mark.parametrize("make", [
    lambda: sf.GPT(sf.GPTConfig(vocab_size=20, max_positions=8, num_layers=1, num_heads=2, d_model=8)),
    lambda: sf.LlamaForCausalLM(sf.LlamaConfig(vocab_size=20, max_positions=8, num_layers=1, num_heads=2, d_model=8,
                                               d_ff=16)),
    lambda: sf.EncoderDecoder(sf.EncoderDecoderConfig(vocab_size=20, max_positions=8, d_model=8, num_heads=2, d_ff=16)),
], ids=["gpt", "llama", "encoder-decoder"])
def test_old_targets_keyword_names_labels_and_the_shift(make):
    ids = torch.randint(0, 20, (1, 5))
    with pytest.raises(ConfigError, match=r"targets=.*labels=.*shifts them inside.*pre-shifted") as info:
        make()(ids, targets=ids)
    assert "\n" not in str(info.value)
    with pytest.raises(TypeError, match="unexpected keyword argument.*'lables'"):
        make()(ids, lables=ids)


def test_llama_body_and_causal_lm_are_siblings_with_the_same_parameter_names():
    config = sf.LlamaConfig(vocab_size=30, max_positions=8, num_layers=1, num_heads=2, d_model=8, d_ff=16)
    body, lm = sf.LlamaModel(config), sf.LlamaForCausalLM(config)
    assert not isinstance(body, sf.LlamaForCausalLM) and not isinstance(lm, sf.LlamaModel)
    assert set(body.state_dict()) == set(lm.state_dict()) - {"lm_head.weight"}
    assert body.lm_head is None
    ids = torch.randint(0, 30, (1, 4))
    lm.load_state_dict(body.state_dict(), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(lm(ids).last_hidden_state, body(ids).last_hidden_state)


def test_every_model_takes_the_same_call_and_trains_from_it():
    # The acceptance line: model(ids, labels=...).loss on all five (classification labels are (B,)).
    bert = dict(vocab_size=30, max_positions=8, num_layers=1, num_heads=2, d_model=8, d_ff=16)
    models = {
        "gpt": sf.GPT(sf.GPTConfig(vocab_size=30, max_positions=8, num_layers=1, num_heads=2, d_model=8)),
        "llama": sf.LlamaForCausalLM(sf.LlamaConfig(**bert)),
        "bert-mlm": sf.BertForMaskedLM(sf.BertConfig(**bert)),
        "bert-classification": sf.BertForSequenceClassification(sf.BertConfig(**bert)),
        "encoder-decoder": sf.EncoderDecoder(sf.EncoderDecoderConfig(vocab_size=30, max_positions=8, d_model=8,
                                                                     num_heads=2, d_ff=16)),
    }
    ids = _ids(30, (2, 6))
    for name, model in models.items():
        labels = torch.tensor([0, 1]) if name == "bert-classification" else ids
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
        out = model(**batch)
        assert out.loss.dim() == 0 and torch.isfinite(out.loss), name
        out.loss.backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad), name
