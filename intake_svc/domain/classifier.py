"""Case-description classifier: category (two-level taxonomy code) and request type for Chinese texts.

Pure Python domain code: nothing is read at import time, no network, no model downloads.

Method (small-data friendly, no word segmenter needed):

* Features are character n-grams (1-3) inside runs of CJK characters / Latin letters, weighted by
  TF-IDF with sublinear term frequency, L2-normalised; unigrams count half.
* Each class gets a *data score* — the cosine between the text and the class centroid of the training
  texts, mixed with the similarity to the nearest training text of that class — and a *keyword score*
  from the taxonomy (``taxonomy.yaml``): the matched domain keywords, longer phrases weighing more and
  phrases listed under many classes weighing less, compressed with ``log1p``.  The keywords act as a
  prior, so classes with few (or no) labelled examples are still reachable.
* Hierarchical: the top-level group is chosen first (group centroid + the group's own keywords + its
  best child's keywords), then the child within that group.  Confidences are softmaxes of the scores
  (temperature-scaled), so they lie in [0, 1]; ``top3`` ranks full codes by P(group) · P(child | group).
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from shared.taxonomy import Taxonomy

DEFAULT_CASES_PATH = Path(__file__).resolve().parents[2] / "services" / "data" / "cases_dev.jsonl"

# --------------------------------------------------------------------------------------------------
# Text features
# --------------------------------------------------------------------------------------------------

_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z]+")

Vector = dict[str, float]


def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width), lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def char_ngrams(text: str, n_min: int = 1, n_max: int = 3) -> Counter[str]:
    """Character n-grams inside CJK / Latin runs (digits and punctuation split runs)."""
    grams: Counter[str] = Counter()
    for run in _RUN_RE.findall(normalize_text(text)):
        for n in range(n_min, n_max + 1):
            for i in range(len(run) - n + 1):
                grams[run[i : i + n]] += 1
    return grams


def _l2(vec: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    return {k: v / norm for k, v in vec.items()} if norm else {}


def _dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


def _softmax(scores: Mapping[str, float], temperature: float) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    exps = {k: math.exp((s - top) / temperature) for k, s in scores.items()}
    total = sum(exps.values())
    return {k: e / total for k, e in exps.items()}


class _Vectorizer:
    """TF-IDF over character n-grams, IDF fitted on the training texts."""

    def __init__(self, n_min: int, n_max: int, unigram_weight: float) -> None:
        self.n_min, self.n_max, self.unigram_weight = n_min, n_max, unigram_weight
        self.idf: dict[str, float] = {}
        self.default_idf = 1.0

    def fit(self, texts: Sequence[str]) -> None:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(char_ngrams(t, self.n_min, self.n_max)))
        n = len(texts)
        self.idf = {g: math.log((1 + n) / (1 + d)) + 1.0 for g, d in df.items()}
        self.default_idf = math.log(1 + n) + 1.0  # unseen n-gram: as rare as it gets

    def transform(self, text: str) -> Vector:
        vec: Vector = {}
        for g, tf in char_ngrams(text, self.n_min, self.n_max).items():
            w = (1.0 + math.log(tf)) * self.idf.get(g, self.default_idf)
            vec[g] = w * self.unigram_weight if len(g) == 1 else w
        return _l2(vec)


class _KeywordScorer:
    """Keyword evidence per class: Σ weight(k) over matched keywords, weight = length bonus / spread penalty."""

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self.keywords = {c: tuple(normalize_text(k) for k in ks) for c, ks in keywords.items()}
        spread: Counter[str] = Counter()
        for ks in self.keywords.values():
            spread.update(set(ks))
        self.weight = {k: min(len(k), 4) / 2.0 / math.sqrt(spread[k]) for k in spread}

    def raw(self, text: str) -> dict[str, float]:
        t = normalize_text(text)
        out: dict[str, float] = {}
        for c, ks in self.keywords.items():
            matched = [k for k in ks if k in t]
            # a keyword contained in a longer matched keyword of the same class does not count twice
            matched = [k for k in matched if not any(k != m and k in m for m in matched)]
            out[c] = sum(self.weight[k] for k in matched)
        return out

    def matches(self, text: str, code: str) -> list[str]:
        t = normalize_text(text)
        return [k for k in self.keywords.get(code, ()) if k in t]


# --------------------------------------------------------------------------------------------------
# Classifier
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    category: str
    category_confidence: float
    request_type: str
    request_type_confidence: float
    top3: tuple[tuple[str, float], ...]  # (two-level code, probability), best first
    group: str = ""
    group_confidence: float = 0.0


@dataclass
class ClassifierParams:
    n_min: int = 1
    n_max: int = 3
    unigram_weight: float = 0.5
    data_weight: float = 3.0  # data (cosine) score multiplier, relative to keyword score 1.0
    nearest_mix: float = 0.5  # data score = (1-mix)·cos(centroid) + mix·max cos(training text)
    group_temperature: float = 0.25
    child_temperature: float = 0.25
    request_data_weight: float = 3.0
    request_temperature: float = 0.4
    prior_weight: float = 0.1  # log class frequency (request types only)
    fallback_bonus: float = 0.05


@dataclass
class _Prototypes:
    centroid: dict[str, Vector] = field(default_factory=dict)
    members: dict[str, list[Vector]] = field(default_factory=dict)

    def score(self, x: Vector, code: str, nearest_mix: float) -> float:
        if code not in self.centroid or not x:
            return 0.0
        cos_c = _dot(x, self.centroid[code])
        cos_n = max(_dot(x, m) for m in self.members[code])
        return (1.0 - nearest_mix) * cos_c + nearest_mix * cos_n


def _prototypes(vectors: Sequence[Vector], labels: Sequence[str]) -> _Prototypes:
    members: dict[str, list[Vector]] = defaultdict(list)
    for v, y in zip(vectors, labels, strict=True):
        if v:
            members[y].append(v)
    centroid: dict[str, Vector] = {}
    for y, vs in members.items():
        acc: Vector = defaultdict(float)
        for v in vs:
            for k, w in v.items():
                acc[k] += w
        centroid[y] = _l2(acc)
    return _Prototypes(centroid=centroid, members=dict(members))


class Classifier:
    """Hierarchical category + request-type classifier; see the module docstring for the method."""

    def __init__(self, taxonomy: Taxonomy, params: ClassifierParams | None = None) -> None:
        self.taxonomy = taxonomy
        self.params = params or ClassifierParams()
        p = self.params
        self._vectorizer = _Vectorizer(p.n_min, p.n_max, p.unigram_weight)
        self._leaf_kw = _KeywordScorer({c: taxonomy.keywords(c) for c in taxonomy.codes})
        self._group_kw = _KeywordScorer({g: taxonomy.keywords(g) for g in taxonomy.groups})
        self._rt_kw = _KeywordScorer({r: taxonomy.request_type_keywords(r) for r in taxonomy.request_types})
        self._leaf = _Prototypes()
        self._group = _Prototypes()
        self._rt = _Prototypes()
        self._rt_prior: dict[str, float] = dict.fromkeys(taxonomy.request_types, 0.0)
        self.fitted = False

    # training -------------------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], categories: Sequence[str], request_types: Sequence[str]) -> Self:
        if not (len(texts) == len(categories) == len(request_types)):
            raise ValueError("texts, categories and request_types must have the same length")
        for c in categories:
            if not self.taxonomy.is_leaf(c):
                raise ValueError(f"unknown two-level category {c!r}")
        for r in request_types:
            if r not in self.taxonomy.request_types:
                raise ValueError(f"unknown request type {r!r}")
        self._vectorizer.fit(texts)
        vectors = [self._vectorizer.transform(t) for t in texts]
        self._leaf = _prototypes(vectors, categories)
        self._group = _prototypes(vectors, [self.taxonomy.group_of(c) for c in categories])
        self._rt = _prototypes(vectors, request_types)
        counts = Counter(request_types)
        total = len(request_types) + len(self.taxonomy.request_types)
        self._rt_prior = {r: math.log((counts[r] + 1) / total) for r in self.taxonomy.request_types}
        self.fitted = True
        return self

    @classmethod
    def default(cls, cases_path: str | Path = DEFAULT_CASES_PATH) -> Self:
        """The shipped taxonomy, trained on the shipped labelled cases (``services/data/cases_dev.jsonl``)."""
        clf = cls(Taxonomy.default())
        texts, cats, rts = load_cases(cases_path)
        return clf.fit(texts, cats, rts)

    # scoring --------------------------------------------------------------------------------------

    def group_scores(self, text: str, x: Vector | None = None) -> dict[str, float]:
        p, tax = self.params, self.taxonomy
        x = self._vectorizer.transform(text) if x is None else x
        own = self._group_kw.raw(text)
        leaf_kw = self._leaf_kw.raw(text)
        scores: dict[str, float] = {}
        for g in tax.groups:
            best_child = max(leaf_kw[c] for c in tax.children(g))
            kw = math.log1p(own[g] + best_child)
            scores[g] = p.data_weight * self._group.score(x, g, p.nearest_mix) + kw
        if tax.fallback:
            scores[tax.group_of(tax.fallback)] += p.fallback_bonus
        return scores

    def child_scores(self, text: str, group: str, x: Vector | None = None) -> dict[str, float]:
        p, tax = self.params, self.taxonomy
        x = self._vectorizer.transform(text) if x is None else x
        leaf_kw = self._leaf_kw.raw(text)
        scores = {
            c: p.data_weight * self._leaf.score(x, c, p.nearest_mix) + math.log1p(leaf_kw[c])
            for c in tax.children(group)
        }
        if tax.fallback in scores:
            scores[tax.fallback] += p.fallback_bonus
        return scores

    def request_type_scores(self, text: str, x: Vector | None = None) -> dict[str, float]:
        p = self.params
        x = self._vectorizer.transform(text) if x is None else x
        kw = self._rt_kw.raw(text)
        return {
            r: p.request_data_weight * self._rt.score(x, r, p.nearest_mix)
            + math.log1p(kw[r])
            + p.prior_weight * self._rt_prior[r]
            for r in self.taxonomy.request_types
        }

    # prediction -----------------------------------------------------------------------------------

    def predict(self, text: str) -> Prediction:
        p, tax = self.params, self.taxonomy
        text = text if isinstance(text, str) else ""
        x = self._vectorizer.transform(text)
        group_prob = _softmax(self.group_scores(text, x), p.group_temperature)
        joint: dict[str, float] = {}
        for g, pg in group_prob.items():
            for c, pc in _softmax(self.child_scores(text, g, x), p.child_temperature).items():
                joint[c] = pg * pc
        group = max(group_prob, key=lambda g: group_prob[g])
        category = max(tax.children(group), key=lambda c: joint[c])
        rt_prob = _softmax(self.request_type_scores(text, x), p.request_temperature)
        request_type = max(rt_prob, key=lambda r: rt_prob[r])
        top3 = tuple((c, _clamp(joint[c])) for c in sorted(joint, key=lambda c: -joint[c])[:3])
        return Prediction(
            category=category,
            category_confidence=_clamp(joint[category]),
            request_type=request_type,
            request_type_confidence=_clamp(rt_prob[request_type]),
            top3=top3,
            group=group,
            group_confidence=_clamp(group_prob[group]),
        )

    def explain(self, text: str, code: str) -> list[str]:
        """The taxonomy keywords of ``code`` (and of its group) found in ``text``."""
        group = self.taxonomy.group_of(code)
        return self._group_kw.matches(text, group) + self._leaf_kw.matches(text, code)


def _clamp(v: float) -> float:
    return min(1.0, max(0.0, round(v, 6)))


def load_cases(path: str | Path = DEFAULT_CASES_PATH) -> tuple[list[str], list[str], list[str]]:
    """Texts, categories and request types of a labelled ``cases_*.jsonl`` file."""
    texts: list[str] = []
    cats: list[str] = []
    rts: list[str] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            texts.append(row["text"])
            cats.append(row["category"])
            rts.append(row["request_type"])
    return texts, cats, rts
