"""Seconds per sasrec training epoch on MovieLens 100K (protocol C's train + validation part):
the old settings (two torch threads, 200-item windows, untrimmed batches) against the new
defaults and the steps between, interleaved in one run so a load change hits each alike.

    nice -n 5 python benchmarks/sasrec_epoch.py --movielens ../shared/data/ml-100k
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nextbuy.evaluation.sequential import leave_last_split
from nextbuy.models import sasrec_net as sn
from nextbuy.models.sequences import chronological, window

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol_c import movielens  # noqa: E402

#: (label, window length, torch threads, length-trimmed batches)
CONFIGS = [
    ("old: 2 threads, L=200, untrimmed", 200, 2, False),
    ("2 threads, L=200, trimmed", 200, 2, True),
    ("1 thread, L=200, trimmed", 200, 1, True),
    ("new: 1 thread, L=50, trimmed", 50, 1, True),
    ("2 threads, L=50, trimmed", 50, 2, True),
]


def epoch(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int,
          length: int, threads: int, trim: bool) -> tuple[float, float]:  # fmt: skip
    """(wall s, CPU s) of one training epoch (no validation) from a fresh network."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    data = window(users, items, n_users, length + 1)
    data = data[(data > 0).sum(1) >= 2]
    rng = np.random.default_rng(0)
    net = sn.SASRecNet(n_items, 64, length, 2, 1, 0.2)
    optim = torch.optim.Adam(net.parameters(), lr=1e-3)
    if trim:
        batches = sn.length_batches(data, 128, rng)
    else:
        order = rng.permutation(len(data))
        batches = [(order[s : s + 128], 0) for s in range(0, len(order), 128)]
    cpu, wall = time.process_time(), time.perf_counter()
    for rows, cut in batches:
        batch = torch.as_tensor(data[rows, cut:])
        inputs, targets = batch[:, :-1], batch[:, 1:] - 1
        hidden = net(inputs, cut)[targets >= 0]
        loss = sn._loss(net, hidden, targets[targets >= 0], True, 0, n_items) / 1000
        optim.zero_grad()
        loss.backward()
        optim.step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", type=Path, required=True, help="ml-100k folder")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    train = leave_last_split(movielens(args.movielens)).train_valid
    users, items = chronological(train)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in CONFIGS}
    for _ in range(args.repeats):
        for name, length, threads, trim in CONFIGS:
            times[name].append(epoch(users, items, *train.shape, length, threads, trim))
    ref = float(np.mean([w for w, _ in times[CONFIGS[0][0]]]))
    print("| settings | wall s per epoch | CPU s per epoch | speed vs old |")
    print("|---|---|---|---|")
    for name, values in times.items():
        wall = float(np.mean([w for w, _ in values]))
        cpu = float(np.mean([c for _, c in values]))
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {ref / wall:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
