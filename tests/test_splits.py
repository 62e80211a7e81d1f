"""The one rule for which split of a data set chooses (epoch, gate) and which ones are held out."""

import pytest

from mtl.data.splits import SPLITS, check_split, held_out_splits, selection_sets, selection_split, splits_by_dataset

# the tables prepare_real and prepare_example write
REAL = ["sst2/train", "sst2/dev", "sst2/validation", "conll2003/train", "conll2003/validation", "conll2003/test"]
EXAMPLE = ["example/train", "example/validation", "example/test"]


@pytest.mark.parametrize(
    "splits, chooses, held_out",
    [
        (["train", "dev", "validation"], "dev", ["validation"]),  # SST-2: its validation split stays held out
        (["train", "validation", "test"], "validation", ["test"]),  # CoNLL-2003 and the example data
        (["validation", "dev", "train", "test"], "dev", ["validation", "test"]),  # the order given does not matter
        (["train", "test"], None, ["test"]),  # nothing to choose by
        (["train"], None, []),
    ],
)
def test_dev_chooses_where_there_is_one_else_validation(splits, chooses, held_out):
    assert selection_split(splits) == chooses
    assert held_out_splits(splits) == held_out


def test_sst2_validation_never_chooses_in_the_real_pipeline():
    chosen = selection_sets({name: name for name in REAL})
    assert chosen == {"sst2_dev": "sst2/dev", "conll2003_validation": "conll2003/validation"}
    assert "sst2/validation" not in chosen.values()


def test_the_example_data_keeps_choosing_on_its_own_validation_split():
    assert selection_sets({name: name for name in EXAMPLE}) == {"example_validation": "example/validation"}


def test_unknown_splits_and_malformed_names_are_refused_with_the_valid_values():
    with pytest.raises(ValueError, match="unknown split 'holdout': choose one of train, dev, validation, test"):
        selection_split(["train", "holdout"])
    with pytest.raises(ValueError, match="unknown split 'val'"):
        check_split("val")
    with pytest.raises(ValueError, match="'sst2' is not <dataset>/<split>"):
        splits_by_dataset(["sst2"])
    assert SPLITS == ("train", "dev", "validation", "test")
