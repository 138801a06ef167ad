import sys

from airq.cli import main

sys.exit(main())
