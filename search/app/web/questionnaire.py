"""Reading a questionnaire from a web form and answering it off the event loop."""
from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool

from search import answer as qa
from search.engine import Engine

MAX_UPLOAD_BYTES = qa.MAX_FILE_BYTES + 1024 * 1024  # the file plus the form's other fields


def top_from(value: Any) -> int:
    try:
        n = int(value or 3)
    except ValueError:
        raise qa.QuestionnaireError(f"top must be a number from 1 to {qa.MAX_TOP}") from None
    if not 1 <= n <= qa.MAX_TOP:
        raise qa.QuestionnaireError(f"top must be a number from 1 to {qa.MAX_TOP}")
    return n


async def questions_from_form(form: Any) -> list[str]:
    """The questions of a submitted form: a JSON list (a re-run for a download), an uploaded
    file, or pasted text, in that order."""
    if form.get("questions_json"):
        try:
            qs = json.loads(str(form["questions_json"]))
        except ValueError:
            raise qa.QuestionnaireError("questions_json is not a JSON list of questions") from None
        if not isinstance(qs, list) or not all(isinstance(x, str) for x in qs):
            raise qa.QuestionnaireError("questions_json is not a JSON list of questions")
        if len(qs) > qa.MAX_ROWS:
            raise qa.QuestionnaireError(f"{len(qs):,} questions; the limit is {qa.MAX_ROWS:,}")
        questions = [x.strip() for x in qs if x.strip()]
    else:
        upload = form.get("file")
        if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
            data = await upload.read(qa.MAX_FILE_BYTES + 1)
            questions = qa.read_questions(data, upload.filename, str(form.get("column") or "").strip() or None)
        else:
            questions = qa.split_pasted(str(form.get("questions") or ""))
    if not questions:
        raise qa.QuestionnaireError("no questions: paste one question per line, or choose a .csv / .xlsx file")
    return questions


async def run_answers(engine: Engine, questions: list[str], mode: str, top: int) -> list[qa.Answer]:
    """Answer in a worker thread: a 300-question sheet must not stall other requests."""
    return await run_in_threadpool(qa.answer_questions, engine, questions, mode=mode, top=top)
