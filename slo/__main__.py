"""`python -m slo generate|report` until the exporter's CLI hosts `slo`."""

import sys

from slo.cli import main

sys.exit(main())
