"""The documents a team relies on, on the web: add one (preview first, then commit), list them, remove one; the
same as JSON under /api/documents.

  GET  /documents                  every document (the bundled one first) and the form to add one
  POST /documents/preview          an uploaded file read as a document: its rows, fields and warnings; nothing kept
  POST /documents/add              the previewed upload committed to the document store (one transaction)
  POST /documents/remove           one added document removed
  GET  /api/documents              the documents as JSON (an array, as `kijun documents list --format json`)
  POST /api/documents              multipart `file` (+ `title`, `label`, `publisher`, `edition`, `date`, `version`,
                                   `kind`, `id_column`, `fields`, `id`, `dry_run`): the document added (or read)
  DELETE /api/documents/{id}       one added document removed

Every write is a POST or DELETE (`protection.SiteProtection` refuses it from another site; `auth` applies as
everywhere). An upload is bounded as a check sheet is (5 MB, the .xlsx package, cells, columns) and kept in the
app's upload store between preview and commit. After a commit or a removal the page waits (up to
REBUILD_WAIT_S) for the engine to serve the new set of documents (`search.documents.live`), so the next search
finds what was added; searches meanwhile use the documents loaded before.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from corpus.records import KINDS, DocumentError
from corpus.tables import parse_fields
from messages import Message
from search.app.web import examples
from search.app.web.errors import api_error
from search.app.web.jobs import JobPool
from search.app.web.notices import Notices
from search.app.web.questionnaire import field, form_fields
from search.app.web.templating import render
from search.app.web.uploads import Upload, UploadExpired, UploadStore
from search.documents.live import LiveEngine
from search.documents.store import Added, DocumentStore, DocumentStoreError
from search.questionnaire import checksheet
from search.questionnaire.answer import QuestionnaireError

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["api"])
PREVIEW_ROWS = 50  # rows shown in a preview (the counts cover them all)
PREVIEW_CHARS = 160  # of a field's text in a preview row
REBUILD_WAIT_S = 300.0  # a commit or removal waits this long for searches to use the new documents
KIND_LABELS = {"": "ファイルから判断", "table": "基準番号をキーにした表", "text": "同じ体裁のテキスト抽出",
               "titles": "タイトル一覧"}
_REFUSED = (DocumentError, DocumentStoreError, checksheet.SheetError, QuestionnaireError, UploadExpired)


@dataclass(frozen=True)
class AddSettings:
    """What the form (or the API call) says of the document being added; blank: as kijun reads the file."""

    title: str = ""
    label: str = ""
    publisher: str = ""
    edition: str | None = None
    date: str = ""
    version: str = ""
    kind: str | None = None
    id_column: str | None = None
    fields: str = ""
    document_id: str | None = None

    @classmethod
    def from_fields(cls, form: dict[str, str]) -> "AddSettings":
        return cls(title=field(form, "title") or "", label=field(form, "label") or "",
                   publisher=field(form, "publisher") or "", edition=field(form, "edition"),
                   date=field(form, "date") or "", version=field(form, "version") or "",
                   kind=field(form, "kind"), id_column=field(form, "id_column"), fields=field(form, "fields") or "",
                   document_id=field(form, "document_id") or field(form, "id"))

    def add(self, store: DocumentStore, data: bytes, filename: str, *, dry_run: bool) -> Added:
        return store.add(data, filename, title=self.title, label=self.label, publisher=self.publisher,
                         edition=self.edition, date=self.date, version=self.version, kind=self.kind,
                         id_column=self.id_column, fields=parse_fields(self.fields) if self.fields else None,
                         doc_id=self.document_id, dry_run=dry_run)

    def items(self) -> list[tuple[str, str]]:
        """(name, value) of every setting, for the commit form's hidden fields."""
        return [(f.name, getattr(self, f.name) or "") for f in dataclass_fields(self)]


def _live(request: Request) -> LiveEngine:
    return request.app.state.live


def _store(request: Request) -> DocumentStore:
    live = _live(request)
    if live.store is None:
        raise DocumentStoreError("documents_not_kept")
    return live.store


def _notices(request: Request) -> Notices:
    return request.app.state.notices


# ------------------------------------------------------------------ pages


@router.get("/documents", response_class=HTMLResponse)
def documents_page(request: Request, notice: str = "") -> Response:
    said = _notices(request).get(notice) if notice else None
    return _page(request, notice=said.text("web") if said is not None else None)


def _page(request: Request, status: int = 200, **ctx: Any) -> Response:
    """The documents page: whatever else it shows (a preview, an error, a notice), every document kept."""
    live = _live(request)
    base: dict[str, Any] = {"documents": [], "problems": [], "error": None, "notice": None, "preview": None,
                            "settings": AddSettings(), "kinds": KIND_LABELS, "building": live.building,
                            "rebuild_error": live.error, "loaded": {s for s, _ in live.engine.table.sources}}
    store = live.store
    if store is not None:
        try:
            base.update(documents=store.documents(), problems=store.problems())
        except DocumentStoreError as e:
            base["error"] = e.text("web")
            status = 503 if status == 200 else status
    return render(request, "documents.html", status, **(base | ctx))


def _preview(added: Added) -> dict[str, Any]:
    """What the preview shows of a document read: its fields with how many criteria fill each, its first rows."""
    doc = added.document
    roles = doc.roles()
    rows = [{"id": r.id, "lines": list(r.lines), "same_as": r.same_as,
             "fields": [(f.label, _cut(doc.text_of(r, f.label) or (f"→ {f.same_as}" if f.same_as else "")))
                        for f in r.fields]} for r in doc.records[:PREVIEW_ROWS]]
    return {"info": added.info, "fields": [(label, n, roles.get(label, "")) for label, n in doc.field_counts().items()],
            "rows": rows, "more": max(0, len(doc.records) - PREVIEW_ROWS)}


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


@router.post("/documents/preview", response_class=HTMLResponse)
async def documents_preview(request: Request) -> Response:
    """Read an uploaded file (or the kept one, with corrected settings) as a document: nothing is kept yet."""
    uploads: UploadStore = request.app.state.uploads
    jobs: JobPool = request.app.state.jobs
    upload: Upload | None = None
    settings = AddSettings()
    async with jobs.place(request) as job:
        try:
            form, chosen = await form_fields(request)
            settings = AddSettings.from_fields(form)
            upload = uploads.file_of(chosen, form.get("token", ""))
            added = await jobs.run(job, request, _read, settings, _store(request), upload)
        except _REFUSED as e:
            kept = upload is not None and upload.filename is not None and isinstance(e, DocumentError)
            if upload is not None and not kept:
                uploads.discard(upload)
            preview = {"token": upload.token, "filename": upload.filename} if kept else None
            return _page(request, 400, error=e.text("web"), settings=settings, preview=preview)
    return _page(request, settings=settings,
                 preview={"token": upload.token, "filename": upload.filename, **_preview(added)})


def _read(settings: AddSettings, store: DocumentStore, upload: Upload, *, progress: Any) -> Added:
    return settings.add(store, upload.source, upload.filename or "", dry_run=True)


@router.post("/documents/add")
async def documents_add(request: Request) -> Response:
    """Commit a previewed upload: the document kept in the store, whole, then searched (the page waits for the
    engine over the new set of documents)."""
    uploads: UploadStore = request.app.state.uploads
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            form, _ = await form_fields(request)
            settings = AddSettings.from_fields(form)
            upload = uploads.get(form.get("token", ""))
            if upload.done is not None:  # sent again (Back, then the button once more)
                said = Message("document_already_committed", {"filename": upload.filename or "",
                                                              "id": str(upload.done.get("id", ""))})
                return RedirectResponse(f"/documents?notice={_notices(request).put(said)}", status_code=303)
            added = await jobs.run(job, request, _commit, settings, _live(request), upload)
        except _REFUSED as e:
            return _page(request, 400, error=e.text("web"), settings=settings)
        uploads.retire(upload, {"id": added.info.id})
    said = Message("document_added", {"title": added.info.title, "id": added.info.id, "n": added.info.criteria})
    return RedirectResponse(f"/documents?notice={_notices(request).put(said)}", status_code=303)


def _commit(settings: AddSettings, live: LiveEngine, upload: Upload, *, progress: Any) -> Added:
    assert live.store is not None
    added = settings.add(live.store, upload.source, upload.filename or "", dry_run=False)
    live.refresh(wait=REBUILD_WAIT_S)
    return added


@router.post("/documents/remove")
async def documents_remove(request: Request) -> Response:
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            form, _ = await form_fields(request)
            doc_id = form.get("id", "")
            info = await jobs.run(job, request, _remove, _live(request), doc_id)
        except _REFUSED as e:
            return _page(request, 400, error=e.text("web"))
    said = Message("document_removed", {"title": info.title if info else doc_id, "id": doc_id})
    return RedirectResponse(f"/documents?notice={_notices(request).put(said)}", status_code=303)


def _remove(live: LiveEngine, doc_id: str, *, progress: Any) -> Any:
    if live.store is None:
        raise DocumentStoreError("documents_not_kept")
    info = live.store.remove(doc_id)
    live.refresh(wait=REBUILD_WAIT_S)
    return info


# ------------------------------------------------------------------ API


@api.get("/documents", summary="The documents searched: the bundled one first (as `kijun documents list --format json`)",
         responses=examples.json_200("Every document"))
def api_documents(request: Request) -> Any:
    live = _live(request)
    if live.store is None:
        return [s.to_dict() for s in ()]
    try:
        return [i.to_dict() for i in live.store.documents()]
    except DocumentStoreError as e:
        return api_error(e, 503)


@api.post("/documents", summary="Add a document (multipart `file`): a mapping table, another vendor's response, a "
                                "title list",
          responses=examples.json_200("The document added (or, with `dry_run`, read): its record")
          | examples.error(400, "document_no_id_column", "対応表.csv: no column of criterion IDs (実26, 監3, 実14-1) "
                           "found; name it with the `id_column` field (a header name, a number or a letter such as A)",
                           "A file that cannot be read as a document, or a bad field"))
async def api_documents_add(request: Request) -> Any:
    """`file` (.xlsx, .csv, .tsv, .md, .jsonl, .txt) and `title`, optional `label`, `publisher`, `edition`, `date`,
    `version`, `kind` (table | text | titles), `id_column`, `fields` ('COLUMN=ROLE, …'), `id`, `dry_run` → the
    document's record (`{"id", "title", …, "warnings"}`) with `"stored"` and `"field_counts"`."""
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            form, chosen = await form_fields(request)
            if chosen is None:
                raise checksheet.SheetError("no_file")
            settings = AddSettings.from_fields(form)
            dry = form.get("dry_run", "").lower() in ("1", "true", "yes", "on")
            added = await jobs.run(job, request, _api_add, settings, _live(request), chosen, dry)
        except _REFUSED as e:
            return api_error(e, 400)
    return {**added.info.to_dict(), "stored": added.stored, "field_counts": added.document.field_counts()}


def _api_add(settings: AddSettings, live: LiveEngine, chosen: tuple[str, bytes], dry: bool, *,
             progress: Any) -> Added:
    if live.store is None:
        raise DocumentStoreError("documents_not_kept")
    filename, data = chosen
    added = settings.add(live.store, data, filename, dry_run=dry)
    if not dry:
        live.refresh(wait=REBUILD_WAIT_S)
    return added


@api.delete("/documents/{doc_id}", summary="Remove an added document",
            responses=examples.json_200("The document removed")
            | examples.error(404, "unknown_document", "no document 'x'; the documents are aws-fisc", "No such document"))
async def api_documents_remove(request: Request, doc_id: str) -> Any:
    jobs: JobPool = request.app.state.jobs
    async with jobs.place(request) as job:
        try:
            info = await jobs.run(job, request, _remove, _live(request), doc_id)
        except DocumentStoreError as e:
            return api_error(e, 404 if e.condition == "unknown_document" else 400)
    return JSONResponse({"removed": doc_id, "title": info.title if info else None})
