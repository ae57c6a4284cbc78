"""What a suite's scorers share while they run: the models, their entries and each other's results."""

import dataclasses
from pathlib import Path


@dataclasses.dataclass
class ScoringContext:
    """The state one run of a suite's scorers reads and fills.

    Attributes:
        suite: the validated `Suite`.
        dataset: the loaded `Dataset`.
        models: {model id: keras model}, every model of the run's tables.
        entries: {model id: `Entry`}; each scorer writes its section into `entry.sections[name]`.
        output: the run's output folder (the leaderboard's folder).
        progress: show progress lines.
        scored: the ids scored in full; the others (zoo models beside a submission) only take part
            in the transfer tables, through their cached attack records.
        samples: split -> (x, y) of the attacked sample (min_distortion; "spheres": the attacked points).
        records: model id -> `AttackRecords` of its attack, in its split's sample order (min_distortion; spheres:
            its correctly classified points, `index` their positions in the sample).
        held_out_images: the images Property 1 ranked, or None (unit_semantics).
        document_sections: top-level leaderboard sections, e.g. {"controls": ..., "table5": ...}.
        stage_times: wall time of each scorer, e.g. {"min_distortion_s": 301.2}.
        executor: where units of work run (`robustbench_keras.executors`); None: in this process.
    """

    suite: object
    dataset: object
    models: dict
    entries: dict
    output: Path
    progress: bool = True
    scored: tuple = ()
    samples: dict = dataclasses.field(default_factory=dict)
    records: dict = dataclasses.field(default_factory=dict)
    held_out_images: object = None
    document_sections: dict = dataclasses.field(default_factory=dict)
    stage_times: dict = dataclasses.field(default_factory=dict)
    executor: object = None

    def __post_init__(self):
        if self.executor is None:
            from robustbench_keras.executors import InProcessExecutor

            self.executor = InProcessExecutor(progress=self.progress)

    @property
    def full_run(self):
        """Whether every model is scored (a suite run), not only a submission."""
        return set(self.scored) == set(self.models)

    def scored_models(self):
        """{model id: model} of the models scored in full, in table order."""
        return {model_id: self.models[model_id] for model_id in self.scored}
