"""concepts.set_counts: the one definition of a non-empty set and of the mean set size."""

import math

from concepts.set_counts import SetCounts


def test_non_empty_means_a_synonym_besides_the_original_and_the_mean_is_over_all_targets():
    c = SetCounts()
    c.add_set(7, [7])  # a built set with only the original: empty
    c.add_set(7, [7, 3, 4])  # two synonyms
    c.add_set(5, [9])  # a noise-control set (never the original): one synonym
    assert (c.targets, c.non_empty, c.size_sum) == (3, 2, 5)
    assert c.non_empty_share == 2 / 3 and c.mean_size == 5 / 3


def test_no_target_gives_nan_shares():
    c = SetCounts()
    assert math.isnan(c.non_empty_share) and math.isnan(c.mean_size)
