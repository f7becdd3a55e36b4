"""``python -m simulators``: see :mod:`simulators.cli`."""

import sys

from simulators.cli import main

sys.exit(main())
