"""The hit word cloud's baseline: a word counts by how much more often it is in hit titles
than in the others, so the words of every title (remastered, version) are not the hits'."""

from __future__ import annotations

import pandas as pd

from python_ml.reports.charts import title_word_lift


def test_words_common_to_every_class_do_not_lead_the_hits() -> None:
    hits = pd.Series(["Love me - Remastered", "Love song", "Summer love", "Love remastered"] * 3)
    others = pd.Series(["Blue - Remastered", "Night remastered", "Remastered", "Rain"] * 30)
    lift = title_word_lift(hits, others)
    assert lift.index[0] == "love"
    assert lift["love"] > 10 * lift["remastered"]
    assert "rain" not in lift.index  # in no hit title
    # A word in fewer than MIN_WORD_HITS hit titles is left out.
    assert "summer" in lift.index and title_word_lift(hits.head(2), others).empty
