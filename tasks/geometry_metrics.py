"""Representation-geometry metrics of the paper's section 5.1, as pure numpy functions.

Input: one group of hidden-state vectors per *concept* (one held-out sequence whose content
word was replaced by each member of its concept set T*), ``groups[c]`` of shape (n_c, d),
n_c ≥ 2. Every vector is L2-normalised first, so a cosine is a dot product.

Clustering (all sums over unordered pairs of distinct vectors):

- intra_c = Σ_{i<j in c} cos(v_i, v_j) / (n_c(n_c−1)/2) = (‖S_c‖² − n_c) / (n_c(n_c−1)),
  with S_c = Σ_{v∈c} v; ``intra`` = (1/K) Σ_c intra_c (mean over concepts).
- ``inter`` = mean cosine over ALL pairs of vectors from different concepts
  = (‖S‖² − Σ_c ‖S_c‖²) / (N² − Σ_c n_c²), with S = Σ_c S_c and N = Σ_c n_c
  (the cross terms of ‖S‖²; exact, O(N·d), no pair sampling).
- ``clustering_score`` = intra − inter.

Centroids: μ_c = mean of the unit vectors of concept c (cosine ignores its length);
``centroid_similarity`` = mean over pairs c < c' of cos(μ_c, μ_c')
= (‖Σ_c μ̂_c‖² − K) / (K(K−1)) with μ̂_c = μ_c / ‖μ_c‖.

Per-concept values for the paired bootstrap (:mod:`harness.bootstrap` resamples concepts):
``intra_c`` is a per-concept value, so ``mean`` over a resample recomputes ``intra`` exactly.
``inter`` and ``centroid_similarity`` are ratio U-statistics over *pairs* of concepts,
U = Σ_{c≠c'} h_cc' / Σ_{c≠c'} w_cc' = A / B. Each concept gets its row sums a_c = Σ_{c'≠c} h_cc'
and b_c = Σ_{c'≠c} w_cc' and the pseudo-value (the U-statistic's influence function)

    ψ_c = U + 2K (a_c − U b_c) / B,

whose mean over all concepts is exactly U (Σ_c (a_c − U b_c) = A − U B = 0) and whose mean over
a bootstrap resample with multiplicities w_c equals U + (2/B) Σ_c (w_c − 1)(a_c − U b_c): the
first-order expansion of U recomputed on that resample. Averaging the row ratios a_c / b_c
instead would miss the factor 2 (every pair has two ends) and give intervals half as wide as
the resampling variance of U. Storing ψ_c keeps result files at a few columns per concept
instead of a d-dimensional vector per concept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float64); a zero row stays zero."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-300)


def pair_pseudo_values(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ψ_c = U + 2K (a_c − U b_c) / B with U = Σa / Σb, B = Σb (see the module docstring)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    total = float(b.sum())
    u = float(a.sum()) / total
    return u + 2.0 * len(a) * (a - u * b) / total


@dataclass
class ClusteringStats:
    """Per-concept values (arrays of length K) and the metrics they give."""

    n: np.ndarray  # variants per concept
    intra: np.ndarray  # mean pairwise cosine within each concept
    cross_sum: np.ndarray  # Σ cos(v, w), v in c, w in any other concept
    cross_pairs: np.ndarray  # n_c (N − n_c)
    inter_item: np.ndarray  # pseudo-values ψ_c of inter; mean(inter_item) == inter

    @property
    def intra_mean(self) -> float:
        return float(self.intra.mean())

    @property
    def inter(self) -> float:
        return float(self.cross_sum.sum() / self.cross_pairs.sum())

    @property
    def score_item(self) -> np.ndarray:
        return self.intra - self.inter_item

    def metrics(self) -> dict[str, float]:
        return {"clustering_score": self.intra_mean - self.inter, "intra": self.intra_mean, "inter": self.inter}


def _check_groups(groups: list[np.ndarray]) -> list[np.ndarray]:
    assert len(groups) >= 2, f"need at least 2 concepts, got {len(groups)}"
    out = [unit_rows(g) for g in groups]
    for g in out:
        assert g.ndim == 2 and g.shape[0] >= 2, f"every concept needs ≥ 2 vectors, got shape {g.shape}"
    return out


def clustering_stats(groups: list[np.ndarray]) -> ClusteringStats:
    """Intra-/inter-concept cosine statistics of ``groups`` (one (n_c, d) array per concept)."""
    units = _check_groups(groups)
    n = np.array([len(g) for g in units], dtype=np.float64)
    sums = np.stack([g.sum(axis=0) for g in units])  # S_c, (K, d)
    own = np.einsum("kd,kd->k", sums, sums)  # ‖S_c‖² = n_c + 2 Σ_{i<j} cos
    intra = (own - n) / (n * (n - 1))
    total = sums.sum(axis=0)
    cross_sum = sums @ total - own  # S_c · (S − S_c)
    cross_pairs = n * (n.sum() - n)
    return ClusteringStats(n=n, intra=intra, cross_sum=cross_sum, cross_pairs=cross_pairs,
                           inter_item=pair_pseudo_values(cross_sum, cross_pairs))


@dataclass
class CentroidStats:
    centroid_cross: np.ndarray  # Σ_{c'≠c} cos(μ_c, μ_c')
    item: np.ndarray  # pseudo-values ψ_c; mean(item) == centroid_similarity

    @property
    def similarity(self) -> float:
        k = len(self.centroid_cross)
        return float(self.centroid_cross.sum() / (k * (k - 1)))


def centroid_stats(groups: list[np.ndarray]) -> CentroidStats:
    """Mean pairwise cosine between the concepts' centroids (means of their unit vectors)."""
    units = _check_groups(groups)
    centroids = unit_rows(np.stack([g.mean(axis=0) for g in units]))
    total = centroids.sum(axis=0)
    own = np.einsum("kd,kd->k", centroids, centroids)
    cross = centroids @ total - own
    k = len(units)
    return CentroidStats(centroid_cross=cross, item=pair_pseudo_values(cross, np.full(k, k - 1.0)))
