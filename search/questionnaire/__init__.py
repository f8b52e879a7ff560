"""Questionnaires: check sheets in and out, answers drafted from the document, and the returned
sheets that fill the answer library.

Beside the engine, above it: these modules use `search.engine` and `search.library`, never the
other way round.

* `checksheet` — what a check sheet is once read (its question tables, skipped rows, ignored
  sheets), the limits, and the errors every step can raise;
* `reader` — finding the question table in the user's own file (.xlsx, .xlsm, .csv, .tsv);
* `writer` — writing the answers into a copy of that same file, whole or not at all;
* `preservation` — what openpyxl cannot carry over, named for the user's file;
* `delimited` — CSV/TSV records, read and edited without disturbing the rest of the file;
* `table` — pasted questions, and kijun's own flat table of answers;
* `answer` — the verdict, the candidates and the cited draft of each question;
* `returned` — a sheet a person corrected and sent back, read as answer library entries.
"""
