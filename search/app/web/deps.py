"""FastAPI dependencies: the engine a request is served by."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from search.engine import Engine


def get_engine(request: Request) -> Engine:
    """The engine of the documents loaded now (`search.documents.live`: replaced whole when they change)."""
    return request.app.state.live.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def blank(value: str | None) -> str | None:
    """An empty form field means "not given" (a select's 指定なし option sends "")."""
    return value if value not in (None, "") else None
