"""Model-agnostic checkpoint files: locating, reading and writing weights, whatever the architecture.

- :mod:`.resolve`     a local path, an asset name or a Hugging Face cache folder -> a local path
- :mod:`.files`       ``config.json``, safetensors, ``pytorch_model.bin`` (no pickle code), shards
- :mod:`.gguf`        GGUF (llama.cpp) files: metadata, tensors, dequantisation
- :mod:`.naming`      pattern tables that rename state-dict keys
- :mod:`.state_dict`  strict loading with one readable report
"""
