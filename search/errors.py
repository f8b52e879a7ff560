"""What can be wrong with a search request, one exception per condition.

All are `QueryError`s (a `ValueError`), so a front-end that only needs "the
user's request cannot be answered, here is why" catches one type, while code
that must tell them apart (the questionnaire refuses a bad mode outright but
reports an unsearchable question on its row) catches the precise one. Their
words, in English and Japanese, are the catalogue's (`messages.catalogue`).
"""
from __future__ import annotations

from messages import Explained


class QueryError(Explained, ValueError):
    """A request that cannot be searched; the message says how to fix it."""


class EmptyQuery(QueryError):
    """Nothing to search for: blank, or only exclusions."""

    code = "empty_query"


class QueryTooLong(QueryError):
    """Longer than the engine reads in one query."""

    code = "query_too_long"


class UnknownMode(QueryError):
    """A search mode other than keyword, semantic or hybrid."""

    code = "unknown_mode"


class LimitOutOfRange(QueryError):
    """A result count outside what the engine returns."""

    code = "limit_out_of_range"


class UnknownFilter(QueryError):
    """A role or series filter value the document does not use."""

    code = "unknown_role"


class UnknownDocumentFilter(QueryError):
    """A document to search within that is not loaded."""

    code = "unknown_document_filter"
