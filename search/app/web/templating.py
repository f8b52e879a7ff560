"""Server-side rendering: one Jinja2 environment (autoescaped) and the highlight marker.

Highlighted snippets are built from the plain text and the hit's offsets,
escaping every segment, so nothing from the document or the query is ever
trusted as HTML.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from corpus.records import ROLE_HEADERS, TITLE_ROLE
from corpus.vocabulary import REVISION_SERIES, ROLE_LABELS, SERIES, SERIES_ALIASES, role_mark
from messages import Message, render as render_message
from search.answerability import STATUS_LABELS
from search.compare import STATUS_LABELS as COMPARE_LABELS
from search.app.presentation import LABELS, MODE_LABELS, NO_MATCH_BANNER, PAST_HEADING, reported_skips

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ROLE_CHOICES = {"": "指定なし", "primary": "◯ (主体として対応)", "info": "- (情報を提供)"}
# the series the filter accepts (実務基準, 監査基準: 統 and 設 only occur in the change history), then 変更履歴
SERIES_CHOICES = {"": "すべて",
                  **{name: f"{name} ({prefix})" for prefix, name in SERIES.items() if name in SERIES_ALIASES},
                  REVISION_SERIES: REVISION_SERIES}


ROLE_NAMES = {**ROLE_HEADERS, TITLE_ROLE: "タイトル"}
"""A document's field role → how a page names it."""


def mark(text: str, highlights: Any) -> Markup:
    """`text` with each (start, end) span wrapped in <mark>; every segment escaped."""
    out, last = [], 0
    for a, b in sorted((int(a), int(b)) for a, b in highlights or ()):
        a, b = max(a, last), min(b, len(text))
        if a >= b:
            continue
        out += [escape(text[last:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
        last = b
    out.append(escape(text[last:]))
    return Markup("").join(out)


def criterion_url(cid: str) -> str:
    return "/criteria/" + quote(cid)


def say(message: Message | str, **params: Any) -> str:
    """A catalogue message (or code) in the web's words: Japanese, naming the page's fields."""
    return message.text("web") if isinstance(message, Message) else render_message(message, "web", **params)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True))
    env.globals.update(MODE_LABELS=MODE_LABELS, ROLE_CHOICES=ROLE_CHOICES, SERIES_CHOICES=SERIES_CHOICES,
                       LABELS=LABELS, ROLE_LABELS=ROLE_LABELS, role=role_mark, STATUS_LABELS=STATUS_LABELS,
                       reported_skips=reported_skips, NO_MATCH_BANNER=NO_MATCH_BANNER, PAST_HEADING=PAST_HEADING,
                       crit_url=criterion_url, ROLE_NAMES=ROLE_NAMES, COMPARE_LABELS=COMPARE_LABELS,
                       say=say)
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, ctx, status_code=status)
