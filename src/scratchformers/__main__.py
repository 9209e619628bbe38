import sys

from scratchformers.cli import main

sys.exit(main())
