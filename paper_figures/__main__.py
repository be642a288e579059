"""``python -m paper_figures``: see :mod:`paper_figures.runner`."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
