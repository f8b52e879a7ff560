"""A check sheet answered end to end, as `kijun answer` does it, with and without the answer library.

The sheet: 300 distinct questions written the way check sheets ask (the dev set's question-like
items, and the same items with a request frame added). The library: every other line of the dev
set (as `kijun library add` adds graded queries), so about half the sheet has a past answer close
enough to reuse and half is drafted from the document.
Timed after the model is loaded and the library's memory is read (a server's state; its rows
were worked out when the entries were added); read, answer and write separately. Then the same
sheet uploaded to a warm `kijun serve` (no library), once through the API and once through the
questionnaire page, each on a server of its own (so neither finds the other's questions cached):
wall time, and the server's CPU time beside the in-process CPU time, which says what the web path
adds whatever else the machine is doing.

    python bench/questionnaire.py [--questions 300]
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEV_SET = ROOT / "eval" / "dev.jsonl"
FRAMES = ("{q}", "貴社では、{q}", "{q}（回答必須）")


def questions(n: int) -> list[str]:
    """n distinct questions from the dev set's question-like items, framed as sheets frame them."""
    items = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = [i["query"] for i in items if i["kind"] in ("questionnaire", "paraphrase", "english")]
    out = list(dict.fromkeys(f.format(q=q) for f in FRAMES for q in base))
    if len(out) < n:
        raise SystemExit(f"only {len(out)} distinct questions can be made; ask for fewer")
    return out[:n]


def sheet(texts: list[str]) -> bytes:
    """An .xlsx check sheet: a title row, a header row, one question per row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "チェックシート"
    ws["A1"] = "セキュリティチェックシート"
    ws.append([])
    ws.append(["No.", "分類", "確認項目", "回答（はい/いいえ）", "補足説明"])
    for k, q in enumerate(texts, 1):
        ws.append([k, "全般", q, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def answer_sheet_timed(engine: Any, data: bytes) -> dict[str, float]:
    """Read, answer and write one sheet; seconds per stage."""
    from search.questionnaire import answer as qa
    from search.questionnaire.reader import read_questionnaire
    from search.questionnaire.writer import write_answers

    t0 = time.perf_counter()
    q = read_questionnaire(data, "sheet.xlsx")
    t1 = time.perf_counter()
    answers = qa.answer_sheet(engine, q.questions)
    t2 = time.perf_counter()
    write_answers(data, "sheet.xlsx", q, qa.filled_cells(q.questions, answers), qa.ANSWER_COLUMNS, io.BytesIO())
    t3 = time.perf_counter()
    reused = sum(a.past is not None for a in answers)
    return {"questions": len(q.questions), "read_s": round(t1 - t0, 2), "answer_s": round(t2 - t1, 2),
            "write_s": round(t3 - t2, 2), "total_s": round(t3 - t0, 2),
            "per_question_ms": round(1000 * (t3 - t0) / len(q.questions), 1), "past_answers_reused": reused}


def _in_process(engine: Any, data: bytes) -> dict[str, float]:
    cpu = time.process_time()
    out = answer_sheet_timed(engine, data)
    return out | {"cpu_s": round(time.process_time() - cpu, 2)}


def web(data_dir: Path, n: int = 300) -> dict[str, Any]:
    """The sheet uploaded to a warm server (`kijun serve --no-library`), by the API and by the page."""
    import http.client

    from tests.browser import cpu_seconds, server

    data, warm = sheet(questions(n)), sheet(questions(10))
    out: dict[str, Any] = {}
    for name, path in (("api_upload", "/api/answer"), ("page_upload", "/answer")):
        with server(data_dir, args=["--no-library"]) as s:
            conn = http.client.HTTPConnection("127.0.0.1", int(s.base.rsplit(":", 1)[1]), timeout=600)

            def post(body: bytes) -> tuple[int, int]:
                boundary = "kijunbench"
                form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sheet.xlsx\"\r\n"
                        f"Content-Type: application/octet-stream\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
                conn.request("POST", path, form, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
                r = conn.getresponse()
                return r.status, len(r.read())

            post(warm)  # first-call costs out of the way, as in process
            cpu, started = cpu_seconds(s.pid), time.perf_counter()
            status, size = post(data)
            out[name] = {"status": status, "total_s": round(time.perf_counter() - started, 2),
                         "server_cpu_s": round(cpu_seconds(s.pid) - cpu, 2), "response_bytes": size}
            conn.close()
    return out


def run(data_dir: Path, n: int = 300) -> dict[str, Any]:
    """The sheet answered with no library, then with the dev set as the library; then through the web."""
    from search.engine import Engine
    from search.library import jsonl
    from search.library.store import Library

    data = sheet(questions(n))
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library.sqlite3")
        entries = jsonl.read(DEV_SET)[::2]
        adding = Engine(data_dir=data_dir, query_backend="onnx", library=library)
        adding.memory().commit(entries, lambda: library.replace({DEV_SET.name: entries}))  # as `kijun library add`
        out = {}
        for name, lib in (("no_library", None), ("library", library)):
            engine = Engine(data_dir=data_dir, query_backend="onnx", library=lib)
            engine.warm()  # the library's memory read, as a running server has it
            answer_sheet_timed(engine, sheet(questions(10)))  # first-call costs out of the way
            out[name] = _in_process(engine, data)
        out["library"]["entries"] = len(library)
    out["web"] = web(data_dir, n)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.data_dir, args.questions), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
