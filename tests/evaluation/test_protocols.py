"""DESIGN section 7 splits on a tiny hand-checked u.data: exact rows, RNG order, shared maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nextbuy.errors import DataError
from nextbuy.evaluation.protocols import protocol_a, protocol_b, read_udata

# user, item, rating, timestamp. User "10" comes before "2" as a string but after it as a
# number: the protocol walks users in numeric order. Two lines are space-separated, like the
# real file. Users: 2 has 5 items, 10 has 7, 7 has 3 (too few: never touches the generator).
ROWS = [
    (10, 30, 4, 100),
    (2, 50, 3, 101),
    (2, 10, 5, 102),
    (7, 10, 1, 103),
    (10, 10, 2, 104),
    (2, 40, 4, 105),
    (10, 20, 5, 106),
    (2, 20, 2, 107),
    (10, 60, 3, 108),
    (7, 20, 4, 109),
    (10, 40, 4, 110),
    (2, 30, 1, 111),
    (10, 50, 5, 112),
    (7, 30, 3, 113),
    (10, 70, 2, 114),
]


@pytest.fixture
def udata(tmp_path: Path) -> Path:
    lines = []
    for n, (u, i, r, t) in enumerate(ROWS):
        sep = "  " if n in (3, 9) else "\t"
        lines.append(sep.join(str(x) for x in (u, i, r, t)))
    (tmp_path / "u.data").write_text("\n".join(lines) + "\n")
    return tmp_path


def pairs(inter) -> set[tuple[str, str]]:
    users = inter.user_map.to_ids(inter.users)
    items = inter.item_map.to_ids(inter.items)
    return set(zip(users.tolist(), items.tolist(), strict=True))


def test_read_udata_keeps_file_order_and_accepts_spaces(udata: Path) -> None:
    frame = read_udata(udata)
    assert frame.to_numpy().tolist() == [list(r) for r in ROWS]
    assert read_udata(udata / "u.data").equals(frame)
    with pytest.raises(DataError, match="u.data"):
        read_udata(udata / "missing")


def test_protocol_a_is_the_seeded_permutation_of_file_rows(udata: Path) -> None:
    # RandomState(42).permutation(15) = [9 11 0 13 5 8 2 1 14 4 7 10 12 3 6]: the first
    # round(0.8 * 15) = 12 rows train, the last 3 (file rows 12, 3, 6, in that order) test.
    assert np.random.RandomState(42).permutation(15).tolist() == [
        9, 11, 0, 13, 5, 8, 2, 1, 14, 4, 7, 10, 12, 3, 6
    ]  # fmt: skip
    train, test = protocol_a(udata)
    assert len(train) == 12 and len(test) == 3
    ids = zip(test.user_map.to_ids(test.users), test.item_map.to_ids(test.items), strict=True)
    got = [(u, i, v) for (u, i), v in zip(ids, test.values.tolist(), strict=True)]
    assert got == [("10", "50", 5.0), ("7", "10", 1.0), ("10", "20", 5.0)]
    # train keeps the permuted order: its first row is file row 9
    assert (train.user_map.ids[train.users[0]], train.item_map.ids[train.items[0]]) == ("7", "20")
    assert train.explicit and test.explicit
    assert train.user_map == test.user_map and train.item_map == test.item_map
    assert train.user_map.ids.tolist() == ["2", "7", "10"]  # numeric, not string order
    assert train.item_map.ids.tolist() == ["10", "20", "30", "40", "50", "60", "70"]
    assert train.timestamps[0] == 109


def test_protocol_b_draws_one_permutation_per_eligible_user_in_numeric_order(
    udata: Path,
) -> None:
    # Hand check. rng = RandomState(42).
    # user 2 (first numerically): items [10 20 30 40 50], n = 5, holds out
    #   max(1, floor(0.2 * 5 + 0.5)) = 1 item; rng.permutation(5) = [1 4 2 0 3] -> item 20.
    # user 7: 3 items < 5, no draw, all train.
    # user 10: items [10 20 30 40 50 60 70], n = 7, floor(1.4 + 0.5) = 1 item; the same
    #   generator's next rng.permutation(7) = [5 0 3 2 1 6 4] -> item 60.
    # Walking users in string order ("10" first) would hold out 10 (user 10) and 40 (user 2).
    rng = np.random.RandomState(42)
    assert rng.permutation(5).tolist() == [1, 4, 2, 0, 3]
    assert rng.permutation(7).tolist() == [5, 0, 3, 2, 1, 6, 4]
    rng = np.random.RandomState(42)
    assert (rng.permutation(7)[0], rng.permutation(5)[0]) == (0, 3)
    train, test = protocol_b(udata)
    assert pairs(test) == {("2", "20"), ("10", "60")}
    assert len(train) == len(ROWS) - 2
    assert not pairs(train) & pairs(test)
    assert (train.values == 1).all() and (test.values == 1).all()
    assert not train.explicit
    assert train.user_map == test.user_map and train.item_map == test.item_map
    assert train.n_items == 7  # every item is ranked, including those only in test


def test_protocol_b_holds_out_a_rounded_fifth(tmp_path: Path) -> None:
    # one user with 13 items: floor(0.2 * 13 + 0.5) = 3 held out, chosen by permutation(13)
    items = np.arange(1, 14)
    text = "".join(f"1\t{i}\t3\t{i}\n" for i in items)
    (tmp_path / "u.data").write_text(text)
    train, test = protocol_b(tmp_path)
    expected = set(items[np.random.RandomState(42).permutation(13)[:3]].astype(str).tolist())
    assert {i for _, i in pairs(test)} == expected
    assert len(train) == 10
