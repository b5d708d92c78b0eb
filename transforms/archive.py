"""Archive: every feed response and page fetched, as WARC under `--archive`.

One `.warc.gz` file per bundle, written whole through a temporary name, so that replaying
`--input 'ARCHIVE/**/*.warc.gz'` never reads a half-written file and rebuilds the same rows.
"""

from __future__ import annotations

from transforms.documents.warc import WarcArchiveWriter
from transforms.records import FeedEntry, RawDocument


class BundleArchive:
    """The records of one bundle, written to one WARC file by `flush()`."""

    def __init__(self, archive_dir: str, prefix: str):
        self.writer = WarcArchiveWriter(archive_dir, prefix)

    def add_response_of(self, response, entry: FeedEntry | None = None) -> None:
        self.writer.add_response(
            url=response.url,
            status=response.status,
            reason=response.reason,
            headers=response.headers,
            body=response.body,
            fetched_at=response.fetched_at,
            peer_address=response.peer_address,
            entry=entry,
        )

    def add_feed_content_of(self, document: RawDocument) -> None:
        self.writer.add_feed_content(document.entry, document.fetched_at)

    def flush(self) -> None:
        self.writer.flush()


def archive_writer_for(archive_dir: str | None, prefix: str) -> BundleArchive | None:
    return None if not archive_dir else BundleArchive(archive_dir, prefix)
