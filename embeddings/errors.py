"""What can go wrong when embedding, split by what the caller can do about it.

Callers mostly want one question answered: would trying again later help? `TransientEndpointError` means the
endpoint was unavailable for longer than the client was willing to wait; `PermanentEndpointError` means
retrying the same request cannot succeed. Every endpoint error carries the endpoint name, because a Lambda log
line that says only "ValidationError" does not tell which of several stacks is misconfigured.
"""

from __future__ import annotations


class EmbeddingError(Exception):
    """Base class, so callers can catch everything this package raises with one clause."""


class ConfigurationError(EmbeddingError):
    """The local AWS setup (region, credentials) is incomplete; no request reached SageMaker."""


class MissingCredentialsError(ConfigurationError):
    """boto3 found no credentials anywhere in its chain (env, profile, SSO, instance role...)."""


class InvalidSettingError(EmbeddingError, ValueError):
    """A constructor argument (or CLI option) is out of range; raised before any AWS client is made."""


class InputTextError(EmbeddingError, ValueError):
    """The CLI's input (a --file, stdin, an argument) cannot be read as UTF-8 text; nothing was sent."""


class OutputFileError(EmbeddingError, ValueError):
    """The CLI's --output cannot be written, or cannot be resumed because it is not this command's JSON Lines."""


class InvalidTextError(EmbeddingError):
    """A text can never be embedded as given; found before the first invocation, so nothing was sent.

    `index` is the position of the offending text in the caller's list, or None when the list itself is wrong.
    The concrete classes also derive from the built-in exception callers caught before these existed.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class TextTypeError(InvalidTextError, TypeError):
    """`texts` is not a list of str: a bare string, bytes, None, or an item of another type."""


class TextEncodingError(InvalidTextError, ValueError):
    """A text holds a lone surrogate, which UTF-8 (and so the JSON request) cannot carry."""


class TextTooLargeError(InvalidTextError, ValueError):
    """A single text cannot fit in one request under SageMaker's payload limit, so no batching can help."""


class ResponseShapeError(EmbeddingError):
    """The endpoint answered, but not with the vectors expected: another model, or not the pooling mode named.

    `index` is the position in the caller's list of the text whose answer is wrong, or None when the answer as a
    whole is (not JSON, the wrong number of entries). Not retried: the same request gets the same answer.
    """

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class InvalidVectorError(ResponseShapeError):
    """A text's answer has the right shape but is no direction: all zeros, too short, too long for a float, NaN.

    Handing it out would put zeros or noise into an index where they match nothing, or everything.
    """


class EndpointError(EmbeddingError):
    """A failure attributable to one endpoint; `endpoint_name` says which."""

    def __init__(self, message: str, *, endpoint_name: str) -> None:
        super().__init__(message)
        self.endpoint_name = endpoint_name


class PermanentEndpointError(EndpointError):
    """SageMaker (or the model container) rejected the request in a way a retry cannot fix."""

    def __init__(
        self,
        message: str,
        *,
        endpoint_name: str,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, endpoint_name=endpoint_name)
        self.code = code
        self.http_status = http_status


class TransientEndpointError(EndpointError):
    """Retries ran out: the fault was of a kind that usually passes, but it outlasted `max_wait_s`."""

    def __init__(
        self,
        message: str,
        *,
        endpoint_name: str,
        attempts: int,
        elapsed_s: float,
        last_error: BaseException,
    ) -> None:
        super().__init__(message, endpoint_name=endpoint_name)
        self.attempts = attempts
        self.elapsed_s = elapsed_s
        self.last_error = last_error


class EndpointNotReadyError(TransientEndpointError):
    """The last answer was ModelNotReadyException: a serverless cold start that took longer than `max_wait_s`."""


class InvocationTimeoutError(TransientEndpointError):
    """The last attempt got no complete answer within `invocation_timeout_s` (headers and body, wall clock).

    `url` is the invocation URL the attempt went to, `timeout_s` the deadline. A retry helps if the network or the
    endpoint was briefly slow; one batch that really needs longer fails again (send smaller batches).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_name: str,
        attempts: int,
        elapsed_s: float,
        last_error: BaseException,
        url: str,
        timeout_s: float,
    ) -> None:
        super().__init__(
            message, endpoint_name=endpoint_name, attempts=attempts, elapsed_s=elapsed_s, last_error=last_error
        )
        self.url = url
        self.timeout_s = timeout_s


class EndpointUnreachableError(TransientEndpointError):
    """No connection could be made to `url` (refused, unreachable, DNS, connect timeout), after a few quick tries.

    Nothing reached the endpoint. A retry helps once the cause is gone (the twin started, the network back); a
    wrong URL or region fails the same way every time.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint_name: str,
        attempts: int,
        elapsed_s: float,
        last_error: BaseException,
        url: str,
    ) -> None:
        super().__init__(
            message, endpoint_name=endpoint_name, attempts=attempts, elapsed_s=elapsed_s, last_error=last_error
        )
        self.url = url
