"""Exact verification of small ReLU nets (Tjeng et al. 2019, arXiv 1711.07356; Xiao et al. 2019, arXiv 1809.03008).

- `bounds.py`: the net as affine steps and ReLUs; interval bounds over an L∞ ball clipped to [0, 1];
- `linear_bounds.py`: tighter bounds by backward linear relaxation (CROWN), for the MILP's big-M constants;
- `milp.py`: the MIPVerify mixed-integer program on HiGHS (`scipy.optimize.milp`): verify;
- `linf_search.py`: the minimal L∞ distortion reaching a target label: certified bracket, exact when it closes;
- `rs_loss.py`: the ReLU-stability loss −Σ tanh(1 + l·u) in TensorFlow, for training.
"""
