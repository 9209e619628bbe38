"""Never crash, never blame the model for the doctor's failure (issue 14, part 1), and the command
that checks a user's own file."""

from __future__ import annotations

import json
import textwrap
import time

import pytest
import torch
from torch import nn

from scratchformers.cli import main
from scratchformers.doctor import check_model
from scratchformers.doctor.call import Call, infer_seq_first


class SmallDecoder(nn.Module):
    """A 16-token vocabulary and a 64-row position table (bigger than the vocabulary)."""

    def __init__(self, vocab=16, positions=64, d=16, last_only=False, leak=False):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(positions, d)
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)
        self.head = nn.Linear(d, vocab)
        self.last_only, self.leak = last_only, leak

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(t))
        blocked = torch.ones(t, t, dtype=torch.bool).triu(2 if self.leak else 1)
        x = x + self.attn(x, x, x, attn_mask=blocked, need_weights=False)[0]
        logits = self.head(x)
        return logits[:, -1] if self.last_only else logits


def test_position_table_larger_than_vocabulary_is_probed_inside_both():
    torch.manual_seed(0)
    report = check_model(SmallDecoder().eval(), torch.randint(0, 16, (2, 16)), causal=True)
    assert report.ok, str(report)
    assert report.get("causal_leak").status == "ok"


def test_last_position_only_output_still_checked_at_every_position():
    torch.manual_seed(0)
    ids = torch.randint(0, 16, (2, 10))
    assert check_model(SmallDecoder(last_only=True).eval(), ids, causal=True).get("causal_leak").status == "ok"
    leaky = check_model(SmallDecoder(last_only=True, leak=True).eval(), ids, causal=True).get("causal_leak")
    assert leaky.status == "fail" and "position 0" in leaky.message, leaky  # seen in the hidden states


def test_attention_inside_nn_multihead_attention_is_traced():
    torch.manual_seed(0)
    report = check_model(SmallDecoder().eval(), torch.randint(0, 16, (2, 10)), causal=True)
    assert report.get("attention.scaling").status == "ok"  # measured inside F.multi_head_attention_forward
    assert report.get("position_signal").status == "ok"


class StringOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids):
        self.emb(ids)
        return "done"


def test_a_model_returning_a_string_is_not_ok():
    report = check_model(StringOutput(), torch.randint(0, 10, (2, 5)))
    assert not report.ok and "output" in report.ids("fail"), str(report)


class NeedsMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)

    def forward(self, ids, mask):
        return self.emb(ids) * mask[..., None]


def test_a_forward_the_doctor_cannot_call_says_so():
    ids = torch.randint(0, 10, (2, 5))
    finding = check_model(NeedsMask(), ids).get("forward")
    assert finding.status == "fail" and "could not call the model" in finding.message and "forward_kwargs" in finding.fix
    assert check_model(NeedsMask(), ids, forward_kwargs={"mask": torch.ones(2, 5)}).get("forward") is None


class MaskedShortTable(nn.Module):
    """An 8-row position table and a per-token ``attention_mask`` argument."""

    def __init__(self):
        super().__init__()
        self.emb, self.pos = nn.Embedding(20, 8), nn.Embedding(8, 8)

    def forward(self, ids, attention_mask):
        assert attention_mask.shape == ids.shape, (attention_mask.shape, ids.shape)
        return (self.emb(ids) + self.pos(torch.arange(ids.shape[1]))) * attention_mask[..., None]


def test_ids_cut_to_the_position_table_cut_the_per_token_arguments_too():
    ids = torch.randint(0, 20, (2, 12))
    report = check_model(MaskedShortTable(), ids, forward_kwargs={"attention_mask": torch.ones(2, 12)})
    assert report.get("inputs.length").status == "fail" and report.get("forward") is None, str(report)


class AdditiveMaskEncoder(nn.Module):
    """Takes a float additive mask (B, 1, 1, T): 0 = attend, -inf = padding; ``ignore`` drops it."""

    def __init__(self, ignore=False):
        super().__init__()
        self.emb, self.pos = nn.Embedding(30, 16), nn.Embedding(20, 16)
        self.qkv, self.ignore = nn.Linear(16, 48), ignore

    def forward(self, ids, mask):
        x = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(-2, -1) / 4.0
        if not self.ignore:
            scores = scores + mask[:, 0]
        return x + scores.softmax(-1) @ v


@pytest.mark.parametrize("ignore", [False, True])
def test_padding_check_speaks_the_users_additive_mask(ignore):
    torch.manual_seed(0)
    ids = torch.randint(0, 30, (2, 12))
    report = check_model(AdditiveMaskEncoder(ignore).eval(), ids, causal=False,
                         forward_kwargs={"mask": torch.zeros(2, 1, 1, 12)})
    assert report.get("padding_mask").status == ("fail" if ignore else "ok"), str(report)


class TargetsView(nn.Module):
    """Uses targets.view(-1): an expanded (non-contiguous) targets tensor would raise."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.head = nn.Linear(8, 20)

    def forward(self, ids, targets=None):
        logits = self.head(self.emb(ids))
        loss = nn.functional.cross_entropy(logits.view(-1, 20), targets.view(-1)) if targets is not None else None
        return logits, loss


def test_extra_arguments_are_repeated_contiguously_not_expanded():
    ids = torch.randint(0, 20, (2, 6))
    call = Call(TargetsView(), {"targets": ids.clone()}, batch=2, seq_len=6)
    rows = call.rows(5)["targets"]
    assert rows.shape == (5, 6) and rows.is_contiguous() and rows.dtype == ids.dtype
    report = check_model(TargetsView(), ids, causal=True, forward_kwargs={"targets": ids.clone()})
    assert not [f for f in report.findings if "could not run" in f.message], str(report)
    assert report.get("causal_leak").status == "ok"


class SeqFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 16)
        self.register_buffer("pe", torch.randn(40, 1, 16))
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0)
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.out = nn.Linear(16, 30)

    def forward(self, src):  # (T, B)
        x = self.emb(src) + self.pe[: src.size(0)]
        mask = torch.triu(torch.full((src.size(0), src.size(0)), float("-inf")), diagonal=1)
        return self.out(self.enc(x, mask))


def test_sequence_first_model_and_its_position_buffer_are_inferred():
    torch.manual_seed(0)
    model = SeqFirst().eval()
    ids = torch.randint(0, 30, (12, 2))  # (T, B) as the model wants it
    assert infer_seq_first(model, ids, {}, None)
    report = check_model(model, ids, causal=True)
    assert report.ok, str(report)
    assert "12 tokens <= 40 positions" in report.get("inputs.length").message
    assert report.get("causal_leak").status == "ok"


def test_check_model_on_a_tiny_two_layer_model_is_fast():
    torch.manual_seed(0)
    from scratchformers.models import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=100, max_positions=32, num_layers=2, num_heads=4, d_model=32)).eval()
    ids = torch.randint(0, 100, (2, 12))
    check_model(model, ids)  # warm-up (first-call kernel setup)
    start = time.perf_counter()
    report = check_model(model, ids)
    elapsed = time.perf_counter() - start
    assert report.ok, str(report)
    assert elapsed < 5.0, f"check_model took {elapsed:.2f} s"


USER_FILE = textwrap.dedent('''
    import torch
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self, vocab=20, d=16):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(32, d)
            self.layer = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
            self.head = nn.Linear(d, vocab)

        def forward(self, ids):
            x = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
            return self.head(self.layer(x))

    class NeedsArgs(nn.Module):
        def __init__(self, width, depth):
            super().__init__()

    def not_a_model():
        return 3
''')


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "mymodel.py"
    path.write_text(USER_FILE)
    return path


def test_doctor_module_cli_checks_a_users_file(user_file, capsys):
    code = main(["doctor", "module", f"{user_file}:Tiny", "--config", '{"d": 16}', "--seq-len", "10", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"], data
    assert {f["id"]: f["status"] for f in data["findings"]}["position_signal"] == "ok"


@pytest.mark.parametrize(("spec", "config", "words"), [
    ("{path}:Missing", None, "has no name 'Missing'"),
    ("{path}:NeedsArgs", None, "--config '{\"width\": ..., \"depth\": ...}'"),
    ("{path}:Tiny", "{oops", "--config is not valid JSON"),
    ("{path}:not_a_model", None, "expected an nn.Module"),
    ("{missing}:Tiny", None, "does not exist"),
    ("{broken}:Tiny", None, "could not import"),
])
def test_doctor_module_cli_errors_are_one_line(user_file, tmp_path, capsys, spec, config, words):
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    spec = spec.format(path=user_file, missing=tmp_path / "nope.py", broken=broken)
    argv = ["doctor", "module", spec] + (["--config", config] if config else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("script", ["import argparse\np = argparse.ArgumentParser()\n"
                                    "p.add_argument('--data', required=True)\np.parse_args()\n",
                                    "import sys\nsys.exit(3)\n"])
def test_doctor_module_cli_a_script_exiting_at_import_is_one_line(tmp_path, capsys, script):
    path = tmp_path / "train.py"
    path.write_text(script)
    assert main(["doctor", "module", f"{path}:M"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "exits when imported" in err and '__name__ == "__main__"' in err and str(path) in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err and not captured.out, captured


def test_doctor_module_cli_unknown_config_has_no_empty_hint(user_file, capsys):
    assert main(["doctor", "module", f"{user_file}:Tiny", "--config", '{"bogus": 1}']) == 2
    err = capsys.readouterr().err.strip()
    assert "bogus" in err and "--config '{}'" not in err and len(err.splitlines()) == 1, err
