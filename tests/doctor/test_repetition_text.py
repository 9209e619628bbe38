"""The doctor's repetition evidence quotes the repeated n-gram as text when it has the tokenizer
(issue 18, item 13); the reference decode is Hugging Face ``tokenizers``."""

import tokenizers
from scratchformers.doctor import check_generation
from scratchformers.tokenizers import load_tokenizer


def test_repetition_evidence_shows_decoded_text(minilm_dir):
    ours = load_tokenizer(minilm_dir)
    reference = tokenizers.Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    ids = ours.encode("the film was great, " * 8, add_special_tokens=False)
    with_text = check_generation(ids, n=3, do_sample=False, tokenizer=ours).get("generation.repetition")
    without = check_generation(ids, n=3, do_sample=False).get("generation.repetition")
    top = without.message.split("most repeated: '")[1].split("'")[0]  # the ids, as before
    top_ids = [int(i) for i in top.split()]
    assert f"most repeated: {reference.decode(top_ids)!r} (ids {top})" in with_text.message
    assert reference.decode(top_ids) in "the film was great, the film was great"
    assert with_text.status == without.status == "fail"
