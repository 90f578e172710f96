"""Checks on the texts of one call, all made before the first invocation, so a bad text costs nothing.

Found batch by batch, a bad text would be expensive and vague: 2,000 good texts and one lone surrogate cost 107
invocations over 13.5 s before a bare UnicodeEncodeError that names no text. Each check here is cheap next to an
invocation (one UTF-8 encode and one JSON dump per text).
"""

from __future__ import annotations

from typing import Any

from embeddings.batching import too_large
from embeddings.errors import TextEncodingError, TextTypeError


def _not_a_list(texts: Any) -> TextTypeError:
    kind = type(texts).__name__
    if isinstance(texts, str):
        return TextTypeError("texts must be a list of strings, not a single string; wrap it: embed([text])")
    return TextTypeError(f"texts must be a list of strings, got {kind}")


def _wrong_item(index: int, item: Any) -> TextTypeError:
    hint = "; decode it first, e.g. item.decode('utf-8')" if isinstance(item, bytes | bytearray) else ""
    return TextTypeError(f"texts[{index}] is {type(item).__name__}, expected str{hint}", index=index)


def _unencodable(index: int, text: str, error: UnicodeEncodeError) -> TextEncodingError:
    code_point = ord(text[error.start])
    return TextEncodingError(
        f"texts[{index}] has a lone surrogate U+{code_point:04X} at character {error.start}, which UTF-8 cannot "
        "encode; only valid Unicode text can be sent (such text usually comes from bytes decoded with "
        "errors='surrogateescape'; decode them with errors='replace' instead)",
        index=index,
    )


def checked_texts(texts: Any, max_request_bytes: int, *, first: int = 0) -> list[str]:
    """`texts` as a list, after checking every item's type, encodability and size; the first bad one raises.

    `first` is the position of `texts[0]` in a longer sequence checked a chunk at a time (the batch runner's
    corpus): errors name, and carry as their index, the text's position in that sequence.
    """
    if isinstance(texts, str | bytes | bytearray):
        raise _not_a_list(texts)
    try:
        items = list(texts)
    except TypeError:
        raise _not_a_list(texts) from None
    for index, item in enumerate(items, first):
        if not isinstance(item, str):
            raise _wrong_item(index, item)
        try:
            item.encode("utf-8")
        except UnicodeEncodeError as error:
            raise _unencodable(index, item, error) from None
        if (oversize := too_large(index, item, max_request_bytes)) is not None:
            raise oversize
    return items
