"""songs"""

import re

# The study's results table (Markdown), in the reports folder: the songs step writes it, the
# report page links to it.
RESULTS_FILE = "songs_2023_results.md"


def repeats_of(split_kind: object) -> int:
    """How many fold seeds a study's run used, from the split_kind it recorded ("5x 5-fold
    cv": 5; 1 when it does not say). Its out-of-fold predictions are the first repeat's."""
    recorded = re.fullmatch(r"(\d+)x \d+-fold cv", str(split_kind))
    return int(recorded.group(1)) if recorded else 1
