import sys

from python_ml.cli import main

sys.exit(main())
