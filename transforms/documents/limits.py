"""What one input file may cost: records and bytes read after decompression (pure, no Beam).

A 3.6 MB `.jsonl.gz` can expand to 8.7 million lines; past a limit the rest of the file is
one dead letter (raised here as PipelineError, turned into the dead letter by the read step)
and the run goes on with the other files.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TypeVar

from transforms.records import PipelineError

DEFAULT_MAX_RECORDS_PER_FILE = 1_000_000
DEFAULT_MAX_EXPANDED_BYTES_PER_FILE = 4 * 1024**3

Record = TypeVar("Record")


def bounded_records(
    records: Iterable[Record], max_records: int, source_uri: str
) -> Iterator[Record]:
    """`records` up to `max_records`; one more raises PipelineError("too_many_records")."""
    for count, record in enumerate(records, start=1):
        if count > max_records:
            raise PipelineError(
                "too_many_records",
                f"{source_uri} holds more than --max_records_per_file={max_records} records; "
                f"the rest of the file was not read",
            )
        yield record


class _ExpansionBudget(io.RawIOBase):
    """A readable stream that raises PipelineError("too_large_expanded") once more than
    `max_bytes` were read through it."""

    def __init__(self, stream: BinaryIO, max_bytes: int, source_uri: str):
        super().__init__()
        self._stream = stream
        self._left = max_bytes
        self._max_bytes = max_bytes
        self._source_uri = source_uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left <= 0:
            if self._stream.read(1):  # more than the budget: the rest is not read
                raise PipelineError(
                    "too_large_expanded",
                    f"{self._source_uri} expands to more than "
                    f"--max_expanded_bytes_per_file={self._max_bytes} bytes; "
                    f"the rest of the file was not read",
                )
            return 0
        chunk = self._stream.read(min(len(buffer), self._left))
        self._left -= len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def limit_expansion(stream: BinaryIO, max_bytes: int, source_uri: str) -> BinaryIO:
    """`stream` (buffered, for fast readline) that raises PipelineError("too_large_expanded")
    past `max_bytes` read. Closing it does not close `stream`."""
    return io.BufferedReader(_ExpansionBudget(stream, max_bytes, source_uri), 1024 * 1024)
