"""``python -m pmulab.bench``: the same as ``pmulab bench``."""

import sys

from pmulab.bench.cli import _standalone

sys.exit(_standalone())
