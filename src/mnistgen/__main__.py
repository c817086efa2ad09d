"""``python -m mnistgen``: the same as the ``mnistgen`` command."""

import sys

from mnistgen.launch import main

sys.exit(main())
