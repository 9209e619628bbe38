"""Kernel choice by measurement (scratchformers.backends.choice): never slower than plain F.linear,
cached per process and on disk per machine key, and every kernel computes the same layer."""

import copy
import json
import statistics
import time

import pytest
import torch
import torch.nn.functional as F

import scratchformers as sf
from scratchformers import backends
from scratchformers.backends import choice, kernels, native


def test_buckets_are_powers_of_two_and_a_single_row_stands_alone():
    assert [choice.bucket(n) for n in (1, 2, 3, 4, 5, 64, 65, 4096)] == [1, 2, 4, 4, 8, 64, 128, 4096]
    assert "mv" in kernels.candidates("fwd", 1) and "mv" not in kernels.candidates("fwd", 2)
    assert "c" not in kernels.candidates("fwd", 2) and "c" not in kernels.candidates("dx", 1)
    assert "mv" not in kernels.candidates("dx", 1) and kernels.candidates("dw", 8)[0] == "mkl"


def test_pick_keeps_the_reference_unless_another_is_clearly_faster():
    assert choice.pick({"mkl": 1.0, "onednn": 0.97}) == "mkl"  # within the margin: noise
    assert choice.pick({"mkl": 1.0, "onednn": 0.80}) == "onednn"
    assert choice.pick({"mkl": 1.0, "onednn": 1.5, "mv": 0.5}) == "mv"
    assert choice.pick({"mkl": 1.0, "onednn": 1.2}) == "mkl"


def _interleaved_min(fns: dict, rounds: int = 30, calls: int = 20) -> dict:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


@pytest.mark.parametrize("rows", [1, 64])
def test_the_chosen_kernel_is_never_slower_than_f_linear(rows):
    """Measured on a small shape: the choice against plain F.linear, interleaved, with repeats. A
    wrong choice would show as a ratio above 1 + the noise allowance (25%, on a shared machine)."""
    torch.manual_seed(0)
    x, w, b = torch.randn(rows, 256), torch.randn(384, 256), torch.randn(384)
    name = choice.kernel_name("fwd", rows, 384, 256, True)
    chosen = kernels.FORWARD[name]
    torch.testing.assert_close(chosen(x, w, b), F.linear(x, w, b), rtol=1e-4, atol=1e-4)
    ratios = []
    with torch.inference_mode():
        for _ in range(3):  # three independent verdicts; the median resists a burst of load
            t = _interleaved_min({"chosen": lambda: chosen(x, w, b), "plain": lambda: F.linear(x, w, b)})
            ratios.append(t["chosen"] / t["plain"])
    assert statistics.median(ratios) <= 1.25, (name, ratios, choice.measured())


def test_choices_round_trip_through_the_disk_cache(private_choice_cache, monkeypatch):
    first = choice.kernel_name("fwd", 8, 48, 32, False)
    saved = json.loads((private_choice_cache / choice.FILE_NAME).read_text())
    entries = saved["machines"][choice.machine_key()]
    assert entries["fwd 8x48x32"]["choice"] == first
    assert set(entries["fwd 8x48x32"]["us"]) == set(kernels.candidates("fwd", 8))
    assert not list(private_choice_cache.glob("*.tmp"))  # the temporary file was renamed over

    choice.clear()  # a new process: the choice comes from disk, nothing is measured
    monkeypatch.setattr(choice, "measure", lambda *a, **k: pytest.fail("measured again despite the disk cache"))
    assert choice.kernel_name("fwd", 7, 48, 32, False) == first  # 7 rows: the same bucket


def test_each_machine_key_has_its_own_entries(private_choice_cache, monkeypatch):
    choice.kernel_name("dw", 16, 24, 8, False)
    before = choice.machine_key()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # another instruction set: another machine
    assert choice.machine_key() != before
    choice.clear()
    choice.kernel_name("dw", 16, 24, 8, False)
    machines = json.loads((private_choice_cache / choice.FILE_NAME).read_text())["machines"]
    assert {before, choice.machine_key()} <= set(machines)


@pytest.mark.parametrize("content", ["{not json", '{"machines": 3}', '{"machines": {"x": {"fwd bad": {}}}}'])
def test_a_corrupt_cache_file_is_ignored_and_replaced(private_choice_cache, content):
    private_choice_cache.mkdir(parents=True)
    (private_choice_cache / choice.FILE_NAME).write_text(content)
    name = choice.kernel_name("fwd", 4, 40, 24, True)
    assert name in kernels.candidates("fwd", 4)
    saved = json.loads((private_choice_cache / choice.FILE_NAME).read_text())
    assert saved["machines"][choice.machine_key()]["fwd 4x40x24 bias"]["choice"] == name


def test_an_unwritable_cache_folder_still_chooses(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCRATCHFORMERS_CACHE", str(blocker / "cache"))
    assert choice.kernel_name("fwd", 2, 16, 16, False) in kernels.candidates("fwd", 2)


def test_forcing_a_kernel_that_does_not_apply_falls_back_to_the_reference():
    with choice.forced("mv"):
        assert choice.kernel_name("fwd", 1, 8, 8, False) == "mv"
        assert choice.kernel_name("fwd", 2, 8, 8, False) == "mkl"  # mv is for one row only
        assert choice.kernel_name("dx", 1, 8, 8, False) == "mkl"


# ------------------------------------------------------------- every kernel, same numbers as plain
def _gpt():
    torch.manual_seed(0)
    return sf.GPT(sf.GPTConfig(vocab_size=100, max_positions=64, num_layers=2, num_heads=4, d_model=32)).eval()


@pytest.mark.parametrize("kernel", ["mkl", "onednn", "mv", "c", None])
def test_every_kernel_gives_the_plain_losses_gradients_and_tokens(kernel):
    if kernel == "onednn" and not kernels.ONEDNN_LINEAR:
        pytest.skip("oneDNN's linear op is not in this build")
    if kernel == "c" and not native.available():
        pytest.skip("no C compiler here: the C matrix-vector kernel cannot be built")
    ref = _gpt()
    fast = backends.optimize(copy.deepcopy(ref))
    ids = torch.randint(0, 100, (3, 30))
    losses = []
    with choice.forced(kernel):
        for model in (ref, fast):
            loss = model(ids, labels=ids).loss
            loss.backward()
            losses.append(loss)
        torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
        for (name, p), q in zip(ref.named_parameters(), fast.parameters()):
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-5, msg=name)
        prompt = ids[:1, :5]  # batch 1: single-row decode steps (where "mv" applies)
        want = prompt
        with torch.inference_mode():
            for _ in range(8):  # argmax over full passes of the plain model, no cache
                want = torch.cat([want, ref(want).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        assert torch.equal(sf.generate(fast, prompt, max_new_tokens=8), want)


def test_measurement_streams_operands_larger_than_the_cache(monkeypatch):
    """A decode step streams every weight from memory: a single-row class is timed over copies of
    its operands larger than any last-level cache (64 MB here), not on one matrix that stays in
    cache (regression: MKL was chosen for 768x768 single-row products, 2x slower than oneDNN when
    streamed). A many-row class (compute-bound) is timed on one copy."""
    weights = set()

    def spy(x, w, b):
        weights.add(w.data_ptr())
        return F.linear(x, w, b)

    monkeypatch.setitem(kernels.KERNELS["fwd"], "mkl", spy)
    choice.measure("fwd", 1, 1024, 1024, False, ["mkl"])
    assert len(weights) * 1024 * 1024 * 4 >= 64 << 20
    weights.clear()
    choice.measure("fwd", 256, 1024, 1024, False, ["mkl"])
    assert len(weights) == 1


def test_a_training_plan_must_save_more_than_its_autograd_node_costs(monkeypatch):
    """oneDNN a few microseconds faster than MKL is not worth a Python autograd node (~50 us per
    forward+backward): the layer stays on F.linear's own node unless the measured saving is larger."""
    overhead = choice.node_overhead()
    assert 0 < overhead < 1e-3  # a Python node costs something, far less than a millisecond
    monkeypatch.setattr(choice, "kernel_name", lambda op, *a: "onednn")
    for saving_each, expected in ((overhead / 10, ("mkl",) * 3), (overhead, ("onednn",) * 3)):
        choice.clear()
        for op, bias in (("fwd", True), ("dx", False), ("dw", False)):
            us = {"mkl": 500.0, "onednn": 500.0 - saving_each * 1e6}
            choice._measured[choice.class_name(op, 64, 96, 32, bias)] = {"choice": "onednn", "us": us}
        assert choice.training_plan(64, 96, 32, True) == expected
    with choice.forced("onednn"):
        assert choice.training_plan(64, 96, 32, True) == ("onednn",) * 3  # forced is forced


def test_measurements_leave_the_global_random_generator_alone():
    """They run in the middle of a seeded training run (the first step): drawing from the global
    generator there would change every later dropout mask (regression: node_overhead did)."""
    from scratchformers.backends import attention_choice

    choice.node_overhead.cache_clear()
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    choice.node_overhead()
    choice.measure("fwd", 1, 32, 16, True, kernels.candidates("fwd", 1))
    attention_choice._measure((1, 2, 8, 4), (1, 2, 8, 4), True)
    assert torch.equal(torch.rand(3), want)
