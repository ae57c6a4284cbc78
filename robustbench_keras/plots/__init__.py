"""Drawings from arrays (matplotlib's object API, Agg, fixed sizes): `figures` (adversarial examples,
transfer heatmaps, distortion histograms) and `direction_grids` (Property 1, like the paper's Figs. 1-2)."""
