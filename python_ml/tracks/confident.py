"""Confident calls: tracks whose most likely class has a probability of 0.999 or more. The
one definition of that threshold: training's and scoring's metrics (evaluate.py) count them;
the report, the model card and the app (python_ml/reports/confidence.py) show them. Only the
threshold is here, so an edit to how they are shown does not fit the models again (training's
code is the modules it imports)."""

from __future__ import annotations

# A confident call: the most likely class has at least this probability, so a calibrated model
# is expected to be wrong on at most 1 in 1,000 of them. The ECE (a mean over bins) hides a
# handful of confident errors among tens of thousands of tracks (gradient boosting without an
# L2 penalty once called three ice-cold tracks blazing-hot at 0.99999, holdout ECE 0.005).
CONFIDENT_PROBABILITY = 0.999
