"""Admission of a submitted model: safe loading of the file, then validation on the suite's data.

```python
model = load_submitted_model("model.keras", trust_model_code=False, max_size_bytes=200 * 1024 * 1024)
validated = validate_model(model, x_sample, y_sample=None, num_classes=10, source="model.keras")
validated.model         # float32 (N, 28, 28) in [0, 1] -> logits (N, num_classes)
validated.input_layout  # "28x28" | "28x28x1" | "784"
validated.output_kind   # "logits" | "probabilities" (then validated.model returns log-probabilities)
validated.checks        # JSON-able record of what was checked
```

`loading` decides what is accepted (only `.keras` archives; `.h5`, SavedModel folders and pickles are
refused; `archive` refuses hostile archives from their directory and `config.json`) and audits
`config.json` before Keras deserialises anything; `validation` checks shapes, classes, finite and
deterministic outputs, and builds the adapter; `naming` checks a submission's name, says where its copy
is kept and describes its architecture. Every refusal is a `ModelError`.
"""

from robustbench_keras.submission.loading import DEFAULT_MAX_SIZE_BYTES, load_submitted_model
from robustbench_keras.submission.naming import check_name, describe_architecture, submission_path
from robustbench_keras.submission.validation import ValidatedModel, validate_model, validate_on_dataset

__all__ = ["DEFAULT_MAX_SIZE_BYTES", "ValidatedModel", "check_name", "describe_architecture", "load_submitted_model",
           "submission_path", "validate_model", "validate_on_dataset"]
