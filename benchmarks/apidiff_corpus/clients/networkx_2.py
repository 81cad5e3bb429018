"""Graph helpers written for networkx 2."""

import networkx as nx


def check_paths():
    g = nx.path_graph(4)
    assert nx.shortest_path(g, 0, 3) == [0, 1, 2, 3]


def check_numpy_matrix():
    g = nx.path_graph(3)
    assert nx.to_numpy_matrix(g).shape == (3, 3)


def check_from_numpy_matrix():
    import numpy as np

    g = nx.from_numpy_matrix(np.eye(2))
    assert g.number_of_nodes() == 2


def check_degree():
    g = nx.star_graph(3)
    assert dict(g.degree())[0] == 3
