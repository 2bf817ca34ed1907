"""The score page's help says each feature's allowed values as a rejection says them: it read
"allowed: in (0, 1)" (SQL, and an open interval to a reader) for mode and explicit."""

from python_ml.warehouse import catalog


def test_every_range_in_words_as_the_rejections_say_it() -> None:
    words = catalog.track_feature_ranges_in_words()
    assert words.keys() == catalog.track_feature_ranges().keys()
    assert words["mode"] == words["explicit"] == "one of 0, 1"
    assert words["danceability"] == "0 to 1"
    assert words["loudness"] == "-60 to 10"
    assert not any(w.startswith(("between", "in (")) for w in words.values())
