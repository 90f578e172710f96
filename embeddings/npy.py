"""Reading the endpoint's `application/x-npy` answer without numpy: a documented header, then raw float32.

The format (numpy.lib.format, versions 1.0 to 3.0): the magic string b"\\x93NUMPY", a major and a minor version
byte, the header's length (2 bytes little-endian in version 1, 4 bytes from version 2 on), and the header itself:
a Python dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (32, 384), }`, padded with
spaces and a newline. The array's bytes follow, nothing else. The endpoint answers little-endian float32 in C
order, shape (texts, dimension); anything else is refused rather than guessed at.
"""

from __future__ import annotations

import ast
import struct
import sys
from array import array
from typing import Any

from embeddings.errors import ResponseShapeError

MEDIA_TYPE = "application/x-npy"
MAGIC = b"\x93NUMPY"
_HEADER_LENGTH = {1: "<H", 2: "<I", 3: "<I"}
_FLOAT32 = "<f4"


def _header(body: bytes) -> tuple[dict[str, Any], int]:
    """The header dict and where the data starts."""
    if not body.startswith(MAGIC) or len(body) < len(MAGIC) + 2:
        raise ResponseShapeError(f"the answer is not a .npy array (it starts {body[:16]!r})")
    major = body[len(MAGIC)]
    length_format = _HEADER_LENGTH.get(major)
    if length_format is None:
        raise ResponseShapeError(f"the answer is a .npy array of format version {major}, not 1, 2 or 3")
    start = len(MAGIC) + 2
    size_bytes = struct.calcsize(length_format)
    if len(body) < start + size_bytes:
        raise ResponseShapeError("the .npy answer ends inside its header")
    (length,) = struct.unpack_from(length_format, body, start)
    start += size_bytes
    if len(body) < start + length:
        raise ResponseShapeError("the .npy answer ends inside its header")
    text = body[start : start + length].decode("utf-8" if major == 3 else "latin-1")
    try:
        header = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ResponseShapeError(f"the .npy answer's header is not a Python literal: {text.strip()[:120]!r}") from None
    if not isinstance(header, dict):
        raise ResponseShapeError(f"the .npy answer's header is not a dict: {text.strip()[:120]!r}")
    return header, start + length


def read_matrix(body: bytes, dimension: int) -> list[list[float]]:
    """The rows of a little-endian float32, C-order (n, dimension) .npy, as Python floats.

    float32 widened to a Python float is what the JSON answer prints, so these are the JSON answer's numbers.
    """
    header, data_start = _header(body)
    descr, fortran, shape = header.get("descr"), header.get("fortran_order"), header.get("shape")
    if descr != _FLOAT32 or fortran is not False:
        raise ResponseShapeError(
            f"the .npy answer holds {descr!r} in {'Fortran' if fortran else 'C'} order: expected {_FLOAT32!r} "
            "(little-endian float32) in C order"
        )
    if isinstance(shape, tuple) and len(shape) == 3 and shape[-1] == dimension:
        raise ResponseShapeError(
            f"the .npy answer has shape {shape!r}: token vectors, not one vector per text, so the endpoint pools on "
            "the client (stack output pooling=client); use pooling='client' or 'auto', or deploy with pooling: server"
        )
    if (
        not isinstance(shape, tuple)
        or len(shape) != 2
        or not all(isinstance(size, int) for size in shape)
        or shape[1] != dimension
    ):
        raise ResponseShapeError(f"the .npy answer has shape {shape!r}: expected (texts, {dimension})")
    rows = shape[0]
    expected = rows * dimension * 4
    if len(body) - data_start != expected:
        raise ResponseShapeError(
            f"the .npy answer of shape {shape} carries {len(body) - data_start} bytes of data, not {expected}"
        )
    values = array("f")
    values.frombytes(body[data_start:])
    if sys.byteorder == "big":
        values.byteswap()
    flat = values.tolist()
    return [flat[row * dimension : (row + 1) * dimension] for row in range(rows)]
