"""`python -m pipeline --input ... --output ... [Beam options]`."""

import logging
import sys

from pipeline.graph import run


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = run(sys.argv[1:])
    return 0 if summary["balanced"] else 1


if __name__ == "__main__":
    sys.exit(main())
