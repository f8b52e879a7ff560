"""What /docs shows for each API route: real answers of this server, shortened, not the schema's "string".

Each example is an actual response (the bundled document, 2026-12), with long lists cut to a few
items; tests/test_web.py checks that every example has the keys a real response has, so the docs
cannot drift from what the routes return. Errors show their `{"code", "detail"}` for one condition.
"""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI

SEARCH: dict[str, Any] = {
    "query": "入退室", "mode": "hybrid",
    "match": {"status": "answered", "confidence": "high", "score": 0.9902, "found_by": "synonyms", "past": False,
              "threshold": 0.5131},
    "hits": [{"id": "実35", "score": 1.405134, "kind": "criterion", "series": "実務基準", "aws_role": "primary",
              "customer_role": "primary", "field": "aws_status",
              "snippet": "物理的アクセスは、建物の周辺および入り口において、監視カメラや侵入検知システムなどの電子的手段を"
                         "用いる専門の保安要員その他の手段により、厳重に管理されています。",
              "highlights": [[0, 7]], "same_as": None, "same_text": [], "near_text": [], "named": False,
              "synonyms": [{"word": "入退室", "term": "物理的アクセス"}], "confirmed": False,
              "key": "実35", "document": "aws-fisc", "document_title": "FISC安全対策基準 AWSの対応状況", "label": "",
              "title": "", "beside": "",
              "also_in": [{"document": "fisc-mapping", "document_title": "基盤 FISC対応表", "key": "fisc-mapping:実35",
                           "score": 0.61, "field": "aws_status", "label": "共通統制環境の対策内容",
                           "snippet": "- 入館証による入退室の記録", "highlights": [[7, 10]]}]}],
    "above_floor": 1, "library": [],
    "synonyms": [{"word": "入退室", "terms": ["物理的アクセス", "物理アクセス", "入場"],
                  "rules": ["synonyms.txt:156", "synonyms.txt:158"]}],
    "warnings": [],
}

CRITERION: dict[str, Any] = {
    "id": "実26", "series": "実務基準", "number": 26, "aws_role": "◯", "customer_role": "◯",
    "aws_status": "AWSではISO/IEC 27001およびPCI DSSに則り、AWSリソースへの論理的なアクセスのために必要なパスワード"
                  "ポリシーを定めています。パスワードは複雑である必要があり、90 日おきに変更されます。",
    "customer_controls": "お客様はAWS Identity and access Management(IAM) を使用して、…強力なパスワードを要求できます。",
    "references": ["PCI DSS 8.2.3", "PCI DSS 8.2.4"], "urls": [], "page": 5, "same_as": None,
    "line_start": 516, "line_end": 544, "revisions": [],
    "shared_passages": [{"text": "お客様がAWS上で実装するシステムおよびサービスの管理は、AWSが提供する機能および情報もしくは"
                                 "その他の機能を用いて、お客様にて実施します。",
                         "field": "customer_controls", "criteria": ["実1", "実2", "実3"], "similarity": 1.0,
                         "boilerplate": True}],
}

DUPLICATES: dict[str, Any] = {
    "passages": [{"text": "お客様がAWS上で実装するシステムおよびサービスの管理は、AWSが提供する機能および情報もしくはその他の"
                          "機能を用いて、お客様にて実施します。",
                  "criteria": ["実1", "実2", "実3"], "similarity": 1.0, "boilerplate": True, "variants": []}],
    "criteria_pairs": [{"a": "実57", "b": "実58", "similarity": 1.0}, {"a": "実56", "b": "実57", "similarity": 0.82}],
}

ANSWERS: dict[str, Any] = {
    "answers": [{
        "question": "パスワードの最低文字数や有効期限を定めていますか。", "status": "answered", "confidence": "high",
        "score": 0.8986,
        "draft": "AWSではISO/IEC 27001およびPCI DSSに則り、AWSリソースへの論理的なアクセスのために必要なパスワードポリシーを"
                 "定めています。パスワードは複雑である必要があり、90 日おきに変更されます。[実26]",
        "quotes": {"aws_status": "AWSではISO/IEC 27001およびPCI DSSに則り、…90 日おきに変更されます。",
                   "customer_controls": "お客様はAWS Identity and access Management(IAM) を使用して、…"},
        "matches": [{"id": "実26", "same_text": [], "near_text": [], "score": 1.1,
                     "text": "お客様はAWS Identity and access Management(IAM) を使用して、…", "document": "aws-fisc"},
                    {"id": "実57", "same_text": ["実58"], "near_text": ["実56"], "score": 0.7001,
                     "text": "AWS は、権限を持つ担当者のみにデータセンターへの物理的なアクセスを許可しています。…",
                     "document": "aws-fisc"}],
        "past": None}],
}

LIBRARY_ENTRY: dict[str, Any] = {
    "id": "L5fe488640376", "question": "データセンターの入退室を記録していますか。", "criteria": ["実59", "実38"],
    "answer": "入退館はICカードで記録しています。", "verdict": "answered",
    "source": {"file": "委託先_回答.xlsx", "sheet": "チェックシート", "row": 6, "sha256": "9c1e…",
               "imported_at": "2026-12-06T10:15:00+09:00"},
    "unread": [], "documents": ["aws-fisc"],
}

LIBRARY_ADDED: dict[str, Any] = {
    "file": "委託先_回答.xlsx", "added": 8, "answered": 7, "not_in_document": 1, "replaced": 8, "dry_run": False,
    "replaced_imports": [{"file": "委託先_回答.xlsx", "imported_at": "2026-11-06T10:15:00+09:00", "rows": 8,
                          "sha256": "3b7d…", "shared": "100%"}],
    "kept_beside": [],
    "skipped": [{"sheet": "チェックシート", "row": 9, "question": "監査ログの改ざん防止策を講じていますか。",
                 "reason": "still_unconfirmed", "detail": "still 要確認 with no criterion"}],
    "warnings": [{"sheet": "チェックシート", "row": 6, "unread": ["（注3参照）"], "code": "criteria_unread",
                  "detail": "sheet 'チェックシート' row 6: the 該当基準 cell also says 「（注3参照）」, which was not read "
                            "as criteria; kept 実59 — check them"}],
}

LIBRARY_REMOVED: dict[str, Any] = {"removed": "L5fe488640376", "question": "データセンターの入退室を記録していますか。"}

DOCUMENT: dict[str, Any] = {
    "id": "fisc-mapping", "title": "基盤 FISC対応表", "publisher": "基盤チーム", "edition": "9", "date": "2024-04",
    "version": "", "kind": "table", "bundled": False, "file": "fisc-mapping.md", "sha256": "5d0c…", "size": 1874,
    "added_at": "2026-12-06T10:15:00+09:00", "id_column": None, "fields": {},
    "labels": ["共通統制環境の対策内容", "ワークロードの対策内容", "利用者側での追加の対策"], "criteria": 6, "label": "基盤",
    "warnings": [{"code": "document_link_missing", "detail": "1 link names a criterion the document does not have: "
                                                              "実18 → 実17"}],
}

DOCUMENT_ADDED: dict[str, Any] = {**DOCUMENT, "stored": True,
                                  "field_counts": {"共通統制環境の対策内容": 6, "ワークロードの対策内容": 5,
                                                   "利用者側での追加の対策": 3}}

DOCUMENT_REMOVED: dict[str, Any] = {"removed": "fisc-mapping", "title": "基盤 FISC対応表"}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


OK: dict[tuple[str, str], Any] = {
    ("get", "/api/search"): SEARCH, ("get", "/api/criteria/{cid}"): CRITERION, ("get", "/api/duplicates"): DUPLICATES,
    ("post", "/api/answer"): ANSWERS, ("get", "/api/library"): [LIBRARY_ENTRY], ("post", "/api/library"): LIBRARY_ADDED,
    ("delete", "/api/library/{entry_id}"): LIBRARY_REMOVED,
    ("get", "/api/documents"): [DOCUMENT], ("post", "/api/documents"): DOCUMENT_ADDED,
    ("delete", "/api/documents/{doc_id}"): DOCUMENT_REMOVED,
}
"""Each API route's 200 example (method, path as /docs lists it)."""


def json_200(description: str) -> dict[int | str, dict[str, Any]]:
    """A route's documented 200 (its example is put in by `install`)."""
    return {200: {"description": description, "content": {"application/json": {}}}}


def install(app: FastAPI) -> None:
    """Put each route's example into the app's OpenAPI schema once it is made. FastAPI drops every null
    from the schema it writes, examples included (`"same_as": null` would vanish from the docs), so the
    examples go in afterwards, as they are."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = make()
            for (method, path), example in OK.items():
                ok = schema["paths"][path][method]["responses"]["200"]
                ok.setdefault("content", {}).setdefault("application/json", {})["example"] = example
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def error(status: int, code: str, detail: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A documented refusal: `{"code", "detail"}` for one of its conditions."""
    return {status: {"description": description,
                     "content": {"application/json": {"example": {"code": code, "detail": detail}}}}}
