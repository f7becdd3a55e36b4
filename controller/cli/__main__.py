"""``python -m controller.cli``: the controller's command line (without the HMI)."""

import sys

from controller.cli.command import main

sys.exit(main())
