"""Entries as a type: `Entry` round-trips the schema's JSON, and what it writes validates."""

import copy

import pytest

from robustbench_keras.errors import LeaderboardError
from robustbench_keras.leaderboard import validate_document
from robustbench_keras.leaderboard.entries import Entry, Submission


def test_every_example_entry_round_trips(document):
    for data in document["entries"]:
        entry = Entry.from_json(data)
        assert entry.to_json() == data
    rebuilt = dict(document, entries=[Entry.from_json(e).to_json() for e in document["entries"]])
    validate_document(rebuilt)


def test_sections_and_submission_are_typed(document):
    submitted = Entry.from_json(document["entries"][-1])
    assert isinstance(submitted.submission, Submission) and submitted.display_name == "My CNN"
    assert set(submitted.sections) == {"min_distortion", "transfer", "spectral"}
    zoo = Entry.from_json(document["entries"][0])
    assert zoo.submission is None and zoo.display_name == "FC10(1e-4)"


def test_an_entry_without_its_provenance_is_refused(document):
    data = copy.deepcopy(document["entries"][0])
    del data["checkpoint_sha256"]
    with pytest.raises(LeaderboardError, match="entry 'fc10_wd1e-4': missing checkpoint_sha256"):
        Entry.from_json(data)
