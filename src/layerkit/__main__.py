"""Entry point for `python -m layerkit`."""

import sys

from layerkit.cli import main

sys.exit(main())
