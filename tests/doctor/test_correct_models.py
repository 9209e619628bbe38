"""No failure on correct models: ours, Hugging Face GPT-2/BERT (random init), the real MiniLM;
and the pretrained-vs-random check tells MiniLM from the same architecture freshly initialised."""

from __future__ import annotations

import pytest
import torch

from scratchformers.doctor import check_model
from scratchformers.doctor.weights import classify_tensor

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


def _ids(vocab, batch=2, length=10, seed=0):
    return torch.randint(5, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def _assert_clean(report, *, causal):
    assert report.ok, str(report)
    assert not report.warnings, str(report)
    expected_ok = {"attention.softmax_axis", "attention.scaling", "nan_inf", "position_signal", "gradient_flow", "dropout"}
    if causal:
        expected_ok.add("causal_leak")
    assert expected_ok <= report.ids("ok"), str(report)


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return transformers.BertModel.from_pretrained(minilm_dir).eval()


def test_our_gpt():
    from scratchformers.models import GPT, GPTConfig

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=100, max_positions=32, num_layers=2, num_heads=4, d_model=32)).eval()
    report = check_model(model, _ids(100))  # causal inferred from GPTConfig
    _assert_clean(report, causal=True)


def test_our_bert():
    from scratchformers.models import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=100, max_positions=32, num_layers=2, num_heads=4, d_model=32, d_ff=64)).eval()
    report = check_model(model, _ids(100))
    assert report.get("causal_leak").status == "skip"  # inferred: an encoder
    _assert_clean(report, causal=False)


def test_our_llama():
    from scratchformers.models import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=100, max_positions=32, num_layers=2, num_heads=4, num_kv_heads=2, d_model=32, d_ff=64)
    report = check_model(LlamaForCausalLM(config).eval(), _ids(100))
    _assert_clean(report, causal=True)


def test_hf_gpt2_random_init():
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_head=4, n_embd=32, vocab_size=100, n_positions=32)
    report = check_model(transformers.GPT2LMHeadModel(config).eval(), _ids(100))
    _assert_clean(report, causal=True)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_hf_bert_random_init(attn):
    torch.manual_seed(0)
    config = transformers.BertConfig(num_hidden_layers=2, num_attention_heads=4, hidden_size=32, intermediate_size=64,
                                     vocab_size=100, max_position_embeddings=32, attn_implementation=attn)
    model = transformers.BertModel(config).eval()
    report = check_model(model, _ids(100), causal=False)
    _assert_clean(report, causal=False)
    if attn == "eager":  # the explicit softmax path is traced: scale read off the graph
        assert "1/sqrt(d_k) (d_k=8)" in report.get("attention.scaling").message


def test_real_minilm_is_clean_and_pretrained(minilm):
    report = check_model(minilm, _ids(30522, batch=1, length=8))  # pretrained inferred from name_or_path
    _assert_clean(report, causal=False)
    assert report.get("pretrained").status == "ok"


def test_random_minilm_architecture_looks_random(minilm):
    torch.manual_seed(0)
    fresh = transformers.BertModel(minilm.config).eval()  # same config, weights never loaded
    report = check_model(fresh, _ids(30522, batch=1, length=8), pretrained=True)
    assert {f.id for f in report.failures} == {"pretrained"}, str(report)
    assert "looks randomly initialised" in report.get("pretrained").message


def test_strict_false_load_with_wrong_prefix_is_caught(minilm):
    """The classic silent failure: keys with a prefix the model does not have, strict=False."""
    torch.manual_seed(0)
    fresh = transformers.BertModel(minilm.config).eval()
    state = {f"bert.{k}": v for k, v in minilm.state_dict().items()}
    result = fresh.load_state_dict(state, strict=False)
    assert result.missing_keys  # nothing was loaded
    report = check_model(fresh, _ids(30522), pretrained=True, checks=("pretrained",))
    assert report.get("pretrained").status == "fail"


def test_comparison_with_a_reference_checkpoint(minilm, minilm_dir):
    same = check_model(minilm, _ids(30522), reference=minilm_dir / "model.safetensors", checks=("pretrained",))
    assert same.get("pretrained").status == "ok" and "103/103 tensors equal" in same.get("pretrained").message
    torch.manual_seed(0)
    fresh = transformers.BertModel(minilm.config)
    other = check_model(fresh, _ids(30522), reference=minilm_dir, checks=("pretrained",))
    assert other.get("pretrained").status == "fail"


def test_minilm_through_our_loader(minilm_dir):
    from scratchformers.hub import from_pretrained

    model = from_pretrained(minilm_dir).eval()
    report = check_model(model, _ids(30522, batch=1, length=8), pretrained=True)
    _assert_clean(report, causal=False)
    assert report.get("pretrained").status == "ok"


class TorchLayersLM(torch.nn.Module):
    """A user model built from torch's own nn.TransformerEncoder (fused attention, fast path)."""

    def __init__(self, causal):
        super().__init__()
        self.causal = causal
        self.emb, self.pos = torch.nn.Embedding(100, 32), torch.nn.Embedding(32, 32)
        layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = torch.nn.Linear(32, 100)

    def forward(self, ids):
        x = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
        mask = torch.nn.Transformer.generate_square_subsequent_mask(ids.shape[1]) if self.causal else None
        return self.head(self.encoder(x, mask=mask, is_causal=self.causal))


@pytest.mark.parametrize("causal", [False, True])
def test_user_model_from_torch_layers_has_no_failure(causal):
    torch.manual_seed(0)
    report = check_model(TorchLayersLM(causal).eval(), _ids(100), causal=causal, pretrained=False)
    assert report.ok, str(report)
    if causal:
        assert report.get("causal_leak").status == "ok"


def test_init_classifier_against_torch_initialisers():
    """Independent reference: tensors drawn by torch's own initialisers are recognised, a
    heavy-tailed (trained-like) tensor is not."""
    gen = torch.Generator().manual_seed(0)
    w = torch.empty(256, 512)
    torch.nn.init.normal_(w, 0.0, 0.02, generator=gen)
    assert classify_tensor(w, 512, 256) == "normal(0.02)"
    torch.nn.init.xavier_uniform_(w, generator=gen)
    assert classify_tensor(w, 512, 256) == "xavier-uniform"
    linear = torch.nn.Linear(512, 256)
    assert classify_tensor(linear.weight, 512, 256) == "pytorch default (kaiming-uniform)"
    t_dist = torch.distributions.StudentT(3.0).sample((256, 512)) * 0.02  # heavy tails, like trained weights
    assert classify_tensor(t_dist, 512, 256) is None
