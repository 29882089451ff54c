"""Cross-validate the case classifier on the shipped labelled cases.

    python -m intake_svc.evaluate_classifier [--k 6] [--seed 20240601] [--cases PATH] [--errors]

Stratified k-fold: rows are shuffled with a fixed seed, then dealt round-robin to the folds category by
category, so every category is spread over as many folds as it has rows.  Each fold's model is trained
on the other folds only; the taxonomy keywords are domain data and are always available.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from intake_svc.domain.classifier import (
    DEFAULT_CASES_PATH,
    Classifier,
    ClassifierParams,
    Prediction,
    load_cases,
)
from shared.taxonomy import Taxonomy

DEFAULT_K = 6
DEFAULT_SEED = 20240601


@dataclass(frozen=True)
class CaseResult:
    index: int
    fold: int
    text: str
    category: str
    request_type: str
    prediction: Prediction


@dataclass
class CVReport:
    k: int
    seed: int
    results: list[CaseResult] = field(default_factory=list)

    def _share(self, hits: int) -> float:
        return hits / len(self.results) if self.results else 0.0

    @property
    def n(self) -> int:
        return len(self.results)

    @property
    def top_level_accuracy(self) -> float:
        return self._share(sum(r.category.split(".")[0] == r.prediction.group for r in self.results))

    @property
    def full_code_accuracy(self) -> float:
        return self._share(sum(r.category == r.prediction.category for r in self.results))

    @property
    def top3_accuracy(self) -> float:
        return self._share(sum(r.category in {c for c, _ in r.prediction.top3} for r in self.results))

    @property
    def request_type_accuracy(self) -> float:
        return self._share(sum(r.request_type == r.prediction.request_type for r in self.results))

    @property
    def mean_category_confidence(self) -> float:
        return sum(r.prediction.category_confidence for r in self.results) / self.n if self.n else 0.0

    @property
    def mean_request_type_confidence(self) -> float:
        return sum(r.prediction.request_type_confidence for r in self.results) / self.n if self.n else 0.0

    def group_confusions(self) -> Counter[tuple[str, str]]:
        return Counter(
            (r.category.split(".")[0], r.prediction.group)
            for r in self.results
            if r.category.split(".")[0] != r.prediction.group
        )

    def code_confusions(self) -> Counter[tuple[str, str]]:
        return Counter((r.category, r.prediction.category) for r in self.results if r.category != r.prediction.category)

    def request_type_confusions(self) -> Counter[tuple[str, str]]:
        return Counter(
            (r.request_type, r.prediction.request_type)
            for r in self.results
            if r.request_type != r.prediction.request_type
        )

    def per_group_accuracy(self) -> dict[str, tuple[int, int]]:
        acc: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.results:
            g = r.category.split(".")[0]
            acc[g][0] += g == r.prediction.group
            acc[g][1] += 1
        return {g: (hit, n) for g, (hit, n) in sorted(acc.items())}


def stratified_folds(categories: Sequence[str], k: int = DEFAULT_K, seed: int = DEFAULT_SEED) -> list[int]:
    """Fold number (0..k-1) for each row, categories dealt round-robin so each fold gets a similar mix."""
    rng = random.Random(seed)
    by_cat: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(categories):
        by_cat[c].append(i)
    folds = [0] * len(categories)
    cursor = rng.randrange(k)
    for cat in sorted(by_cat):
        rows = by_cat[cat]
        rng.shuffle(rows)
        for i in rows:
            folds[i] = cursor % k
            cursor += 1
    return folds


def cross_validate(
    texts: Sequence[str],
    categories: Sequence[str],
    request_types: Sequence[str],
    *,
    taxonomy: Taxonomy | None = None,
    params: ClassifierParams | None = None,
    k: int = DEFAULT_K,
    seed: int = DEFAULT_SEED,
) -> CVReport:
    taxonomy = taxonomy or Taxonomy.default()
    folds = stratified_folds(categories, k, seed)
    report = CVReport(k=k, seed=seed)
    for fold in range(k):
        train = [i for i, f in enumerate(folds) if f != fold]
        test = [i for i, f in enumerate(folds) if f == fold]
        clf = Classifier(taxonomy, params).fit(
            [texts[i] for i in train], [categories[i] for i in train], [request_types[i] for i in train]
        )
        for i in test:
            report.results.append(CaseResult(i, fold, texts[i], categories[i], request_types[i], clf.predict(texts[i])))
    report.results.sort(key=lambda r: r.index)
    return report


def cross_validate_file(
    path: str | Path = DEFAULT_CASES_PATH,
    *,
    taxonomy: Taxonomy | None = None,
    params: ClassifierParams | None = None,
    k: int = DEFAULT_K,
    seed: int = DEFAULT_SEED,
) -> CVReport:
    texts, cats, rts = load_cases(path)
    return cross_validate(texts, cats, rts, taxonomy=taxonomy, params=params, k=k, seed=seed)


def format_report(report: CVReport, taxonomy: Taxonomy, *, errors: bool = False) -> str:
    lines = [
        f"Cases: {report.n}, {report.k}-fold stratified cross-validation, seed {report.seed}",
        f"Top-level accuracy:    {report.top_level_accuracy:6.1%}",
        f"Full-code accuracy:    {report.full_code_accuracy:6.1%}   (top-3: {report.top3_accuracy:.1%})",
        f"Request-type accuracy: {report.request_type_accuracy:6.1%}",
        f"Mean confidence: category {report.mean_category_confidence:.2f}, "
        f"request type {report.mean_request_type_confidence:.2f}",
        "",
        "Per top-level group (hit/n):",
    ]
    for g, (hit, n) in report.per_group_accuracy().items():
        lines.append(f"  {g:<16} {taxonomy.label(g):<6} {hit}/{n}")
    lines += ["", "Top-level confusions (true → predicted):"]
    lines += [f"  {t} → {p}: {n}" for (t, p), n in report.group_confusions().most_common(10)] or ["  none"]
    lines += ["", "Full-code confusions (true → predicted):"]
    lines += [f"  {t} → {p}: {n}" for (t, p), n in report.code_confusions().most_common(10)] or ["  none"]
    lines += ["", "Request-type confusions (true → predicted):"]
    lines += [f"  {t} → {p}: {n}" for (t, p), n in report.request_type_confusions().most_common(10)] or ["  none"]
    if errors:
        lines += ["", "Misclassified cases:"]
        for r in report.results:
            if r.category != r.prediction.category or r.request_type != r.prediction.request_type:
                lines.append(
                    f"  #{r.index} [{r.category}/{r.request_type} → {r.prediction.category}/"
                    f"{r.prediction.request_type} {r.prediction.category_confidence:.2f}] {r.text[:60]}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cross-validate the Fengqiao case classifier.")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES_PATH)
    parser.add_argument("--errors", action="store_true", help="list the misclassified cases")
    args = parser.parse_args(argv)
    taxonomy = Taxonomy.default()
    report = cross_validate_file(args.cases, taxonomy=taxonomy, k=args.k, seed=args.seed)
    print(format_report(report, taxonomy, errors=args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
