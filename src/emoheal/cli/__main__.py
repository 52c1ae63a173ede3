"""`python -m emoheal.cli`, the same as the `emoheal` console script."""

import sys

from emoheal.cli import main

sys.exit(main())
