"""One SparkSession builder: master, --spark-conf, driver memory before the JVM, checkpoints."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nextbuy.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger("nextbuy.spark")

#: Defaults for local masters, each overridden by ``--spark-conf``. Spark's own 1g driver
#: heap is too small for ALS on millions of ratings when driver and executor are one JVM.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


@dataclass
class SparkOptions:
    """Where and how Spark runs: ``--spark-master``, ``--spark-conf``, ``--checkpoint-dir``."""

    master: str = "local[*]"
    conf: dict[str, str] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    app_name: str = "nextbuy"

    @property
    def local(self) -> bool:
        return self.master.startswith("local")

    def describe(self) -> dict[str, Any]:
        """JSON-friendly record for the artifact's manifest."""
        return {
            "master": self.master,
            "conf": dict(self.conf),
            "checkpoint_dir": self.checkpoint_dir,
        }


def parse_conf(pairs: list[str] | None) -> dict[str, str]:
    """``--spark-conf key=value`` pairs as a dict; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--spark-conf {pair!r}: expected key=value, e.g. spark.driver.memory=8g"
            )
        out[key.strip()] = value.strip()
    return out


def require_pyspark() -> Any:
    """The pyspark module, or a clear error telling how to install it."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError(
            "the Spark engine needs pyspark: pip install 'nextbuy[spark]' (and Java 17+)"
        ) from None
    return pyspark


def spark_version() -> str:
    """Version of the installed pyspark (the Spark that trained or scored)."""
    return str(require_pyspark().__version__)


def _local_memory() -> str:
    """Driver heap for local masters: a quarter of the machine's memory, 1-16 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    gib = int(min(16, max(1, total / 4 / 2**30)))
    return f"{gib}g"


def in_process_options() -> SparkOptions:
    """The session ``registry.create("spark_als").fit(train)`` starts when none is running:
    local, all cores, few shuffle partitions and no web UI (the data fits one machine)."""
    cores = os.cpu_count() or 2
    conf = {"spark.sql.shuffle.partitions": str(2 * cores), "spark.ui.enabled": "false"}
    return SparkOptions(master="local[*]", conf=conf, app_name="nextbuy-in-process")


def get_session(options: SparkOptions | None = None) -> SparkSession:
    """The active SparkSession, or a new one built from ``options``.

    Static settings (``spark.driver.memory``, the master) only take effect when this call
    starts the JVM, so they are passed to the builder, never set afterwards; when a session
    is already running they are reported as ignored. Local masters get Arrow transfers,
    a driver heap sized to the machine, workers on this Python, and a temporary checkpoint
    directory, so that ALS's checkpointInterval works and long runs do not overflow the stack.
    Under ``spark-submit`` its ``--master`` and settings apply and ``options.master`` is unused.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    # pyspark warns on every pandas conversion under pandas 3; NextBuy's conversions are tested
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    opts = options or SparkOptions()
    active = SparkSession.getActiveSession()
    if active is not None:
        _reuse(active, opts)
        return active
    conf = dict(LOCAL_DEFAULTS)
    # under spark-submit the JVM is running and its --master / --conf are the ones to keep
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if opts.local and not submitted:
        conf["spark.driver.memory"] = _local_memory()
        # executors of a local master are this machine's Pythons: use the one running here
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    conf.update(opts.conf)
    builder = SparkSession.builder.appName(opts.app_name)
    if not submitted:
        builder = builder.master(opts.master)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    _set_checkpoint_dir(session, opts)
    return session


def _reuse(session: SparkSession, opts: SparkOptions) -> None:
    """Apply the runtime settings of ``opts`` to a running session; report the static ones."""
    ignored = []
    for key, value in opts.conf.items():
        try:
            session.conf.set(key, value)
        except Exception:  # static configs (driver memory, master) cannot change now
            ignored.append(key)
    if ignored:
        logger.warning("Spark is already running; ignored static settings: %s", ignored)
    if opts.checkpoint_dir is not None or not session.sparkContext.getCheckpointDir():
        _set_checkpoint_dir(session, opts)


def _set_checkpoint_dir(session: SparkSession, opts: SparkOptions) -> None:
    """``--checkpoint-dir``, or a temporary folder for local masters (a cluster needs its own)."""
    path = opts.checkpoint_dir
    if path is None and str(session.sparkContext.master).startswith("local"):
        path = tempfile.mkdtemp(prefix="nextbuy-spark-checkpoints-")
        atexit.register(shutil.rmtree, path, True)
    if path is not None:
        session.sparkContext.setCheckpointDir(path)


def checkpoint_warning(session: SparkSession, interval: int) -> str | None:
    """A warning when ALS would checkpoint but Spark has nowhere to write (it then silently
    does not, and long runs can end in a StackOverflowError)."""
    if interval > 0 and not session.sparkContext.getCheckpointDir():
        return (
            f"checkpoint_interval={interval} is ignored without a checkpoint directory; "
            "pass --checkpoint-dir (an HDFS/S3 path on a cluster) for long runs"
        )
    return None
