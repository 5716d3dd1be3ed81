"""``python -m daemon.demo`` runs `pecora demo`."""

import sys

from daemon.demo.cli import main

sys.exit(main())
