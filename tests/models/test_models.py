"""Model-level properties: causality, positional signal, caching, padding, errors, and learning."""

import time

import pytest
import torch

import scratchformers as sf
from scratchformers.errors import ConfigError, DTypeError, SequenceTooLongError, ShapeError, VocabRangeError


def tiny_gpt(**kw):
    cfg = dict(vocab_size=64, max_positions=32, num_layers=2, num_heads=4, d_model=32)
    cfg.update(kw)
    return sf.GPT(sf.GPTConfig(**cfg)).eval()


def tiny_llama(**kw):
    cfg = dict(vocab_size=64, max_positions=32, num_layers=2, num_heads=4, num_kv_heads=2, d_model=32, d_ff=48)
    cfg.update(kw)
    return sf.LlamaForCausalLM(sf.LlamaConfig(**cfg)).eval()


def tiny_seq2seq():
    return sf.EncoderDecoder(sf.EncoderDecoderConfig(vocab_size=40, d_model=32, num_heads=4, d_ff=64, dropout=0.0)).eval()


DECODERS = {"gpt": tiny_gpt, "llama": tiny_llama}


@pytest.mark.parametrize("name", DECODERS)
def test_decoder_does_not_see_the_future(name):
    torch.manual_seed(0)
    model = DECODERS[name]()
    x = torch.randint(0, 64, (2, 12))
    for t in (0, 5, 10):
        y = x.clone()
        y[:, t + 1 :] = torch.randint(0, 64, y[:, t + 1 :].shape)
        with torch.no_grad():
            a, b = model(x).logits, model(y).logits
        torch.testing.assert_close(a[:, : t + 1], b[:, : t + 1], atol=1e-5, rtol=1e-5)
        assert not torch.allclose(a[:, t + 1 :], b[:, t + 1 :])


def test_encoder_decoder_decoder_is_causal():
    torch.manual_seed(0)
    model = tiny_seq2seq()
    src, tgt = torch.randint(3, 40, (2, 7)), torch.randint(3, 40, (2, 9))
    changed = tgt.clone()
    changed[:, 5:] = (changed[:, 5:] + 1) % 40
    with torch.no_grad():
        a, b = model(src, decoder_input_ids=tgt).logits, model(src, decoder_input_ids=changed).logits
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("positional", ["none", "sinusoidal", "learned", "rope", "alibi"])
def test_positional_signal_breaks_permutation_equivariance(positional):
    torch.manual_seed(0)
    model = sf.TransformerEncoder(
        sf.EncoderConfig(vocab_size=50, num_layers=2, num_heads=4, d_model=32, d_ff=64, dropout=0.0, positional=positional)
    ).eval()
    x = torch.randint(0, 50, (1, 10))
    perm = torch.randperm(10)
    with torch.no_grad():
        out, out_perm = model(x).last_hidden_state, model(x[:, perm]).last_hidden_state
    equivariant = torch.allclose(out[:, perm], out_perm, atol=1e-5)
    assert equivariant == (positional == "none")


@pytest.mark.parametrize("name", DECODERS)
def test_kv_cache_decoding_equals_full_forward(name):
    torch.manual_seed(1)
    model = DECODERS[name]()
    x = torch.randint(0, 64, (3, 10))
    with torch.no_grad():
        full = model(x).logits
        cache = model.new_cache(3, 16)
        pieces = [model(x[:, :6], cache=cache).logits]
        for t in range(6, 10):
            pieces.append(model(x[:, t : t + 1], cache=cache).logits)
    torch.testing.assert_close(torch.cat(pieces, 1), full, atol=1e-5, rtol=1e-4)
    assert cache.length == 10


@pytest.mark.parametrize("name", DECODERS)
def test_left_padding_gives_the_same_logits_as_no_padding(name):
    torch.manual_seed(2)
    model = DECODERS[name]()
    short, long = torch.randint(0, 64, (1, 5)), torch.randint(0, 64, (1, 8))
    batch = torch.cat([torch.cat([torch.zeros(1, 3, dtype=torch.long), short], 1), long])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1], [1] * 8])
    with torch.no_grad():
        padded = model(batch, attention_mask=mask).logits
        torch.testing.assert_close(padded[0, 3:], model(short).logits[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(padded[1], model(long).logits[0], atol=1e-5, rtol=1e-4)
        # and step by step with a cache and a growing mask
        cache = model.new_cache(2, 12)
        model(batch, attention_mask=mask, cache=cache)
        nxt = torch.randint(0, 64, (2, 1))
        step = model(nxt, attention_mask=torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], 1), cache=cache).logits
        ref_short = model(torch.cat([short, nxt[:1]], 1)).logits[0, -1]
    torch.testing.assert_close(step[0, -1], ref_short, atol=1e-5, rtol=1e-4)


def test_encoder_decoder_cache_equals_full_forward():
    torch.manual_seed(3)
    model = tiny_seq2seq()
    src, tgt = torch.randint(3, 40, (2, 7)), torch.randint(3, 40, (2, 6))
    with torch.no_grad():
        full = model(src, decoder_input_ids=tgt).logits
        memory = model.encode(src)
        cache = model.new_cache(2, 10)
        steps = [model(decoder_input_ids=tgt[:, t : t + 1], encoder_out=memory, cache=cache).logits for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("factory", [tiny_gpt, tiny_llama])
def test_weights_path_and_fused_path_agree(factory):
    model = factory()
    x = torch.randint(0, 64, (2, 9))
    with torch.no_grad():
        fused = model(x).logits
        out = model(x, need_weights=True)
    torch.testing.assert_close(out.logits, fused, atol=1e-5, rtol=1e-4)
    assert len(out.attentions) == 2 and out.attentions[0].shape == (2, 4, 9, 9)
    torch.testing.assert_close(out.attentions[0].sum(-1), torch.ones(2, 4, 9))
    assert torch.all(out.attentions[0].triu(1) == 0)  # causal weights


def test_bert_shapes_pooling_and_padding_invariance():
    torch.manual_seed(4)
    cfg = sf.BertConfig(vocab_size=100, num_layers=2, num_heads=4, d_model=32, d_ff=64, dropout=0.0, attention_dropout=0.0)
    model = sf.BertForSequenceClassification(cfg).eval()
    x = torch.randint(5, 100, (1, 6))
    padded = torch.cat([x, torch.zeros(1, 3, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 6 + [0] * 3])
    with torch.no_grad():
        torch.testing.assert_close(model(padded, mask).logits, model(x).logits, atol=1e-5, rtol=1e-4)
        mean_model = sf.BertForSequenceClassification(sf.BertConfig(**{**cfg.__dict__, "pooling": "mean"})).eval()
        torch.testing.assert_close(mean_model(padded, mask).logits, mean_model(x).logits, atol=1e-5, rtol=1e-4)
    mlm = sf.BertForMaskedLM(cfg)
    out = mlm(x, labels=torch.where(torch.rand(1, 6) < 0.5, x, -100))
    assert out.logits.shape == (1, 6, 100) and torch.isfinite(out.loss)
    assert mlm.mlm_decoder.weight is mlm.bert.embeddings.token_embedding.weight


def test_parameter_counts_match_published_sizes():
    # GPT-2 small has 124,439,808 parameters (tied head, learned positions), BERT-base 109,482,240.
    assert sf.GPT(sf.GPTConfig()).num_parameters() == 124_439_808
    assert sf.BertModel(sf.BertConfig()).num_parameters() == 109_482_240


def test_gpt_init_is_gpt2_style():
    torch.manual_seed(0)
    model = sf.GPT(sf.GPTConfig(vocab_size=500, num_layers=8, num_heads=4, d_model=256, max_positions=64))
    assert model.lm_head.weight is model.token_embedding.weight
    assert model.blocks[0].self_attn.q_proj.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert model.blocks[0].ffn.down_proj.weight.std().item() == pytest.approx(0.02 / 4, rel=0.05)  # 1/sqrt(2*8)
    enc = sf.TransformerEncoder(sf.EncoderConfig(d_model=64, num_heads=4, d_ff=128, num_layers=1))
    w = enc.blocks[0].ffn.up_proj.weight
    bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5  # xavier-uniform
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.9 * bound


def test_input_errors_are_clear():
    model = tiny_gpt()
    with pytest.raises(SequenceTooLongError, match=r"max_positions=32.*IndexError.*[Tt]runcate"):
        model(torch.randint(0, 64, (1, 33)))
    with pytest.raises(VocabRangeError, match=r"outside \[0, 64\).*max=64"):
        model(torch.tensor([[1, 2, 64]]))
    with pytest.raises(VocabRangeError, match="min=-1"):
        model(torch.tensor([[1, -1]]))
    with pytest.raises(DTypeError, match="integers"):
        model(torch.rand(1, 4))
    with pytest.raises(ShapeError, match=r"input_ids\[None\]"):
        model(torch.tensor([1, 2, 3]))
    with pytest.raises(ShapeError, match="attention_mask"):
        model(torch.tensor([[1, 2, 3]]), attention_mask=torch.ones(1, 4))
    with pytest.raises(ConfigError, match="num_heads=5 is invalid: expected a divisor of d_model=32"):
        sf.GPTConfig(d_model=32, num_heads=5)
    with pytest.raises(ConfigError, match="vocab_size"):
        sf.GPT(sf.GPTConfig(vocab_size=0))
    with pytest.raises(ConfigError, match="pooling"):
        sf.BertModel(sf.BertConfig(pooling="max"))
    with pytest.raises(ConfigError, match="num_labels"):
        bert = sf.BertForSequenceClassification(sf.BertConfig(vocab_size=50, num_layers=1, d_model=16, num_heads=2, d_ff=32))
        bert(torch.tensor([[1, 2]]), labels=torch.tensor([3]))


def test_tiny_gpt_overfits_one_batch_quickly():
    torch.manual_seed(0)
    model = sf.GPT(sf.GPTConfig(vocab_size=64, max_positions=32, num_layers=2, num_heads=4, d_model=64)).train()
    x = torch.randint(0, 64, (4, 17))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    start = time.time()
    for _ in range(300):
        loss = model(x, labels=x).loss  # 16 next-token predictions per row
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.1:
            break
    assert loss.item() < 0.1
    assert time.time() - start < 30


def test_llama_applies_rotary_positions():
    # Regression: a class attribute `rope = None` once shadowed the RotaryEmbedding submodule, so
    # Llama ran with no positional signal at all. RoPE makes logits depend on relative distance only.
    torch.manual_seed(5)
    model = tiny_llama()
    assert isinstance(model.rope, sf.RotaryEmbedding)
    x = torch.randint(0, 64, (1, 2))
    with torch.no_grad():
        near = model(x, position_ids=torch.tensor([[0, 1]])).logits[0, -1]
        far = model(x, position_ids=torch.tensor([[0, 6]])).logits[0, -1]
        far_shifted = model(x, position_ids=torch.tensor([[10, 16]])).logits[0, -1]
    assert not torch.allclose(near, far, atol=1e-4)  # distance 1 vs 6 changes the output
    torch.testing.assert_close(far, far_shifted, atol=1e-5, rtol=1e-4)  # same distance, same output


def test_every_generative_model_has_the_generate_method():
    torch.manual_seed(6)
    src = torch.randint(3, 40, (2, 7))
    start = torch.full((2, 1), 1)
    seq2seq = tiny_seq2seq()
    torch.testing.assert_close(
        seq2seq.generate(src, max_new_tokens=4, decoder_input_ids=start),
        sf.generate(seq2seq, src, max_new_tokens=4, decoder_input_ids=start),
    )
    for factory in DECODERS.values():
        model = factory()
        prompt = torch.randint(0, 64, (1, 5))
        torch.testing.assert_close(model.generate(prompt, max_new_tokens=3), sf.generate(model, prompt, max_new_tokens=3))


def test_gpt_compiles_as_one_graph_and_matches_eager():
    # Input checks read tensor values (a graph break under torch.compile); they are skipped while
    # tracing, so the whole forward and backward compile as one graph (fullgraph=True fails otherwise).
    torch.manual_seed(7)
    model = tiny_gpt()
    x = torch.randint(0, 64, (2, 16))
    compiled = torch.compile(model, fullgraph=True)
    out = compiled(x, attention_mask=torch.ones_like(x), labels=x)
    out.loss.backward()
    torch.testing.assert_close(out.logits, model(x, labels=x).logits, atol=1e-5, rtol=1e-4)
    with pytest.raises(VocabRangeError):  # eager calls still validate
        model(torch.tensor([[64]]))
