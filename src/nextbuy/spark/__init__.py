"""Training and batch scoring on Apache Spark (``pip install "nextbuy[spark]"``).

The pieces: ``session`` (one SparkSession builder), ``io`` (read logs, map string IDs to
integers, aggregate duplicates, all inside Spark), ``split``, ``train`` (MLlib ALS),
``topk`` and ``evaluate`` (full-ranking top-K with seen items excluded, NextBuy's metric
definitions), ``artifact`` (the same artifact every model writes) and ``batch``. Importing
this package does not import pyspark; serving never does.
"""
