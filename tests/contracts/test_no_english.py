"""No English for users: every notify template, every timeline line intake writes (the citizen progress page shows
the public ones), every status label, the survey page and its errors, the big screen's static page. An ASCII word
is English unless it is an id or a code (the rule of tests/routing/test_explain_zh.py, plus case codes, URLs and
units)."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from intake_svc.domain import timeline
from notify_svc.domain.templates import SPECS, render
from tests.routing.test_explain_zh import IDS

ROOT = Path(__file__).resolve().parents[2]
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
# URLs, paths, query keys, HTML tags and entities, ${…} of a template literal
NOT_WORDS = re.compile(r"https?://\S+|(?<![^\s（(：:])/[\w/]*|[?&#][a-z_]+=|</?[a-z]+[^>]*>|&[a-z]+;|\$\{[^}]*\}")
ALLOWED = re.compile(r"^(?:FQ-[\d\-]+|https?|km|m|KB|MB|SMS|SLA)$")


def english(text: str) -> list[str]:
    text = NOT_WORDS.sub("", text)
    return [w for w in WORD.findall(text) if not IDS.match(w) and not ALLOWED.match(w)]


def _literals(node: ast.AST) -> list[str]:
    """The constant parts of a string expression (f-string pieces, both sides of a conditional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.JoinedStr, ast.IfExp, ast.BinOp, ast.FormattedValue)):
        return [s for child in ast.iter_child_nodes(node) for s in _literals(child)]
    return []


def test_every_notify_template_reads_in_chinese() -> None:
    assert len(SPECS) >= 8
    for key, spec in SPECS.items():
        subject, body = render(spec.subject, spec.body, spec.variables)
        assert english(subject + " " + body) == [], (key, subject, body)
        assert english(spec.description) == [], key


def test_every_status_and_label_of_the_progress_page_reads_in_chinese() -> None:
    tables = [v for k, v in vars(timeline).items() if k.endswith("_ZH") and isinstance(v, dict)]
    assert len(tables) >= 8
    for table in tables:
        for label in table.values():
            assert english(label) == [], label


def test_every_timeline_line_intake_writes_reads_in_chinese() -> None:
    found = 0
    for path in (ROOT / "intake_svc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == \
                    "add_timeline" and len(node.args) >= 5:
                for text in _literals(node.args[4]):
                    found += 1
                    assert english(text) == [], f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}"
    assert found >= 20


class _Texts(HTMLParser):
    """The visible text of a page (not scripts, styles or <code>) and its placeholders and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self._skip += 1
        self.texts += [v for k, v in attrs if k in ("placeholder", "title", "alt", "aria-label") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data)


def _page_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return parser.texts


def _js_strings(source: str) -> list[str]:
    """The string literals of a script that hold Chinese (what it writes on screen); English-only ones are code."""
    return [s for s in re.findall(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'|`([^`]*)`', source)
            for s in s if s and re.search(r"[\u4e00-\u9fff]", s)]


def test_the_survey_page_and_its_errors_read_in_chinese() -> None:
    from notify_svc.api import surveys

    texts = _page_texts(surveys._SURVEY_PAGE)
    assert texts
    texts += _js_strings(surveys._SURVEY_PAGE)
    for path in (ROOT / "notify_svc" / "api" / "surveys.py", ROOT / "notify_svc" / "domain" / "surveys.py"):
        texts += re.findall(r'Problem\(\d{3}, "[a-z_]+", f?"([^"]*)"', path.read_text(encoding="utf-8"))
    for text in texts:
        assert english(text) == [], text


def test_the_big_screen_static_texts_read_in_chinese() -> None:
    static = ROOT / "analytics_svc" / "static"
    texts = _page_texts((static / "dashboard.html").read_text(encoding="utf-8"))
    texts += _js_strings((static / "dashboard.js").read_text(encoding="utf-8"))
    assert len(texts) >= 10
    for text in texts:
        assert english(text) == [], text
