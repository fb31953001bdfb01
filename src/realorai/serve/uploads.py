"""Multipart uploads read from the request stream into memory, within limits, never onto disk.

Starlette's own form parser spools files over 1 MB to a temporary file; a forensic service
must not leave users' images on its disk, so the body is parsed here as it streams in, and
reading stops (413) as soon as a limit is passed, before the rest is read.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from realorai.imaging import Upload


@dataclass
class UploadError(Exception):
    """A request that cannot be taken: HTTP status and a message a client can show."""

    status: int
    message: str
    file: str | None = None


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_request_bytes: int
    max_files: int
    body_timeout_s: float = 60.0  # the whole body must arrive within this
    min_rate: float = 0.0  # bytes/s, enforced after GRACE_S; 0: none
    # Called with each chunk's size before it is kept; False: the server's buffer budget is spent.
    reserve: Callable[[int], bool] | None = None


GRACE_S = 5.0  # slow starts are normal (TLS, a phone waking up); a trickle after that is not
MAX_BOUNDARY = 70  # RFC 2046: a multipart boundary is 1 to 70 characters
_EXTENDED = re.compile(r"filename\*\s*=\s*([A-Za-z0-9_-]*)'[^']*'([^;\s]+)", re.IGNORECASE)


# RFC 5987 allows UTF-8 and ISO-8859-1; other charset names (utf-7, unicode_escape...) are read as
# UTF-8, never handed to a codec that makes lone surrogates or runs escapes.
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "iso-8859-1": "latin-1", "latin-1": "latin-1", "us-ascii": "utf-8"}


def _clean(name: str) -> str:
    """A name safe to print and to encode as UTF-8: anything unencodable becomes U+FFFD."""
    return name.encode("utf-8", "replace").decode("utf-8") if name else name


def file_name(disposition: bytes) -> str | None:
    """A part's file name from its Content-Disposition: RFC 5987 ``filename*=UTF-8''...`` first
    (RFC 6266 says it wins), else ``filename=``; None for a part that is not a file. A name that
    cannot be decoded is replaced piece by piece (U+FFFD), never an error for the request."""
    extended = _EXTENDED.search(disposition.decode("latin-1"))
    if extended:
        charset = _CHARSETS.get(extended.group(1).lower(), "utf-8")
        return _clean(unquote(extended.group(2), encoding=charset, errors="replace")) or "upload"
    _, params = parse_options_header(disposition)
    filename = params.get(b"filename")
    if filename is None:
        return None
    if filename.startswith(b'"'):  # an opening quote never closed (`filename="a.png`): the quote is no part of the name
        filename = filename[1:]
    return _clean(filename.decode("utf-8", "replace")) or "upload"


class _Collector:
    """Callbacks for python-multipart: one buffer per file part, with running size checks."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files: list[Upload] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = self._value = b""
        self._name: str | None = None
        self._chunks: list[bytes] = []
        self._size = 0

    @property
    def open_part(self) -> str | None:
        """The file name of the part being read, None between parts."""
        return self._name

    def part_begin(self) -> None:
        self._headers, self._chunks, self._size, self._name = {}, [], 0, None

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def headers_finished(self) -> None:
        self._name = file_name(self._headers.get(b"content-disposition", b""))
        if self._name is not None and len(self.files) >= self.limits.max_files:  # other fields are ignored
            raise UploadError(413, f"too many files in one request (limit {self.limits.max_files})")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name is None:
            return
        self._size += end - start
        if self._size > self.limits.max_file_bytes:
            raise UploadError(
                413, f"file larger than the upload limit of {self.limits.max_file_bytes / 1e6:g} MB", self._name
            )
        self._chunks.append(bytes(data[start:end]))

    def part_end(self) -> None:
        if self._name is not None:
            self.files.append(Upload(self._name, b"".join(self._chunks)))
        self._chunks, self._name = [], None


async def read_uploads(request: Request, limits: Limits) -> list[Upload]:
    """The request's file parts, or :class:`UploadError`: 413 over a limit, 400 not (well-formed)
    multipart, 408 a body that does not arrive in time or trickles in, 503 no buffer room."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "send images as multipart/form-data file fields (e.g. curl -F files=@photo.jpg)")
    boundary = params[b"boundary"]
    if not 1 <= len(boundary) <= MAX_BOUNDARY:
        raise UploadError(400, f"malformed multipart body: the boundary must be 1 to {MAX_BOUNDARY} characters")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_request_bytes:
        # Refused before a byte of the body is read.
        raise UploadError(413, f"request larger than the limit of {limits.max_request_bytes / 1e6:g} MB")
    c = _Collector(limits)
    callbacks = {
        "on_part_begin": c.part_begin,
        "on_header_field": c.header_field,
        "on_header_value": c.header_value,
        "on_header_end": c.header_end,
        "on_headers_finished": c.headers_finished,
        "on_part_data": c.part_data,
        "on_part_end": c.part_end,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in _body(request, limits):
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        raise
    except Exception as e:  # a malformed body is the client's error, never a crash
        raise UploadError(400, f"malformed multipart body: {type(e).__name__}: {e}") from e
    if c.open_part is not None:  # a file part was open when the body ended
        raise UploadError(400, "malformed multipart body: it ends inside a file part (no closing boundary)", c._name)
    if not c.files:
        raise UploadError(400, "no file in the request: send one or more images as multipart file fields")
    return c.files


async def _body(request: Request, limits: Limits):
    """The body's chunks, under the size limit, the deadline and the minimum rate."""
    start, received = time.monotonic(), 0
    chunks = request.stream().__aiter__()
    while True:
        elapsed = time.monotonic() - start
        # The next bytes must come before the deadline, and (after the grace) before the
        # average rate falls under the minimum.
        due = limits.body_timeout_s
        if limits.min_rate > 0:
            due = min(due, max(GRACE_S, (received + 1) / limits.min_rate))
        if due - elapsed <= 0:
            raise UploadError(408, _too_slow(limits))
        with anyio.move_on_after(due - elapsed) as scope:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
        if scope.cancelled_caught:
            raise UploadError(408, _too_slow(limits))
        received += len(chunk)
        if received > limits.max_request_bytes:
            raise UploadError(413, f"request larger than the limit of {limits.max_request_bytes / 1e6:g} MB")
        if limits.reserve is not None and not limits.reserve(len(chunk)):
            raise UploadError(503, "busy: the server's upload buffers are full; retry shortly")
        yield chunk


def _too_slow(limits: Limits) -> str:
    rate = f" or slower than {limits.min_rate / 1e3:g} kB/s after {GRACE_S:g} s" if limits.min_rate else ""
    return f"request body not received in time (limit {limits.body_timeout_s:g} s{rate})"
