"""Clustering of pixel values: k-means (exact 1-D histogram optimum, weighted unique colours, scikit-learn).

>>> from seglab.cluster import kmeans, optimal_kmeans_1d, choose_knee
"""

from ._kmeans import choose_knee, kmeans, optimal_kmeans_1d, weighted_kmeans

__all__ = ["kmeans", "optimal_kmeans_1d", "weighted_kmeans", "choose_knee"]
