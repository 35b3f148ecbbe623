"""`python -m tests.chaos --count N --seed S [--guard on|off|both] [--replay SEED]`."""

import sys

from tests.chaos.campaign import main


sys.exit(main())
