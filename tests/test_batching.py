"""fairseq batch layout helpers."""

import torch

from ami.batching import reverse_pair_batch, shift_right, to_left_padding, to_right_padding, truncate_at_eos

PAD, EOS = 1, 2


def test_shift_right_matches_fairseq_layout():
    target = torch.tensor([[5, 6, EOS, PAD], [7, 8, 9, EOS]])
    assert shift_right(target, PAD, EOS).tolist() == [[EOS, 5, 6, PAD], [EOS, 7, 8, 9]]


def test_padding_round_trip():
    right = torch.tensor([[5, 6, EOS, PAD], [7, 8, 9, EOS]])
    left = to_left_padding(right, PAD)
    assert left.tolist() == [[PAD, 5, 6, EOS], [7, 8, 9, EOS]]
    assert torch.equal(to_right_padding(left, PAD), right)


def test_truncate_at_eos_cases():
    tokens = torch.tensor([[5, EOS, 7, 8], [5, 6, 7, 8], [PAD, PAD, PAD, PAD]])
    assert truncate_at_eos(tokens, PAD, EOS).tolist() == [
        [5, EOS, PAD, PAD, PAD],
        [5, 6, 7, 8, EOS],
        [EOS, PAD, PAD, PAD, PAD],
    ]


def test_reverse_pair_batch_swaps_sides():
    sample = {
        "net_input": {"src_tokens": torch.tensor([[PAD, 5, EOS], [6, 7, EOS]])},
        "target": torch.tensor([[8, EOS, PAD], [9, 10, EOS]]),
    }
    reverse = reverse_pair_batch(sample, PAD, EOS, left_pad_source=True)
    assert reverse["net_input"]["src_tokens"].tolist() == [[PAD, 8, EOS], [9, 10, EOS]]
    assert reverse["net_input"]["src_lengths"].tolist() == [2, 3]
    assert reverse["target"].tolist() == [[5, EOS, PAD], [6, 7, EOS]]
    assert reverse["net_input"]["prev_output_tokens"].tolist() == [[EOS, 5, PAD], [EOS, 6, 7]]
    assert reverse["ntokens"] == 5
