"""Content words of questions and passages — pure text analysis shared by retrieval and the answerers.

- :func:`query_words`: the words of a question worth searching for — lower-cased, alphanumeric (safe to
  hand to a full-text engine as quoted tokens), question boilerplate and stop words removed, in order.
- :func:`terms`: the stemmed content words of any text, for comparing a question with a sentence.
- :func:`stem`: a light English suffix stripper ("refunds"/"refunded" → "refund"). The database's
  full-text engines stem with their own (Porter/Snowball) rules; this one only has to agree with
  itself, because questions and passages are compared here with the same function.
"""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "query_words", "stem", "terms"]

_STOPWORDS_TEXT = """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just let
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves please tell know want need get got also
    may might must shall us one s t don doesn isn aren wasn weren won
    way able possible anyone someone something thing things via whether instead rather else
    """
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

# Hyphenated compounds ("Wi-Fi", "part-time") stay one word: their halves alone mean little.
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*(?:['’][^\W_]+)?", re.UNICODE)
# What a full-text engine receives: plain alphanumeric runs (its own tokenizer splits the same way).
_QUERY_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
# A question is short; more words than this only slow the search down without changing its winners.
MAX_QUERY_WORDS = 24


def stem(word: str) -> str:
    """Strip common English inflections so "refunds"/"refunded"/"refunding" meet at "refund", and
    "cache"/"cached"/"caching" at "cach" (a final "e" goes too, as in Porter's last step)."""
    word = _strip_suffix(word)
    if len(word) > 4 and word.endswith("e") and not word.endswith("ee"):
        return word[:-1]
    return word


def _strip_suffix(word: str) -> str:
    for suffix, replacement in (
        ("ies", "y"),
        ("ied", "y"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ches", "shes", "sses", "xes", "zes")):
                # "prices" → "price", not "pric"; only sibilant plurals drop the whole "es".
                return word[:-1]
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + replacement
    return word


def terms(text: str) -> set[str]:
    """Content words of ``text``: lower-cased, stop words removed, stemmed. A hyphenated compound
    counts by its parts when they are words ("view-caching" → "view", "cach") and whole otherwise
    ("wi-fi")."""
    found = set()
    for raw in _WORD_RE.findall(text.lower()):
        word = raw.replace("’", "'").split("'")[0]
        parts = word.split("-")
        for part in parts if len(parts) > 1 and all(len(p) >= 3 for p in parts) else [word]:
            if len(part) >= 2 and part not in STOPWORDS:
                found.add(stem(part))
    return found


def query_words(text: str) -> list[str]:
    """Searchable words of a question, first occurrence order, at most ``MAX_QUERY_WORDS``.

    Only letters and digits survive (``select_related`` → ``select``, ``related``), so each word can
    be quoted into an FTS5 or tsquery expression without escaping anything.
    """
    seen: dict[str, None] = {}
    for word in _QUERY_WORD_RE.findall(text.lower()):
        if len(word) < 2 or word in STOPWORDS:
            continue
        seen.setdefault(word, None)
        if len(seen) == MAX_QUERY_WORDS:
            break
    return list(seen)
