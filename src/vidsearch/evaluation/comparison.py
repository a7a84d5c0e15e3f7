"""Is a candidate model better than the incumbent? Both read the same test set's captions in one
language; a paired bootstrap on one deciding metric (text→image Recall@5 by default) answers.

    result = compare_models(dataset, "runs/fa/bundle", "models:/vidsearch-fa@champion")
    if result.better: promote the candidate

"Better" means significantly better: the 95% interval of candidate − incumbent lies above
zero. A model is never better than itself; with no incumbent (nothing holds the alias yet) the
candidate is better by default. Models are references as search takes them (a bundle name or
directory, a CLIP id, `models:/NAME@ALIAS`, which MLflow resolves through
MLFLOW_TRACKING_URI). `report` is the JSON `vidsearch eval retrieval` writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidsearch.data.records import Split
from vidsearch.encoders.base import Encoder
from vidsearch.encoders.model_bundle import EncoderOptions
from vidsearch.evaluation.bootstrap import DEFAULT_ROUNDS, Comparison
from vidsearch.evaluation.errors import EvaluationError

DEFAULT_KS = (1, 5, 10)
DEFAULT_DECIDING_K = 5
DIRECTION = "text_to_image"  # the search direction: a sentence finds a frame
INCUMBENT_SUFFIX = " (incumbent)"  # tells the two labels apart when a model meets itself


@dataclass(frozen=True)
class ModelComparison:
    candidate: str
    incumbent: str | None
    metric: str  # e.g. "text_to_image R@5" — the deciding one
    candidate_value: float
    incumbent_value: float | None
    comparison: Comparison | None  # paired bootstrap (None when there is no incumbent)
    report: dict[str, Any]  # the full JSON report (same shape `vidsearch eval retrieval` writes)

    @property
    def better(self) -> bool:
        """No incumbent: True; else the difference is significant and in the candidate's favour."""
        if self.comparison is None:
            return True
        return self.comparison.significant and self.comparison.difference > 0

    @property
    def summary(self) -> str:
        if self.comparison is None:
            return f"{self.metric}: {self.candidate} {self.candidate_value:.3f}, no incumbent"
        return f"{self.metric}: " + self.comparison.verdict(self.candidate, str(self.incumbent))

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "incumbent": self.incumbent,
            "metric": self.metric,
            "candidate_value": self.candidate_value,
            "incumbent_value": self.incumbent_value,
            "better": self.better,
            "summary": self.summary,
            "comparison": None if self.comparison is None else self.comparison.to_json(),
            "report": self.report,
        }


def compare_models(
    dataset: Path,
    candidate: str,
    incumbent: str | None,
    *,
    language: str = "fa",
    split: Split = Split.TEST,
    ks: Sequence[int] = DEFAULT_KS,
    deciding_k: int = DEFAULT_DECIDING_K,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = 0,
    limit: int | None = None,
    options: EncoderOptions | None = None,
    images: Path | None = None,
) -> ModelComparison:
    """Evaluate `candidate` (and `incumbent`) on `dataset`'s `split` in `language`; decide on
    text→image Recall@`deciding_k` (added to `ks` if missing). `images`: the images' folder
    for a caption file (see `vidsearch.evaluation.loaders.load`)."""
    from vidsearch.evaluation import loaders
    from vidsearch.evaluation.retrieval import (
        BundleQueries,
        Contender,
        RetrievalEvaluator,
        retrieval_report,
    )

    if deciding_k < 1 or any(k < 1 for k in ks):
        raise EvaluationError(f"k must be positive, not {deciding_k} / {tuple(ks)}")
    metric = f"{DIRECTION} R@{deciding_k}"
    test = loaders.load(Path(dataset), images=images, split=split, language=language)
    if limit:
        test = test.limit(limit)
    test = test.in_language(language)
    labels = [candidate]
    if incumbent is not None:
        labels.append(incumbent + INCUMBENT_SUFFIX if incumbent == candidate else incumbent)
    with _opened([candidate, *([incumbent] if incumbent is not None else [])], options) as opened:
        evaluator = RetrievalEvaluator(test, ks=sorted({*ks, deciding_k}))
        results = [
            evaluator(Contender(label, encoder, BundleQueries(encoder)), language)
            for label, encoder in zip(labels, opened, strict=True)
        ]
    report = retrieval_report(test, language, results, rounds=rounds, seed=seed, compare_by=metric)
    values = [r[DIRECTION]["recall"][f"R@{deciding_k}"]["value"] for r in report["results"]]
    comparison = None
    if incumbent is not None:
        comparison = Comparison(**report["comparison"]["metrics"][metric])
    return ModelComparison(
        candidate=candidate,
        incumbent=incumbent,
        metric=metric,
        candidate_value=values[0],
        incumbent_value=values[1] if incumbent is not None else None,
        comparison=comparison,
        report=report,
    )


@contextlib.contextmanager
def _opened(refs: Sequence[str], options: EncoderOptions | None) -> Iterator[list[Encoder]]:
    """The loaded encoders of `refs` (one per distinct reference), closed on leaving."""
    from vidsearch.encoders.model_bundle import open_bundle

    options = options or default_options()
    loaded: dict[str, Encoder] = {}
    try:
        for ref in refs:
            if ref not in loaded:
                loaded[ref] = open_bundle(ref, options).load()
        yield [loaded[ref] for ref in refs]
    finally:
        for encoder in loaded.values():
            encoder.close()


def default_options() -> EncoderOptions:
    """Encoders as vidsearch's settings (VIDSEARCH_* environment) say."""
    from vidsearch.assembly import encoder_options, make_settings

    return encoder_options(make_settings())
