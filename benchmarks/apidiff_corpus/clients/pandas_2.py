"""Report building with pandas 2."""

import pandas as pd


def check_frame():
    df = pd.DataFrame({"team": ["a", "a", "b"], "score": [1, 2, 3]})
    summary = df.groupby("team", as_index=False)["score"].sum()
    assert summary.to_dict("records") == [{"team": "a", "score": 3}, {"team": "b", "score": 3}]
    merged = pd.concat([df, df], ignore_index=True)
    assert len(merged) == 6


def check_dates():
    s = pd.Series(pd.date_range("2024-01-01", periods=3, freq="D"))
    assert s.dt.day.tolist() == [1, 2, 3]
