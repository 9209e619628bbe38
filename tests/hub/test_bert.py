"""BERT: MiniLM parity with transformers on real sentences, and HF <-> ours round trips."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from scratchformers.hub import from_pretrained, load_tokenizer_for, save_pretrained
from scratchformers.models import BertForMaskedLM, BertForSequenceClassification, BertModel
from scratchformers.models.bert import mean_pool

transformers = pytest.importorskip("transformers")

SENTENCES = [
    "A gripping, beautifully acted thriller that never lets go.",
    "The plot is thin and the jokes fall flat.",
    "Tokenization handles unaffable words: transformers' self-attention!",
]


@pytest.fixture(scope="session")
def minilm_models(minilm_dir):
    from transformers import BertModel as HFBertModel

    return from_pretrained(minilm_dir), HFBertModel.from_pretrained(minilm_dir).eval()


def test_minilm_loads_as_bert_model(minilm_models):
    ours, ref = minilm_models
    assert type(ours) is BertModel
    c = ours.config
    assert (c.num_layers, c.d_model, c.num_heads, c.d_ff, c.vocab_size) == (6, 384, 12, 1536, 30522)
    assert ours.num_parameters() == sum(p.numel() for p in ref.parameters())


def test_minilm_wordpiece_ids_match_transformers(minilm_dir):
    from transformers import AutoTokenizer

    ours = load_tokenizer_for(minilm_dir)(SENTENCES, padding=True)
    ref = AutoTokenizer.from_pretrained(minilm_dir)(SENTENCES, padding=True)
    assert ours["input_ids"] == ref["input_ids"]
    assert ours["attention_mask"] == ref["attention_mask"]


def test_minilm_hidden_states_and_sentence_embeddings_match(minilm_models, minilm_dir):
    ours, ref = minilm_models
    batch = load_tokenizer_for(minilm_dir)(SENTENCES, padding=True, return_tensors="pt")  # our WordPiece ids
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        a = ours(ids, attention_mask=mask)
        b = ref(input_ids=ids, attention_mask=mask)
    assert (a.last_hidden_state - b.last_hidden_state).abs().max().item() <= 1e-5
    assert (a.pooler_output - b.pooler_output).abs().max().item() <= 1e-5
    # sentence-transformers' embedding: masked mean of the token vectors, then L2-normalised
    ours_emb = torch.nn.functional.normalize(mean_pool(a.last_hidden_state, mask), dim=-1)
    ref_emb = torch.nn.functional.normalize(mean_pool(b.last_hidden_state, mask), dim=-1)
    assert (ours_emb - ref_emb).abs().max().item() <= 1e-6
    # and the embeddings mean something: the two reviews are less similar than a review and itself
    assert (ours_emb[0] @ ours_emb[1]).item() < 0.99


def tiny_hf_bert(cls_name: str, seed: int = 0, **extra):
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=120, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=80,
        max_position_embeddings=40, initializer_range=0.2, **extra,
    )  # fmt: skip
    return getattr(transformers, cls_name)(config).eval()


def inputs(vocab: int = 120):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, vocab, (2, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # right padding in the second row
    return ids, mask


def test_hf_classifier_loads_with_matching_logits(tmp_path):
    hf = tiny_hf_bert("BertForSequenceClassification", num_labels=3)
    hf.save_pretrained(tmp_path)
    ours = from_pretrained(tmp_path)
    assert type(ours) is BertForSequenceClassification and ours.config.num_labels == 3
    ids, mask = inputs()
    with torch.no_grad():
        diff = (ours(ids, mask).logits - hf(input_ids=ids, attention_mask=mask).logits).abs().max()
    assert diff.item() <= 1e-4


def test_our_classifier_opens_in_transformers_with_identical_logits(tmp_path):
    hf = tiny_hf_bert("BertForSequenceClassification", num_labels=3)
    hf.save_pretrained(tmp_path / "hf")
    ours = from_pretrained(tmp_path / "hf")
    save_pretrained(ours, tmp_path / "ours")
    back = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "ours").eval()
    assert type(back).__name__ == "BertForSequenceClassification"
    ids, mask = inputs()
    with torch.no_grad():
        assert torch.equal(back(input_ids=ids, attention_mask=mask).logits, hf(input_ids=ids, attention_mask=mask).logits)


def test_round_trip_ours_hf_ours_is_exact(tmp_path):
    from scratchformers.models import BertConfig

    torch.manual_seed(0)
    ours = BertForSequenceClassification(BertConfig(vocab_size=90, num_layers=2, d_model=32, num_heads=4, d_ff=64,
                                                    max_positions=30, num_labels=4))  # fmt: skip
    ours.save_pretrained(tmp_path / "a")
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "a")
    hf.save_pretrained(tmp_path / "b")
    again = BertForSequenceClassification.from_pretrained(tmp_path / "b")
    assert again.config == ours.config
    a, b = ours.state_dict(), again.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_masked_lm_round_trip_keeps_the_tied_decoder(tmp_path):
    hf = tiny_hf_bert("BertForMaskedLM")
    hf.save_pretrained(tmp_path / "hf")
    ours = from_pretrained(tmp_path / "hf")
    assert type(ours) is BertForMaskedLM
    assert ours.mlm_decoder.weight is ours.bert.embeddings.token_embedding.weight
    ids, mask = inputs()
    with torch.no_grad():
        assert (ours(ids, mask).logits - hf(input_ids=ids, attention_mask=mask).logits).abs().max().item() <= 1e-4
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert torch.equal(back(input_ids=ids, attention_mask=mask).logits, hf(input_ids=ids, attention_mask=mask).logits)


def test_legacy_gamma_beta_names_and_position_ids_buffer(tmp_path):
    hf = tiny_hf_bert("BertModel")
    hf.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    legacy = {}
    for name, tensor in state.items():
        if "LayerNorm" in name:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        legacy[name] = tensor
    legacy["embeddings.position_ids"] = torch.arange(40)[None]
    save_file(legacy, tmp_path / "model.safetensors")
    ours = from_pretrained(tmp_path)
    ids, mask = inputs()
    with torch.no_grad():
        diff = ours(ids, mask).last_hidden_state - hf(input_ids=ids, attention_mask=mask).last_hidden_state
    assert diff.abs().max().item() <= 1e-5


def test_classifier_from_a_base_checkpoint_warns_about_the_new_head(minilm_dir, minilm_models):
    with pytest.warns(UserWarning, match="classifier.weight, classifier.bias are newly initialised"):
        clf = BertForSequenceClassification.from_pretrained(minilm_dir, num_labels=2)
    body = minilm_models[0].state_dict()
    for name, tensor in clf.bert.state_dict().items():
        assert torch.equal(tensor, body[name]), name
    assert clf.classifier.weight.std().item() > 0  # initialised, not left as empty memory


def test_base_model_from_a_classifier_checkpoint_drops_the_head(tmp_path):
    hf = tiny_hf_bert("BertForSequenceClassification")
    hf.save_pretrained(tmp_path)
    body = BertModel.from_pretrained(tmp_path)
    ids, mask = inputs()
    with torch.no_grad():
        diff = body(ids, mask).last_hidden_state - hf.bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert diff.abs().max().item() <= 1e-5


def test_minilm_saved_by_us_opens_in_transformers_identically(minilm_models, minilm_dir, tmp_path):
    ours, ref = minilm_models
    save_pretrained(ours, tmp_path, tokenizer=load_tokenizer_for(minilm_dir))
    back = transformers.AutoModel.from_pretrained(tmp_path).eval()
    assert type(back).__name__ == "BertModel"
    batch = transformers.AutoTokenizer.from_pretrained(tmp_path)(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(back(**batch).last_hidden_state, ref(**batch).last_hidden_state)
