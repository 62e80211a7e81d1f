import pytest
import torch

from mtl.config.options import POOLING_MODES, check_pooling
from mtl.model.pooling import pool


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_padding_does_not_change_the_pooled_vector(mode):
    torch.manual_seed(0)
    states = torch.randn(1, 4, 8)
    mask = torch.ones(1, 4, dtype=torch.long)
    # the same sentence with 3 padding positions full of large junk values
    padded = torch.cat([states, torch.full((1, 3, 8), 1e4)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    assert torch.allclose(pool(states, mask, mode), pool(padded, padded_mask, mode))


def test_modes_compute_what_they_say():
    states = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(states, mask, "mean").tolist() == [[2.0, 1.0]]
    assert pool(states, mask, "max").tolist() == [[3.0, 4.0]]
    assert pool(states, mask, "cls").tolist() == [[1.0, -2.0]]


def test_all_padding_row_gives_zeros_not_nan():
    out = pool(torch.ones(1, 3, 2), torch.zeros(1, 3, dtype=torch.long), "mean")
    assert not torch.isnan(out).any()


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mean, max, cls"):
        check_pooling("avg")
