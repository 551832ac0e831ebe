"""``python -m covary`` == the ``covary`` command."""

from __future__ import annotations

import sys

from covary.cli import main

sys.exit(main())
