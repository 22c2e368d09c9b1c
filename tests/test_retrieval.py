"""retrieval.topk, the one top-k: one row and many agree, NaN and -inf, k past the row."""

from __future__ import annotations

import numpy as np

from nextbuy.retrieval import topk


def test_one_row_and_many_rows_give_the_same_answer() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random((300, 50)).astype(np.float32)  # 300 rows: more than one block
    ids, vals = topk(scores, 5, block=128)
    assert ids.dtype == np.int32 and vals.dtype == np.float32 and ids.shape == (300, 5)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(ids, expected)
    for r in (0, 150, 299):
        one_ids, one_vals = topk(scores[r : r + 1], 5)
        np.testing.assert_array_equal(one_ids[0], ids[r])
        np.testing.assert_array_equal(one_vals[0], vals[r])


def test_nan_ranks_below_every_score_and_inf_stays_last() -> None:
    row = np.array([[0.5, np.nan, 0.9, -np.inf, np.nan, 0.1]], dtype=np.float32)
    for scores in (row, np.repeat(row, 3, axis=0)):
        ids, vals = topk(scores, 4)
        assert ids[0].tolist()[:3] == [2, 0, 5]
        assert vals[0].tolist()[:3] == [np.float32(0.9), np.float32(0.5), np.float32(0.1)]
        assert vals[0, 3] == -np.inf


def test_k_is_clipped_to_the_row_and_zero_gives_empty_rows() -> None:
    scores = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], dtype=np.float32)
    ids, vals = topk(scores, 10)
    assert ids.tolist() == [[0, 2, 1], [1, 2, 0]]
    assert vals.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
    assert topk(scores, 0)[0].shape == (2, 0)
    assert topk(scores[:1], 3)[0].tolist() == [[0, 2, 1]]


def test_long_rows_take_the_two_stage_path_and_agree_with_a_full_sort() -> None:
    """Rows of 5,000+ entries are selected through group maxima: same values as a full sort,
    with -inf, NaN, a ragged tail and ties."""
    from nextbuy import retrieval

    rng = np.random.default_rng(5)
    scores = rng.standard_normal((40, 5_003)).astype(np.float32)
    scores[0, :4_000] = -np.inf  # mostly ruled out
    scores[1, 5_000:] = 9.0  # the best items in the ragged tail
    scores[2, ::7] = 1.5  # many ties
    scores[3, 10] = np.nan
    assert retrieval._grouped_partition(scores[4:], 10) is not None
    ids, vals = topk(scores, 10)
    clean = np.where(np.isnan(scores), -np.inf, scores)
    expected = -np.sort(-clean, axis=1)[:, :10]
    np.testing.assert_array_equal(vals, expected)
    np.testing.assert_array_equal(np.take_along_axis(clean, ids.astype(np.int64), 1), expected)
    assert set(ids[1, :3]) == {5_000, 5_001, 5_002}
    one_ids, one_vals = topk(scores[5:6], 10)
    np.testing.assert_array_equal(one_vals[0], expected[5])
    assert (one_ids[0] == ids[5]).all() or np.array_equal(np.sort(one_ids[0]), np.sort(ids[5]))
