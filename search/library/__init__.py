"""The answer library (回答ライブラリ): the questions a team already answered, confirmed by a person,
kept so that next month's check sheet — the same topics in other words — starts from them.

* `store` — the SQLite file of entries (user data: never rebuilt, cleaned or repaired by kijun);
* `jsonl` — its backup format (`kijun library export` → `add`) and dev-set-style graded queries;
* `recall` — which entries are close to a query, and what they say: a ranking signal, the
  verdict's features and the 過去の回答 shown to people.

Returned check sheets are read into entries by `search.questionnaire.returned`.
"""
