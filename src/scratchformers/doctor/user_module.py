"""Build a user's model from ``path/to/file.py:ClassOrFactory`` (``scratchformers doctor module``).

Every way this can go wrong is one line naming the value, what was expected and the fix (a
:class:`~scratchformers.errors.ConfigError`, exit code 2 on the command line): a missing file, a
file that fails to import, a missing name, a constructor that needs arguments, bad JSON, a
factory that does not return an ``nn.Module``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import json
import pathlib
import sys

from torch import nn

from scratchformers.errors import ConfigError


def parse_config(text: str | None) -> dict:
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--config is not valid JSON ({err.msg} at character {err.pos}): {text!r}; "
                          "e.g. --config '{\"d_model\": 64, \"n_layers\": 2}'") from None
    if not isinstance(config, dict):
        raise ConfigError(f"--config must be a JSON object of keyword arguments, got {type(config).__name__}: {text!r}")
    return config


def load_object(spec: str):
    """``file.py:Name`` -> the object named ``Name`` in that file (imported as a fresh module)."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise ConfigError(f"expected path/to/file.py:ClassOrFactory, got {spec!r}")
    path = pathlib.Path(path_text)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist (expected a Python file defining {name})")
    module_name = f"sf_user_{path.stem}"
    sys.path.insert(0, str(path.resolve().parent))  # the file's own sibling imports
    out, err_out = io.StringIO(), io.StringIO()  # a script's own usage text must not precede our line
    try:
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec_obj)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err_out):
            spec_obj.loader.exec_module(module)
    except SystemExit as exit_:  # parser.parse_args() / sys.exit() at import
        said = (err_out.getvalue() or out.getvalue()).strip().splitlines()
        raise ConfigError(f"{path} exits when imported (exit code {exit_.code}"
                          f"{f': {said[-1]}' if said else ''}); put the script part under "
                          "`if __name__ == \"__main__\":` so the model can be imported") from None
    except Exception as err:  # noqa: BLE001 - any import failure becomes one clear line
        raise ConfigError(f"could not import {path}: {type(err).__name__}: {err}") from None
    finally:
        sys.path.pop(0)
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err_out.getvalue())
    if not hasattr(module, name):
        found = sorted(n for n, v in vars(module).items()
                       if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
                       and getattr(v, "__module__", None) == module_name)
        raise ConfigError(f"{path} has no name {name!r}; classes and functions defined there: {', '.join(found) or 'none'}")
    return getattr(module, name)


def build_user_model(spec: str, config: dict | None = None) -> nn.Module:
    obj = load_object(spec)
    config = config or {}
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ConfigError(f"{spec} is a {type(obj).__name__}, expected an nn.Module class or a function returning one")
    try:
        signature = inspect.signature(obj)
        signature.bind(**config)
    except TypeError as err:
        required = [p.name for p in signature.parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                    and p.name not in config]
        hint = ", ".join(f'"{n}": ...' for n in required)
        raise ConfigError(f"{spec}(...) cannot be called with {config or 'no arguments'}: {err}"
                          + (f"; pass them with --config '{{{hint}}}'" if required else "")) from None
    except ValueError:  # no signature (a builtin): just try
        pass
    try:
        model = obj(**config)
    except Exception as err:  # noqa: BLE001 - the user's constructor failed: one line
        raise ConfigError(f"{spec}(**{config}) raised {type(err).__name__}: {err}") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{spec}(...) returned a {type(model).__name__}, expected an nn.Module")
    return model
