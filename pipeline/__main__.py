"""`python -m pipeline --input ... --output ... [Beam options]`; `--help` lists the options."""

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
