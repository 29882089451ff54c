"""The configurable two-level category taxonomy and the request-type cues (``shared/data/taxonomy.yaml``): one source
for intake (classifier, validation), routing and analytics (labels) and the dictionaries endpoint."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_TAXONOMY_PATH = PACKAGE_DIR / "data" / "taxonomy.yaml"


@dataclass(frozen=True)
class Category:
    code: str  # "neighbor" or "neighbor.noise"
    label: str  # Simplified Chinese
    keywords: tuple[str, ...]
    parent: str | None = None
    children: tuple[str, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.parent is None


@dataclass(frozen=True)
class RequestType:
    code: str
    label: str
    keywords: tuple[str, ...]


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: keywords must be a list of non-empty strings")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _label(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: label is required")
    return value.strip()


_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Taxonomy:
    """The configurable two-level category taxonomy plus the request-type cues (see ``data/taxonomy.yaml``)."""

    def __init__(
        self,
        categories: Mapping[str, Category],
        request_types: Mapping[str, RequestType],
        fallback: str | None = None,
    ) -> None:
        self._categories = dict(categories)
        self._request_types = dict(request_types)
        if not self.codes:
            raise ValueError("taxonomy has no two-level category codes")
        if not self._request_types:
            raise ValueError("taxonomy has no request types")
        if fallback is not None and fallback not in self.codes:
            raise ValueError(f"fallback {fallback!r} is not a two-level code of the taxonomy")
        self.fallback = fallback

    # construction ---------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        raw_groups = data.get("categories")
        if not isinstance(raw_groups, Mapping) or not raw_groups:
            raise ValueError("taxonomy: 'categories' mapping is required")
        categories: dict[str, Category] = {}
        for group, gspec in raw_groups.items():
            if not isinstance(group, str) or not _CODE_RE.match(group) or not isinstance(gspec, Mapping):
                raise ValueError(f"taxonomy: bad group {group!r}")
            raw_children = gspec.get("children")
            if not isinstance(raw_children, Mapping) or not raw_children:
                raise ValueError(f"taxonomy: group {group!r} needs children")
            child_codes: list[str] = []
            for child, cspec in raw_children.items():
                if not isinstance(child, str) or not _CODE_RE.match(child) or not isinstance(cspec, Mapping):
                    raise ValueError(f"taxonomy: bad child {group}.{child}")
                code = f"{group}.{child}"
                categories[code] = Category(
                    code=code,
                    label=_label(cspec.get("label"), code),
                    keywords=_str_list(cspec.get("keywords"), code),
                    parent=group,
                )
                child_codes.append(code)
            categories[group] = Category(
                code=group,
                label=_label(gspec.get("label"), group),
                keywords=_str_list(gspec.get("keywords"), group),
                children=tuple(child_codes),
            )
        raw_types = data.get("request_types")
        if not isinstance(raw_types, Mapping) or not raw_types:
            raise ValueError("taxonomy: 'request_types' mapping is required")
        request_types = {
            code: RequestType(
                code=code, label=_label(spec.get("label"), code), keywords=_str_list(spec.get("keywords"), code)
            )
            for code, spec in raw_types.items()
            if isinstance(code, str) and isinstance(spec, Mapping)
        }
        if len(request_types) != len(raw_types):
            raise ValueError("taxonomy: bad request type entry")
        return cls(categories, request_types, fallback=data.get("fallback"))

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_TAXONOMY_PATH) -> Self:
        with Path(path).open(encoding="utf-8") as fh:
            return cls.from_dict(yaml.safe_load(fh))

    @classmethod
    def default(cls) -> Self:
        return cls.from_yaml(DEFAULT_TAXONOMY_PATH)

    # queries --------------------------------------------------------------------------------------

    @property
    def codes(self) -> tuple[str, ...]:
        """All two-level (leaf) codes, in file order."""
        return tuple(c for c, cat in self._categories.items() if not cat.is_group)

    @property
    def groups(self) -> tuple[str, ...]:
        """All top-level group codes, in file order."""
        return tuple(c for c, cat in self._categories.items() if cat.is_group)

    @property
    def request_types(self) -> tuple[str, ...]:
        return tuple(self._request_types)

    def is_valid(self, code: str) -> bool:
        """A known top-level group or two-level code."""
        return code in self._categories

    def is_leaf(self, code: str) -> bool:
        cat = self._categories.get(code)
        return cat is not None and not cat.is_group

    def category(self, code: str) -> Category:
        try:
            return self._categories[code]
        except KeyError:
            raise KeyError(f"unknown category {code!r}") from None

    def label(self, code: str) -> str:
        """Chinese label of a group (邻里纠纷) or of a two-level code (噪声扰民)."""
        return self.category(code).label

    def full_label(self, code: str) -> str:
        """``邻里纠纷/噪声扰民`` for a two-level code, the group label for a group."""
        cat = self.category(code)
        return cat.label if cat.parent is None else f"{self.label(cat.parent)}/{cat.label}"

    def parent(self, code: str) -> str | None:
        return self.category(code).parent

    def group_of(self, code: str) -> str:
        """Top-level group of a code (the code itself for a group)."""
        cat = self.category(code)
        return cat.parent or cat.code

    def children(self, code: str) -> tuple[str, ...]:
        return self.category(code).children

    def keywords(self, code: str) -> tuple[str, ...]:
        return self.category(code).keywords

    def request_type_label(self, code: str) -> str:
        return self._request_types[code].label

    def request_type_keywords(self, code: str) -> tuple[str, ...]:
        return self._request_types[code].keywords
