"""Report building written for pandas 1.5."""

import pandas as pd


def check_frame_ops():
    df = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert df.groupby("a")["b"].sum().tolist() == [3, 4]
    assert df.to_dict("records")[0] == {"a": 1, "b": 3}


def check_append():
    df = pd.DataFrame({"a": [1]})
    assert len(df.append({"a": 2}, ignore_index=True)) == 2


def check_iteritems():
    s = pd.Series([1, 2])
    assert list(s.iteritems()) == [(0, 1), (1, 2)]


def check_int64index():
    assert len(pd.Int64Index([1, 2])) == 2
