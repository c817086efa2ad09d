import sys

from mnistgen.cli import main

sys.exit(main())
