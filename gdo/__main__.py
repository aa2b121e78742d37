"""``python -m gdo`` (what torchrun launches): the same as the ``gdo`` command."""

import sys

from gdo.cli import main

sys.exit(main())
