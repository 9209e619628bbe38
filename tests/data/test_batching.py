"""Dynamic padding, length bucketing, truncation counting, resumable epochs."""

import torch

from scratchformers.data import EpochBatches, PaddingCollator, encode_texts, truncate


def test_padding_collator_pads_to_the_longest_in_batch():
    batch = PaddingCollator(pad_id=0)([{"input_ids": [5, 6, 7], "labels": 1}, {"input_ids": [8], "labels": 0}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    seq = PaddingCollator()([{"input_ids": [1, 2], "labels": [3, 4]}, {"input_ids": [1], "labels": [3]}])
    assert seq["labels"].tolist() == [[3, 4], [3, -100]]  # padded labels are ignored by the loss


def test_truncation_keeps_sep_and_is_counted():
    assert truncate([101, 5, 6, 7, 102], 4) == [101, 5, 6, 102]
    examples, n = encode_texts(["a b c d e", "a"], lambda t: [101] + [len(w) for w in t.split()] + [102], 4, [0, 1])
    assert n == 1 and examples[0]["input_ids"] == [101, 1, 1, 102] and examples[1]["labels"] == 1


def test_bucketing_cuts_padding():
    gen = torch.Generator().manual_seed(0)
    examples = [{"input_ids": [1] * int(n)} for n in torch.randint(2, 120, (2000,), generator=gen)]

    def padded_tokens(bucket):
        data = EpochBatches(examples, 16, PaddingCollator(), seed=0, bucket=bucket)
        return sum(data.next_batch()["input_ids"].numel() for _ in range(data.batches_per_epoch))

    assert padded_tokens(True) < 0.6 * padded_tokens(False)


def test_epochs_cover_every_example_and_resume_exactly():
    examples = [{"input_ids": [i + 3] * (1 + i % 7), "labels": i % 2} for i in range(50)]
    data = EpochBatches(examples, 8, PaddingCollator(), seed=3, drop_last=False)
    seen = [data.next_batch()["input_ids"][:, 0].tolist() for _ in range(data.batches_per_epoch)]
    assert sorted(x - 3 for b in seen for x in b) == list(range(50))
    state = data.state_dict()
    after = [data.next_batch()["input_ids"] for _ in range(3)]
    again = EpochBatches(examples, 8, PaddingCollator(), seed=3, drop_last=False)
    again.load_state_dict(state)
    assert all(torch.equal(a, again.next_batch()["input_ids"]) for a in after)
    assert again.epoch == 1


def test_ranks_get_contiguous_slices_of_each_global_batch():
    examples = [{"input_ids": [i + 3]} for i in range(32)]
    whole = EpochBatches(examples, 8, PaddingCollator(), seed=0).next_batch()["input_ids"]
    parts = [EpochBatches(examples, 8, PaddingCollator(), seed=0, rank=r, world_size=2).next_batch()["input_ids"]
             for r in (0, 1)]
    assert torch.equal(torch.cat(parts), whole)
