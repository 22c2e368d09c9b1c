"""``python -m nextbuy.cli``: the same entry point as the ``nextbuy`` console script."""

from nextbuy.cli import main

main()
