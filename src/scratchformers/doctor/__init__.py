"""The doctor: finds the classic transformer bugs in a model, a training setup, a tokenizer or a
generation, and says what causes them and how to fix them.

    report = sf.doctor.check_model(model, input_ids, causal=True)
    report.print(); report.ok; report.findings; report.to_json()

Every check returns a :class:`Finding` (id, status ok|warn|fail|skip, message with the measured
evidence, cause, fix, module). Only torch is imported here; transformers is never needed.
"""

from scratchformers.doctor.env import check_env
from scratchformers.doctor.findings import Finding, Report
from scratchformers.doctor.generation_checks import check_generation
from scratchformers.doctor.model_checks import check_model
from scratchformers.doctor.tokenizer_checks import check_tokenizer
from scratchformers.doctor.training import DoctorCallback, check_training

__all__ = [
    "DoctorCallback",
    "Finding",
    "Report",
    "check_env",
    "check_generation",
    "check_model",
    "check_tokenizer",
    "check_training",
]
