"""generate() against transformers' generate on the same weights: identical token ids.

The HF models are random-init transformers models; ours get their weights (see conftest). All
prompts are batched and left padded, so positions and padding masks are exercised every time.
"""

from __future__ import annotations

import pytest
import torch

import scratchformers as sf
from scratchformers.errors import ConfigError, SequenceTooLongError, ShapeError
from scratchformers.generation import generate

PAD = 1
LENGTHS = [7, 3, 5]


def hf_generate(hf_model, ids, mask, **kwargs):
    kwargs.setdefault("pad_token_id", PAD)
    return hf_model.generate(ids, attention_mask=mask, do_sample=kwargs.pop("do_sample", False), **kwargs)


def frequent_token(sequences: torch.Tensor, prompt_len: int) -> int:
    """A token the model generates somewhere mid-continuation: used as EOS so that rows stop early."""
    generated = sequences[:, prompt_len + 2 :].reshape(-1)
    return int(torch.mode(generated).values)


@pytest.mark.parametrize("pair", ["gpt_pair", "llama_pair"])
def test_greedy_batched_left_padded_matches_hf(pair, prompts, request):
    hf, ours = request.getfixturevalue(pair)
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    expected = hf_generate(hf, ids, mask, max_new_tokens=24)
    assert torch.equal(generate(ours, ids, attention_mask=mask, max_new_tokens=24), expected)
    # the thin method on the model gives the same
    assert torch.equal(ours.generate(ids, attention_mask=mask, max_new_tokens=24), expected)


def test_cached_and_uncached_greedy_identical(gpt_pair, prompts):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    cached = generate(ours, ids, attention_mask=mask, max_new_tokens=16, use_cache=True)
    uncached = generate(ours, ids, attention_mask=mask, max_new_tokens=16, use_cache=False)
    assert torch.equal(cached, uncached)
    assert torch.equal(cached, hf_generate(hf, ids, mask, max_new_tokens=16))


def test_left_padding_does_not_change_a_prompt_continuation(gpt_pair, prompts):
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)
    batched = generate(ours, ids, attention_mask=mask, max_new_tokens=10)
    alone = generate(ours, ids[1:2, -LENGTHS[1] :], max_new_tokens=10)
    assert torch.equal(batched[1, -(LENGTHS[1] + 10) :], alone[0])


def test_greedy_with_eos_pads_finished_rows_like_hf(gpt_pair, prompts):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    eos = frequent_token(hf_generate(hf, ids, mask, max_new_tokens=24), ids.size(1))
    expected = hf_generate(hf, ids, mask, max_new_tokens=24, eos_token_id=eos)
    got = generate(ours, ids, attention_mask=mask, max_new_tokens=24, eos_token_id=eos, pad_token_id=PAD)
    assert torch.equal(got, expected)
    assert bool((got[:, ids.size(1) :] == PAD).any())  # some row really stopped early


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(num_return_sequences=4),
        dict(length_penalty=0.0, early_stopping=True),
        dict(length_penalty=2.0, early_stopping="never", num_return_sequences=2),
        dict(length_penalty=-1.0, early_stopping=False),
    ],
    ids=["default", "return4", "lp0-early", "lp2-never", "lp-neg"],
)
@pytest.mark.parametrize("with_eos", [False, True], ids=["no-eos", "eos"])
def test_beam_search_matches_hf(gpt_pair, prompts, options, with_eos):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    eos = None
    if with_eos:
        greedy = hf_generate(hf, ids, mask, max_new_tokens=20)
        eos = [frequent_token(greedy, ids.size(1)), 7]
    expected = hf_generate(hf, ids, mask, max_new_tokens=20, num_beams=4, eos_token_id=eos, **options)
    got = generate(ours, ids, attention_mask=mask, max_new_tokens=20, num_beams=4, eos_token_id=eos, pad_token_id=PAD, **options)
    assert torch.equal(got, expected)


def test_beam_search_llama_matches_hf(llama_pair, prompts):
    hf, ours = llama_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    expected = hf_generate(hf, ids, mask, max_new_tokens=16, num_beams=3, num_return_sequences=2)
    got = generate(ours, ids, attention_mask=mask, max_new_tokens=16, num_beams=3, num_return_sequences=2)
    assert torch.equal(got, expected)


def test_penalties_match_hf_with_left_padding(gpt_pair, prompts):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    options = dict(repetition_penalty=1.5, no_repeat_ngram_size=2, max_new_tokens=24)
    expected = hf_generate(hf, ids, mask, **options)
    assert torch.equal(generate(ours, ids, attention_mask=mask, **options), expected)
    assert not torch.equal(expected, hf_generate(hf, ids, mask, max_new_tokens=24))  # the penalties did something


def test_sampling_matches_hf_with_the_same_global_seed(gpt_pair, prompts):
    # Both draw with torch.multinomial from the default generator, so one seed gives one sample.
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    options = dict(do_sample=True, temperature=0.8, top_k=40, top_p=0.9, max_new_tokens=20)
    torch.manual_seed(123)
    expected = hf_generate(hf, ids, mask, **options)
    torch.manual_seed(123)
    assert torch.equal(generate(ours, ids, attention_mask=mask, **options), expected)


def test_seeded_sampling_is_reproducible(gpt_pair, prompts):
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return generate(ours, ids, attention_mask=mask, max_new_tokens=16, do_sample=True, generator=g)

    assert torch.equal(sample(5), sample(5))
    assert not torch.equal(sample(5), sample(6))


def test_temperature_zero_is_greedy(gpt_pair, prompts):
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)
    greedy = generate(ours, ids, attention_mask=mask, max_new_tokens=8)
    cold = generate(ours, ids, attention_mask=mask, max_new_tokens=8, do_sample=True, temperature=0.0)
    assert torch.equal(greedy, cold)


def test_num_return_sequences_with_sampling(gpt_pair, prompts):
    _, ours = gpt_pair
    ids, mask = prompts(LENGTHS, ours.config.vocab_size)
    g = torch.Generator().manual_seed(0)
    out = generate(ours, ids, attention_mask=mask, max_new_tokens=6, do_sample=True, num_return_sequences=3, generator=g)
    assert out.shape == (9, ids.size(1) + 6)
    assert torch.equal(out[0::3, : ids.size(1)], ids)  # rows are grouped by prompt, as in HF


def test_top_level_reexport_and_training_mode_restored(gpt_pair):
    _, ours = gpt_pair
    assert sf.generate is generate
    ours.train()
    try:
        a = generate(ours, torch.tensor([[5, 6, 7]]), max_new_tokens=4)
        assert ours.training  # restored
    finally:
        ours.eval()
    assert torch.equal(a, generate(ours, torch.tensor([[5, 6, 7]]), max_new_tokens=4))


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        (dict(temperature=-0.5), ConfigError, "temperature=-0.5"),
        (dict(top_p=0.0), ConfigError, "top_p=0.0"),
        (dict(top_p=1.2), ConfigError, "top_p=1.2"),
        (dict(top_k=-1), ConfigError, "top_k=-1"),
        (dict(num_beams=0), ConfigError, "num_beams=0"),
        (dict(max_new_tokens=0), ConfigError, "max_new_tokens=0"),
        (dict(repetition_penalty=0.0), ConfigError, "repetition_penalty=0.0"),
        (dict(early_stopping="sometimes"), ConfigError, "early_stopping='sometimes'"),
        (dict(num_beams=2, num_return_sequences=3), ConfigError, "num_return_sequences=3"),
        (dict(num_return_sequences=2), ConfigError, "num_return_sequences=2"),
        (dict(max_new_tokens=1000), SequenceTooLongError, "max_new_tokens=1000"),
        (dict(stop_strings=["x"]), ConfigError, "tokenizer"),
        (dict(compile_kernels="yes"), ConfigError, "compile_kernels='yes'"),
    ],
)
def test_invalid_arguments_raise_clear_errors(gpt_pair, kwargs, error, text):
    _, ours = gpt_pair
    kwargs.setdefault("max_new_tokens", 4)
    with pytest.raises(error, match=text):
        generate(ours, torch.tensor([[5, 6, 7]]), **kwargs)


def test_input_mistakes_raise_clear_errors(gpt_pair):
    _, ours = gpt_pair
    with pytest.raises(ShapeError, match="input_ids"):
        generate(ours, torch.tensor([5, 6, 7]), max_new_tokens=2)
    right_padded = torch.tensor([[1, 1, 0]])
    with pytest.raises(ConfigError, match="left padding"):
        generate(ours, torch.tensor([[5, 6, 7]]), attention_mask=right_padded, max_new_tokens=2)


@pytest.fixture(scope="module")
def seq2seq():
    from scratchformers.models import EncoderDecoder, EncoderDecoderConfig

    torch.manual_seed(0)
    config = EncoderDecoderConfig(
        vocab_size=64, max_positions=48, num_encoder_layers=2, num_decoder_layers=2, num_heads=4, d_model=32, d_ff=64, dropout=0.0
    )
    model = EncoderDecoder(config).eval()
    with torch.no_grad():  # varied outputs instead of one repeated token (see make_hf_gpt2)
        for block in model.decoder_blocks:
            block.ffn.down_proj.weight.mul_(8)
    g = torch.Generator().manual_seed(0)
    source = torch.randint(3, 64, (3, 9), generator=g)
    mask = torch.ones_like(source)
    mask[1, 6:] = 0  # encoder inputs may be right padded
    return model, source, mask


def test_encoder_decoder_greedy_equals_a_step_by_step_argmax(seq2seq):
    model, source, mask = seq2seq
    got = generate(model, source, attention_mask=mask, max_new_tokens=10)
    # Reference: rerun the full decoder on the whole prefix at every step, no cache, plain argmax.
    decoded = torch.full((3, 1), model.config.bos_token_id)
    with torch.no_grad():
        for _ in range(10):
            logits = model(source, attention_mask=mask, decoder_input_ids=decoded).logits[:, -1]
            decoded = torch.cat([decoded, logits.argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(got, decoded)
    assert len(set(got[:, 1:].reshape(-1).tolist())) > 3


def test_encoder_decoder_beam_search_cached_equals_uncached(seq2seq):
    model, source, mask = seq2seq
    options = dict(attention_mask=mask, max_new_tokens=10, num_beams=3, num_return_sequences=2, eos_token_id=2)
    cached = generate(model, source, **options)
    assert torch.equal(cached, generate(model, source, use_cache=False, **options))
    assert cached.shape[0] == 6 and bool((cached[:, 0] == model.config.bos_token_id).all())


def test_generator_on_another_device_is_a_clear_error(gpt_pair):
    _, ours = gpt_pair
    from types import SimpleNamespace

    gpu_generator = SimpleNamespace(device=torch.device("cuda"))  # stands in for a CUDA generator
    with pytest.raises(ConfigError, match="generator is on cuda"):
        generate(ours, torch.tensor([[5, 6]]), max_new_tokens=2, do_sample=True, generator=gpu_generator)


def test_beam_sampling_matches_hf_with_the_same_global_seed(gpt_pair, prompts):
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    options = dict(do_sample=True, num_beams=3, top_k=30, temperature=1.3, max_new_tokens=12, num_return_sequences=2)
    torch.manual_seed(7)
    expected = hf_generate(hf, ids, mask, **options)
    torch.manual_seed(7)
    assert torch.equal(generate(ours, ids, attention_mask=mask, **options), expected)


def test_stop_strings_with_eos_pad_the_stopped_row_like_hf(gpt_pair, prompts):
    # A stop-string hit with an EOS id set: the stopped row is padded while the others go on.
    from transformers import PreTrainedTokenizerFast

    from scratchformers.assets import asset_path
    from tokenizers import ByteLevelBPETokenizer

    folder = asset_path("gpt2-tokenizer")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=ByteLevelBPETokenizer(str(folder / "encoder.json"), str(folder / "vocab.bpe"))
    )
    hf, ours = gpt_pair
    ids, mask = prompts(LENGTHS, hf.config.vocab_size)
    free = generate(ours, ids, attention_mask=mask, max_new_tokens=16)
    new = free[0, ids.size(1) :].tolist()
    # text the first row is going to produce (skipping pieces of split UTF-8 characters)
    stop = next(t for i in range(4, 14) if "\ufffd" not in (t := tokenizer.decode(new[i : i + 2])) and t.strip())
    options = dict(max_new_tokens=16, stop_strings=stop, eos_token_id=3, tokenizer=tokenizer)
    expected = hf_generate(hf, ids, mask, **options)
    got = generate(ours, ids, attention_mask=mask, pad_token_id=PAD, **options)
    assert torch.equal(got, expected)
    assert bool((got[0, ids.size(1) :] == PAD).any())
