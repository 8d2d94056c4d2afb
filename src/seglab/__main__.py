import sys

from seglab.cli.main import main

sys.exit(main())
