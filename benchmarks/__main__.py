"""``python -m benchmarks``: see benchmarks/README.md, or ``python -m benchmarks --help``."""
import sys

from .run import main

sys.exit(main())
