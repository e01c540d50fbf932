"""`python -m plugin` is the `epidural-cds` command."""

import sys

from plugin.command_line.main import main

sys.exit(main())
