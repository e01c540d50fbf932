"""`python -m plugin` is the `epidural-cds` command."""

import sys

from plugin.cli import main

sys.exit(main())
