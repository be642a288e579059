"""Test configuration.

- Makes ``tests/`` importable so that tests can ``from reference import ...`` (the project runs
  pytest with ``--import-mode=importlib``, which does not put the test directory on ``sys.path``).
- Registers Hypothesis profiles and loads one: ``ci`` (the default) draws the same examples on
  every run (``derandomize=True``, no example database), so that the suite gives the same answer
  twice; ``explore`` draws fresh random examples, for hunting new failures
  (``TVSPLINE_HYPOTHESIS_PROFILE=explore``). Tests keep their own ``max_examples`` and deadlines.
"""

import os
import sys

from hypothesis import settings

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("TVSPLINE_HYPOTHESIS_PROFILE", "ci"))
