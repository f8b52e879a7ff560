"""Documents a team adds, written for the tests in the shapes they are published in.

Modelled on public FISC mapping tables (architecture teams' tables: 実務基準番号 | 共通統制環境の対策内容 |
ワークロードの対策内容 | 使用者側での追加の対策, IDs written 「実 1」, cells with <br> and escaped hyphens,
「対応策は実 4 と同じ」 cells) and on Excel versions of them (a title row, a header of two rows merged across
columns, an ID merged down over a continued row). The wording is ours.
"""
from __future__ import annotations

import io
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAPPING_MD = """\
# FISC 安全対策基準 実務基準への対応（サンプル基盤）

この表は FISC 安全対策基準（第 9 版）の実務基準に対する、サンプル基盤での対策だけを記載しています。
システム全体の安全対策は、アプリケーションと運用プロセスでの対策を含めて検討してください。

| 実務基準番号 | 共通統制環境の対策内容 | ワークロードの対策内容 | 利用者側での追加の対策 |
| ------------ | ---------------------- | ---------------------- | ---------------------- |
| 実 1 | \\- 認証基盤のパスワードポリシーで利用者を保護 | \\- 一時的な認証情報による各リソースへのアクセス | |
| 実 4 | \\- ストレージへの通信に TLS を必須とする<br>\\- 通知トピックへの通信を暗号化する | \\- 専用線による閉域接続 | \\- アプリケーションとの通信は利用者が TLS で暗号化する |
| 実 7 | 対応策は実 4 と同じ | \\- 外部ネットワークを経由する伝送がないため対象外 | |
| 実 8 | \\- シングルサインオン基盤で MFA（多要素認証）を有効化<br>\\- 管理者アカウントとルートユーザーの MFA を必須化 | 対象外（業務アプリケーションでの対策） | |
| 実 18 | 対象外（業務アプリケーションでの対策） | 対象外（業務アプリケーションでの対策） | 対応策は実 17 と同じ<br>\\- 不正取引の検知はアプリケーションで実装する |
| 実２６ | \\- パスワードの長さと複雑さを強制 \\| 90 日で失効 | | \\- パスワードの定期的な見直し |

監査基準は別表を参照してください。
"""

MAPPING_MD_LABELS = ("共通統制環境の対策内容", "ワークロードの対策内容", "利用者側での追加の対策")


def merged_xlsx() -> bytes:
    """A workbook as teams keep such a table: a title row over everything, a header of two rows (基準番号 and
    the user's column merged down, 対策内容 merged across its two sub-headers), an ID merged down over its
    continued row, a heading row, two IDs in one cell, a row the same as another, and the table continued on a
    second sheet under the same header. A cover sheet and a hidden sheet hold no table."""
    from openpyxl import Workbook

    wb = Workbook()
    cover = wb.active
    cover.title = "表紙"
    cover["A1"] = "サンプル基盤 FISC安全対策基準 対応表"
    cover["A2"] = "2024年4月 第2版"
    for title in ("対応表", "対応表（続き）"):
        ws = wb.create_sheet(title)
        ws["A1"] = "FISC安全対策基準（第9版）対応表"
        ws.merge_cells("A1:D1")
        ws["A2"] = "基準番号"
        ws.merge_cells("A2:A3")
        ws["B2"] = "対策内容"
        ws.merge_cells("B2:C2")
        ws["B3"], ws["C3"] = "共通統制環境", "ワークロード"
        ws["D2"] = "利用者が追加で実施すべき対策"
        ws.merge_cells("D2:D3")
    first, second = wb["対応表"], wb["対応表（続き）"]
    for row in (("実１", "認証基盤で利用者を保護する", "一時的な認証情報を使う", None),            # row 4
                ("実14", "不正侵入を検知する", "WAF を適用する", "検知結果を毎日確認する"),          # row 5
                (None, "ネットワークの通信を監視する", None, None),                                # row 6: 実14 continued
                ("【技術的安全対策】", None, None, None),                                           # row 7: a heading
                ("実57・実58", "ログを改ざんできない保管庫に保存する", "ログ収集を有効化する", "ログの保存期間を定める"),  # row 8
                ("実７", "実1と同様", "同上", None),                                                # row 9
                ("実26", "パスワードポリシーを強制する", None, None)):                              # row 10
        first.append(row)
    first.merge_cells("A5:A6")
    first.merge_cells("A7:D7")
    second.append(("実26", "多要素認証と組み合わせる", None, "パスワードを定期的に見直す"))  # row 4 of the second sheet
    hidden = wb.create_sheet("メモ")
    hidden["A1"], hidden["B1"] = "実99", "下書き"
    hidden.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


MERGED_XLSX_LABELS = ("対策内容 / 共通統制環境", "対策内容 / ワークロード", "利用者が追加で実施すべき対策")

POLICY_CSV = """\
社内規程とFISC安全対策基準の対応
基準番号,規程名,条項,要旨
実1,情報セキュリティ規程,第5条,パスワードは12文字以上とし、使い回しを禁止する。
実150,クラウド利用規程,第3条,クラウド事業者の選定基準を定める。
実14-1,サイバーセキュリティ規程,第8条,脆弱性情報を収集し、影響を評価する。
実26,情報セキュリティ規程,第6条,パスワードを定期的に見直す。
"""

TITLES_13 = """\
FISC安全対策基準 第13版 基準タイトル（抜粋）

実14 不正アクセスの防止
実14-1 脆弱性の管理
実103-1: クラウドサービスの利用
監3\t内部監査の実施
"""


def extraction_with_a_sub_row() -> str:
    """The bundled extraction's rows up to 実26, then a row 実26-1 laid out as they are (実26's lines under a
    sub-numbered header): a text extraction of another edition's response."""
    lines = (ROOT / "corpus" / "fisc_aws_response.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(k for k, ln in enumerate(lines) if ln.startswith("実26 "))
    end = next(k for k, ln in enumerate(lines) if ln.startswith("実27 "))
    sub = [ln.replace("実26 ", "実26-1 ", 1) if k == 0 else ln for k, ln in enumerate(lines[start:end])]
    return "".join(lines[:end] + sub)
