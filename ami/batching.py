"""Token-tensor helpers that follow fairseq's batch conventions.

fairseq's language-pair batches use:
  - ``src_tokens``: [batch, src_len], each row ending in EOS, left-padded by
    default (``left_pad_source=True``);
  - ``target``: [batch, tgt_len], ending in EOS, right-padded;
  - ``prev_output_tokens``: the target moved one step right with EOS first.
The functions here build batches for the reversed direction (target -> source)
and for synthetic sequences in the same layout.
"""

import torch


def padding_direction_is_left(tokens: torch.Tensor, pad: int) -> bool:
    """Return True when the batch is left-padded (padding appears in column 0)."""
    return bool(tokens[:, 0].eq(pad).any())


def to_right_padding(tokens: torch.Tensor, pad: int) -> torch.Tensor:
    """Move left padding to the right; right-padded input is returned as is."""
    if not padding_direction_is_left(tokens, pad):
        return tokens
    lengths = tokens.ne(pad).sum(dim=1)
    max_len = tokens.size(1)
    positions = torch.arange(max_len, device=tokens.device).unsqueeze(0)
    # In a left-padded row of length n, token i sits at column max_len - n + i.
    index = (positions + (max_len - lengths).unsqueeze(1)) % max_len
    moved = tokens.gather(1, index)
    return moved.masked_fill(positions >= lengths.unsqueeze(1), pad)


def to_left_padding(tokens: torch.Tensor, pad: int) -> torch.Tensor:
    """Move right padding to the left; expects right-padded (or unpadded) input."""
    lengths = tokens.ne(pad).sum(dim=1)
    max_len = tokens.size(1)
    positions = torch.arange(max_len, device=tokens.device).unsqueeze(0)
    index = (positions - (max_len - lengths).unsqueeze(1)) % max_len
    moved = tokens.gather(1, index)
    return moved.masked_fill(positions < (max_len - lengths).unsqueeze(1), pad)


def shift_right(target: torch.Tensor, pad: int, eos: int) -> torch.Tensor:
    """Return ``prev_output_tokens`` for a right-padded target ending in EOS.

    [a b c EOS pad] becomes [EOS a b c pad], as fairseq's collater builds it.
    """
    prev = target.new_full(target.shape, pad)
    prev[:, 0] = eos
    body = target[:, :-1]
    prev[:, 1:] = body.masked_fill(body.eq(eos), pad)
    return prev


def truncate_at_eos(tokens: torch.Tensor, pad: int, eos: int) -> torch.Tensor:
    """Cut each right-padded row after its first EOS and make every row end in EOS.

    Rows without an EOS get one appended, so the result may be one column
    wider than the input. Columns that are padding in every row are dropped.
    Empty rows (all pad) become a lone EOS.
    """
    batch, length = tokens.shape
    is_eos = tokens.eq(eos)
    has_eos = is_eos.any(dim=1)
    first_eos = torch.where(has_eos, is_eos.int().argmax(dim=1), tokens.ne(pad).sum(dim=1))
    out = torch.cat([tokens, tokens.new_full((batch, 1), pad)], dim=1)
    positions = torch.arange(length + 1, device=tokens.device).unsqueeze(0)
    out = out.masked_fill(positions > first_eos.unsqueeze(1), pad)
    out = out.scatter(1, first_eos.unsqueeze(1), eos)
    return out[:, : int(first_eos.max()) + 1]


def source_batch(tokens_right_padded: torch.Tensor, pad: int, left_pad: bool):
    """Return (src_tokens, src_lengths) for sequences given right-padded."""
    lengths = tokens_right_padded.ne(pad).sum(dim=1)
    tokens = to_left_padding(tokens_right_padded, pad) if left_pad else tokens_right_padded
    return tokens, lengths


def reverse_pair_batch(sample: dict, pad: int, eos: int, left_pad_source: bool) -> dict:
    """Build the target -> source batch for the backward network from a fairseq sample.

    The reversed batch has the same keys as a language-pair batch:
    ``net_input`` (src_tokens, src_lengths, prev_output_tokens), ``target``
    and ``ntokens``.
    """
    source_as_target = to_right_padding(sample["net_input"]["src_tokens"], pad)
    src_tokens, src_lengths = source_batch(sample["target"], pad, left_pad_source)
    return {
        "net_input": {
            "src_tokens": src_tokens,
            "src_lengths": src_lengths,
            "prev_output_tokens": shift_right(source_as_target, pad, eos),
        },
        "target": source_as_target,
        "ntokens": int(source_as_target.ne(pad).sum()),
    }
