"""The request format, and how many texts one invocation may carry without breaking the payload limit.

SageMaker Serverless Inference rejects requests and responses over 4 MB. Requests are small, but the token-level
answer is not: about 8.3 kB of JSON per token, so roughly 2 MB for one text at the 256-token truncation. A batch
is therefore bounded by an upper bound of its response, estimated without a tokenizer (the client stays
boto3-only), as well as by its exact request size and a plain count.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from embeddings._vocabulary import WHOLE_WORD_TOKENS
from embeddings.errors import TextTooLargeError
from embeddings.settings import whole_number

EMBEDDING_DIMENSION = 384
"""all-MiniLM-L6-v2's hidden size, i.e. the length of every token vector and of the sentence vector."""

MAX_TOKENS = 256
"""sentence-transformers truncates all-MiniLM-L6-v2 input at 256 tokens ([CLS] and [SEP] included)."""

SERVERLESS_PAYLOAD_LIMIT_BYTES = 4_000_000
"""SageMaker Serverless Inference's request and response limit: "4 MB", read as decimal to be safe."""

DEFAULT_PAYLOAD_BUDGET_BYTES = 3_800_000
"""What batches are planned against: the limit minus headroom for anything the estimates do not see."""

MAX_TEXTS_PER_REQUEST = 256
"""The most texts the endpoint's handler (model_artifact/code/inference.py, MAX_TEXTS) takes in one request; it
answers a 400 for more. No batch is planned past it, so a --batch-size above it is refused before any call."""

BATCH_SIZE_LIMIT = f" (the endpoint takes at most {MAX_TEXTS_PER_REQUEST} texts per request)"
"""What a refused batch size is told, after the range."""

DEFAULT_BATCH_SIZE = 128
"""Enough for 100 typical sentences in two invocations even when the first is planned token-level (see client).

The count only binds when answers are pooled or texts are tiny: 128 pooled answers are about 1.1 MB, and 128
texts of 256 tokens took 8 s on two shared CPU cores, well below serverless's 60 s per invocation.
"""

# The container calls `pipeline(inputs, **parameters)`. transformers' FeatureExtractionPipeline forwards only
# `truncation` and `tokenize_kwargs` to the tokenizer and silently drops any other keyword, so a top-level
# `max_length` would be ignored and texts would be cut at the tokenizer's 512 instead of 256 tokens.
PIPELINE_PARAMETERS: dict[str, object] = {"tokenize_kwargs": {"truncation": True, "max_length": MAX_TOKENS}}

# The longest `repr` of a float32 value widened to a Python float, e.g. "-1.2345678901234567e-05" or
# "-0.00012345678901234567": 23 characters. The container serialises with json.dumps' default ", " separator.
_MAX_FLOAT_JSON_BYTES = 23
_SEPARATOR_BYTES = 2


def vector_json_bound(dimension: int = EMBEDDING_DIMENSION) -> int:
    """Upper bound of one vector's JSON, with the separator that follows it: 9,602 bytes for 384 floats."""
    return 1 + dimension * _MAX_FLOAT_JSON_BYTES + (dimension - 1) * _SEPARATOR_BYTES + 1 + _SEPARATOR_BYTES


# BERT's basic tokenizer splits words at whitespace and at every ASCII punctuation character (among others).
_ASCII_PUNCTUATION = frozenset(chr(c) for c in [*range(33, 48), *range(58, 65), *range(91, 97), *range(123, 127)])


_LONGEST_KNOWN_WORD = max(map(len, WHOLE_WORD_TOKENS))


def _is_bert_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _word_tokens(word: str) -> int:
    """Upper bound of the WordPieces of one word: 1 for a known whole-word token, else one per character.

    WordPiece never emits a piece for less than one character of the lower-cased, decomposed (NFD) word, so the
    decomposed character count is a bound; it is exact for gibberish like "xqzv" and about three times too high
    for English prose, which is what the known words are for.
    """
    if word.isascii() and word.lower() in WHOLE_WORD_TOKENS:
        return 1
    return sum(len(unicodedata.normalize("NFD", char.lower())) for char in word)


def estimate_tokens(text: str, max_tokens: int = MAX_TOKENS) -> int:
    """An upper bound of the token count the container will see for `text`, after truncation.

    Words are cut only where BERT certainly cuts too (whitespace, ASCII punctuation), so each "word" here is one
    or more whole BERT words and `_word_tokens` bounds it. Counting stops at the truncation length, so a huge
    text costs no more than a 256-token one.
    """
    count = 2  # [CLS] and [SEP]
    word: list[str] = []
    for char in text:
        if _is_bert_whitespace(char) or char in _ASCII_PUNCTUATION:
            if word:
                count += _word_tokens("".join(word))
                word.clear()
            count += char in _ASCII_PUNCTUATION
            if count >= max_tokens:
                return max_tokens
        else:
            word.append(char)
            # Longer than any known word, so it counts at least its length: no need to read on.
            if len(word) > _LONGEST_KNOWN_WORD and count + len(word) >= max_tokens:
                return max_tokens
    if word:
        count += _word_tokens("".join(word))
    return min(count, max_tokens)


def encode_request(texts: Sequence[str]) -> bytes:
    """The request body for one invocation; compact UTF-8 JSON, because its size counts against the limit."""
    body = {"inputs": list(texts), "parameters": PIPELINE_PARAMETERS}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_REQUEST_ENVELOPE_BYTES = len(encode_request([]))

MIN_PAYLOAD_BYTES = _REQUEST_ENVELOPE_BYTES + 3
"""The smallest request budget that can carry anything at all: the envelope and one empty text, `""`."""


def request_bytes(text: str) -> int:
    """What one text adds to the request body, including its separating comma."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) + 1


def max_text_request_bytes(max_request_bytes: int) -> int:
    """How many bytes of JSON one text may take (quotes and escapes included) when it is sent alone.

    One byte less than the envelope leaves, because batches count a separator after every text.
    """
    return max_request_bytes - _REQUEST_ENVELOPE_BYTES - 1


def too_large(index: int, text: str, max_request_bytes: int) -> TextTooLargeError | None:
    """The error for a text whose request alone is over the budget, or None if it fits."""
    size = request_bytes(text) - 1
    allowed = max_text_request_bytes(max_request_bytes)
    if size <= allowed:
        return None
    return TextTooLargeError(
        f"texts[{index}] ({len(text):,} characters) makes a {_REQUEST_ENVELOPE_BYTES + size:,}-byte request, over "
        f"the {max_request_bytes:,}-byte budget: one text may take at most {allowed:,} bytes as JSON. The model "
        f"reads only its first {MAX_TOKENS} tokens (about 1,000 characters of English), so send its start or "
        "split it",
        index=index,
    )


def response_bytes_bound(text: str, *, token_level: bool, dimension: int = EMBEDDING_DIMENSION) -> int:
    """Upper bound of one text's share of the response: `[[v, v, ...]], ` token-level, `[v], ` pooled."""
    vectors = estimate_tokens(text) if token_level else 1
    return 2 + vectors * vector_json_bound(dimension) + 2 + _SEPARATOR_BYTES


@dataclass(frozen=True)
class BatchLimits:
    """What one invocation may carry. The byte budgets apply to the request and to the response separately."""

    max_texts: int = DEFAULT_BATCH_SIZE
    max_request_bytes: int = DEFAULT_PAYLOAD_BUDGET_BYTES
    max_response_bytes: int = DEFAULT_PAYLOAD_BUDGET_BYTES
    dimension: int = EMBEDDING_DIMENSION

    def __post_init__(self) -> None:
        whole_number("max_texts", self.max_texts, minimum=1, maximum=MAX_TEXTS_PER_REQUEST)
        whole_number("max_request_bytes", self.max_request_bytes, minimum=MIN_PAYLOAD_BYTES)
        whole_number("max_response_bytes", self.max_response_bytes, minimum=1)
        whole_number("dimension", self.dimension, minimum=1)


@dataclass(frozen=True)
class Batch:
    """Texts `start` up to (excluding) `stop` of the input, with the sizes that got them into one invocation."""

    start: int
    stop: int
    request_bytes: int
    response_bytes_bound: int


def cell_start(position: int, limits: BatchLimits) -> int:
    """Where the cell holding text `position` starts: batches never cross a multiple of `max_texts`.

    So where a batch starts depends on the texts' positions alone, never on where a call began: a run resumed at
    any text sends, from the start of that text's cell on, exactly the batches the uninterrupted run sent. The
    endpoint's numbers depend slightly on a batch's other texts (its sub-batches pad to the longest), so this is
    what makes a resumed output byte for byte the uninterrupted one.
    """
    return position - position % limits.max_texts


def next_batch(texts: Sequence[str], start: int, limits: BatchLimits, *, token_level: bool = True) -> Batch:
    """The longest run of texts from `start` that fits every limit and its cell; always at least one text.

    A single text is sent alone even if its response bound exceeds the budget (the bound is pessimistic, and no
    smaller request exists), but a text whose request alone is too large is an error: no batching can help.
    EmbeddingClient checks that for every text before the first invocation; this check is for direct callers.
    """
    request_total = _REQUEST_ENVELOPE_BYTES
    response_total = 2
    stop = start
    end = min(len(texts), cell_start(start, limits) + limits.max_texts)
    while stop < end:
        text_request = request_bytes(texts[stop])
        text_response = response_bytes_bound(texts[stop], token_level=token_level, dimension=limits.dimension)
        if stop == start and (error := too_large(start, texts[stop], limits.max_request_bytes)) is not None:
            raise error
        fits = (
            request_total + text_request <= limits.max_request_bytes
            and response_total + text_response <= limits.max_response_bytes
        )
        if stop > start and not fits:
            break
        request_total += text_request
        response_total += text_response
        stop += 1
    return Batch(start=start, stop=stop, request_bytes=request_total, response_bytes_bound=response_total)


def plan_batches(texts: Sequence[str], limits: BatchLimits, *, token_level: bool = True) -> list[Batch]:
    """All batches for `texts`, in order; what the client does when every answer is token-level."""
    batches: list[Batch] = []
    start = 0
    while start < len(texts):
        batches.append(next_batch(texts, start, limits, token_level=token_level))
        start = batches[-1].stop
    return batches
