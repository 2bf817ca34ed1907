import logging
import os
import sys
import threading

from python_ml.cli import main

code = main()
if any(t.name.startswith("train-") and t.is_alive() for t in threading.enumerate()):
    # Interrupted while experiments were fitting: their daemon threads would still be logging
    # while the interpreter shuts down (a fatal error on stderr). Their runs are already marked
    # KILLED; leave now, with the logs flushed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
