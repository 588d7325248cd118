"""``python -m gtmgym``: the command line."""

import sys

from gtmgym.cli import main

if __name__ == "__main__":
    sys.exit(main())
