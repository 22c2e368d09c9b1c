"""SASRec: the contract, ONNX scores equal to PyTorch, order that matters, torch-free serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from contract import RecommenderContract

from nextbuy.data.interactions import Interactions
from nextbuy.models import registry
from nextbuy.models.base import Recommender
from nextbuy.models.sasrec import SASRec
from nextbuy.models.sequences import session_row, window
from tests.chains import PARAMS, chains


class TestSASRec(RecommenderContract):
    def make_model(self) -> Recommender:
        return registry.create("sasrec", **PARAMS, num_threads=1)


@pytest.fixture(scope="module")
def chain_model() -> tuple[SASRec, Interactions]:
    data = chains()
    model = SASRec(**PARAMS, num_threads=1).fit(data)
    assert isinstance(model, SASRec)
    return model, data


def item(data: Interactions, name: str) -> int:
    return data.item_map.index_of(name)


def test_onnx_scores_equal_pytorch(chain_model: tuple[SASRec, Interactions]) -> None:
    model, data = chain_model
    rng = np.random.default_rng(1)
    sequences = [rng.integers(0, data.n_items, n) for n in (1, 3, model.length, 70)]
    served = model.score_sequences(sequences)
    row_ids = np.repeat(np.arange(len(sequences)), [len(s) for s in sequences])
    windows = window(row_ids, np.concatenate(sequences), len(sequences), model.length)
    net = model.torch_module_
    with torch.no_grad():
        hidden = net(torch.as_tensor(windows))[:, -1, :]
        reference = (hidden @ net.item_table().T).numpy()
    assert np.abs(served - reference).max() < 1e-4


def test_order_decides_the_next_item(chain_model: tuple[SASRec, Interactions]) -> None:
    model, data = chain_model
    a, b, c = (item(data, f"i{i:02d}") for i in (5, 6, 7))
    forward, backward = model.score_sequences([np.array([a, b, c]), np.array([c, b, a])])
    assert forward.argmax() == item(data, "i08")  # the chain continues after i07
    assert backward.argmax() != forward.argmax()


def test_session_rows_keep_their_order(chain_model: tuple[SASRec, Interactions]) -> None:
    model, data = chain_model
    seq = np.array([item(data, f"i{i:02d}") for i in (10, 11, 12)])
    row = session_row(seq, data.n_items)
    via_row = model.score(np.array([-1]), row, recalculate_user=True)
    np.testing.assert_allclose(via_row[0], model.score_sequences([seq])[0], atol=1e-6)


def test_trained_users_continue_their_chain(chain_model: tuple[SASRec, Interactions]) -> None:
    model, data = chain_model
    frame = data.to_frame()
    last = frame.sort_values("timestamp").groupby("user_id")["item_id"].last()
    ids, _ = model.recommend(data.user_map.index(list(last.index)), k=1)
    expected = [f"i{(int(i[1:]) + 1) % 30:02d}" for i in last.values]
    hit = np.mean(data.item_map.to_ids(ids[:, 0]) == np.array(expected))
    assert hit > 0.8


def test_saved_model_serves_without_torch(
    chain_model: tuple[SASRec, Interactions], tmp_path: Path
) -> None:
    model, data = chain_model
    model.save(tmp_path / "m")
    seq = [item(data, "i03"), item(data, "i04")]
    expected = model.score_sequences([np.array(seq)])[0]
    np.save(tmp_path / "expected.npy", expected)
    code = (
        "import sys, numpy as np\n"
        "from nextbuy.models.sasrec import SASRec\n"
        f"m = SASRec.load({str(tmp_path / 'm')!r})\n"
        f"s = m.score_sequences([np.array({seq})])[0]\n"
        f"assert np.abs(s - np.load({str(tmp_path / 'expected.npy')!r})).max() < 1e-5\n"
        "assert 'torch' not in sys.modules, 'serving imported torch'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_heads_must_divide_factors() -> None:
    from nextbuy.errors import ConfigError

    with pytest.raises(ConfigError, match="heads"):
        SASRec(factors=10, heads=3)


def test_trimmed_batches_keep_every_target_and_every_state() -> None:
    from nextbuy.models import sasrec_net

    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 13, 40)
    users = np.repeat(np.arange(40), lengths)
    items = rng.integers(0, 30, len(users))
    data = window(users, items, 40, 12)  # [40, L + 1]: some rows full, most padded
    batches = sasrec_net.length_batches(data, 8, rng)
    assert sorted(np.concatenate([rows for rows, _ in batches]).tolist()) == list(range(40))
    kept = sum(int((data[rows, cut:][:, 1:] > 0).sum()) for rows, cut in batches)
    assert kept == int((data[:, 1:] > 0).sum())  # the same targets as the full windows
    torch.manual_seed(0)
    net = sasrec_net.SASRecNet(30, 8, 11, 2, 2, 0.0).eval()
    with torch.no_grad():
        full = net(torch.as_tensor(data[:, :-1]))
        for rows, cut in batches:
            part = net(torch.as_tensor(data[rows, cut:-1]), cut)
            real = torch.as_tensor(data[rows, cut:-1] > 0)
            assert torch.allclose(part[real], full[rows][:, cut:][real], atol=1e-5)
        vectors = sasrec_net.user_vectors(net, data[:, :-1], batch=7)
    assert np.abs(vectors - full[:, -1, :].numpy()).max() < 1e-5
