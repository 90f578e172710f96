"""Texts from a file, one per line, where a line is what `wc -l`, `sed -n 5p` and every editor call a line.

`str.splitlines()` also breaks at U+2028, U+2029, U+0085, `\\f`, `\\v` and `\\x1c`-`\\x1e`: with it a 4-line
file could give 7 vectors, every one after the first such character printed for the wrong line. Here only `\\n`
ends a line, so the i-th vector always belongs to the i-th line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from embeddings.errors import InputTextError

_BYTE_ORDER_MARK = "\ufeff"


def _not_utf8(source: str, byte: int, offset: int, line: int, reason: str) -> InputTextError:
    return InputTextError(
        f"{source} is not UTF-8 text: byte 0x{byte:02x} at offset {offset:,} (line {line}): {reason}; convert it "
        "first, e.g. with iconv -f LATIN1 -t UTF-8"
    )


def decode_utf8(data: bytes, source: str) -> str:
    """`data` as text, or an error naming `source`, the offending byte, its offset and its line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _not_utf8(source, data[error.start], error.start, line, error.reason) from None


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


def iter_lines(lines: Iterable[bytes], source: str) -> Iterator[str]:
    """`split_lines` one line at a time, for input too large to hold: the same texts, and the same errors, their
    offset and line counted from the start of the input.

    `lines` are the input's raw lines, each with its `\\n` (what iterating over a binary file gives). Each is
    decoded with its `\\n`, so a character cut short by the line's end is reported as `split_lines` reports it
    (an invalid continuation byte, not an unexpected end of data).
    """
    offset = 0
    for number, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _not_utf8(source, raw[error.start], offset + error.start, number, error.reason) from None
        offset += len(raw)
        if number == 1:
            text = text.removeprefix(_BYTE_ORDER_MARK)
            if not text:
                return  # the input is a byte-order mark and nothing else: no lines
        yield text.removesuffix("\n").removesuffix("\r")
