"""Test configuration: make ``tests/`` importable so that tests can ``from reference import ...``.

The project runs pytest with ``--import-mode=importlib``, which does not put the test directory on
``sys.path`` by itself.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
