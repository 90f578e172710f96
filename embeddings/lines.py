"""Texts from a file, one per line, where a line is what `wc -l`, `sed -n 5p` and every editor call a line.

`str.splitlines()` also breaks at U+2028, U+2029, U+0085, `\\f`, `\\v` and `\\x1c`-`\\x1e`: with it a 4-line
file could give 7 vectors, every one after the first such character printed for the wrong line. Here only `\\n`
ends a line, so the i-th vector always belongs to the i-th line.
"""

from __future__ import annotations

from embeddings.errors import InputTextError

_BYTE_ORDER_MARK = "\ufeff"


def decode_utf8(data: bytes, source: str) -> str:
    """`data` as text, or an error naming `source`, the offending byte, its offset and its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputTextError(
            f"{source} is not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start:,} (line {line}): "
            f"{error.reason}; convert it first, e.g. with iconv -f LATIN1 -t UTF-8"
        ) from None


def split_lines(data: bytes, source: str) -> list[str]:
    """One text per `\\n`-terminated line, every line kept, blank ones included, so vector i is line i + 1.

    A `\\r` before the `\\n` (Windows line ends) is dropped, as is a UTF-8 byte-order mark at the start (Notepad
    writes one). Every other character, U+2028 and form feed included, stays part of its line's text. The
    final line needs no `\\n`, and an empty input has no lines.
    """
    text = decode_utf8(data, source).removeprefix(_BYTE_ORDER_MARK)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the `\n` that ends the last line starts no new one
    return [line.removesuffix("\r") for line in lines]
