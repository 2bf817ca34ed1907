"""Whether a process lives (by its id): what `train` asks of a run left RUNNING and `predict`
of a partial output left beside its file, each recording the id of the process writing."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while the process ``pid`` runs on this machine (another user's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
