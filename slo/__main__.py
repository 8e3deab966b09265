"""`python -m slo report` (also `openclaw-exporter slo report`)."""

import sys

from slo.cli import main

sys.exit(main())
