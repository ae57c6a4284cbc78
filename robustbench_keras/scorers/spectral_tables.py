"""The spectral scorer's tables: Table 5 (AlexNet) and the benchmark models' layer bounds."""

from robustbench_keras.scorers.cells import DASH, Comparison, Table, display_names


def _size(shape):
    """'3×11×11×96' from a shape list; — for None, [] or [None]."""
    return "×".join(str(n) for n in shape) if shape and None not in shape else DASH


def table5_table(document, baselines):
    """Table 5: the AlexNet's layer bounds beside the paper's."""
    ours = document.get("table5") or {}
    paper = {layer["name"]: layer for layer in ((baselines or {}).get("table5") or {}).get("layers", [])}
    names = [layer["name"] for layer in ours.get("layers", [])]
    layers = [(paper.get(layer["name"], {}), layer) for layer in ours.get("layers", [])]
    layers += [(layer, {}) for name, layer in paper.items() if name not in names]
    rows = []
    for reference, layer in layers:
        stride = layer.get("stride", reference.get("stride"))
        rows.append((
            layer.get("name") or reference["name"], _size(layer.get("shape") or reference.get("shape")),
            _size(stride if isinstance(stride, list) else [stride]),
            Comparison(reference.get("bound"), layer.get("bound"), "bound"),
        ))
    rows.append(("Product", "", "", Comparison(None, ours.get("product"), "bound")))
    note = (f"{ours['model']} with weights {ours['weights']}; bounds computed in {ours['time_s']:.1f} s."
            if ours else "Not computed in this run.")
    return Table(
        "table5", "Table 5: upper Lipschitz bounds of the AlexNet layers",
        "Size: input channels × kernel height × width × output channels (dense: inputs × outputs). " + note,
        ("Layer", "Size", "Stride", "Upper bound"), tuple(rows), has_paper=baselines is not None,
    )


def entry_table(document, baselines):
    """The benchmark models' own layer bounds and their product (no paper values)."""
    names = display_names(document, baselines)
    rows = []
    for entry in document["entries"]:
        bounds = entry.get("spectral")
        if bounds is None:
            continue
        name = names.get(entry["id"], entry["id"])
        if "layers" in bounds:
            layers = ", ".join(f"{layer['name']} {layer['bound']:.2f}" for layer in bounds["layers"])
            rows.append((name, layers, Comparison(None, bounds["product"], "bound")))
        else:
            rows.append((name, f"unsupported layer {bounds['unsupported_layer']}", Comparison(None, None, "bound")))
    return Table(
        "spectral", "Upper Lipschitz bounds of the benchmark models (Section 4.3)",
        "Per-layer upper bounds and their product; the paper gives none for the MNIST models.",
        ("Model", "Layer bounds", "Product"), tuple(rows), has_paper=False,
    )
