"""The C matrix-vector kernel (scratchformers.backends.native): equal to F.linear, built once per
machine into the cache, for the instruction set torch runs with, and absent (never broken) where it
cannot be built."""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from scratchformers.backends import choice, kernels, native

needs_compiler = pytest.mark.skipif(native._compiler() is None, reason="no C compiler on this machine")


@needs_compiler
@pytest.mark.parametrize("out_f, in_f", [(1, 1), (7, 33), (384, 256), (50, 768), (3, 3072 + 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_equals_f_linear(out_f, in_f, bias):
    g = torch.Generator().manual_seed(out_f * in_f)
    x, w = torch.randn(1, in_f, generator=g), torch.randn(out_f, in_f, generator=g)
    b = torch.randn(out_f, generator=g) if bias else None
    assert native.available()
    got = native.gemv(x, w, b)
    assert got.shape == (1, out_f)
    # float64 reference: the kernel sums in another order than MKL, both within float32 rounding
    torch.testing.assert_close(got, F.linear(x.double(), w.double(), None if b is None else b.double()).float(),
                               rtol=1e-5, atol=1e-5 * in_f ** 0.5)


@needs_compiler
def test_non_contiguous_input_and_bias_are_read_correctly():
    x = torch.randn(2, 64)[:, ::2][:1]  # (1, 32), a stride of 2
    w, b = torch.randn(40, 32), torch.randn(80)[::2]
    torch.testing.assert_close(native.gemv(x, w, b), F.linear(x, w, b), rtol=1e-5, atol=1e-5)


@needs_compiler
def test_built_once_into_the_cache_and_reused(tmp_path):
    """A fresh process builds into <cache>/kernels; a second one finds the same file (no rebuild)."""
    code = ("import os, sys; from scratchformers.backends import native; assert native.available(); "
            "import pathlib; [p] = pathlib.Path(os.environ['SCRATCHFORMERS_CACHE'], 'kernels').glob('gemv-*.so'); "
            "print(p.stat().st_mtime_ns)")
    env = {"SCRATCHFORMERS_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert first == second  # the same file, not rebuilt
    assert not list((tmp_path / "kernels").glob("tmp*"))  # the build folder was removed


def test_the_build_follows_torchs_instruction_set():
    """Under ATEN_CPU_CAPABILITY=avx2 (the bench's AVX2 column) the kernel is built for AVX2."""
    code = "from scratchformers.backends import native; print(native._build_flags())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"ATEN_CPU_CAPABILITY": "avx2", "PATH": "/usr/bin:/bin"}).stdout
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        assert out.strip() == "(32, ['-mavx2', '-mfma'])"


def test_no_compiler_means_no_candidate_not_an_error(monkeypatch):
    monkeypatch.setattr(native, "_compiler", lambda: None)
    native._library.cache_clear()
    try:
        assert not native.available()
        assert "c" not in kernels.candidates("fwd", 1)
        choice.clear()
        assert choice.kernel_name("fwd", 1, 96, 64, True) in kernels.candidates("fwd", 1)
    finally:
        native._library.cache_clear()


def test_a_failing_build_means_no_candidate(monkeypatch, tmp_path):
    broken = tmp_path / "cc"
    broken.write_text("#!/bin/sh\necho 'cc: fatal error' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CC", str(broken))
    native._library.cache_clear()
    try:
        assert not native.available()
    finally:
        native._library.cache_clear()


@needs_compiler
def test_a_library_others_can_write_is_rebuilt_not_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHFORMERS_CACHE", str(tmp_path))
    compiler = native._compiler()
    vector_bytes, flags = native._build_flags()
    path = native._build(compiler, vector_bytes, flags)
    built = os.stat(path).st_ino
    os.chmod(path, 0o666)  # group/world-writable: someone else could have replaced it
    assert not native._trusted(path)
    again = native._build(compiler, vector_bytes, flags)
    assert again == path and native._trusted(again)
    assert os.stat(again).st_ino != built  # a new file was built and renamed over the old one
