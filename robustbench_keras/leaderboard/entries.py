"""Leaderboard entries as a type: one model's provenance, clean errors and scorer sections.

`Entry.to_json()` gives the dict `schema.json#/$defs/entry` describes and `Entry.from_json` reads
one back; the JSON Schema stays the contract (the store validates every document it writes).
"""

import copy
import dataclasses

from robustbench_keras.errors import LeaderboardError

SOURCES = ("zoo", "submission")


@dataclasses.dataclass
class Submission:
    """Who submitted a model, and which file."""

    name: str
    model_sha256: str
    submitted_utc: str
    authors: list = dataclasses.field(default_factory=list)
    link: str | None = None
    description: str | None = None

    def to_json(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Entry:
    """One model on the leaderboard.

    Attributes:
        id: the zoo id or the submission's name.
        paper_name: the paper's name of a zoo model, else None.
        source: "zoo" or "submission".
        architecture: a one-line description of the layers.
        recipe: the training recipe (JSON) of a zoo model, else None.
        checkpoint_sha256: sha256 of the model file that was scored.
        seed: seed of training (zoo), sampling, targets and noise.
        train_split: split a zoo model was trained on, else None.
        clean_errors: {split: error rate}.
        timings: wall times in seconds, names ending in `_s` (left out of the JSON when empty).
        submission: `Submission` of a submitted model, else None.
        sections: {scorer name: that scorer's JSON section}.
    """

    id: str
    paper_name: str | None
    source: str
    architecture: str
    recipe: dict | None
    checkpoint_sha256: str
    seed: int | None
    train_split: str | None
    clean_errors: dict
    timings: dict = dataclasses.field(default_factory=dict)
    submission: Submission | None = None
    sections: dict = dataclasses.field(default_factory=dict)

    @property
    def display_name(self):
        """The name tables show: the paper's, else the submission's, else the id."""
        return self.paper_name or (self.submission.name if self.submission else None) or self.id

    def to_json(self):
        """The entry as the schema's JSON object (sections become top-level keys)."""
        data = {field.name: copy.deepcopy(getattr(self, field.name)) for field in dataclasses.fields(self)
                if field.name not in ("submission", "sections")}
        if not self.timings:
            del data["timings"]
        data.update(copy.deepcopy(self.sections))
        if self.submission is not None:
            data["submission"] = self.submission.to_json()
        return data

    @classmethod
    def from_json(cls, data):
        """Reads an entry written by `to_json` (keys that are not fields are scorer sections)."""
        names = {field.name for field in dataclasses.fields(cls)} - {"sections"}
        missing = sorted(names - set(data) - {"timings", "submission"})
        if missing:
            raise LeaderboardError(f"entry {data.get('id')!r}: missing {', '.join(missing)}")
        fields = {key: copy.deepcopy(value) for key, value in data.items() if key in names}
        if fields.get("submission") is not None:
            fields["submission"] = Submission(**fields["submission"])
        sections = {key: copy.deepcopy(value) for key, value in data.items() if key not in names}
        return cls(**fields, sections=sections)
