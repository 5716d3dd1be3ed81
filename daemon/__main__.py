"""`python -m daemon` is `pecora`."""

import sys

from daemon.cli import main

sys.exit(main())
