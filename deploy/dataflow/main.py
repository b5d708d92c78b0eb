"""Flex Template entry (FLEX_TEMPLATE_PYTHON_PY_FILE): build the job from the template's
parameters, hand it to the launcher, return without waiting for it."""

import logging
import sys

from pipeline.dataflow import launch_template

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    launch_template(sys.argv[1:])
