"""``python -m nextbuy.serving --model-dir models/als``: the server without the full CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nextbuy.errors import NextBuyError
from nextbuy.serving import run


def main() -> None:
    """Parse the serve options and run the server."""
    parser = argparse.ArgumentParser(prog="python -m nextbuy.serving", description=__doc__)
    parser.add_argument(
        "--model-dir", type=Path, required=True, help="MODELS_DIR/NAME or a version folder"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=None,
        help="event store (postgresql+psycopg://..., sqlite:///path or a file); "
        "default NEXTBUY_DATABASE_URL, else MODELS_DIR/events.db",
    )
    args = parser.parse_args()
    try:
        run(
            args.model_dir,
            host=args.host,
            port=args.port,
            workers=args.workers,
            database_url=args.database_url,
        )
    except NextBuyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
