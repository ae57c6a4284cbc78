"""Defenses evaluated by the benchmark, below the zoo and the scorers.

- `squeezers`: feature squeezing's input transformations (Xu, Evans, Qi, NDSS 2018; arXiv 1704.01155);
- `detector`: its joint detector score, threshold, detection statistics and the adaptive wrapper model;
- `random_mask`: the fixed random mask layer of Luo et al. 2019 (arXiv 1902.07384).
"""
