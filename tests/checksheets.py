"""Check-sheet fixtures, built in code so that they are deterministic and reviewable.

Each layout is modelled on published Japanese check sheets and checklists
(the IPA cloud-service checklist, vendor/委託先 checklists, the ISMAP control
list, CSA's CAIQ): a merged title, meta rows (回答者/記入日), a header row
further down, section rows between the items, notes at the bottom, drop-downs,
frozen panes, and extra sheets (表紙, 記入例, 改訂履歴, hidden lists). The texts
are written for these tests.

Every builder returns the file's bytes. `EXPECTED` records what detection
must find in each, and the tests assert it exactly.
"""
from __future__ import annotations

import io
import random
import re
import zipfile
from typing import Callable, Mapping
from xml.sax.saxutils import escape

# ----------------------------------------------------------------- helpers

def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    side = Side(style="thin", color="808080")
    return {
        "border": Border(left=side, right=side, top=side, bottom=side),
        "header_fill": PatternFill("solid", fgColor="DDEBF7"),
        "section_fill": PatternFill("solid", fgColor="F2F2F2"),
        "bold": Font(bold=True),
        "title": Font(bold=True, size=14),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
    }


def _save(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def patch_zip(data: bytes, edits: Mapping[str, Callable[[str], str]] | None = None,
              add: Mapping[str, bytes | str] | None = None) -> bytes:
    """The package with some parts' XML edited and some parts added (what Excel writes but openpyxl cannot)."""
    edits, add = dict(edits or {}), dict(add or {})
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist():
            part = src.read(name)
            if name in edits:
                part = edits.pop(name)(part.decode("utf-8")).encode("utf-8")
            z.writestr(name, part)
        for name, part in add.items():
            z.writestr(name, part)
    assert not edits, f"parts not found: {sorted(edits)}"
    return buf.getvalue()


def with_cached_values(data: bytes, sheet_part: str, values: Mapping[str, str]) -> bytes:
    """Formula cells given the computed value Excel would have stored (openpyxl stores none)."""
    def edit(xml: str) -> str:
        for coord, value in values.items():
            xml, n = re.subn(rf'<c r="{coord}"([^>]*)><f>(.*?)</f><v\s*/>',
                             lambda m: f'<c r="{coord}"{m.group(1)} t="str"><f>{m.group(2)}</f>'
                                       f'<v>{escape(value)}</v>', xml)
            assert n == 1, coord
        return xml
    return patch_zip(data, {sheet_part: edit})


def _table(ws, header_row: int, headers: list[str], widths: list[float], st) -> None:
    from openpyxl.utils import get_column_letter

    for c, (name, width) in enumerate(zip(headers, widths), start=1):
        cell = ws.cell(header_row, c, name)
        cell.font, cell.fill, cell.border, cell.alignment = st["bold"], st["header_fill"], st["border"], st["center"]
        ws.column_dimensions[get_column_letter(c)].width = width


def _row(ws, r: int, values: list, st) -> None:
    for c, v in enumerate(values, start=1):
        cell = ws.cell(r, c, v)
        cell.border, cell.alignment = st["border"], st["wrap"]


# ----------------------------------------------------------------- 1. cloud check sheet

CLOUD_SECTIONS = [
    ("【物理的セキュリティ】", [
        ("物理", "データセンターへの入退室は、ICカード等により記録・管理されていますか。"),
        ("物理", "サーバ室に監視カメラを設置し、映像を一定期間保存していますか。"),
    ]),
    ("【アクセス管理】", [
        ("アクセス管理", "パスワードの最低文字数や複雑さ、定期的な変更などのパスワードポリシーを定めていますか。"),
        ("アクセス管理", "管理者権限を持つアカウントに多要素認証を必須としていますか。"),
        ("アクセス管理", "退職者や異動者のアカウントを速やかに削除・変更する手順がありますか。"),
    ]),
    ("【ログ管理】", [
        ("ログ管理", "操作ログ及びアクセスログを取得し、改ざんできないように保管していますか。"),
        ("ログ管理", "取得したログを1年以上保存していますか。"),
    ]),
    ("【その他】", [
        ("その他", "保存データ及び通信経路を暗号化していますか。"),
        ("その他", "社員食堂のメニューを公開していますか。"),
    ]),
]
CLOUD_HEADERS = ["No.", "分類", "確認項目", "回答（はい/いいえ）", "補足説明", "根拠資料"]
CLOUD_CHECKED = {6: ("回答候補あり", "実59、実38"), 7: ("要確認", ""), 10: ("回答候補あり", "実27、実26"),
                 11: ("回答候補あり", "実27"), 13: ("回答候補あり", "実16、実25"), 14: ("該当なし", ""),
                 16: ("回答候補あり", "実15"), 17: ("要確認", "")}
"""What a person who checked kijun's answers to the cloud sheet left in each question row (判定, 該当基準),
set explicitly: a fixture that waited for the engine to leave a row 要確認 rode on a score 0.002 from the
threshold. Row 9 (the password policy, a clear case) is left as kijun wrote it: an untouched 回答候補あり
row, sent."""


def check_as_a_person(ws) -> None:
    """Write CLOUD_CHECKED into an answered cloud sheet (G 判定, H 該当基準; J 回答案 emptied where the
    person left the row 要確認: a draft would cite the criteria kijun guessed)."""
    for row, (verdict, criteria) in CLOUD_CHECKED.items():
        ws.cell(row, 7).value, ws.cell(row, 8).value = verdict, criteria or None
        if verdict == "要確認":
            ws.cell(row, 10).value = None


def RICH_QUESTION():
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    return CellRichText("管理者権限を持つアカウントに", TextBlock(InlineFont(b=True, color="FF0000"), "多要素認証"),
                        "を必須としていますか。")


def cloud_checksheet() -> bytes:
    """クラウドサービス セキュリティチェックシート: 表紙, チェックシート, 記入例, 改訂履歴."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    st = _styles()
    wb = Workbook()
    cover = wb.active
    cover.title = "表紙"
    cover["B3"] = "クラウドサービス セキュリティチェックシート"
    cover["B3"].font = st["title"]
    cover["B5"] = "株式会社〇〇銀行 御中"
    cover["B7"] = "本チェックシートは、クラウドサービスの利用にあたり、委託先の情報セキュリティ対策の状況を確認するものです。"
    cover["B9"] = "提出期限："
    cover["C9"] = "2026年6月30日"
    cover.column_dimensions["B"].width = 30

    ws = wb.create_sheet("チェックシート")
    ws.merge_cells("A1:F1")
    ws["A1"] = "クラウドサービス セキュリティチェックシート（2026年度）"
    ws["A1"].font = st["title"]
    ws.row_dimensions[1].height = 28
    ws["A2"], ws["C2"], ws["E2"] = "回答者：", "記入日：", "回答数："
    ws["F2"] = "=COUNTA(D6:D20)"
    _table(ws, 4, CLOUD_HEADERS, [6, 14, 60, 16, 40, 20], st)
    ws.row_dimensions[4].height = 30
    r, n = 5, 0
    for title, items in CLOUD_SECTIONS:
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
        ws.cell(r, 1, title).font = st["bold"]
        ws.cell(r, 1).fill = st["section_fill"]
        r += 1
        for category, question in items:
            n += 1
            _row(ws, r, [n, category, question, None, None, None], st)
            r += 1
    ws["E7"] = "入退室記録は3年間保存"  # an answer the user already wrote
    ws["C10"] = RICH_QUESTION()  # part of the question in red bold, as check sheets often stress words
    ws["A21"] = "※ 回答は「はい」「いいえ」「該当なし」から選択し、必要に応じて補足説明を記入してください。"
    dv = DataValidation(type="list", formula1='"はい,いいえ,該当なし"', allow_blank=True,
                        showErrorMessage=True, errorTitle="入力エラー", error="リストから選択してください")
    ws.add_data_validation(dv)
    dv.add("D6:D19")
    ws.conditional_formatting.add("D6:D19", CellIsRule(operator="equal", formula=['"いいえ"'],
                                                       fill=PatternFill("solid", fgColor="FFC7CE")))
    ws.freeze_panes = "A5"
    ws["C4"].comment = Comment("質問の意図が不明な場合は担当者へお問い合わせください。", "情報セキュリティ部")
    ws.print_title_rows = "4:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1

    example = wb.create_sheet("記入例")
    _table(example, 1, CLOUD_HEADERS, [6, 14, 60, 16, 40, 20], st)
    _row(example, 2, [1, "物理", "データセンターへの入退室は、ICカード等により記録・管理されていますか。",
                      "はい", "ICカードと生体認証で管理し、記録を3年間保存しています。", "入退室管理規程"], st)

    history = wb.create_sheet("改訂履歴")
    _table(history, 1, ["版数", "改訂日", "改訂内容"], [8, 14, 60], st)
    history.append(["1.0", "2024/04/01", "初版発行"])
    history.append(["2.0", "2026/04/01", "2026年度版への更新に伴い、ログ管理に関する確認項目を追加"])
    wb.active = 1
    return _save(wb)


# ----------------------------------------------------------------- 2. 委託先 checklist

OUTSOURCING_ROWS = [
    ("section", "1. 組織的対策"),
    ("組織的対策", "情報セキュリティ方針", "情報セキュリティ基本方針を策定し、経営者が承認していますか。"),
    ("組織的対策", "体制", "情報セキュリティの責任者及び担当者を任命し、役割を明確にしていますか。"),
    ("組織的対策", "教育", "全従業員に対して、年1回以上の情報セキュリティ教育を実施していますか。"),
    ("section", "2. アクセス管理"),
    ("アクセス管理", "ID管理", '="利用者ID"&"の発行・削除の手続きを定め、定期的に棚卸ししていますか。"'),
    ("アクセス管理", "権限管理", "業務に必要な最小限の権限のみを付与していますか。"),
    ("アクセス管理", "再委託", '="再委託先"&"に対しても同等のアクセス管理を求めていますか。"'),
    ("section", "3. 物理的対策"),
    ("物理的対策", "入退室", "執務室への入退室を制限し、記録していますか。"),
    ("物理的対策", "媒体管理", "USBメモリ等の外部記録媒体の利用を制限していますか。"),
]


def outsourcing_checklist() -> bytes:
    """委託先チェックリスト: header on row 6, 大項目 merged down, a hidden list sheet, formula questions."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    st = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = "チェックリスト"
    ws.merge_cells("A1:F1")
    ws["A1"] = "委託先 情報セキュリティ チェックリスト"
    ws["A1"].font = st["title"]
    ws["A2"], ws["B2"] = "委託先名：", "株式会社サンプルシステムズ"
    ws["A3"], ws["C3"] = "評価実施日：", "評価者："
    ws["A4"] = "評価基準：○ 実施している　△ 一部実施している　× 実施していない"
    _table(ws, 6, ["大項目", "中項目", "No", "チェック項目", "評価(○/△/×)", "コメント"], [14, 16, 5, 58, 12, 36], st)
    r, n, group_start = 7, 0, None
    for item in OUTSOURCING_ROWS:
        if item[0] == "section":
            if item[1].startswith("1."):  # one section row merged across the table, the others not
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
            ws.cell(r, 1, item[1]).font = st["bold"]
            group_start = r + 1
        else:
            n += 1
            major, minor, question = item
            _row(ws, r, [major if r == group_start else None, minor, n, question, None, None], st)
            if r == group_start + 2:
                ws.merge_cells(start_row=group_start, start_column=1, end_row=r, end_column=1)
        r += 1
    ws.cell(r + 1, 1, "※評価が△または×の項目は、コメント欄に改善予定時期を記入してください。")
    ws.cell(r + 2, 1, "※本チェックリストは年1回見直します。")
    ws.freeze_panes = "A7"

    lists = wb.create_sheet("選択肢")
    for i, v in enumerate(["○", "△", "×"], start=1):
        lists.cell(i, 1, v)
    lists.sheet_state = "hidden"
    dv = DataValidation(type="list", formula1="=選択肢!$A$1:$A$3", allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("E8:E20")
    data = _save(wb)
    # Excel stores each formula's last result; the first formula question has one, the second does not.
    return with_cached_values(data, "xl/worksheets/sheet1.xml",
                              {"D12": "利用者IDの発行・削除の手続きを定め、定期的に棚卸ししていますか。"})


# ----------------------------------------------------------------- 3. ISMAP-style control list

ISMAP_SECTIONS = [
    ("5 情報セキュリティのための方針群", [
        "情報セキュリティのための方針群を定め、経営陣が承認し、従業員及び関連する外部関係者に周知する。",
        "情報セキュリティのための方針群は、あらかじめ定めた間隔で、又は重大な変化が発生した場合にレビューする。",
    ]),
    ("6 情報セキュリティのための組織", [
        "情報セキュリティに関する全ての責任を定め、割り当てる。",
        "相反する職務及び責任範囲は、認可されていない変更又は誤用の機会を低減するために分離する。",
        "関係当局との適切な連絡体制を維持する。",
        "情報セキュリティに関する専門家による会合等との適切な連絡体制を維持する。",
        "プロジェクトの種類にかかわらず、プロジェクトマネジメントにおいて情報セキュリティに取り組む。",
        "モバイル機器の利用によって生じるリスクを管理するための方針及び支援策を採用する。",
    ]),
    ("8 資産の管理", [
        "情報及び情報処理施設に関連する資産を特定し、その目録を作成し、維持する。",
        "目録の中で維持される資産は、管理責任者を割り当てる。",
        "情報及び資産の利用の許容範囲に関する規則は、明確にし、文書化し、実施する。",
        "全ての従業員及び外部の利用者は、雇用や契約の終了時に、自らが所持する組織の資産を返却する。",
        "情報は、法的要求事項、価値、重要性及び取扱いに慎重を要する度合いの観点から分類する。",
        "情報のラベル付けに関する適切な一連の手順を策定し、実施する。",
        "取外し可能な媒体の管理のための手順を、組織が採用した分類体系に従って実施する。",
        "媒体が不要になった場合は、正式な手順を用いて、セキュリティを保って処分する。",
    ]),
    ("9 アクセス制御", [
        "アクセス制御方針は、業務及び情報セキュリティの要求事項に基づいて確立し、文書化し、レビューする。",
        "利用することを特別に認可したネットワーク及びネットワークサービスへのアクセスだけを、利用者に提供する。",
        "アクセス権の割当てを可能にするために、利用者の登録及び登録削除についての正式なプロセスを実施する。",
        "特権的アクセス権の割当て及び利用は、制限し、管理する。",
        "秘密認証情報の割当ては、正式な管理プロセスによって管理する。",
        "資産の管理責任者は、利用者のアクセス権を定められた間隔でレビューする。",
        "全ての従業員及び外部の利用者のアクセス権は、雇用や契約の終了時に削除し、変更に合わせて修正する。",
        "パスワード管理システムは、対話式とし、良質なパスワードを確実とするものとする。",
    ]),
    ("12 運用のセキュリティ", [
        "操作手順は、文書化し、必要とする全ての利用者に対して利用可能にする。",
        "情報セキュリティに影響を与える変更は、管理する。",
        "要求された主要なシステム性能を満たすことを確実にするために、資源の利用を監視・調整し、将来必要とする容量を予測する。",
        "マルウェアから保護するために、利用者に適切に認識させることと併せて、検出、予防及び回復のための管理策を実施する。",
        "情報、ソフトウェア及びシステムイメージのバックアップは、合意されたバックアップ方針に従って定期的に取得し、検査する。",
        "利用者の活動、例外処理、過失及び情報セキュリティ事象を記録したイベントログを取得し、保持し、定期的にレビューする。",
        "ログ機能及びログ情報は、改ざん及び認可されていないアクセスから保護する。",
        "システムの実務管理者及び運用担当者の作業は、記録し、そのログを保護し、定期的にレビューする。",
    ]),
]


def ismap_controls() -> bytes:
    """ISMAP-style 管理策一覧: 管理策番号 | 管理策 | 詳細 | 実施状況 | 備考, several dozen rows."""
    from openpyxl import Workbook

    st = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = "管理策一覧"
    ws["A1"] = "管理基準 管理策一覧（抜粋）"
    ws["A1"].font = st["title"]
    _table(ws, 3, ["管理策番号", "管理策", "詳細", "実施状況", "備考"], [12, 60, 30, 12, 30], st)
    r = 4
    for s, (title, controls) in enumerate(ISMAP_SECTIONS):
        ws.cell(r, 1, title).font = st["bold"]
        r += 1
        chapter = title.split()[0]
        for i, control in enumerate(controls, start=1):
            detail = "4桁管理策を参照" if i % 3 == 0 else None
            _row(ws, r, [f"{chapter}.{(i + 1) // 2}.{2 - i % 2}", control, detail, None, None], st)
            r += 1
    ws.freeze_panes = "C4"
    return _save(wb)


ISMAP_QUESTION_COUNT = sum(len(c) for _, c in ISMAP_SECTIONS)


# ----------------------------------------------------------------- 4. CAIQ-like (English)

CAIQ_ROWS = [
    ("A&A-01.1", "Audit & Assurance", "Are audit and assurance policies, procedures, and standards established, "
                                      "documented, approved, communicated, applied, evaluated, and maintained?"),
    ("A&A-02.1", "Audit & Assurance", "Are independent audit and assurance assessments conducted according to "
                                      "relevant standards at least annually?"),
    ("AIS-01.1", "Application & Interface Security", "Are application security policies and procedures "
                                                     "established, documented, approved, communicated, and applied?"),
    ("BCR-08.1", "Business Continuity Management", "Is cloud data periodically backed up?"),
    ("CEK-03.1", "Cryptography, Encryption & Key Management", "Are data at-rest and in-transit cryptographically "
                                                              "protected using certified cryptographic libraries?"),
    ("IAM-14.1", "Identity & Access Management", "Are strong authentication capabilities, such as multi-factor "
                                                 "authentication, used for privileged access?"),
    ("LOG-02.1", "Logging and Monitoring", "Are audit log security and retention procedures defined and "
                                           "implemented?"),
    ("SEF-01.1", "Security Incident Management", "Are policies and procedures for security incident management "
                                                 "established and maintained?"),
]


def caiq_sheet() -> bytes:
    """English CAIQ-like questionnaire with an Instructions sheet first."""
    from openpyxl import Workbook

    st = _styles()
    wb = Workbook()
    info = wb.active
    info.title = "Instructions"
    info["A1"] = "Consensus Assessments Initiative Questionnaire (sample)"
    info["A3"] = "Answer every question with Yes, No or NA, and explain in the Notes column."
    ws = wb.create_sheet("CAIQ")
    ws["A1"] = "Consensus Assessments Initiative Questionnaire v4 (sample)"
    ws["A1"].font = st["title"]
    _table(ws, 3, ["Question ID", "Control Domain", "Question", "Answer (Yes/No/NA)", "Notes"],
           [12, 30, 70, 16, 40], st)
    for r, row in enumerate(CAIQ_ROWS, start=4):
        _row(ws, r, [*row, None, None], st)
    return _save(wb)


# ----------------------------------------------------------------- 5. text files

CSV_QUESTIONS = [
    "情報セキュリティ基本方針を策定し、全従業員に周知していますか。",
    "バックアップを取得し, 定期的に復元テストを実施していますか。",
    "ウイルス対策ソフトを導入し、定義ファイルを自動更新していますか。",
]


def cp932_csv() -> bytes:
    """Excel's 'CSV (コンマ区切り)': Shift_JIS, CRLF, every row padded, two title lines above the header."""
    lines = [
        "セキュリティチェックシート（委託先用）,,,,",
        "会社名：,株式会社サンプル,,,",
        "No.,分類,質問,回答,備考",
        f"1,方針,{CSV_QUESTIONS[0]},,",
        f'2,運用,"{CSV_QUESTIONS[1]}",,"1行目の備考\r\n2行目の備考"',
        "【技術的対策】,,,,",
        f"3,技術,{CSV_QUESTIONS[2]},はい,",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def utf8_bom_tsv() -> bytes:
    """A UTF-8 (BOM) TSV with LF line endings and the header on row 1."""
    lines = ["項番\t質問内容\t回答\t備考", *(f"{i}\t{q}\t\t" for i, q in enumerate(CSV_QUESTIONS, start=1))]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def plain_csv() -> bytes:
    """The simplest upload: UTF-8, a 質問 column on row 1, no final line ending."""
    return ("質問,回答\n" + "\n".join(f"{q.replace(',', '、')}," for q in CSV_QUESTIONS)).encode("utf-8")


def small_business_csv() -> bytes:
    """The layout of IPA's cloud checklist for small businesses: a short 項目 label beside the longer 内容
    question, a チェック box column, and lettered section rows."""
    return "\n".join([
        "No.,項目,内容,チェック,メモ/摘要",
        "[A] 利用範囲の確認,,,,",
        "(1),利用範囲の明確化,クラウドで扱う業務と情報を決め、運用ルールを定めましたか?,□,",
        "(2),費用の確認,業務に合うサービスを選び、費用を確認しましたか?,□,",
        "[B] 事業者の信頼性の確認,,,,",
        "(3),事業者の実績,事業者の経営状況と提供実績を確認しましたか?,□,",
        "",
    ]).encode("utf-8")


def service_level_csv() -> bytes:
    """A service-level checklist: title and meta rows, a blank row, the header on row 5, a section row,
    and the question text in the 規定内容 column beside a short 項目例 label."""
    return "\r\n".join([
        ",,,,",
        "クラウドサービスレベルのチェックリスト,記入日：2026/04/01,,,",
        "会社名：サンプル株式会社,,,,",
        ",,,,",
        "No.,種別,サービスレベル項目例,規定内容,回答",
        "アプリケーション運用,,,,",
        "1,可用性,サービス時間,サービスを提供する時間帯（計画停止の時間を含めて記述する）,",
        "2,,計画停止の通知,定期保守で停止するときの事前連絡の方法と時期,",
        "3,,提供終了の通知,サービスの提供を終えるときの事前連絡の方法と時期,",
        "",
    ]).encode("cp932")


def two_sheet_workbook() -> bytes:
    """Questions on two sheets (組織的対策 and 技術的対策), both to be answered."""
    from openpyxl import Workbook

    st = _styles()
    wb = Workbook()
    for i, title in enumerate(["組織的対策", "技術的対策"]):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = title
        ws["A1"] = f"{title} チェックシート"
        _table(ws, 2, ["No.", "質問", "回答", "備考"], [6, 60, 12, 30], st)
        for n, q in enumerate(CSV_QUESTIONS[i:], start=1):
            _row(ws, 2 + n, [n, q, None, None], st)
    return _save(wb)


# ----------------------------------------------------------------- 6. bad and difficult inputs


def encrypted_xlsx(password: str = "kijun-test") -> bytes:
    """A real password-protected workbook (ECMA-376 agile encryption, as Excel writes it)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(cloud_checksheet())).encrypt(password, out)
    return out.getvalue()


def legacy_xls() -> bytes:
    """An Excel 97-2003 .xls workbook."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("チェックシート")
    for c, h in enumerate(["No.", "確認項目", "回答"]):
        ws.write(0, c, h)
    ws.write(1, 0, 1)
    ws.write(1, 1, CSV_QUESTIONS[0])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# Not a real VBA project (Excel cannot make one here); its bytes must come through unchanged.
VBA_PROJECT = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8


def macro_workbook() -> bytes:
    """An .xlsm: the cloud check sheet with a vbaProject part, as Excel saves a macro-enabled book."""
    xlsm_type = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    return patch_zip(cloud_checksheet(), {
        "[Content_Types].xml": lambda x: x.replace(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", xlsm_type).replace(
            "</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>'),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace("</Relationships>", (
            '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
            'Target="vbaProject.bin"/></Relationships>')),
    }, {"xl/vbaProject.bin": VBA_PROJECT})


_TEXT_BOX = (
    '<twoCellAnchor><from><col>7</col><colOff>0</colOff><row>3</row><rowOff>0</rowOff></from>'
    '<to><col>10</col><colOff>0</colOff><row>6</row><rowOff>0</rowOff></to>'
    '<sp macro="" textlink=""><nvSpPr><cNvPr id="10" name="TextBox 9"/><cNvSpPr txBox="1"/></nvSpPr>'
    '<spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="2000000" cy="600000"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></spPr>'
    '<txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>記入上の注意：全項目に回答してください</a:t></a:r></a:p></txBody>'
    '</sp><clientData/></twoCellAnchor>')
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>')


def drawings_workbook() -> bytes:
    """A check sheet with a logo image, a chart of the answers, and — added as Excel writes them — a
    text box, the chart's style parts, a threaded comment, a form control (check box) and the
    printer driver's settings."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.drawing.image import Image
    from PIL import Image as PILImage

    st = _styles()
    wb = Workbook()
    ws = wb.active
    ws.title = "チェックシート"
    ws["A1"] = "セキュリティチェックシート"
    _table(ws, 3, ["No.", "確認項目", "回答", "件数"], [6, 60, 12, 8], st)
    for i, q in enumerate(CSV_QUESTIONS, start=1):
        _row(ws, 3 + i, [i, q, None, i * 2], st)
    logo = io.BytesIO()
    PILImage.new("RGB", (40, 20), (0, 90, 160)).save(logo, "PNG")
    logo.seek(0)
    ws.add_image(Image(logo), "F1")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=3, max_row=6), titles_from_data=True)
    ws.add_chart(chart, "F8")
    data = _save(wb)
    content_types = (
        '<Override PartName="/xl/charts/style1.xml" ContentType="application/vnd.ms-office.chartstyle+xml"/>'
        '<Override PartName="/xl/charts/colors1.xml" ContentType="application/vnd.ms-office.chartcolorstyle+xml"/>'
        '<Override PartName="/xl/threadedComments/threadedComment1.xml" '
        'ContentType="application/vnd.ms-excel.threadedcomments+xml"/>'
        '<Override PartName="/xl/ctrlProps/ctrlProp1.xml" ContentType="application/vnd.ms-excel.controlproperties+xml"/>'
        '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"/>')
    sheet_rels = (
        '<Relationship Id="rIdTc" Type="http://schemas.microsoft.com/office/2017/10/relationships/threadedComment" '
        'Target="../threadedComments/threadedComment1.xml"/>'
        f'<Relationship Id="rIdCtl" Type="{_REL}ctrlProp" Target="../ctrlProps/ctrlProp1.xml"/>'
        f'<Relationship Id="rIdPs" Type="{_REL}printerSettings" Target="../printerSettings/printerSettings1.bin"/>')
    page_setup = (f'<pageSetup xmlns:r="{_REL[:-1]}" paperSize="9" orientation="landscape" r:id="rIdPs"/>')
    return patch_zip(data, {
        "[Content_Types].xml": lambda x: x.replace("</Types>", content_types + "</Types>"),
        "xl/drawings/drawing1.xml": lambda x: x.replace("</wsDr>", _TEXT_BOX + "</wsDr>"),
        "xl/worksheets/_rels/sheet1.xml.rels": lambda x: x.replace("</Relationships>", sheet_rels + "</Relationships>"),
        "xl/worksheets/sheet1.xml": lambda x: re.sub(r"(<pageMargins[^>]*/>)", lambda m: m.group(1) + page_setup, x),
    }, {
        "xl/printerSettings/printerSettings1.bin": bytes(range(256)) * 4,
        "xl/charts/_rels/chart1.xml.rels": _RELS.format(
            '<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2011/relationships/chartStyle" '
            'Target="style1.xml"/><Relationship Id="rId2" '
            'Type="http://schemas.microsoft.com/office/2011/relationships/chartColorStyle" Target="colors1.xml"/>'),
        "xl/charts/style1.xml": '<cs:chartStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle" id="201"/>',
        "xl/charts/colors1.xml": '<cs:colorStyle xmlns:cs="http://schemas.microsoft.com/office/drawing/2012/chartStyle" meth="cycle" id="10"/>',
        "xl/threadedComments/threadedComment1.xml": (
            '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments">'
            '<threadedComment ref="C4" dT="2026-04-01T10:00:00.00" personId="{00000000-0000-0000-0000-000000000001}" '
            'id="{00000000-0000-0000-0000-000000000002}"><text>根拠資料はありますか</text></threadedComment>'
            '<threadedComment ref="C4" dT="2026-04-02T10:00:00.00" personId="{00000000-0000-0000-0000-000000000001}" '
            'id="{00000000-0000-0000-0000-000000000003}" parentId="{00000000-0000-0000-0000-000000000002}">'
            '<text>規程を添付します</text></threadedComment></ThreadedComments>'),
        "xl/ctrlProps/ctrlProp1.xml": ('<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
                                       'objectType="CheckBox" checked="Checked" lockText="1"/>'),
    })


def huge_sheet(rows: int = 10_000) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("質問一覧")
    ws.append(["No.", "質問", "回答"])
    for i in range(1, rows + 1):
        ws.append([i, f"質問{i}：アクセスログを定期的に確認していますか。", None])
    return _save(wb)


def no_question_column() -> bytes:
    """A header row of answer/remark columns only: the questions are not in any column it names."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "チェックシート"
    ws["A1"] = "チェックシート"
    ws.append([])
    ws.append([])
    ws.append(["No.", "分類", "回答", "備考"])
    for i in range(1, 4):
        ws.append([i, "運用", "はい", "特になし"])
    return _save(wb)


def zip_not_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "これはブックではありません")
    return buf.getvalue()


def random_binary(size: int = 4096) -> bytes:
    return random.Random(1234).randbytes(size)


# ----------------------------------------------------------------- what detection must find

EXPECTED = {
    "cloud": {"sheet": "チェックシート", "header_row": 4, "column": 3, "letter": "C", "header": "確認項目",
              "questions": 9, "last_column": 6},
    "outsourcing": {"sheet": "チェックリスト", "header_row": 6, "column": 4, "letter": "D", "header": "チェック項目",
                    "questions": 7, "last_column": 6},
    "ismap": {"sheet": "管理策一覧", "header_row": 3, "column": 2, "letter": "B", "header": "管理策",
              "questions": ISMAP_QUESTION_COUNT, "last_column": 5},
    "caiq": {"sheet": "CAIQ", "header_row": 3, "column": 3, "letter": "C", "header": "Question",
             "questions": len(CAIQ_ROWS), "last_column": 5},
}


def pivot_and_link_workbook() -> bytes:
    """A pivot table over a data sheet and a formula linking to another workbook (external link),
    written as Excel writes them: openpyxl reads both and writes them back."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "質問"
    ws.append(["No.", "質問", "回答"])
    for i, q in enumerate(CSV_QUESTIONS, start=1):
        ws.append([i, q, "はい" if i % 2 else "いいえ"])
    ws["E1"] = "=[1]Sheet1!A1"
    wb.create_sheet("集計")
    data = _save(wb)
    ns = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    cache = (f'<pivotCacheDefinition {ns} r:id="rId1" refreshOnLoad="1" recordCount="3">'
             '<cacheSource type="worksheet"><worksheetSource ref="A1:C4" sheet="質問"/></cacheSource>'
             '<cacheFields count="3"><cacheField name="No." numFmtId="0"><sharedItems containsSemiMixedTypes="0" '
             'containsString="0" containsNumber="1" containsInteger="1" minValue="1" maxValue="3"/></cacheField>'
             '<cacheField name="質問" numFmtId="0"><sharedItems/></cacheField>'
             '<cacheField name="回答" numFmtId="0"><sharedItems count="2"><s v="はい"/><s v="いいえ"/></sharedItems>'
             '</cacheField></cacheFields></pivotCacheDefinition>')
    records = (f'<pivotCacheRecords {ns} count="3"><r><n v="1"/><m/><x v="0"/></r><r><n v="2"/><m/><x v="1"/></r>'
               '<r><n v="3"/><m/><x v="0"/></r></pivotCacheRecords>')
    table = (f'<pivotTableDefinition {ns} name="回答集計" cacheId="1" dataCaption="値" updatedVersion="6" '
             'minRefreshableVersion="3" createdVersion="6" outline="1" outlineData="1">'
             '<location ref="A3:B6" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/>'
             '<pivotFields count="3"><pivotField dataField="1" showAll="0"/><pivotField showAll="0"/>'
             '<pivotField axis="axisRow" showAll="0"><items count="3"><item x="0"/><item x="1"/><item t="default"/>'
             '</items></pivotField></pivotFields><rowFields count="1"><field x="2"/></rowFields>'
             '<rowItems count="3"><i><x/></i><i><x v="1"/></i><i t="grand"><x/></i></rowItems>'
             '<colItems count="1"><i/></colItems><dataFields count="1"><dataField name="個数 / No." fld="0" '
             'subtotal="count" baseField="0" baseItem="0"/></dataFields></pivotTableDefinition>')
    link = (f'<externalLink {ns}><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames>'
            '<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1" t="n"><v>3</v></cell></row></sheetData>'
            '</sheetDataSet></externalBook></externalLink>')
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    types = (f'<Override PartName="/xl/pivotCache/pivotCacheDefinition1.xml" ContentType="{sml}.pivotCacheDefinition+xml"/>'
             f'<Override PartName="/xl/pivotCache/pivotCacheRecords1.xml" ContentType="{sml}.pivotCacheRecords+xml"/>'
             f'<Override PartName="/xl/pivotTables/pivotTable1.xml" ContentType="{sml}.pivotTable+xml"/>'
             f'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="{sml}.externalLink+xml"/>')
    book_rels = (f'<Relationship Id="rIdPc" Type="{_REL}pivotCacheDefinition" Target="pivotCache/pivotCacheDefinition1.xml"/>'
                 f'<Relationship Id="rIdEx" Type="{_REL}externalLink" Target="externalLinks/externalLink1.xml"/>')
    return patch_zip(data, {
        "[Content_Types].xml": lambda x: x.replace("</Types>", types + "</Types>"),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace("</Relationships>", book_rels + "</Relationships>"),
        "xl/workbook.xml": lambda x: x.replace("<calcPr", '<externalReferences><externalReference r:id="rIdEx"/>'
                                               '</externalReferences><pivotCaches><pivotCache cacheId="1" r:id="rIdPc"/>'
                                               '</pivotCaches><calcPr'),
    }, {
        "xl/pivotCache/pivotCacheDefinition1.xml": cache,
        "xl/pivotCache/pivotCacheRecords1.xml": records,
        "xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels": _RELS.format(
            f'<Relationship Id="rId1" Type="{_REL}pivotCacheRecords" Target="pivotCacheRecords1.xml"/>'),
        "xl/pivotTables/pivotTable1.xml": table,
        "xl/pivotTables/_rels/pivotTable1.xml.rels": _RELS.format(
            f'<Relationship Id="rId1" Type="{_REL}pivotCacheDefinition" Target="../pivotCache/pivotCacheDefinition1.xml"/>'),
        "xl/worksheets/_rels/sheet2.xml.rels": _RELS.format(
            f'<Relationship Id="rId1" Type="{_REL}pivotTable" Target="../pivotTables/pivotTable1.xml"/>'),
        "xl/externalLinks/externalLink1.xml": link,
        "xl/externalLinks/_rels/externalLink1.xml.rels": _RELS.format(
            f'<Relationship Id="rId1" Type="{_REL}externalLinkPath" Target="回答集計.xlsx" TargetMode="External"/>'),
    })
