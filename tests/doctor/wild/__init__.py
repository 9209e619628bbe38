"""A wild corpus for the doctor: small transformers written here from scratch in the styles people
use (see docs/doctor.md), each a plain module with ``build(seed, **options)`` and
``example(model, seed)``; ``harness.py`` plants one bug at a time by editing their source text."""
