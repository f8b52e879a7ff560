"""The answer library on the web: add a returned check sheet (preview first, then commit), list,
filter and remove entries, export them; and the same as JSON under /api/library.

  GET  /library                    the entries (?q= filters by question, answer, criterion or file)
  POST /library/preview            a returned sheet read: what would be added, what skipped and why
  POST /library/add                the previewed upload committed (one transaction)
  POST /library/remove             one entry removed
  GET  /library/export.jsonl       every entry, the backup `kijun library add` reads back
  GET  /api/library                the entries as JSON (an array, as `kijun library list --format json`)
  POST /api/library                multipart `file` (+ `answer_column`, `criteria_column`, `sheet`,
                                   `header_row`, `column`, `same_name`, `dry_run`): what was (or would
                                   be) added, and which earlier import of the same name it replaced
  DELETE /api/library/{id}         one entry removed

Every write is a POST or DELETE, so `protection.SiteProtection` refuses it from another site; the
upload between preview and commit is kept in the app's upload store under a random token. Reading
a sheet and working out its questions' vectors and profiles run as jobs (`jobs`), never in the pool
that serves searches; the memory searches read is replaced when the import commits.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from corpus.documents import CRITERION
from messages import Message, excerpt
from search.app.web import examples
from search.app.web.deps import EngineDep
from search.app.web.errors import api_error
from search.app.web.jobs import JobPool
from search.app.web.notices import Notices
from search.app.web.questionnaire import content_disposition, field, form_fields, header_row_of
from search.app.web.templating import render
from search.app.web.uploads import Upload, UploadExpired, UploadStore
from search.engine import Engine
from search.library import jsonl
from search.library.store import (KEEP_BOTH, ON_SAME_NAME, REPLACE, SAME_SHEET, Entry, Library, LibraryError, Plan,
                                  UnknownEntry)
from search.questionnaire import checksheet
from search.questionnaire.answer import QuestionnaireError
from search.questionnaire.returned import NoAnswerColumn, Returned, read_returned, unread_message

T = TypeVar("T")
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
SHOWN = 200  # entries listed on the page at once (the filter finds the rest)
EXCERPT_CHARS = 60  # of a question, where a message names it (messages.excerpt)


@dataclass(frozen=True)
class ImportSettings:
    """How a returned sheet is read (blank: as `kijun answer` would detect it)."""

    sheet: str | None = None
    header_row: int | None = None
    column: str | None = None
    answer_column: str | None = None
    criteria_column: str | None = None
    same_name: str = SAME_SHEET  # what becomes of an earlier import of the same name (store.ON_SAME_NAME)

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> "ImportSettings":
        same_name = field(fields, "same_name") or SAME_SHEET
        if same_name not in ON_SAME_NAME:
            raise QuestionnaireError("same_name_choice", value=excerpt(same_name))
        return cls(field(fields, "sheet"), header_row_of(fields), field(fields, "column"),
                   field(fields, "answer_column"), field(fields, "criteria_column"), same_name)

    def read(self, data: bytes, filename: str, engine: Engine) -> Returned:
        return read_returned(data, filename, engine.doc, sheet=self.sheet, header_row=self.header_row,
                             column=self.column, answer_column=self.answer_column,
                             criteria_column=self.criteria_column, documents=engine.document_labels(),
                             known={d.id for d in engine.table if d.kind == CRITERION})


def _library(engine: Engine) -> Library:
    return engine.library if engine.library is not None else Library()


def _matches(e: Entry, needle: str) -> bool:
    n = needle.lower()
    return any(n in s.lower() for s in (e.question, e.answer, e.source.file, *e.criteria, e.id))


# ------------------------------------------------------------------ pages


@router.get("/library", response_class=HTMLResponse)
def library_page(request: Request, engine: EngineDep, q: str = "", added: str = "", replaced: str = "",
                 notice: str = "") -> Response:
    said = _notices(request).get(notice) if notice else None
    return _page(request, engine, q=q, added=added if added.isdecimal() else "",
                 replaced=replaced if replaced.isdecimal() else "", notice=said.text("web") if said is not None else None)


# a sheet that can be read but not as asked (no such column, …) stays, to be read again with corrected fields
_KEPT = (checksheet.NoQuestionTable, checksheet.UnknownColumn, checksheet.UnknownSheet, NoAnswerColumn)
_REFUSED = (checksheet.SheetError, QuestionnaireError, UploadExpired, LibraryError)


def _page(request: Request, engine: Engine, status: int = 200, *, q: str = "", **ctx: Any) -> Response:
    """The library page: whatever else it shows (a preview, an error, a notice), the entries the library
    holds, filtered by `q` (a listing that cannot be read says why: 503 unless the page has worse news)."""
    base: dict[str, Any] = {"q": q, "entries": [], "total": 0, "error": None, "list_error": None, "preview": None,
                            "added": "", "replaced": "", "notice": None, "settings": ImportSettings(),
                            "disabled": engine.library is None, "shown": SHOWN, "choices": (REPLACE, KEEP_BOTH)}
    try:
        entries = _library(engine).entries()
        needle = q.strip()
        base.update(entries=[e for e in entries if not needle or _matches(e, needle)], total=len(entries))
    except LibraryError as e:
        base["list_error"] = e.text("web")
        status = 503 if status == 200 else status
    return render(request, "library.html", status, **(base | ctx))


def _notices(request: Request) -> Notices:
    return request.app.state.notices


@router.post("/library/preview", response_class=HTMLResponse)
async def library_preview(request: Request, engine: EngineDep) -> Response:
    """Read a returned sheet (a new upload, or the kept one with corrected settings) and show what
    would be added; nothing is written."""
    store: UploadStore = request.app.state.uploads
    jobs: JobPool = request.app.state.jobs
    upload: Upload | None = None
    settings = ImportSettings()
    async with jobs.place(request) as job:
        try:
            fields, chosen = await form_fields(request)
            settings = ImportSettings.from_fields(fields)
            upload = store.file_of(chosen, fields.get("token", ""))
            returned = await jobs.run(job, request, _read_upload, settings, upload, engine)
            plan = _library(engine).plan(returned.incoming, settings.same_name)
        except _REFUSED as e:
            kept = upload is not None and isinstance(e, _KEPT)
            if upload is not None and not kept:
                store.discard(upload)
            preview = {"returned": None, "token": upload.token, "filename": upload.filename} if kept else None
            return _page(request, engine, 400, error=e.text("web"), settings=settings, preview=preview)
    return _page(request, engine, settings=settings,
                 preview={"returned": returned, "token": upload.token, "filename": upload.filename, "plan": plan,
                          "warnings": [unread_message(e) for e in returned.warned]})


def _read_upload(settings: ImportSettings, upload: Upload, engine: Engine, *, progress: Any) -> Returned:
    return settings.read(upload.source, upload.filename or "", engine)


@router.post("/library/add")
async def library_add(request: Request, engine: EngineDep) -> Response:
    """Commit a previewed upload in one transaction: it replaces an earlier import of the same name
    that is the same sheet (or as the form chose); its questions' vectors and profiles are worked out
    before, and searches read them from the moment it commits."""
    store: UploadStore = request.app.state.uploads
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            fields, _ = await form_fields(request)
            settings = ImportSettings.from_fields(fields)
            upload = store.get(fields.get("token", ""))
            if upload.done is not None:  # sent again (Back, then the button once more): nothing is lost
                said = Message("library_already_added", {"filename": upload.filename or "",
                                                         "count": int(upload.done.get("added", 0))})
                return RedirectResponse(f"/library?notice={_notices(request).put(said)}", status_code=303)
            plan = await jobs.run(job, request, _commit, settings, upload, engine)
        except _REFUSED as e:
            return _page(request, engine, 400, error=e.text("web"))
        store.retire(upload, {"added": plan.entries})
    return RedirectResponse(f"/library?added={plan.entries}&replaced={plan.replaced_rows}", status_code=303)


def _commit(settings: ImportSettings, upload: Upload, engine: Engine, *, progress: Any) -> Plan:
    returned = settings.read(upload.source, upload.filename or "", engine)
    [plan] = _remembered(engine, returned.entries,
                         lambda: _library(engine).add([returned.incoming], settings.same_name), progress)
    return plan


def _remembered(engine: Engine, entries: Sequence[Entry], write: Callable[[], T], progress: Any = None) -> T:
    """`write` (a change to the library) with the new entries' vectors and profiles worked out first, in
    this job's thread, and the memory searches read replaced once it is committed (searches never wait)."""
    room = engine.memory()
    return room.commit(entries, write, progress) if room is not None else write()


@router.post("/library/remove")
async def library_remove(request: Request, engine: EngineDep) -> Response:
    try:
        fields, _ = await form_fields(request)
        library = _library(engine)
        entry = _to_remove(library, fields.get("id", ""))
        _remembered(engine, (), lambda: library.remove([entry.id]))
    except (LibraryError, QuestionnaireError) as e:
        return _page(request, engine, 400, error=e.text("web"))
    said = Message("library_entry_removed", {"question": excerpt(" ".join(entry.question.split()), EXCERPT_CHARS)})
    return RedirectResponse(f"/library?notice={_notices(request).put(said)}", status_code=303)


@router.get("/library/export.jsonl")
def library_export(engine: EngineDep) -> Response:
    try:
        entries = _library(engine).entries()
    except LibraryError as e:
        return api_error(e, 503)
    body = io.StringIO()
    jsonl.write(entries, body)
    return Response(body.getvalue().encode("utf-8"), media_type="application/jsonl",
                    headers={"Content-Disposition": content_disposition("kijun-library.jsonl")})


# ------------------------------------------------------------------ API


@api.get("/library", summary="The answer library's entries (as `kijun library list --format json`)",
         responses=examples.json_200("Every entry, most recently imported first"))
def api_library(engine: EngineDep) -> Any:
    try:
        return [e.to_dict() for e in _library(engine).entries()]
    except LibraryError as e:
        return api_error(e, 503)


@api.post("/library", summary="Add a returned check sheet to the answer library (multipart `file`)",
          responses=examples.json_200("What was (or, with `dry_run`, would be) added, and the rows skipped")
          | examples.error(400, "returned_no_answer_columns", "委託先.xlsx: sheet 'Sheet1': neither a 回答案 nor a "
                           "該当基準 column, so it is not a sheet kijun answered; name the answer column with the "
                           "`answer_column` field (and the criteria column with the `criteria_column` field if it "
                           "has one)", "A sheet that cannot be read as asked"))
async def api_library_add(request: Request, engine: EngineDep) -> Any:
    """`file` (.xlsx, .xlsm, .csv, .tsv) and optional `sheet`, `header_row`, `column`, `answer_column`,
    `criteria_column`, `same_name` (blank: replace only the same sheet; `replace`; `keep_both`),
    `dry_run` → `{"file", "added", "answered", "not_in_document", "replaced" (entries),
    "replaced_imports": [{"file", "imported_at", "rows", "sha256", "shared"}], "kept_beside": [...],
    "skipped": [{"sheet", "row", "question", "reason", "detail"}], "warnings": [{"sheet", "row",
    "code", "detail", "unread"}]}`."""
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            fields, chosen = await form_fields(request)
            if chosen is None:
                raise checksheet.SheetError("no_file")
            settings = ImportSettings.from_fields(fields)
            dry = fields.get("dry_run", "").lower() in ("1", "true", "yes", "on")
            return await jobs.run(job, request, _api_add, settings, chosen, engine, dry)
        except (checksheet.SheetError, QuestionnaireError, LibraryError) as e:
            return api_error(e, 400)


def _api_add(settings: ImportSettings, chosen: tuple[str, bytes], engine: Engine, dry: bool, *,
             progress: Any) -> dict[str, Any]:
    filename, data = chosen
    returned = settings.read(data, filename, engine)
    library = _library(engine)
    if dry:
        plan = library.plan(returned.incoming, settings.same_name)
    else:
        [plan] = _remembered(engine, returned.entries, lambda: library.add([returned.incoming], settings.same_name),
                             progress)
    return {"file": filename, "added": 0 if dry else len(returned.entries), "answered": returned.answered,
            "not_in_document": returned.not_in_document, "replaced": plan.replaced_rows, **plan.to_dict(),
            "dry_run": dry,
            "skipped": [{"sheet": s.sheet, "row": s.row, "question": s.question, "reason": s.reason.code,
                         "detail": s.reason.text("api")} for s in returned.skipped],
            "warnings": [{"sheet": e.source.sheet, "row": e.source.row, "unread": list(e.unread),
                          **unread_message(e).to_dict("api")} for e in returned.warned]}


@api.delete("/library/{entry_id}", summary="Remove one entry of the answer library",
            responses=examples.json_200("The entry removed, and its question")
            | examples.error(404, "unknown_entry_not_removed", "no entry L000000000000 in the answer library; "
                             "nothing was removed", "No such entry"))
def api_library_remove(engine: EngineDep, entry_id: str) -> Any:
    try:
        library = _library(engine)
        entry = _to_remove(library, entry_id)
        _remembered(engine, (), lambda: library.remove([entry.id]))
    except LibraryError as e:
        return api_error(e, 404 if e.condition.startswith("unknown_entry") else 503)
    return JSONResponse({"removed": entry_id, "question": entry.question})


def _to_remove(library: Library, entry_id: str) -> Entry:
    """The entry about to be removed (its question names it in the message), or why nothing is removed."""
    try:
        return library.get(entry_id)
    except UnknownEntry as e:
        raise UnknownEntry("unknown_entry_not_removed", **e.message.params) from None


def past_for(engine: Engine, criterion_id: str) -> tuple[list[Entry], Message | None]:
    """The library's entries confirmed with one criterion (the criterion page's 過去の回答), or why
    they cannot be shown."""
    if engine.library is None:
        return [], None
    try:
        return [e for e in engine.library.entries() if criterion_id in e.criteria], None
    except LibraryError as e:
        return [], e.message
