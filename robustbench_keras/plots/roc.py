"""ROC curves of a detector per model (feature squeezing, Xu et al. 2018), drawn like plots/figures.py."""

from robustbench_keras.plots.figures import DPI, _new_figure, _save

ROC_INCHES = (5.0, 4.2)


def plot_roc_curves(path, curves, dpi=DPI):
    """Draws {label: (roc, auc)} where roc = {"false_positive_rates": [...], "true_positive_rates": [...]}."""
    figure = _new_figure((ROC_INCHES[0] * dpi, ROC_INCHES[1] * dpi), dpi)
    axes = figure.add_subplot()
    for label, (roc, auc) in curves.items():
        axes.plot(roc["false_positive_rates"], roc["true_positive_rates"], label=f"{label} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(xlabel="False-positive rate (legitimate images flagged)",
             ylabel="Detection rate (adversarials flagged)", xlim=(0, 1), ylim=(0, 1.01),
             title="Feature squeezing: joint detector ROC")
    axes.legend(loc="lower right", fontsize="small")
    return _save(figure, path, dpi)
