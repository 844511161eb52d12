"""``python -m poetry_pipper`` runs the ``pipper`` CLI."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
