"""`python -m daemon` is `pecora`."""

import sys

from daemon.cli import main

if __name__ == "__main__":  # not when a worker process imports it (daemon/deciding.py)
    sys.exit(main())
