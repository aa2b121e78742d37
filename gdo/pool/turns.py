"""Turns of a record -> (question, answer) pairs, one per QA turn.

The fast path handles well-formed conversations with no per-turn checks beyond the
loop itself; anything unusual falls back to the careful path, which finds the exact
turn and field to name in the error.
"""

from __future__ import annotations

from typing import Any

from gdo.pool.text import strip_media_tokens
from gdo.utils.errors import InputError

HUMAN_ROLES = frozenset({"human", "user"})
ANSWER_ROLES = frozenset({"gpt", "assistant", "bot", "model"})
SKIP_ROLES = frozenset({"system"})


class _Unusual(Exception):
    """Internal: leave the fast path."""


# What the fast path raises on anything unusual (the caller then takes the careful path).
UNUSUAL = (_Unusual, KeyError, TypeError, AttributeError)


def conversation_pairs(conv: Any, file: str, where: str) -> list[tuple[str, str]]:
    """QA pairs of a LLaVA ``conversations`` list (``{from, value}`` turns)."""
    try:
        return fast_pairs(conv, "from", "value")
    except UNUSUAL:
        pass
    if not isinstance(conv, list) or not conv:
        raise InputError(
            file,
            where,
            "conversations",
            "a non-empty list of {from, value} turns",
            got=_show(conv),
            reason="record without conversations",
        )
    turns = []
    for j, t in enumerate(conv):
        if not isinstance(t, dict):
            raise InputError(
                file, where, f"conversations[{j}]", "a {from, value} object", got=_show(t)
            )
        turns.append((t.get("from"), t.get("value"), f"conversations[{j}]", "from", "value"))
    return _careful_pairs(turns, file, where)


def message_pairs(msgs: Any, file: str, where: str) -> list[tuple[str, str]]:
    """QA pairs of a chat ``messages`` list (``{role, content}``; content str or parts)."""
    try:
        return fast_pairs(msgs, "role", "content")
    except UNUSUAL:
        pass
    if not isinstance(msgs, list) or not msgs:
        raise InputError(
            file,
            where,
            "messages",
            "a non-empty list of {role, content} messages",
            got=_show(msgs),
            reason="record without conversations",
        )
    turns = []
    for j, m in enumerate(msgs):
        if not isinstance(m, dict):
            raise InputError(
                file, where, f"messages[{j}]", "a {role, content} object", got=_show(m)
            )
        content = m.get("content")
        if isinstance(content, list):  # HF chat parts: [{"type": "text", "text": ...}, ...]
            content = _part_text(content, file, where, f"messages[{j}].content")
        turns.append((m.get("role"), content, f"messages[{j}]", "role", "content"))
    return _careful_pairs(turns, file, where)


def _part_text(parts: list, file: str, where: str, at: str) -> str:
    """The text parts of a chat ``content`` list joined by newlines (a part without
    ``text`` counts as empty); a ``text`` that is not a string is named."""
    texts = []
    for k, p in enumerate(parts):
        if not isinstance(p, dict) or p.get("type") != "text":
            continue
        text = p.get("text", "")
        if not isinstance(text, str):
            raise InputError(file, where, f"{at}[{k}].text", "a string", got=_show(text))
        texts.append(text)
    return "\n".join(texts)


def fast_pairs(turns: list, role_key: str, text_key: str) -> list[tuple[str, str]]:
    """QA pairs of well-formed turns; raises one of :data:`UNUSUAL` on anything else."""
    if type(turns) is not list:
        raise _Unusual
    pairs = []
    question = None
    for t in turns:
        role, text = t[role_key], t[text_key]
        if type(text) is not str:
            raise _Unusual
        if role in HUMAN_ROLES:
            if question is not None:
                raise _Unusual
            question = text
        elif role in ANSWER_ROLES:
            if question is None:
                raise _Unusual
            # strip_media_tokens, its commonest case inlined (no "<": just strip)
            answer = text.strip() if "<" not in text else strip_media_tokens(text)
            if not answer:
                raise _Unusual
            if "<" not in question:
                question = question.strip()
            else:
                question = strip_media_tokens(question)
            pairs.append((question, answer))
            question = None
        elif role not in SKIP_ROLES:
            raise _Unusual
    if question is not None or not pairs:
        raise _Unusual
    return pairs


def _careful_pairs(turns: list[tuple], file: str, where: str) -> list[tuple[str, str]]:
    """Pair each question turn with the answer turn that follows it, naming any problem."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    q_at = ""
    for role, text, at, role_key, text_key in turns:
        if role in SKIP_ROLES:
            continue
        if not isinstance(text, str):
            raise InputError(file, where, f"{at}.{text_key}", "a string", got=_show(text))
        if role in HUMAN_ROLES:
            if question is not None:
                raise InputError(
                    file,
                    where,
                    q_at,
                    "an answer turn after each question",
                    reason="conversation without an answer turn",
                    got=f"another question at {at}",
                )
            question, q_at = text, at
        elif role in ANSWER_ROLES:
            if question is None:
                raise InputError(
                    file,
                    where,
                    at,
                    "a question turn before each answer",
                    reason="answer turn without a question",
                )
            answer = strip_media_tokens(text)
            if not answer:
                raise InputError(
                    file,
                    where,
                    f"{at}.{text_key}",
                    "a non-empty answer",
                    reason="empty answer turn",
                )
            pairs.append((strip_media_tokens(question), answer))
            question = None
        else:
            raise InputError(
                file,
                where,
                f"{at}.{role_key}",
                "human/user, gpt/assistant or system",
                got=_show(role),
            )
    if question is not None:
        raise InputError(
            file,
            where,
            q_at,
            "an answer turn after it",
            reason="conversation without an answer turn",
        )
    if not pairs:
        raise InputError(
            file,
            where,
            "conversations",
            "at least one question/answer pair",
            reason="conversation without an answer turn",
        )
    return pairs


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
