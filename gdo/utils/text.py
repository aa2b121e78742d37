"""User text files: UTF-8 with or without a byte-order mark; anything else is refused clearly.

Spreadsheets and some editors start UTF-8 files with a byte-order mark (BOM), which
``json`` and ``csv`` would read as part of the first field; UTF-16 / UTF-32 files
("Unicode text" in spreadsheets) are not UTF-8 at all. Both are recognised here once,
so every reader of user files gives the same answer.
"""

from __future__ import annotations

import codecs
import os

from gdo.utils.errors import InputError

BOM = codecs.BOM_UTF8
# UTF-32 first: its little-endian mark starts with UTF-16's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def wide_encoding(head: bytes) -> str | None:
    """``UTF-16`` / ``UTF-32`` when ``head`` (a file's first bytes) is such text, else None.

    Without a byte-order mark, NUL bytes among the first characters give it away (UTF-8
    text has none).
    """
    for mark, name in _WIDE_BOMS:
        if head.startswith(mark):
            return name
    if b"\x00" in head[:64]:
        return "UTF-16" if b"\x00\x00" not in head[:64] else "UTF-32"
    return None


def wide_error(file: str | os.PathLike, encoding: str, where: str | None = None) -> InputError:
    """The error for a file of ``encoding`` (UTF-16 / UTF-32) where UTF-8 was expected."""
    return InputError(
        str(file),
        where,
        None,
        "UTF-8 text",
        reason=f"the file is {encoding} text; save it as UTF-8",
    )


def not_utf8_error(file: str | os.PathLike, data: bytes, exc: UnicodeDecodeError) -> InputError:
    """The error for ``data`` (a file's bytes) that ``exc`` says is not UTF-8: the line,
    the byte and its offset, or that the file is UTF-16 / UTF-32 text."""
    wide = wide_encoding(data[:64])
    if wide:
        return wide_error(file, wide)
    line = data.count(b"\n", 0, exc.start) + 1
    return InputError(
        str(file),
        f"line {line}",
        None,
        "UTF-8 text",
        reason=f"not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})",
    )


def decode_utf8(data: bytes, file: str | os.PathLike) -> str:
    """``data`` (a whole file) as text, a leading UTF-8 BOM dropped; :class:`InputError`
    naming the file (and line) when it is UTF-16 / UTF-32 or not valid UTF-8."""
    wide = wide_encoding(data[:64])
    if wide:
        raise wide_error(file, wide)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8_error(file, data, exc) from None


def read_text(path: str | os.PathLike) -> str:
    """A user's text file, decoded by :func:`decode_utf8`."""
    with open(path, "rb") as fh:
        return decode_utf8(fh.read(), path)
