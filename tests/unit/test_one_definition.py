"""Facts the report, the model card, the app and MLflow say in words are read from their one
definition (a dbt var, the seed), not written again beside it."""

import pytest

from python_ml.warehouse import catalog


def test_the_predict_share_in_words_follows_the_dbt_var(monkeypatch: pytest.MonkeyPatch) -> None:
    assert catalog.predict_share_in_words() == "10%"  # dbt_project.yml: predict_share 0.10
    monkeypatch.setattr(catalog, "dbt_var", {"predict_share": 0.125}.__getitem__)
    assert catalog.predict_share_in_words() == "12.5%"
