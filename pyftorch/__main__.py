import sys

from pyftorch.cli import main

sys.exit(main())
