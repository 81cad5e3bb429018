"""Progress bars with tqdm (written to a string, not a terminal)."""

import io

from tqdm import tqdm, trange


def check_bar():
    out = io.StringIO()
    total = sum(x for x in tqdm(range(10), file=out, desc="work", leave=False))
    assert total == 45


def check_manual():
    out = io.StringIO()
    with tqdm(total=3, file=out) as bar:
        bar.update(2)
        bar.set_postfix(step=2)
        assert bar.n == 2
    assert list(trange(2, file=out)) == [0, 1]
