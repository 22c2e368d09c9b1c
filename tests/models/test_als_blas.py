"""ALS fits with every BLAS at one thread, the one implicit's solver loads included."""

from __future__ import annotations

import os
import subprocess
import sys

# A fresh interpreter: implicit must not be imported yet (the limit used to be entered before
# the import that loads scipy's OpenBLAS, which then kept a thread per core during the fit).
CODE = """
import warnings
import numpy as np
import scipy.sparse as sp
import threadpoolctl
from nextbuy.data.interactions import Interactions
from nextbuy.models import registry

rng = np.random.default_rng(0)
csr = sp.csr_matrix((np.ones(400), (rng.integers(0, 40, 400), rng.integers(0, 30, 400))))
model = registry.create("als", factors=4, iterations=2)
seen = []
model.callback = lambda epoch, metrics: seen.append(
    [(i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()
     if i["user_api"] == "blas"]
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.fit(Interactions.from_csr(csr))
threads = [n for libs in seen for _, n in libs]
print(len(seen), max(threads), len({path for libs in seen for path, _ in libs}))
print(sum("OpenBLAS is configured" in str(w.message) for w in caught))
"""


def test_every_blas_runs_one_thread_during_the_fit_and_implicit_does_not_warn() -> None:
    # two BLAS threads by default even on one core (the suite's OMP_NUM_THREADS=1 would hide it)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", CODE], check=True, capture_output=True, text=True, env=env
    ).stdout.split()
    epochs, most_threads, libraries, warned = map(int, out)
    assert epochs == 2
    assert most_threads == 1
    assert libraries >= 2  # numpy's OpenBLAS and scipy's (the one implicit calls)
    assert warned == 0
