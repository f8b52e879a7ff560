"""`kijun parse` and `kijun show` through click's CliRunner (no subprocess, no index)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.app.cli import main

ROOT = Path(__file__).resolve().parent.parent
CRITERIA_JSONL = ROOT / "corpus" / "criteria.jsonl"
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _out(result) -> str:
    """stdout and stderr together (click ≥ 8.2 keeps both in .output)."""
    return result.output


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return _out(result)


# ---------------------------------------------------------------- parse


@pytest.fixture(scope="module")
def parsed(runner, tmp_path_factory):
    out = tmp_path_factory.mktemp("parse") / "criteria.jsonl"
    result = runner.invoke(main, ["parse", "-o", str(out)])
    return result, out


def test_parse_prints_counts(parsed):
    result, out = parsed
    text = _ok(result)
    assert re.search(r"\b153 criteria\b", text)
    assert str(out) in text
    assert "対応の主体" in text
    counts = {(s, a, c): int(n) for s, a, c, n in
              re.findall(r"(実務基準|監査基準)\s+AWS\s+([◯-])\s+お客様\s+([◯-])\s*:\s*(\d+)", text)}
    assert counts == {
        ("実務基準", "-", "◯"): 95,
        ("実務基準", "◯", "-"): 12,
        ("実務基準", "◯", "◯"): 41,
        ("監査基準", "-", "◯"): 5,
    }
    assert sum(counts.values()) == 153


def test_parse_output_matches_checked_in_jsonl(parsed):
    _, out = parsed
    assert out.read_bytes() == CRITERIA_JSONL.read_bytes(), (
        "corpus/criteria.jsonl differs from `kijun parse` output: run `kijun parse` and commit it")


def test_parse_bad_source_fails_cleanly(runner, tmp_path):
    src = tmp_path / "empty.txt"
    src.write_text("", encoding="utf-8")
    result = runner.invoke(main, ["parse", "--source", str(src), "-o", str(tmp_path / "x.jsonl")])
    assert result.exit_code != 0
    assert "empty" in _out(result)
    assert "Traceback" not in _out(result)
    assert not (tmp_path / "x.jsonl").exists()


def test_parse_lenient_keeps_what_parses(runner, tmp_path):
    lines = (ROOT / "corpus" / "fisc_aws_response.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    src = tmp_path / "no27.txt"
    src.write_text("".join(lines[:545] + lines[573:]), encoding="utf-8")  # 実27 removed
    out = tmp_path / "x.jsonl"
    strict = runner.invoke(main, ["parse", "--source", str(src), "-o", str(out)])
    assert strict.exit_code != 0 and "実27" in _out(strict) and "Traceback" not in _out(strict)
    lenient = runner.invoke(main, ["parse", "--source", str(src), "-o", str(out), "--lenient"])
    assert "152 criteria" in _ok(lenient)


# ---------------------------------------------------------------- show

LABELS = ["基準番号", "対応の主体", "AWSの対応状況", "お客様が統制すべき内容", "補足情報"]


def test_show_text_has_japanese_labels_and_references(runner):
    text = _ok(runner.invoke(main, ["show", "実26"]))
    for label in LABELS:
        assert label in text
    assert "実26" in text
    assert "PCI DSS 8.2.3" in text and "PCI DSS 8.2.4" in text
    assert "AWSではISO/IEC 27001およびPCI DSSに則り" in text
    assert "パスワードリセットの要求も設定できます" in text


@pytest.mark.parametrize("spelling", ["実２６", "実 26", " 実26 "])
def test_show_accepts_user_spellings(runner, spelling):
    text = _ok(runner.invoke(main, ["show", spelling]))
    assert "基準番号: 実26" in text
    assert "PCI DSS 8.2.3" in text


def test_show_audit(runner):
    text = _ok(runner.invoke(main, ["show", "監3"]))
    assert "基準番号: 監3" in text and "監査基準" in text
    assert "外部委託先としての監査" in text


def test_show_json(runner):
    d = json.loads(_ok(runner.invoke(main, ["show", "--format", "json", "実26"])))
    for key in ["id", "aws_role", "customer_role", "aws_status", "customer_controls", "references", "urls",
                "page", "same_as"]:
        assert key in d
    assert d["id"] == "実26"
    assert (d["aws_role"], d["customer_role"]) == ("◯", "◯")
    assert d["references"] == ["PCI DSS 8.2.3", "PCI DSS 8.2.4"]
    assert d["urls"] == []
    assert d["page"] == 5
    assert d["same_as"] is None
    assert d["aws_status"].endswith("SOC2 タイプ2レポートを参照ください。")
    assert d["customer_controls"].startswith("お客様がAWS上で実装するシステム")


def test_show_json_same_as(runner):
    d = json.loads(_ok(runner.invoke(main, ["show", "--format", "json", "実88"])))
    assert d["same_as"] == "実87"
    assert d["aws_status"] == "(実87と同様)"


def test_show_unknown_id(runner):
    result = runner.invoke(main, ["show", "実999"])
    assert result.exit_code != 0
    assert "実999" in _out(result)
    assert "実1–実148" in _out(result)  # says what exists
    assert "Traceback" not in _out(result)
    assert isinstance(result.exception, SystemExit)  # a clean click error, not a crash


def test_show_malformed_id(runner):
    result = runner.invoke(main, ["show", "foo"])
    assert result.exit_code != 0
    assert "foo" in _out(result) and "Traceback" not in _out(result)
    assert isinstance(result.exception, SystemExit)


def test_show_same_as_mentions_source_criterion(runner):
    text = _ok(runner.invoke(main, ["show", "実88"]))
    assert "実87" in text
    # the referenced criterion's AWS text is shown too
    assert "各データセンター間は物理的に離れており" in text


def test_show_change_history(runner):
    text = _ok(runner.invoke(main, ["show", "実20"]))
    assert "変更履歴" in text
    assert "実21と整合させるため追加" in text


# ---------------------------------------------------------------- help and README


def test_every_command_has_help(runner):
    assert main.commands, "no commands registered"
    top = _ok(runner.invoke(main, ["--help"]))
    for name, cmd in main.commands.items():
        assert (cmd.help or "").strip(), f"`kijun {name}` has no help text"
        assert name in top
        sub = _ok(runner.invoke(main, [name, "--help"]))
        assert cmd.help.strip().splitlines()[0][:30] in sub


def test_readme_lists_every_command():
    text = README.read_text(encoding="utf-8")
    missing = [name for name in main.commands if not re.search(rf"`kijun {re.escape(name)}\b", text)]
    assert missing == [], f"commands missing from README.md: {missing}"
