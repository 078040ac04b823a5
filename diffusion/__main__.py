"""``python -m diffusion ...``: the same as the ``diffusion`` command."""

import sys

from diffusion.cli import main

sys.exit(main())
