"""The document store: the documents a team added, kept as user data beside the answer library.

Each document is a folder `<store>/<id>/`: its original file, byte for byte, under `original/`, and a small
metadata record `document.json` (title, publisher, edition, date, version, kind, the field mapping and ID
column it was read with, the file's name and sha256, when it was added, and the warnings reading it gave).
The records are read again from the original whenever they are wanted (`load`), with the same options, so
the file stays the one source: indexes are derived from it.

User data, not an index: the store lives at `$KIJUN_DOCUMENTS`, else `$XDG_DATA_HOME/kijun/documents/`
(~/.local/share/…) — outside the project's ./data, which `make clean` and `kijun index --rebuild` may delete.
A document is written whole or not at all (its folder is made under a temporary name, each file written with
`indexer.files.write_whole`, then renamed into place in one step), removed in one step (renamed away, then
deleted), and a folder kijun cannot read is reported and left exactly as it is. A file whose bytes no longer
match the sha256 it was added with is reported, not read.

The bundled document is listed first, marked as bundled; it cannot be removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from corpus.editions import Editions, bundled_edition
from corpus.grid import check_size
from corpus.parser import SOURCE, parse_file
from corpus.records import BUNDLED, ROLE_HEADERS, TITLES, Document, DocumentError, UserDocument, criterion_texts
from corpus.sources import read_document
from indexer import files
from messages import Explained, Message
from search.library.store import data_home

ENV = "KIJUN_DOCUMENTS"
FOLDER = "documents"
META = "document.json"
ORIGINAL = "original"
FORMAT = 1  # of document.json; a newer one is reported, not read

BUNDLED_ID = "aws-fisc"
BUNDLED_TITLE = "FISC安全対策基準 AWSの対応状況"
BUNDLED_PUBLISHER = "Amazon Web Services"

_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class DocumentStoreError(Explained):
    """The store cannot do what was asked; the message says what to do."""

    code = "document_store_unwritable"


class DocumentDamaged(DocumentStoreError):
    """A stored document cannot be read (its record, or its file changed since it was added). Left as it is."""

    code = "document_damaged"


class UnknownDocument(DocumentStoreError):
    code = "unknown_document"


def default_path() -> Path:
    """$KIJUN_DOCUMENTS, else the user's data directory ($XDG_DATA_HOME or ~/.local/share)/kijun/documents,
    beside the answer library: outside ./data, which `make clean` and `kijun index --rebuild` may delete."""
    explicit = os.environ.get(ENV)
    return Path(explicit).expanduser() if explicit else data_home() / FOLDER


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class DocumentInfo:
    """What the store records of one document (the metadata record, or the bundled document's own)."""

    id: str
    title: str
    kind: str  # table | text | titles | bundled
    file: str  # the original file's name
    sha256: str
    size: int
    added_at: str  # ISO 8601 with its offset; "" for the bundled document
    publisher: str = ""
    edition: str | None = None  # of the standards it answers (corpus.editions: '9', '13')
    date: str = ""
    version: str = ""
    id_column: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # column → role, as given
    labels: tuple[str, ...] = ()  # its fields' labels, in column order
    criteria: int = 0  # how many criterion IDs it has
    warnings: tuple[Message, ...] = ()

    @property
    def bundled(self) -> bool:
        return self.kind == BUNDLED

    def to_dict(self, audience: str = "api") -> dict[str, Any]:
        """As `documents list/show --format json` print it (warnings in `audience`'s words, with codes)."""
        return {"id": self.id, "title": self.title, "publisher": self.publisher, "edition": self.edition,
                "date": self.date, "version": self.version, "kind": self.kind, "bundled": self.bundled,
                "file": self.file, "sha256": self.sha256, "size": self.size, "added_at": self.added_at,
                "id_column": self.id_column, "fields": dict(self.fields), "labels": list(self.labels),
                "criteria": self.criteria, "warnings": [w.to_dict(audience) for w in self.warnings]}

    def record(self) -> dict[str, Any]:
        """As document.json keeps it: warnings as their codes and parameters, rendered when shown."""
        d = self.to_dict()
        del d["bundled"]
        d["warnings"] = [_encoded(w) for w in self.warnings]
        return {"format": FORMAT, **d}

    @classmethod
    def from_record(cls, d: Mapping[str, Any]) -> "DocumentInfo":
        return cls(id=d["id"], title=d["title"], kind=d["kind"], file=d["file"], sha256=d["sha256"],
                   size=int(d["size"]), added_at=d["added_at"], publisher=d.get("publisher") or "",
                   edition=d.get("edition"), date=d.get("date") or "", version=d.get("version") or "",
                   id_column=d.get("id_column"), fields=dict(d.get("fields") or {}),
                   labels=tuple(d.get("labels") or ()), criteria=int(d.get("criteria") or 0),
                   warnings=tuple(_decoded(w) for w in d.get("warnings") or ()))


def _encoded(value: Any) -> Any:
    """A warning as JSON keeps it: its code and parameters (a location inside it is a message too), so it is
    rendered in each audience's words when shown."""
    if isinstance(value, Message):
        return {"code": value.code, "params": {k: _encoded(v) for k, v in value.params.items()}}
    if isinstance(value, (list, tuple)):
        return [_encoded(v) for v in value]
    return value


def _decoded(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"code", "params"}:
        return Message(value["code"], {k: _decoded(v) for k, v in (value["params"] or {}).items()})
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


@dataclass(frozen=True)
class Added:
    """A document read for the store: what will be (or was) recorded, and its records."""

    info: DocumentInfo
    document: UserDocument
    stored: bool  # False for a dry run: nothing was written


class DocumentStore:
    """The documents at one path, and the bundled one. Reading a store that does not exist yet lists only the
    bundled document (the folder is made by the first add)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, bundled: Document | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._bundled = bundled

    def __repr__(self) -> str:
        return f"DocumentStore({str(self.path)!r})"

    # ------------------------------------------------------------ the bundled document

    @cached_property
    def bundled(self) -> Document:
        return self._bundled if self._bundled is not None else parse_file()

    @cached_property
    def bundled_info(self) -> DocumentInfo:
        about = bundled_edition(self.bundled)
        return DocumentInfo(id=BUNDLED_ID, title=BUNDLED_TITLE, kind=BUNDLED, file=SOURCE.name,
                            sha256=self.bundled.source_sha256, size=SOURCE.stat().st_size, added_at="",
                            publisher=BUNDLED_PUBLISHER, edition=about.edition, date=about.date,
                            version=about.version, labels=tuple(ROLE_HEADERS.values()),
                            criteria=len(self.bundled.criteria))

    # ------------------------------------------------------------ reading

    def documents(self) -> list[DocumentInfo]:
        """The bundled document, then every added one by when it was added. A folder that cannot be read is
        left out here (`problems` names it)."""
        return [self.bundled_info] + sorted((i for i in self._infos() if isinstance(i, DocumentInfo)),
                                            key=lambda i: (i.added_at, i.id))

    def problems(self) -> list[DocumentDamaged]:
        """The folders of the store kijun cannot read, each as its error (nothing is changed)."""
        return [i for i in self._infos() if isinstance(i, DocumentDamaged)]

    def get(self, doc_id: str) -> DocumentInfo:
        if doc_id == BUNDLED_ID:
            return self.bundled_info
        folder = self.path / doc_id
        if not _ID.match(doc_id) or not folder.is_dir():
            raise UnknownDocument(id=doc_id, ids=[i.id for i in self.documents()])
        return self._info(folder)

    def load(self, doc_id: str) -> tuple[DocumentInfo, UserDocument]:
        """A document's metadata and its records, read again from its original file with the options it was
        added with (the file's sha256 checked first)."""
        info = self.get(doc_id)
        if info.bundled:
            return info, UserDocument(BUNDLED_ID, BUNDLED, criterion_texts(self.bundled, BUNDLED_ID),
                                      info.labels, info.edition)
        path = self.path / doc_id / ORIGINAL / info.file
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DocumentDamaged(path=path, detail=e.strerror or str(e)) from None
        if hashlib.sha256(data).hexdigest() != info.sha256:
            raise DocumentDamaged(path=path, detail="its bytes no longer match the sha256 it was added with")
        try:
            doc = read_document(data, info.file, info.id, kind=info.kind, id_column=info.id_column,
                                fields=info.fields, edition=info.edition)
        except DocumentError as e:
            raise DocumentDamaged(path=path, detail=str(e)) from None
        return info, UserDocument(doc.id, doc.kind, doc.records, doc.labels, info.edition, info.warnings)

    def editions(self) -> Editions:
        """Which IDs each edition has, as far as the store knows: the bundled document's edition, and the
        editions of the title lists added."""
        lists = {}
        for info in self.documents():
            if info.kind == TITLES and info.edition is not None:
                lists[info.id] = (info.edition, self.load(info.id)[1].ids)
        return Editions.of(self.bundled, BUNDLED_ID, lists)

    # ------------------------------------------------------------ writing

    def add(self, source: Path | str | bytes, filename: str | None = None, *, title: str, publisher: str = "",
            edition: str | None = None, date: str = "", version: str = "", kind: str | None = None,
            id_column: str | None = None, fields: Mapping[str, str] | None = None, doc_id: str | None = None,
            dry_run: bool = False) -> Added:
        """Read a file as a document and keep it (its original bytes and its record) — all of it, or nothing:
        a file that cannot be read raises `DocumentError` naming the row, and nothing is written."""
        if isinstance(source, (bytes, bytearray)):
            data, name = bytes(source), filename or "document"
        else:
            p = Path(source)
            name = filename or p.name
            try:
                check_size(p.stat().st_size, name)
                data = p.read_bytes()
            except OSError as e:
                raise DocumentError("cannot_read_path", path=str(p), reason=e.strerror or str(e)) from None
        name = _file_name(name)
        if not title.strip():
            raise DocumentStoreError("document_no_title")
        check_size(len(data), name)
        sha = hashlib.sha256(data).hexdigest()
        infos = self.documents()
        same = next((i for i in infos if i.sha256 == sha), None)
        if same is not None:
            raise DocumentStoreError("document_already_added", filename=name, id=same.id)
        if doc_id is not None and not _ID.match(doc_id):
            raise DocumentStoreError("document_id_invalid", id=doc_id)
        taken = {i.id for i in infos} | {p.name for p in self._folders()}
        if doc_id is not None and doc_id in taken:
            raise DocumentStoreError("document_id_taken", id=doc_id)
        new_id = doc_id or _free_id(_slug(name), taken)
        doc = read_document(data, name, new_id, kind=kind, id_column=id_column, fields=fields, edition=edition,
                            editions=self.editions())
        info = DocumentInfo(id=new_id, title=title.strip(), kind=doc.kind, file=name, sha256=sha, size=len(data),
                            added_at=now(), publisher=publisher.strip(), edition=doc.edition, date=date.strip(),
                            version=version.strip(), id_column=id_column, fields=dict(fields or {}),
                            labels=doc.labels, criteria=len(doc.records), warnings=doc.warnings)
        if not dry_run:
            self._write(info, data)
        return Added(info, UserDocument(doc.id, doc.kind, doc.records, doc.labels, doc.edition, doc.warnings),
                     not dry_run)

    def remove(self, doc_id: str) -> DocumentInfo | None:
        """Remove one added document, in one step: it is gone, or still there whole. Its record (None for a
        folder whose record could not be read)."""
        if doc_id == BUNDLED_ID:
            raise DocumentStoreError("document_bundled", id=doc_id)
        folder = self.path / doc_id
        if not _ID.match(doc_id) or not folder.is_dir():
            raise UnknownDocument(id=doc_id, ids=[i.id for i in self.documents()])
        try:
            info = self._info(folder)
        except DocumentDamaged:
            info = None
        gone = self.path / f".removing-{doc_id}-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            os.rename(folder, gone)
        except OSError as e:
            raise DocumentStoreError(path=self.path, reason=e.strerror or str(e)) from None
        shutil.rmtree(gone, ignore_errors=True)
        return info

    # ------------------------------------------------------------ on disk

    def _folders(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _infos(self) -> list[DocumentInfo | DocumentDamaged]:
        out: list[DocumentInfo | DocumentDamaged] = []
        for folder in self._folders():
            try:
                out.append(self._info(folder))
            except DocumentDamaged as e:
                out.append(e)
        return out

    def _info(self, folder: Path) -> DocumentInfo:
        meta = folder / META
        try:
            d = json.loads(meta.read_text(encoding="utf-8"))
            if not isinstance(d, dict):
                raise ValueError("not a JSON object")
            if int(d.get("format", 0)) > FORMAT:
                raise ValueError(f"written by a newer kijun (format {d['format']})")
            info = DocumentInfo.from_record(d)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DocumentDamaged(path=meta, detail=getattr(e, "strerror", None) or str(e)) from None
        if info.id != folder.name:
            raise DocumentDamaged(path=meta, detail=f"it names the document {info.id!r}, in the folder {folder.name!r}")
        return info

    def _write(self, info: DocumentInfo, data: bytes) -> None:
        """The document's folder under a temporary name, its files each written whole, then renamed into place."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".adding-{info.id}-", dir=self.path))
        except OSError as e:
            raise DocumentStoreError(path=self.path, reason=e.strerror or str(e)) from None
        try:
            (tmp / ORIGINAL).mkdir()
            files.write_whole(tmp / ORIGINAL / info.file, data)
            body = json.dumps(info.record(), ensure_ascii=False, indent=1) + "\n"
            files.write_whole(tmp / META, body.encode("utf-8"))
            os.rename(tmp, self.path / info.id)  # fails if another add took the ID meanwhile
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            if (self.path / info.id).exists():
                raise DocumentStoreError("document_id_taken", id=info.id) from None
            raise DocumentStoreError(path=self.path, reason=e.strerror or str(e)) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def _file_name(name: str) -> str:
    """The original file's name without any folder, safe to keep as a file name."""
    base = Path(name.replace("\\", "/")).name.strip()
    if not base or base.startswith(".") or base == META:
        return "document" + Path(base).suffix
    return base


def _slug(filename: str) -> str:
    """A document ID from a file name: its stem in lower-case ASCII letters, digits and hyphens; 'doc' when
    nothing of it is ASCII (対応表.xlsx)."""
    stem = unicodedata.normalize("NFKC", Path(filename).stem).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:40].strip("-")
    return slug or "doc"


def _free_id(base: str, taken: set[str]) -> str:
    if base not in taken and base != BUNDLED_ID:
        return base
    n = 2
    while f"{base[:36]}-{n}" in taken:
        n += 1
    return f"{base[:36]}-{n}"

