"""Multipart uploads read from the request stream into memory, within limits, never onto disk.

Starlette's own form parser spools files over 1 MB to a temporary file; a forensic service
must not leave users' images on its disk, so the body is parsed here as it streams in, and
reading stops (413) as soon as a limit is passed, before the rest is read.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        filename = params.get(b"filename")
        if filename is not None:  # a file part; other form fields are ignored
            self._name = filename.decode("utf-8", "replace") or "upload"
            if len(self.files) >= self.limits.max_files:
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
    """The request's file parts, or :class:`UploadError` (413 over a limit, 400 not multipart)."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "send images as multipart/form-data file fields (e.g. curl -F files=@photo.jpg)")
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
    parser = MultipartParser(params[b"boundary"], callbacks)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.max_request_bytes:
                raise UploadError(413, f"request larger than the limit of {limits.max_request_bytes / 1e6:g} MB")
            parser.write(chunk)
        parser.finalize()
    except UploadError:
        raise
    except Exception as e:  # a malformed body is the client's error, never a crash
        raise UploadError(400, f"malformed multipart body: {type(e).__name__}: {e}") from e
    if not c.files:
        raise UploadError(400, "no file in the request: send one or more images as multipart file fields")
    return c.files
