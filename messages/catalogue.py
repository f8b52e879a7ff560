"""Every condition kijun reports, by code: English (command line, API) and Japanese (web pages).

A new condition is one entry here (and, if it is raised, an `Explained` type or a code passed to
one). `{field[name]}` is how each audience names the control that fixes it (FIELDS below);
`{at}` is a location (the `at_file` / `at_sheet` messages), blank where the place is shown beside it.
The Japanese never names a command-line option: it names what is on the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

AUDIENCES = ("cli", "api", "web")
"""Who reads a message: the command line and the JSON API (English), the web pages (Japanese)."""


@dataclass(frozen=True)
class Text:
    """A condition's words. `en_other` is the English when a count `n` is not 1 (plurals); `api` the
    API's English where it must differ from the command line's (a server never shows its own paths)."""

    en: str
    ja: str
    en_other: str | None = None
    api: str | None = None

    def template(self, audience: str, params: Mapping[str, Any]) -> str:
        if audience == "web":
            return self.ja
        if audience == "api" and self.api is not None:
            return self.api
        return self.en_other if self.en_other is not None and params.get("n", 1) != 1 else self.en


FIELDS: dict[str, dict[str, str]] = {
    # the control that fixes a condition, as each audience knows it
    "sheet": {"cli": "--sheet NAME", "api": "the `sheet` field", "web": "「シート」欄"},
    "header_row": {"cli": "--header-row N", "api": "the `header_row` field", "web": "「見出し行」欄"},
    "column": {"cli": "--column (a header name, a number or a letter such as C)",
               "api": "the `column` field (a header name, a number or a letter such as C)",
               "web": "「質問の列」欄（見出し名・列番号・C のような列記号）"},
    "answer_column": {"cli": "--answer-column", "api": "the `answer_column` field",
                      "web": "「回答案を書き込む既存の列」欄"},
    # the same option read from a returned sheet (the library's import form names it otherwise)
    "returned_answer_column": {"cli": "--answer-column", "api": "the `answer_column` field", "web": "「回答の列」欄"},
    "top": {"cli": "--top", "api": "the `top` field", "web": "「候補数」"},
    "mode": {"cli": "--mode", "api": "the `mode` parameter", "web": "「検索方式」"},
    "hybrid": {"cli": "--mode hybrid", "api": "mode=hybrid", "web": "検索方式「ハイブリッド」"},
    "limit": {"cli": "--limit", "api": "the `limit` parameter", "web": "表示件数"},
    "questionnaire": {"cli": "`kijun answer`", "api": "POST /api/answer", "web": "「質問票に回答」ページ"},
    "file": {"cli": "FILE", "api": "the form field `file`", "web": "ファイル"},
    "allow_host": {"cli": "`kijun serve --allow-host NAME`", "api": "kijun serve's allow-host setting",
                   "web": "許可するホスト名の設定"},
    "criteria_column": {"cli": "--criteria-column", "api": "the `criteria_column` field", "web": "「該当基準の列」欄"},
    "id_column": {"cli": "--id-column (a header name, a number or a letter such as A)",
                  "api": "the `id_column` field (a header name, a number or a letter such as A)",
                  "web": "「基準番号の列」欄（見出し名・列番号・A のような列記号）"},
    "fields": {"cli": "--fields 'COLUMN=ROLE, …'", "api": "the `fields` field ('COLUMN=ROLE, …')",
               "web": "「列の役割」欄（列名=役割、…）"},
    "edition": {"cli": "--edition", "api": "the `edition` field", "web": "「版」欄"},
    "kind": {"cli": "--kind", "api": "the `kind` field", "web": "「種類」欄"},
    "title": {"cli": "--title", "api": "the `title` field", "web": "「タイトル」欄"},
    "document_id": {"cli": "--id", "api": "the `id` field", "web": "「文書ID」欄"},
    "titles_kind": {"cli": "--kind titles", "api": "kind=titles", "web": "種類「タイトル一覧」"},
    "replace": {"cli": "--replace", "api": "`same_name=replace`", "web": "「同じ名前のファイル」の「置き換える」"},
    "keep_both": {"cli": "--keep-both", "api": "`same_name=keep_both`", "web": "「同じ名前のファイル」の「両方残す」"},
}

CATALOGUE: dict[str, Text] = {
    # ------------------------------------------------------------ locations (parameters of others)
    "at_file": Text("{filename}: ", "{filename}: "),
    "at_sheet": Text("{filename}: sheet {sheet!r}: ", "{filename} のシート「{sheet}」: "),
    "row_n": Text("row {row}", "{row} 行目"),
    "where_line": Text("line {line}", "{line} 行目"),
    "where_sheet": Text("sheet {sheet!r}", "シート「{sheet}」"),
    "header_row_n": Text("header row {row}", "見出し行（{row} 行目）"),
    "where_sheet_row": Text("sheet {sheet!r} row {row}", "シート「{sheet}」の {row} 行目"),

    # ------------------------------------------------------------ searching (search.errors, the engine)
    "empty_query": Text("the query is empty; type a word such as パスワード, a question, or an ID such as 実26",
                        "検索語が空です。パスワード のような語、質問文、または 実26 のような基準番号を入力してください。"),
    "only_exclusions": Text("the query only excludes words; add a word to search for, e.g. パスワード -IAM",
                            "除外する語（-語）しかありません。探す語も入力してください（例: パスワード -IAM）。"),
    "empty_quotes": Text("the query is empty once its quotes are removed; type a word such as パスワード",
                         "引用符の中が空です。探す語を入力してください（例: パスワード）。"),
    "query_too_long": Text("the query is {length:,} characters; the limit is {limit:,}. Split a long questionnaire "
                           "into one question per line and use {field[questionnaire]}.",
                           "検索語が {length:,} 文字あります（上限 {limit:,} 文字）。質問票は"
                           "{field[questionnaire]}で 1 行に 1 問ずつ回答させてください。"),
    "unknown_mode": Text("unknown mode {mode!r}; use one of keyword, semantic, hybrid",
                         "検索方式「{mode}」はありません。キーワード・意味検索・ハイブリッドから選んでください。"),
    "limit_out_of_range": Text("limit must be a number between 1 and {max}, got {value!r}",
                               "表示件数は 1〜{max} の数で指定してください（指定: {value}）。"),
    "unknown_role": Text("{name} filter must be 'primary' (◯) or 'info' (-), got {value!r}",
                         "{label}の絞り込みは ◯（主体として対応）か -（情報を提供）で指定してください（指定: {value}）。"),
    "unknown_series": Text("series must be 実務基準 (実), 監査基準 (監) or 変更履歴, got {value!r}",
                           "区分は 実務基準・監査基準・変更履歴 から選んでください（指定: {value}）。"),
    "unknown_document_filter": Text("no document {id!r} to search within; the documents are {ids}",
                                    "文書「{id}」はありません（検索できる文書: {ids}）。"),
    "unknown_ids": Text("no criterion {ids} in this document (it has {ranges})",
                        "{ids} はこの文書にありません（この文書の基準は {ranges}）。"),
    "id_filtered_out": Text("{id} does not match the filters, phrases or exclusions, so it is not listed",
                            "{id} は絞り込み・必須の語句・除外の条件に合わないため、表示していません。"),
    "phrase_absent": Text("「{phrase}」 appears nowhere in the document, so it was searched as words",
                          "「{phrase}」という語句は文書にないため、語に分けて検索しました。"),
    "semantic_unavailable": Text("semantic search is unavailable ({reason}); showing keyword results",
                                 "意味検索を使えないため、キーワード検索の結果を表示しています（{reason}）。"),
    "semantic_truncated": Text("semantic matching read the first {limit:,} characters of the query (the model's "
                               "window); keyword matching read all of it",
                               "意味検索は先頭の {limit:,} 文字だけを読みました（モデルの上限）。キーワード検索は全文を読んでいます。"),
    "no_hits": Text("no hits; try fewer words or another spelling",
                    "該当なし。語を減らすか、別の表記を試してください。"),
    "no_hits_try_hybrid": Text("no hits; try fewer words, another spelling, or {field[hybrid]}",
                               "該当なし。語を減らすか、別の表記を試すか、{field[hybrid]}で検索してください。"),
    "no_hits_filtered": Text("no hits with these filters; remove a filter (AWS, customer, series) or use fewer words",
                             "この絞り込みでは該当なし。絞り込み（AWS・お客様・区分）を外すか、語を減らしてください。"),

    # ------------------------------------------------------------ the thesaurus (indexer.thesaurus)
    "thesaurus_unreadable": Text("the thesaurus {path} cannot be read ({reason})",
                                 "同義語辞書 {path} を読み込めません（{reason}）。"),
    "thesaurus_missing": Text("no thesaurus file {path}; check the file named in KIJUN_THESAURUS or on the command line",
                              "同義語辞書 {path} が見つかりません。"),
    "thesaurus_not_utf8": Text("the thesaurus {path} is not UTF-8 text (at byte {at}); save it as UTF-8",
                               "同義語辞書 {path} が UTF-8 のテキストではありません（{at} バイト目）。UTF-8 で保存してください。"),
    "thesaurus_too_large": Text("the thesaurus {path} is {size_mb:.1f} MB; the limit is {limit_mb} MB",
                                "同義語辞書 {path} は {size_mb:.1f} MB あります。上限は {limit_mb} MB です。"),
    "thesaurus_bad_lines": Text("the thesaurus {path} has {n} line that is not a rule (line {line}: {problem}); "
                                "`kijun thesaurus check {path}` lists it",
                                "同義語辞書 {path} に規則として読めない行が {n} 行あります（{line} 行目: {problem}）。",
                                en_other="the thesaurus {path} has {n} lines that are not rules (first, line {line}: "
                                         "{problem}); `kijun thesaurus check {path}` lists them"),
    "thesaurus_two_arrows": Text("a rule has at most one '=>' (write 'a, b => c, d')",
                                 "1 行の規則に「=>」は 1 つまでです（a, b => c, d のように書きます）。"),
    "thesaurus_empty_term": Text("an empty term (two commas in a row, or a comma at an end)",
                                 "空の語があります（カンマが続いているか、端にカンマがあります）。"),
    "thesaurus_term_too_long": Text("a term is longer than 100 characters", "100 文字を超える語があります。"),
    "thesaurus_one_term": Text("a rule of equivalents needs two terms or more (write 'a, b'), or 'a => b' one way",
                               "同義語の規則には 2 語以上が必要です（a, b のように書きます。一方向なら a => b）。"),
    "thesaurus_term_no_words": Text("a term is only stop words for the analyzer (such as 'the' or 'IT'), so it never "
                                    "matches", "解析すると語が残らない語があります（the や IT など）。この語は一致しません。"),
    "thesaurus_problems": Text("{path}: {n} problem (listed above)", "{path}: 問題が {n} 件あります。",
                               en_other="{path}: {n} problems (listed above)"),
    "thesaurus_ok": Text("{path}: {n} rule, no problems", "{path}: 規則 {n} 件、問題はありません。",
                         en_other="{path}: {n} rules, no problems"),
    "synonyms_searched": Text("also searched by synonyms: {pairs}", "同義語でも検索: {pairs}"),
    "found_by_meaning": Text("the document does not use the words {words}; these are the closest in meaning",
                             "「{words}」という語は文書にありません。意味の近い基準を候補として表示しています。"),

    # ------------------------------------------------------------ the document and its indexes
    "unknown_criterion": Text("no criterion {raw!r} in the corpus; {hint}", "基準「{raw}」はこの文書にありません。{hint}"),
    "ids_look_like": Text("IDs look like 実26 or 監3", "基準番号は 実26 や 監3 のように入力してください。"),
    "corpus_range": Text("the corpus has {ranges}", "この文書の基準は {ranges} です。"),
    "index_unreadable": Text("{detail}", "検索の索引を読み込めません。サーバーの管理者に索引の再構築を依頼してください"
                                         "（管理者向けの詳細: {detail}）。"),
    "not_found": Text("Not Found", "ページが見つかりません。URL を確かめてください。"),
    "bad_parameter": Text("{name}: {value!r} is not a valid value", "URL の「{name}」の値「{value}」が正しくありません。"),

    # ------------------------------------------------------------ check sheets: reading (search.questionnaire)
    "file_too_large": Text("{filename}: the file is {size_mb:.1f} MB; the limit is {limit_mb} MB — split the check "
                           "sheet or remove images from it",
                           "{filename} は {size_mb:.1f} MB あります（上限 {limit_mb} MB）。チェックシートを分けるか、"
                           "画像を除いてから選んでください。"),
    "package_too_large": Text("{filename}: its parts inflate to {size_mb:,.0f} MB; the limit is {limit_mb} MB — save "
                              "the check sheet again from Excel without the sheets, images and formatting it does not "
                              "need",
                              "{filename} は展開すると {size_mb:,.0f} MB になります（上限 {limit_mb} MB）。不要なシート・画像・"
                              "書式を除いて Excel で保存し直してから選んでください。"),
    "package_ratio": Text("{filename}: the part {part} inflates {ratio:,} times (at most {limit} is accepted): this is "
                          "not a spreadsheet Excel writes; save it again from Excel",
                          "{filename} は Excel が書き出すファイルではないようです（圧縮率が異常です）。Excel で保存し直して"
                          "から選んでください。"),
    "too_many_cells": Text("{filename}: more than {limit:,} cells; split the check sheet, or delete the sheets and "
                           "columns it does not need",
                           "{filename} のセルが {limit:,} 個を超えています。チェックシートを分けるか、不要なシートや列を"
                           "削除してください。"),
    "too_wide": Text("{filename}: {where} has {width:,} columns; a sheet has at most {limit:,} (Excel's widest) — "
                     "delete the empty columns or save it again from Excel",
                     "{filename} の {where} は {width:,} 列あります（上限 {limit:,} 列）。空の列を削除するか、Excel で"
                     "保存し直してください。"),
    "cannot_read_path": Text("cannot read {path}: {reason}", "{path} を読めません（{reason}）。"),
    "empty_file": Text("{filename}: the file is empty", "{filename} は空のファイルです。中身のあるファイルを選んでください。"),
    "encrypted_workbook": Text("{filename} is password-protected; remove the password (ファイル > 情報 > ブックの保護) "
                               "and save it again",
                               "{filename} にはパスワードが設定されています。Excel で「ファイル > 情報 > ブックの保護」から"
                               "パスワードを外して保存し、もう一度選んでください。"),
    "old_xls": Text("{filename}: old .xls files are not supported; open it in Excel and save as .xlsx",
                    "{filename} は古い .xls 形式です。Excel で開き、.xlsx 形式で保存してから選んでください。"),
    "pdf_named_xlsx": Text("{filename} is a PDF, not an Excel workbook; use the check sheet's original .xlsx file",
                           "{filename} は Excel ではなく PDF です。チェックシートの元の .xlsx ファイルを選んでください。"),
    "not_a_zip": Text("{filename} is not a valid {suffix} workbook (it is not a zip package); open it in Excel and "
                      "save it again as .xlsx",
                      "{filename} は {suffix} ブックとして読めません。Excel で開き、.xlsx 形式で保存し直してください。"),
    "pdf_file": Text("{filename}: PDF files are not supported; use the check sheet's .xlsx file, or export it as .csv",
                     "{filename}: PDF は読めません。チェックシートの .xlsx ファイルか、CSV に書き出したものを選んでください。"),
    "other_spreadsheet": Text("{filename}: {suffix} files are not supported; open it and save as .xlsx",
                              "{filename}: {suffix} 形式は読めません。開いて .xlsx 形式で保存してから選んでください。"),
    "unsupported_type": Text("{filename}: unsupported file type {suffix!r}; use .xlsx, .xlsm, .csv or .tsv",
                             "{filename}: この種類のファイル（{suffix}）は読めません。.xlsx・.xlsm・.csv・.tsv のファイルを選んでください。"),
    "damaged_zip": Text("{filename} is damaged (not a readable zip package); open it in Excel and save it again as "
                        ".xlsx", "{filename} は壊れているため読めません。Excel で開き、.xlsx 形式で保存し直してください。"),
    "zip_not_workbook": Text("{filename} is a zip file but not an Excel workbook; use the .xlsx check sheet",
                             "{filename} は Excel ブックではない zip ファイルです。チェックシートの .xlsx ファイルを選んでください。"),
    "workbook_unreadable": Text("{filename} cannot be read as a workbook ({reason}); open it in Excel and save it "
                                "again as .xlsx",
                                "{filename} をブックとして読めません（{reason}）。Excel で開き、.xlsx 形式で保存し直してください。"),
    "csv_malformed": Text("{filename}: cannot read it as CSV (line {line}: {reason}); save it from Excel as "
                          "'CSV UTF-8' or .xlsx",
                          "{filename} を CSV として読めません（{line} 行目: {reason}）。Excel から「CSV UTF-8」か .xlsx で"
                          "保存し直してください。"),
    "csv_unclosed_quote": Text("{filename}: a quoted cell is never closed; save it from Excel again",
                               "{filename} に閉じられていない引用符（\"）があります。Excel から保存し直してください。"),
    "csv_is_workbook": Text("{filename} is an Excel workbook, not a text CSV; give it its real extension (.xlsx)",
                            "{filename} は CSV ではなく Excel ブックです。拡張子を .xlsx にしてから選んでください。"),
    "csv_binary": Text("{filename}: not a text CSV file (it contains binary data); use .csv or .xlsx",
                       "{filename} はテキストの CSV ではありません。.csv か .xlsx のファイルを選んでください。"),
    "csv_encoding": Text("{filename}: cannot read the CSV: it is neither UTF-8 nor Shift_JIS (cp932); save it from "
                         "Excel as 'CSV UTF-8'",
                         "{filename} の文字コードが UTF-8 でも Shift_JIS でもありません。Excel から「CSV UTF-8」で保存し直してください。"),
    "too_many_questions": Text("{filename}: {count:,} questions found; the limit is {limit:,} — split the sheet or "
                               "pick one with {field[sheet]}",
                               "{filename} に質問が {count:,} 問あります（上限 {limit:,} 問）。ファイルを分けるか、"
                               "{field[sheet]}でシートを 1 つ指定してください。"),
    "too_many_questions_text": Text("{filename}: {count:,} questions found; the limit is {limit:,} — split the file",
                                    "{filename} に質問が {count:,} 問あります（上限 {limit:,} 問）。ファイルを分けてください。"),
    "too_many_pasted": Text("{count:,} questions pasted; the limit is {limit:,} — split the questionnaire into "
                            "smaller parts",
                            "{count:,} 問貼り付けられました（上限 {limit:,} 問）。何回かに分けて貼り付けてください。"),
    "no_question_table": Text("{filename}: no question table found ({found}). Pick the sheet with {field[sheet]}.",
                              "{filename} に質問の表が見つかりません（{found}）。{field[sheet]}で質問のあるシートを指定してください。"),
    "sheet_found": Text("sheet {sheet!r}: {reason}", "シート「{sheet}」: {reason}"),
    "no_sheets": Text("the workbook has no sheets", "ブックにシートがありません"),
    "unknown_sheet": Text("{filename}: there is no sheet named {sheet!r}; the sheets are {names}. Give one of these "
                          "with {field[sheet]}.",
                          "{filename} に「{sheet}」という名前のシートはありません。シートは {names} です。"
                          "{field[sheet]}でこのどれかを指定してください。"),
    "header_row_outside": Text("{at}the sheet has {rows} rows; header row {row} is outside it; give a row within it "
                               "with {field[header_row]}",
                               "{at}シートは {rows} 行しかなく、見出し行 {row} はその外です。{field[header_row]}に"
                               "範囲内の行番号を指定してください。"),
    "no_header_row": Text("{at}no header row found in the first {scan} rows, and no column of questions; give the "
                          "header row with {field[header_row]}",
                          "{at}先頭 {scan} 行に見出し行が見つからず、質問の並んだ列もありません。{field[header_row]}で"
                          "見出し行の番号を指定してください。"),
    "column_titled": Text("column {letter} ({header!r})", "{letter} 列「{header}」"),
    "column_untitled": Text("column {letter}", "{letter} 列"),
    "column_has_no_questions": Text("{at}{column} has no questions below header row {row}; "
                                    "choose the question column with {field[column]}, or the header row with "
                                    "{field[header_row]}",
                                    "{at}{column}の見出し行 {row} より下に質問がありません。{field[column]}で"
                                    "質問の列を、または{field[header_row]}で見出し行を指定してください。"),
    "no_question_column": Text("{at}no question column found; the header row {row} has {names}. Name the question "
                               "column with {field[column]}.",
                               "{at}質問の列が見つかりません（見出し行 {row} にあるのは {names}）。{field[column]}で"
                               "質問の列を指定してください。"),
    "unknown_column_no_header": Text("{at}no column {column!r}, and no header row to find it by name; give "
                                     "{control} as a number (1 = first column) or a letter such as C.",
                                     "{at}「{column}」という列はありません。見出し行がないため、{control}には"
                                     "列番号（1 = 先頭の列）か C のような列記号を指定してください。"),
    "unknown_column": Text("{at}no column {column!r}; the header row {row} has {names}. Name the column with "
                           "{control}.",
                           "{at}「{column}」という列はありません（見出し行 {row} にあるのは {names}）。{control}で"
                           "列を指定してください。"),
    # the control that names a column, for the messages above (resolve_column's `control`)
    "control_column": Text("{field[column]}", "{field[column]}"),
    "control_answer_column": Text("{field[answer_column]}", "{field[answer_column]}"),
    "control_criteria_column": Text("{field[criteria_column]}", "{field[criteria_column]}"),
    "control_returned_answer_column": Text("{field[returned_answer_column]}", "{field[returned_answer_column]}"),
    "sheet_chart": Text("chart sheet", "グラフのシート"),
    "sheet_hidden": Text("hidden sheet (name it with {field[sheet]} to read it)",
                         "非表示のシート（{field[sheet]}で指定すれば読みます）"),
    "sheet_by_name": Text("cover, history, example or instructions sheet (by its name; name it with {field[sheet]} "
                          "to read it)",
                          "表紙・履歴・記入例・説明のシート（シート名から判断。{field[sheet]}で指定すれば読みます）"),
    "sheet_empty": Text("empty sheet", "空のシート"),
    "csv_has_no_sheets": Text("{filename} is a {fmt} file, which has no sheets; the sheet {sheet!r} was ignored",
                              "{filename} は {fmt} ファイルでシートがないため、指定されたシート「{sheet}」は使いませんでした。"),
    "headerless_list": Text("{at}no header row found, so every row with a sentence in column {letter} was taken as a "
                            "question; if the file has a header row, give it with {field[header_row]}",
                            "{at}見出し行が見つからないため、{letter} 列に文のある行をすべて質問として読みました。"
                            "見出し行がある場合は{field[header_row]}で指定してください。"),
    "question_column_guessed": Text("{at}the question column was taken to be {column} because it holds "
                                    "the long sentences; if that is wrong, name it with {field[column]}",
                                    "{at}長い文が並んでいるため、{column}を質問の列としました。違う場合は"
                                    "{field[column]}で指定してください。"),
    # why a row was not read as a question (search.questionnaire.checksheet.REASON_*)
    "empty_row": Text("empty row", "空行"),
    "section_heading": Text("section heading", "見出し行"),
    "note": Text("note", "注記"),
    "no_question_text": Text("no text in the question column", "質問の列が空"),
    "too_short": Text("too short to be a question", "質問としては短すぎる"),
    "not_text": Text("not text (a number or date)", "数値または日付"),
    "formula_without_value": Text("formula without a computed value", "計算結果のない数式"),
    "after_table": Text("after the end of the table", "表の終わりより後"),

    # ------------------------------------------------------------ check sheets: writing
    "answer_column_missing": Text("{at}no column {target!r} on header row {row} (it has {names}); name one of these "
                                  "with {field[answer_column]}",
                                  "{at}見出し行 {row} に「{target}」という列はありません（あるのは {names}）。"
                                  "{field[answer_column]}にこのどれかを指定してください。"),
    "answer_column_no_header": Text("{at}the sheet has no header row, so there is no column {target!r} to write "
                                    "into; leave {field[answer_column]} empty so the answers go into new columns",
                                    "{at}見出し行がないため、「{target}」という列に書き込めません。"
                                    "{field[answer_column]}を空にすると、新しい列に書き込みます。"),
    "unknown_answer_column": Text("into= names {name!r}, which is not one of the answer columns ({columns})",
                                  "「{name}」は回答の列（{columns}）ではありません。"),
    "unknown_row": Text("{at}an answer is given for {where}, which is not a question row",
                        "{at}{where} は質問の行ではありません。"),
    "file_changed": Text("{at}{what} has {found!r} where the questionnaire had {want!r}; the file changed since it "
                         "was read — read it again",
                         "{at}{what} が読み取ったときの「{want}」から「{found}」に変わっています。ファイルを読み直してください。"),
    "wrong_format": Text("{filename}: the questionnaire was read from a {was} file, not this {fmt} file",
                         "{filename}: 読み取ったのは {was} ファイルで、この {fmt} ファイルではありません。読み直してください。"),
    "sheet_gone": Text("{filename}: the questionnaire names sheet {sheet!r}, which this file lacks; read it again",
                       "{filename} にシート「{sheet}」がありません。ファイルを読み直してください。"),
    "output_same_as_input": Text("{out}: the output would overwrite the input file; write to another file name (your "
                                 "original is kept as it is)",
                                 "{out}: 出力が元のファイルを上書きしてしまいます。別のファイル名を指定してください。"),
    "output_suffix": Text("{out}: the output of a .{fmt} check sheet must be named .{fmt}{why}",
                          "{out}: .{fmt} のチェックシートの出力は .{fmt} にしてください。"),
    "output_text_suffix": Text("{out}: the output of {filename} must be a .csv, .tsv or .txt file",
                               "{out}: {filename} の出力は .csv・.tsv・.txt にしてください。"),
    "output_folder_missing": Text("{out}: the folder {folder} does not exist", "{out}: フォルダー {folder} がありません。"),
    "output_unwritable": Text("cannot write {out}: {reason}", "{out} に書き込めません（{reason}）。"),
    "table_format": Text("the answer table is written as .csv or .xlsx, not {fmt!r}",
                         "回答の一覧は .csv か .xlsx で書き出します（指定: {fmt}）。"),
    "table_output_suffix": Text("{out}: the answer table is written as .csv or .xlsx; name the output file so",
                                "{out}: 回答の一覧は .csv か .xlsx で書き出します。出力のファイル名をそうしてください。"),
    "untitled_columns": Text("{at}the sheet has no header row, so the answer columns have no titles: {names}",
                             "{at}見出し行がないため、回答の列に見出しを付けていません: {names}"),
    "ascii_to_utf8": Text("the file was plain ASCII and the answers are not, so it was written as UTF-8 with BOM, "
                          "which Excel opens correctly",
                          "元のファイルは ASCII だけでしたが回答は日本語のため、Excel で正しく開ける UTF-8（BOM 付き）で書き出しました。"),
    "cp932_to_utf8": Text("the answers contain characters that Shift_JIS (cp932) cannot hold (e.g. {bad!r}), so the "
                          "file was written as UTF-8 with BOM, which Excel opens correctly",
                          "回答に Shift_JIS で表せない文字（例: {bad}）があるため、Excel で正しく開ける UTF-8（BOM 付き）で"
                          "書き出しました。"),
    # what openpyxl cannot carry over (search.questionnaire.preservation)
    "objects_lost": Text("sheet {sheet!r} has {items} that cannot be carried over (openpyxl); your original file is "
                         "unchanged",
                         "シート「{sheet}」の {items} は書き出したファイルに引き継げません（元のファイルは変更していません）。"),
    "part_lost": Text("{label} cannot be carried over (openpyxl); your original file is unchanged",
                      "{label}は書き出したファイルに引き継げません（元のファイルは変更していません）。"),
    "openpyxl_warning": Text("openpyxl: {detail}; your original file is unchanged",
                             "openpyxl の警告: {detail}（元のファイルは変更していません）"),
    "image": Text("{n} image", "画像 {n} 個", "{n} images"),
    "chart": Text("{n} chart", "グラフ {n} 個", "{n} charts"),
    "text box or shape": Text("{n} text box or shape", "テキストボックス・図形 {n} 個", "{n} text boxes or shapes"),
    "diagram or other object": Text("{n} diagram or other object", "図表などのオブジェクト {n} 個",
                                    "{n} diagrams or other objects"),
    "form control": Text("{n} form control (check boxes, buttons)", "フォームコントロール（チェックボックス・ボタン）{n} 個",
                         "{n} form controls (check boxes, buttons)"),
    "threaded comment": Text("{n} threaded comment", "スレッド形式のコメント {n} 件", "{n} threaded comments"),
    "chart_styles": Text("Excel's chart style and colour presets (the charts themselves are kept)",
                         "グラフのスタイルと配色の設定（グラフそのものは残ります）"),
    "printer_settings": Text("printer driver settings (paper size, orientation, margins and print titles are kept)",
                             "プリンタードライバーの設定（用紙サイズ・向き・余白・印刷タイトルは残ります）"),
    "slicers": Text("slicers", "スライサー"),
    "timelines": Text("timelines", "タイムライン"),
    "custom_xml": Text("custom XML data", "カスタム XML データ"),
    "data_connections": Text("data connections", "データ接続"),
    "query_tables": Text("query tables", "クエリテーブル"),
    "office_addins": Text("Office add-ins", "Office アドイン"),
    "cell_pictures": Text("pictures placed in cells", "セル内の画像"),
    "unknown_part": Text("content that openpyxl does not know ({content_type})",
                         "openpyxl が扱えない内容（{content_type}）"),

    # ------------------------------------------------------------ answering (search.questionnaire.answer, the web form)
    "top_out_of_range": Text("top must be a number from 1 to {max}, got {value!r}",
                             "{field[top]}は 1〜{max} の数で指定してください（指定: {value}）。"),
    "row_without_text": Text("a question row has no text; read the check sheet again",
                             "質問の行に文がありません。チェックシートを読み直してください。"),
    "header_row_not_number": Text("the header row must be a row number (1 = first row), got {value!r}",
                                  "{field[header_row]}には行番号（1 = 先頭の行）を入力してください（入力: {value}）。"),
    "upload_unreadable": Text("the upload could not be read: {detail}",
                              "送信されたフォームを読み取れません（{detail}）。ページを再読み込みしてもう一度送ってください。"),
    "no_questions": Text("no questions: paste one question per line, or choose a check sheet file",
                         "質問がありません。1 行に 1 問ずつ貼り付けるか、チェックシートのファイルを選んでください。"),
    "pasted_and_file": Text("both pasted questions and a file were sent; send one of them",
                            "貼り付けた質問とファイルの両方が送られました。どちらに回答するか選んでください。"
                            "ファイルに回答するなら質問の欄を空に、貼り付けた質問に回答するならファイルの選択を外してください。"),
    "no_file": Text("no file: send the check sheet in {field[file]}", "ファイルが選ばれていません。チェックシートのファイルを選んでください。"),
    "upload_format": Text("format must be one of {formats}, got {value!r}", "出力形式は {formats} のどれかです（指定: {value}）。"),
    "no_draft_source": Text("{label} has nothing of its own to quote (only the customer-control sentence most criteria "
                            "share); a person must check it",
                            "{label} には引用できる固有の記述がありません（お客様の統制の定型文のみです）。担当者が確認してください。"),
    "no_criterion_to_cite": Text("no criterion to cite", "該当する基準がありません"),
    "nothing_to_quote": Text("no sentence of the best criterion is close enough to the question to quote; a person "
                             "must check the candidates",
                             "質問に十分近い文が候補の基準にないため、回答案を作りませんでした。候補を担当者が確認してください。"),
    "upload_gone": Text("the uploaded file is gone (uploads are kept for an hour); upload it again",
                        "アップロードしたファイルはもうありません（1 時間で削除されます）。もう一度選んでください。"),
    "upload_expired": Text("this upload has expired (uploads are kept for an hour) or never existed; upload the file "
                           "again",
                           "このアップロードは期限切れか、存在しません（1 時間で削除されます）。ファイルをもう一度選んでください。"),
    "no_such_output": Text("there is no {name!r} for this upload; answer the check sheet again",
                           "このアップロードには「{name}」がありません。もう一度回答させてください。"),

    # ------------------------------------------------------------ the answer library (search.library, returned sheets)
    "answer_library": Text("the answer library {path}", "回答ライブラリ", api="the answer library"),
    "library_damaged": Text("{library} cannot be read ({detail}); kijun has not changed it. Keep the file and "
                            "restore from your export: set $KIJUN_LIBRARY to a new file and run `kijun library add "
                            "BACKUP.jsonl`",
                            "回答ライブラリを読めません（{detail}）。kijun はこのファイルを変更していません。"
                            "サーバーの管理者に、書き出したバックアップからの復元を依頼してください。",
                            api="{library} cannot be read ({detail}); kijun has not changed it. Whoever runs the "
                                "server can restore it from an export"),
    "library_foreign": Text("{library} is an SQLite file but not a kijun answer library (it has tables {tables}); "
                            "kijun has not changed it. Point $KIJUN_LIBRARY at another file",
                            "回答ライブラリとして指定されたファイルは kijun のものではありません（変更していません）。"
                            "サーバーの管理者に確認してください。",
                            api="{library} is not a kijun answer library; kijun has not changed it. Ask whoever runs "
                                "the server"),
    "library_newer": Text("{library} was made by a newer kijun (schema {version}); upgrade kijun to use it",
                          "回答ライブラリは新しい版の kijun で作られています。サーバーの管理者に kijun の更新を依頼してください。"),
    "library_cannot_open": Text("cannot open {library}: {reason}",
                                "回答ライブラリを開けません（{reason}）。サーバーの管理者に確認してください。"),
    "library_read_only": Text("{library} cannot be written ({reason}); nothing was changed. Searches and `kijun "
                              "library export` still read it. To add or remove entries, make the file and its folder "
                              "writable for this user, or set $KIJUN_LIBRARY to a copy",
                              "回答ライブラリは読み取り専用のため、登録・削除できません（何も変更していません）。検索と書き出し"
                              "には使えます。サーバーの管理者に確認してください。",
                              api="{library} is read-only on the server, so nothing was changed; searches and the "
                                  "export still read it. Ask whoever runs the server"),
    "library_missing": Text("{library} does not exist yet; add a returned check sheet first",
                            "回答ライブラリはまだ空です。先に回答済みのチェックシートを登録してください。"),
    "unknown_entry": Text("no entry {ids} in {library}; `kijun library list` shows the IDs",
                          "回答ライブラリに {ids} はありません。一覧を読み込み直してください。",
                          api="no entry {ids} in {library}; GET /api/library lists the IDs"),
    "unknown_entry_not_removed": Text("no entry {ids} in {library}; nothing was removed (`kijun library list` shows "
                                      "the IDs)",
                                      "回答ライブラリに {ids} はありません（何も削除していません）。一覧を読み込み直してください。",
                                      api="no entry {ids} in {library}; nothing was removed (GET /api/library lists "
                                          "the IDs)"),
    "library_busy": Text("{library} is busy ({detail}); try again in a moment",
                         "回答ライブラリが使用中です。少し待ってからもう一度お試しください。"),
    "duplicate_entry": Text("entry {id} appears twice in what is being added; nothing was added",
                            "登録しようとした内容に同じ項目（{id}）が二度あります。何も登録していません。"),
    # the library's JSONL files (search.library.jsonl: an export, or graded queries)
    "jsonl_too_large": Text("{filename}: {size_mb:.0f} MB is more than the {limit_mb} MB a library file may be; split it",
                            "{filename} は {size_mb:.0f} MB あります（上限 {limit_mb} MB）。ファイルを分けてください。"),
    "jsonl_not_utf8": Text("{filename}: not UTF-8 text (byte {byte}); save it as UTF-8",
                           "{filename} は UTF-8 のテキストではありません（{byte} バイト目）。UTF-8 で保存し直してください。"),
    "jsonl_too_many": Text("{filename}: more than {limit:,} entries; split the file",
                           "{filename} の項目が {limit:,} 件を超えています。ファイルを分けてください。"),
    "jsonl_empty": Text("{filename}: no entries (one JSON object a line, as `kijun library export` writes)",
                        "{filename} に項目がありません（1 行に 1 つの JSON オブジェクトを書きます）。"),
    "jsonl_line_too_long": Text("{filename}:{line}: the line is {length:,} characters; a library entry is at most "
                                "{limit:,}",
                                "{filename} の {line} 行目が {length:,} 文字あります（1 項目の上限 {limit:,} 文字）。"),
    "jsonl_not_json": Text("{filename}:{line}: not valid JSON ({reason} at column {column})",
                           "{filename} の {line} 行目は JSON として読めません（{column} 文字目: {reason}）。"),
    "jsonl_too_deep": Text("{filename}:{line}: the JSON is nested too deeply to be a library entry",
                           "{filename} の {line} 行目の JSON は入れ子が深すぎます（回答ライブラリの項目ではありません）。"),
    "jsonl_not_text": Text("{filename}:{line}: holds {char}, half of a character (a lone surrogate), which is not text; "
                           "write the whole character",
                           "{filename} の {line} 行目に文字として成り立たないもの（{char}）があります。"),
    "jsonl_not_object": Text("{filename}:{line}: expected a JSON object, got {kind}",
                             "{filename} の {line} 行目は JSON オブジェクトではありません（{kind}）。"),
    "jsonl_bad_line": Text("{filename}:{line}: {problem} (lines are entries as `kijun library export` writes them, or "
                           'graded queries: "query" and "relevant", criterion IDs with their grades)',
                           "{filename} の {line} 行目を回答ライブラリの項目として読めません（{problem}）。"),
    "jsonl_unknown_criteria": Text("{filename}: entry {id} ({label}) names {ids}, which this document does not have; "
                                   "nothing from this file was added",
                                   "{filename} の項目 {id}（{label}）は、この文書にない基準 {ids} を挙げています。"
                                   "このファイルからは何も登録していません。"),
    # what adding a file does to earlier imports of its name (search.library.store.Plan)
    "import_replaces": Text("replaces the earlier import of {file} from {imported_at} ({rows} entries): {shared} of "
                            "the questions are shared, so it is the same sheet; {field[keep_both]} keeps both",
                            "同じ名前のファイル（{imported_at} に登録、{rows} 問）は質問の {shared} が共通の同じシートと"
                            "みなし、置き換えます。両方残す場合は{field[keep_both]}を選んでください。"),
    "import_beside": Text("kept beside the earlier import of {file} from {imported_at} ({rows} entries): only {shared} "
                          "of the questions are shared, so it is another sheet of the same name; {field[replace]} "
                          "replaces it instead",
                          "同じ名前の別のシート（{imported_at} に登録、{rows} 問、共通する質問は {shared}）は残し、"
                          "並べて登録します。置き換える場合は{field[replace]}を選んでください。"),
    "same_name_choice": Text("same_name must be replace or keep_both (blank: replace only the same sheet), got "
                             "{value!r}",
                             "同じ名前のファイルの扱いは「置き換える」か「両方残す」から選んでください（指定: {value}）。"),
    "library_entry_removed": Text("removed 「{question}」 from the answer library",
                                  "「{question}」を回答ライブラリから削除しました。"),
    "library_already_added": Text("{filename}: its {count:,} questions were already added to the answer library; "
                                  "nothing was added twice",
                                  "{filename} の {count:,} 問は、すでに回答ライブラリに登録しています（二重には登録して"
                                  "いません）。登録した回答は下の一覧にあります。"),
    "library_not_used": Text("the answer library is not used for this search: {reason}",
                             "回答ライブラリを読めないため、この検索では使っていません（{reason}）。"),
    # the library's memory (search.library.memory): rows worked out when entries are added
    "library_not_in_memory": Text("{n:,} entry of the answer library is not in its memory yet (an add was interrupted, "
                                  "or its rows could not be stored), so searches leave it out; run `kijun library "
                                  "refresh`",
                                  "回答ライブラリの {n:,} 件は、まだ検索に使える状態になっていないため、この検索では使っていません。"
                                  "サーバーの管理者に「kijun library refresh」の実行を依頼してください。",
                                  en_other="{n:,} entries of the answer library are not in its memory yet (an add was "
                                           "interrupted, or their rows could not be stored), so searches leave them "
                                           "out; run `kijun library refresh`"),
    "library_loading": Text("the answer library's memory is being loaded, so this search does not use it; the next "
                            "ones will",
                            "回答ライブラリを読み込み中のため、この検索では使っていません（まもなく使われます）。"),
    "library_memory_stale": Text("the answer library's memory was worked out for another model or index, so searches "
                                 "leave its {n:,} entries out until `kijun library refresh` (which `kijun index` runs) "
                                 "has worked them out again",
                                 "検索モデルか索引が変わったため、回答ライブラリの {n:,} 件は計算し直すまで検索に使っていません。"
                                 "サーバーの管理者に「kijun library refresh」の実行を依頼してください。"),
    "library_memory_no_model": Text("the embedding model cannot be loaded, so the {n:,} entries were not worked out "
                                    "for searching; once it loads, run `kijun library refresh`",
                                    "検索モデルを読み込めないため、{n:,} 件を検索用に計算できませんでした。"
                                    "サーバーの管理者に「kijun library refresh」の実行を依頼してください。"),
    "library_memory_not_stored": Text("the answer library's memory cannot be stored in {path} ({reason}); this process "
                                      "keeps it, others will not find it",
                                      "回答ライブラリの検索用データを保存できませんでした（{reason}）。このサーバーでは使えますが、"
                                      "再起動すると計算し直しになります。"),
    "returned_no_answer_columns": Text("{at}neither a 回答案 nor a 該当基準 column, so it is not a sheet kijun answered; "
                                       "name the answer column with {field[returned_answer_column]} (and the criteria "
                                       "column with {field[criteria_column]} if it has one)",
                                       "{at}「回答案」も「該当基準」の列もないため、kijun が回答したシートではないようです。"
                                       "{field[returned_answer_column]}に回答の列を（該当基準の列があれば"
                                       "{field[criteria_column]}にも）指定してください。"),
    "returned_column_is_question": Text("{at}{control} {column!r} is the question column; name the column that holds "
                                        "the answers",
                                        "{at}「{column}」は質問の列です。{control}には回答が書かれた列を指定してください。"),
    "criteria_unread": Text("{where}: the 該当基準 cell also says 「{unread}」, which was not read as criteria; "
                            "kept {ids} — check them",
                            "{where}: 該当基準の「{unread}」は基準として読んでいません（登録する基準: {ids}）。確かめてください。"),
    # why a returned sheet's question is not added to the library (search.questionnaire.returned.SKIP_*)
    "still_unconfirmed": Text("still 要確認 with no criterion", "要確認のまま（該当基準の記入なし）"),
    "no_criterion_given": Text("no criterion given", "該当基準の記入なし"),
    "unknown_criteria": Text("names criteria this document does not have: {ids}", "この文書にない基準を挙げている: {ids}"),

    # ------------------------------------------------------------ documents a team adds (corpus.sources, the store)
    "document_unreadable": Text("{filename}: cannot read it as a document ({reason})",
                                "{filename} を文書として読めません（{reason}）。"),
    "document_too_large": Text("{filename}: the file is {size_mb:.1f} MB; the limit is {limit_mb} MB — split the "
                               "document into several files",
                               "{filename} は {size_mb:.1f} MB あります（上限 {limit_mb} MB）。文書を複数のファイルに分けてください。"),
    "document_package_too_large": Text("{filename}: its parts inflate to {size_mb:,.0f} MB; the limit is {limit_mb} MB "
                                       "— save it again from Excel without the sheets and images it does not need",
                                       "{filename} は展開すると {size_mb:,.0f} MB になります（上限 {limit_mb} MB）。不要な"
                                       "シートや画像を除いて Excel で保存し直してください。"),
    "document_too_many_cells": Text("{filename}: more than {limit:,} cells; split the document, or delete the sheets "
                                    "and columns it does not need",
                                    "{filename} のセルが {limit:,} 個を超えています。文書を分けるか、不要なシートや列を"
                                    "削除してください。"),
    "document_too_many_rows": Text("{filename}: more than {limit:,} rows; split the document into several files",
                                   "{filename} の行が {limit:,} 行を超えています。文書を複数のファイルに分けてください。"),
    "document_cell_too_long": Text("{filename}: {where} has a cell of {length:,} characters; the limit is {limit:,} "
                                   "(Excel's) — shorten it",
                                   "{filename} の {where}のセルが {length:,} 文字あります（上限 {limit:,} 文字）。"
                                   "短くしてください。"),
    "document_pdf": Text("{filename}: PDF files are not read; add its text extraction (.txt) or a table (.xlsx, "
                         ".csv, .md, .jsonl)",
                         "{filename}: PDF は読めません。テキストに書き出したもの（.txt）か表（.xlsx・.csv・.md・.jsonl）を"
                         "選んでください。"),
    "document_type": Text("{filename}: unsupported file type {suffix!r}; a document is .xlsx, .csv, .tsv, .md, "
                          ".jsonl or .txt",
                          "{filename}: この種類のファイル（{suffix}）は読めません。.xlsx・.csv・.tsv・.md・.jsonl・.txt の"
                          "ファイルを選んでください。"),
    "document_unknown_kind": Text("the kind must be one of {kinds}, got {kind!r}",
                                  "種類は {kinds} のどれかです（指定: {kind}）。"),
    "document_text_kind": Text("{filename}: a text extraction is a .txt file; this one is read as a table (leave "
                               "{field[kind]} out, or give table)",
                               "{filename}: テキスト抽出として読めるのは .txt ファイルだけです。{field[kind]}を表にして"
                               "ください。"),
    "document_no_id_column": Text("{filename}: no column of criterion IDs (実26, 監3, 実14-1) found; name it with "
                                  "{field[id_column]}",
                                  "{filename} に基準番号（実26・監3・実14-1 など）の列が見つかりません。"
                                  "{field[id_column]}で指定してください。"),
    "document_id_column_not_found": Text("{filename}: no column {column!r} holding criterion IDs; give the header of "
                                         "the ID column, its number or its letter with {field[id_column]}",
                                         "{filename} に基準番号の入った「{column}」という列がありません。"
                                         "{field[id_column]}に基準番号の列の見出し・列番号・列記号を指定してください。"),
    "document_not_an_id": Text("{filename}: {where}: {value!r} in the ID column is not a criterion ID (write IDs "
                               "as 実26, 監3 or 実14-1); nothing from this file was added",
                               "{filename} の {where}: 基準番号の列の「{value}」は基準番号ではありません（実26・監3・"
                               "実14-1 のように書いてください）。このファイルからは何も登録していません。"),
    "document_unknown_column": Text("{filename}: no column {column!r} to map with {field[fields]}; the columns are "
                                    "{names}",
                                    "{filename} に「{column}」という列はありません（列は {names}）。{field[fields]}を"
                                    "直してください。"),
    "document_fields_syntax": Text("{item!r} is not COLUMN=ROLE; the roles are {roles} (e.g. {field[fields]})",
                                   "「{item}」は「列名=役割」の形ではありません。役割は {roles} です。"),
    "document_unknown_role": Text("{role!r} is not a role; the roles are {roles}",
                                  "「{role}」という役割はありません。役割は {roles} です。"),
    "document_role_twice": Text("two columns, {columns}, are mapped to {role}; map only one",
                                "{columns} の 2 つの列が同じ役割（{role}）になっています。1 つだけにしてください。"),
    "document_empty": Text("{filename}: no criterion found in it; nothing was added",
                           "{filename} に基準が 1 つもありません。何も登録していません。"),
    "document_md_no_table": Text("{filename}: no pipe table with a column of criterion IDs (| 実26 | … |) found",
                                 "{filename} に基準番号の列のある表（| 実26 | … |）が見つかりません。"),
    "document_jsonl_line": Text("{filename}: {where}: not one JSON object ({reason}); nothing from this file was added",
                                "{filename} の {where}: JSON のオブジェクトとして読めません（{reason}）。このファイルからは"
                                "何も登録していません。"),
    "document_jsonl_no_id": Text("{filename}: {where}: no \"id\" key; each line is one criterion: its \"id\" "
                                 "(\"実26\") and its text fields",
                                 "{filename} の {where}: \"id\" がありません。1 行に 1 つの基準を、\"id\"（\"実26\" など）と"
                                 "本文の項目で書いてください。"),
    "document_jsonl_value": Text("{filename}: {where}: {key!r} is neither text nor a list of texts",
                                 "{filename} の {where}: 「{key}」の値が文字列でも文字列のリストでもありません。"),
    "document_title_line": Text("{filename}: {where}: {value!r} does not start with a criterion ID; a title list has "
                                "one 「実26 パスワードの管理」 a line",
                                "{filename} の {where}: 「{value}」が基準番号で始まっていません。タイトル一覧は 1 行に"
                                "「実26 パスワードの管理」の形で書いてください。"),
    "document_title_missing": Text("{filename}: {where}: {id} has no title after it",
                                   "{filename} の {where}: {id} のあとにタイトルがありません。"),
    "document_title_twice": Text("{filename}: {where}: {id} is listed twice (first on line {first}); keep one",
                                 "{filename} の {where}: {id} が 2 回あります（最初は {first} 行目）。1 つにしてください。"),
    "document_no_titles": Text("{filename}: no line 「実26 パスワードの管理」 found",
                               "{filename} に「実26 パスワードの管理」の形の行がありません。"),
    "document_text_no_rows": Text("{filename}: not laid out like the bundled extraction: no row header such as "
                                  "「実26 ◯ ◯ …」 found; add it as a table instead",
                                  "{filename} は同梱の文書と同じ体裁ではありません（「実26 ◯ ◯ …」の行がありません）。"
                                  "表として登録してください。"),
    "document_text_empty_row": Text("{filename}: {where}: a row header with no text after it (a garbled or truncated "
                                    "extraction?)",
                                    "{filename} の {where}: 基準番号の行のあとに本文がありません（抽出が崩れているか、"
                                    "途中で切れています）。"),
    "document_text_twice": Text("{filename}: {where}: {id} appears twice (first on line {first})",
                                "{filename} の {where}: {id} が 2 回あります（最初は {first} 行目）。"),
    # what reading a document found worth saying (warnings, kept with it)
    "document_headerless": Text("no header row above the first ID ({at}): the fields are named by their column "
                                "letters", "最初の基準番号（{at}）の上に見出し行がないため、列記号を項目名にしました。"),
    "document_rows_joined": Text("{n} criterion appears on rows apart, joined in order: {ids}",
                                 "離れた行にある基準を順につなげました（{n} 件）: {ids}",
                                 "{n} criteria appear on rows apart, joined in order: {ids}"),
    "document_rows_skipped": Text("{n} row without an ID was skipped as a heading or note: {rows}",
                                  "基準番号のない行を見出し・注記として読み飛ばしました（{n} 行）: {rows}",
                                  "{n} rows without an ID were skipped as headings or notes: {rows}"),
    "document_link_missing": Text("{n} link names a criterion the document does not have: {links}",
                                  "文書にない基準を「同じ」としている箇所があります（{n} 件）: {links}",
                                  "{n} links name criteria the document does not have: {links}"),
    "document_sheet_ignored": Text("sheet {sheet!r} has no column of criterion IDs, so it was not read",
                                   "シート「{sheet}」には基準番号の列がないため、読んでいません。"),
    "document_edition_from_file": Text("the edition was taken from the file's own words: {edition} (give "
                                       "{field[edition]} if it answers another)",
                                       "版はファイルの記述から {edition} としました（違う場合は{field[edition]}で指定してください）。"),
    "document_editions_in_file": Text("the file names several editions ({editions}), so none was assumed; give "
                                      "{field[edition]}",
                                      "ファイルに複数の版（{editions}）が書かれているため、版を決めていません。"
                                      "{field[edition]}で指定してください。"),
    "document_no_edition": Text("no edition given, so its IDs were not checked against one; give {field[edition]}",
                                "版が指定されていないため、基準番号を版と照合していません。{field[edition]}で指定してください。"),
    "document_edition_unknown": Text("kijun does not know which criteria {edition} has (it knows {known}), so the IDs "
                                     "were not checked; add a title list for {edition} ({field[titles_kind]})",
                                     "{edition} にどの基準があるかを kijun は知らないため（分かるのは {known}）、基準番号を"
                                     "照合していません。{edition} のタイトル一覧を登録すると照合できます。"),
    "document_ids_not_in_edition": Text("{n} ID it cites is not a criterion of {edition}: {ids} (as known from {sources}; "
                                        "IDs are never mapped across editions)",
                                        "{edition} にない基準番号を挙げています（{n} 件）: {ids}（{sources} による。版をまたいだ"
                                        "読み替えはしていません）",
                                        "{n} IDs it cites are not criteria of {edition}: {ids} (as known from {sources}; "
                                        "IDs are never mapped across editions)"),
    "document_defines_edition": Text("this title list defines which criteria {edition} has ({n} ID)",
                                     "このタイトル一覧で {edition} の基準（{n} 件）を定義します。",
                                     "this title list defines which criteria {edition} has ({n} IDs)"),
    # the document store (search.documents.store)
    "document_no_title": Text("a document needs a title: give {field[title]}", "{field[title]}を入力してください。"),
    "document_id_invalid": Text("{id!r} cannot be a document ID: use 1–40 lower-case letters, digits and hyphens "
                                "({field[document_id]})",
                                "「{id}」は文書IDに使えません。英小文字・数字・ハイフンの 1〜40 文字にしてください。"),
    "criterion_in_some_editions": Text("{id} is a criterion of {having}, not of {lacking} (IDs are never mapped "
                                       "across editions)",
                                       "{id} は {having} の基準です。{lacking} にはありません（版をまたいで番号を"
                                       "対応づけることはしません）。"),
    "criterion_in_no_edition": Text("{id} is a criterion of no edition kijun knows ({editions}); it is shown as the "
                                    "documents write it (IDs are never mapped across editions)",
                                    "{id} はどの既知の版にもありません（{editions}）。文書に書かれたとおりに表示しています"
                                    "（版をまたいで番号を対応づけることはしません）。"),
    "compare_unknown_document": Text("no document {id!r} to compare; the documents are {ids}",
                                     "文書「{id}」はありません（比較できる文書: {ids}）。"),
    "compare_one_document": Text("only the bundled document is loaded; add a document to compare it with",
                                 "読み込んでいる文書は同梱の 1 つだけです。比べる文書を「文書」ページで追加してください。"),
    "compare_same_document": Text("{id!r} is compared with itself; name two different documents",
                                  "同じ文書「{id}」どうしは比較できません。2 つの異なる文書を選んでください。"),
    "documents_not_kept": Text("this server keeps no documents of its own; add them with `kijun documents add`",
                               "このサーバーでは文書を追加・削除できません。"),
    "document_added": Text("added {title} ({id}): {n} criterion; searches now read it",
                           "「{title}」（{id}）を追加しました（基準 {n} 件）。検索・基準のページ・質問票への回答に使われます。",
                           en_other="added {title} ({id}): {n} criteria; searches now read it"),
    "document_removed": Text("removed {title} ({id}); searches no longer read it",
                             "「{title}」（{id}）を削除しました。検索には使われません。"),
    "document_already_committed": Text("{filename} was already added as {id}; nothing was added again",
                                       "{filename} は文書ID {id} として追加済みです。もう一度は追加していません。"),
    "documents_not_loaded": Text("the documents could not be loaded ({reason}); searches keep using the ones loaded "
                                 "before", "文書を読み込めませんでした（{reason}）。これまでの文書で検索を続けています。"),
    "document_label_too_long": Text("the label {label!r} is longer than {limit} characters; a label is short, such as "
                                    "AWS or 基盤 (it is written beside IDs: 「AWS 実26」)",
                                    "略称「{label}」が長すぎます（{limit} 文字まで）。AWS や 基盤 のような短い名前にしてください。"),
    "document_id_taken": Text("there is already a document {id!r}; choose another with {field[document_id]}",
                              "文書ID「{id}」はもう使われています。{field[document_id]}で別の ID にしてください。"),
    "document_already_added": Text("{filename} is already in the store as {id!r} (the same bytes); remove that one "
                                   "first to add it again",
                                   "{filename} は「{id}」としてすでに登録されています（同じ内容）。登録し直すには先にそれを"
                                   "削除してください。"),
    "unknown_document": Text("no document {id!r}; the documents are {ids}",
                             "「{id}」という文書はありません（文書は {ids}）。"),
    "document_bundled": Text("{id!r} is the bundled document; it cannot be removed",
                             "「{id}」は同梱の文書のため、削除できません。"),
    "document_damaged": Text("the document {path} cannot be read ({detail}); kijun has not changed it — add the "
                             "original file again under another ID, or remove this one",
                             "文書を読めません（{detail}）。kijun はこのファイルを変更していません。サーバーの管理者に"
                             "確認してください。"),
    "document_store_unwritable": Text("cannot write the document store {path}: {reason}",
                                      "文書の保存先に書き込めません（{reason}）。サーバーの管理者に確認してください。"),

    # ------------------------------------------------------------ the server's refusals (search.app.web.refusals)
    "body_too_large": Text("the request body is larger than the {limit} limit; send fewer questions per request, or "
                           "split the check sheet",
                           "送信されたデータが上限（{limit}）を超えています。質問を分けるか、チェックシートを分割してください。"),
    "body_timeout": Text("the request body did not arrive within {seconds} seconds; send it again over a faster "
                         "connection",
                         "送信に {seconds} 秒以上かかったため受け付けられませんでした。もう一度送信してください。"),
    "unsupported_media_type": Text("send JSON with 'Content-Type: application/json', or a check sheet as "
                                   "multipart/form-data",
                                   "JSON（Content-Type: application/json）かファイルのアップロード（multipart/form-data）"
                                   "で送信してください。"),
    "cross_site": Text("a request from another site ({origin}) cannot change anything here; use kijun's own pages, "
                       "or an API client (which sends no Origin header)",
                       "他のサイト（{origin}）からの送信は受け付けません。kijun のページから操作してください。"),
    "host_not_allowed": Text("this server does not answer to the name {host!r}; if that is its name, whoever runs it "
                             "allows it with {field[allow_host]}",
                             "このサーバーは {host} という名前では応答しません。サーバーの管理者に、この名前で使えるよう"
                             "設定を依頼してください。"),
    "not_authenticated": Text("authentication required: send 'Authorization: Bearer <token>' with the server's "
                              "token, or sign in at /login",
                              "このサーバーを使うにはログインしてください。"),
    "proxy_not_authenticated": Text("authentication required: reach this server through the sign-in proxy",
                                    "このサーバーは社内のサインイン用プロキシ経由でのみ使えます。いつもの URL から開いてください。"),
    "token_empty": Text("{source} is empty (or only spaces), so nobody could sign in; put the token in it (at least "
                        "16 characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'), or unset "
                        "it on a server that only this machine reaches",
                        "トークン（{source}）が空です。このままでは誰もログインできないため、サーバーを起動しません。"),
    "wrong_token": Text("that is not the server's token; ask whoever runs the server for it",
                        "トークンが違います。サーバーの管理者に確認してください。"),
    "busy": Text("the server is answering other check sheets; try again in {retry} seconds",
                 "混雑しています。ほかのチェックシートに回答中です。{retry} 秒ほどしてから、もう一度送信してください。"),
    "missing_query": Text("the query parameter `q` is missing: send ?q= with a word such as パスワード, a question, "
                          "or an ID such as 実26",
                          "検索語がありません。パスワード のような語、質問文、または 実26 のような基準番号を入力してください。"),
    "missing_questions": Text("the body has no `questions`: send a JSON object whose `questions` list holds one "
                              "question per item",
                              "質問がありません。1 行に 1 問ずつ入力してください。"),
    "invalid_body": Text("the request body does not match the schema at /docs",
                         "送信された内容を読み取れません。ページを読み込み直してから、もう一度送信してください。"),
    "unknown_job": Text("no answering job with this id is waiting or running",
                        "この回答処理は見つかりません（終わったか、取り消されました）。"),
    "question_cut": Text("the question is {length:,} characters; only its first {limit:,} were read (split it into "
                         "shorter questions)",
                         "質問が {length:,} 文字あるため、先頭の {limit:,} 文字だけを読みました（短い質問に分けてください）。"),

    # ------------------------------------------------------------ the duplicates page
    "duplicates_range": Text("min_criteria must be {lo}–{hi} and threshold {tlo}–{thi}",
                             "「最小基準数」は {lo}〜{hi}、「類似度のしきい値」は {tlo}〜{thi} で指定してください。"),
}
