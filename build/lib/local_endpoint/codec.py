"""Bytes in and out of the container, as sagemaker-huggingface-inference-toolkit 2.6.0 and its model server do.

The toolkit itself cannot be imported here: decoder_encoder.py imports `mms.service` (multi-model-server, a Java
server), `sagemaker_inference` and PIL, and the package pulls librosa and phonemizer. Its JSON, CSV and NPY
behaviour is a few lines, mirrored below with the toolkit function each one copies. Image and audio types are
not mirrored: a text model fails on them in the container too, just with another message.
"""

from __future__ import annotations

import csv
import datetime
import json
import textwrap
from collections.abc import Callable
from io import BytesIO, StringIO
from typing import Any

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
UTF8_TYPES = (JSON, CSV)  # content_types.UTF8_TYPES: bodies the handler decodes to str before decoding


class PredictionError(Exception):
    """mms.service.PredictionException: the handler's way to answer an HTTP error code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UnsupportedFormatError(Exception):
    """sagemaker_inference.errors.UnsupportedFormatError, with its exact message."""

    def __init__(self, content_type: str | None) -> None:
        super().__init__(
            textwrap.dedent(
                f"""Content type {content_type} is not supported by this framework.

            Please implement input_fn to to deserialize the request data or an output_fn to
            serialize the response. For more information, see the SageMaker Python SDK README."""
            )
        )


def decode_json(content: str | bytes) -> Any:
    """decoder_encoder.decode_json."""
    return json.loads(content)


def decode_csv(string_like: str) -> dict[str, Any]:
    """decoder_encoder.decode_csv: a header row naming `inputs` (or question/context) is required."""
    stream = StringIO(string_like)
    if not any(header in string_like.splitlines()[0].lower() for header in ["question", "context", "inputs"]):
        raise PredictionError(
            "You need to provide the correct CSV with Header columns to use it with the inference toolkit "
            "default handler.",
            400,
        )
    request_list = list(csv.DictReader(stream))
    if "inputs" in request_list[0]:
        return {"inputs": [entry["inputs"] for entry in request_list]}
    return {"inputs": request_list}


class _JSONEncoder(json.JSONEncoder):
    """decoder_encoder._JSONEncoder: numpy scalars and arrays become plain JSON numbers and lists."""

    def default(self, o: Any) -> Any:
        import numpy as np

        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if hasattr(o, "tolist"):
            return o.tolist()
        if isinstance(o, datetime.datetime):
            return o.__str__()
        return super().default(o)


def encode_json(content: Any, accept_type: str | None = None) -> str:
    """decoder_encoder.encode_json: compact separators, non-ASCII kept, NaN refused."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, cls=_JSONEncoder, separators=(",", ":")
    )


def encode_npy(array_like: Any, accept_type: str | None = None) -> bytes:
    """decoder_encoder._array_to_npy; fails, as there, on ragged token-level batches."""
    import numpy as np

    buffer = BytesIO()
    np.save(buffer, array_like)
    return buffer.getvalue()


def encode_csv(content: Any, accept_type: str | None = None) -> str:
    """decoder_encoder.encode_csv; expects dicts, so token-level feature-extraction output fails, as there."""
    stream = StringIO()
    if not isinstance(content, list):
        content = list(content)
    writer = csv.DictWriter(stream, content[0].keys())
    writer.writeheader()
    writer.writerows(content)
    return stream.getvalue()


_DECODERS: dict[str, Callable[[Any], Any]] = {CSV: decode_csv, JSON: decode_json}
_ENCODERS: dict[str, Callable[[Any, str | None], str | bytes]] = {
    CSV: encode_csv,
    JSON: encode_json,
    NPY: encode_npy,
}


def decode(content: Any, content_type: str | None) -> Any:
    """decoder_encoder.decode: the Content-Type must match exactly (`application/json; charset=utf-8` fails)."""
    decoder = _DECODERS.get(content_type) if content_type is not None else None
    if decoder is None:
        raise UnsupportedFormatError(content_type)
    return decoder(content)


def encode(content: Any, accept_type: str) -> str | bytes:
    """decoder_encoder.encode."""
    try:
        encoder = _ENCODERS[accept_type]
    except KeyError:
        raise UnsupportedFormatError(accept_type) from None
    return encoder(content, accept_type)


# Gson, which the Java model server uses to write error bodies, escapes these for HTML safety.
_GSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}


def mms_error_body(status: int, message: str, error_type: str = "InternalServerException") -> bytes:
    """The model server's JSON error, pretty-printed by Gson: SageMaker quotes it verbatim in ModelError."""
    text = json.dumps({"code": status, "type": error_type, "message": message}, indent=2, ensure_ascii=False)
    for char, escaped in _GSON_ESCAPES.items():
        text = text.replace(char, escaped)
    return (text + "\n").encode("utf-8")


def mms_status_body(status: str) -> bytes:
    """The model server's /ping answer."""
    return (json.dumps({"status": status}, indent=2) + "\n").encode("utf-8")
