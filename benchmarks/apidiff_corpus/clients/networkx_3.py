"""Graph helpers for networkx 3."""

import networkx as nx


def check_algorithms():
    g = nx.karate_club_graph()
    assert nx.is_connected(g)
    assert len(nx.minimum_spanning_tree(g).edges) == g.number_of_nodes() - 1


def check_digraph():
    g = nx.DiGraph([(1, 2), (2, 3)])
    assert list(nx.topological_sort(g)) == [1, 2, 3]
