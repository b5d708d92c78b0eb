"""Benchmark corpora: the shared HTML pages, seeds and text variants, copied up to N documents.

Copies must not be free work for the pipeline. Two identical copies would be merged by dedup,
and lines shared by copies would be learned as their source's boilerplate (every short line
recurs in every copy), removing most of the text and skipping language detection. So:

- each copy goes into its own folder `copy_NNNN/` and, in HTML, every absolute URL's host gets
  a `cNNNN.` prefix: each copy is its own source, and the per-source statistics of copy k are
  those of the original corpus (pages of one site within copy k still share their template);
- a marker ` #NNNN` (digits: langdetect ignores them) is appended to every long prose line or
  text node (>= MARK_MIN_CHARS, beyond the learner's 200-character lines and the boilerplate
  rules' reach), so each copy's text, hence its content hash, is distinct, while the short
  lines that the boilerplate rules match stay exactly as they were.

Sources are shuffled once (fixed seed) so that a partial round of copies is a random subset.
"""

from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
MARK_MIN_CHARS = 200
# Bump when the marking changes: corpora built by an older marking are rebuilt, not reused.
MARKING_VERSION = 2
# A page or text of short lines only (lyrics, recipes, wire text): mark lines this long.
FALLBACK_MIN_CHARS = 20
_SHUFFLE_SEED = 20171109

# HTML pieces never marked: scripts, styles, comments (their text is no article text).
_OPAQUE = re.compile(rb"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->)", re.I | re.S)
_TEXT_NODE = re.compile(rb">([^<]+)<")
# "//host", also entity- and percent-escaped ("&#x2F;&#x2F;host", "%2F%2Fhost").
_URL_HOST = re.compile(rb"(?://|&#x2F;&#x2F;|%2F%2F)(?=[A-Za-z0-9-]+\.[A-Za-z])", re.I)
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|blockquote|tr|figcaption|pre)>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")


def marker(copy_index: int) -> str:
    return f" #{copy_index:04d}"


def mark_html(payload: bytes, copy_index: int) -> bytes:
    """A distinct copy of an HTML page: hosts prefixed, long text nodes marked.

    A page without any long text node gets its FALLBACK_MIN_CHARS-long nodes marked instead.
    """
    mark = marker(copy_index).encode()
    host_prefix = f"c{copy_index:04d}.".encode()
    pieces = _OPAQUE.split(payload)
    # Text pieces sit at even indexes, scripts/styles/comments at odd ones.
    lengths = [len(m.group(1).strip()) for piece in pieces[::2] for m in _TEXT_NODE.finditer(piece)]
    longest = max(lengths, default=0)
    threshold = MARK_MIN_CHARS if longest >= MARK_MIN_CHARS else FALLBACK_MIN_CHARS

    def mark_node(match: re.Match) -> bytes:
        text = match.group(1)
        if len(text.strip()) < threshold:
            return match.group(0)
        return b">" + text.rstrip() + mark + text[len(text.rstrip()) :] + b"<"

    out = []
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            piece = _TEXT_NODE.sub(mark_node, piece)
        out.append(_URL_HOST.sub(lambda m: m.group(0) + host_prefix, piece))
    return b"".join(out)


def mark_text(payload: bytes, copy_index: int) -> bytes:
    """A distinct copy of a text document: long lines marked, everything else unchanged.

    Text of short lines only (one sentence per line, as wire text) gets its
    FALLBACK_MIN_CHARS-long lines marked instead.
    """
    mark = marker(copy_index)
    lines = payload.decode("utf-8").split("\n")
    longest = max((len(line.strip()) for line in lines), default=0)
    threshold = MARK_MIN_CHARS if longest >= MARK_MIN_CHARS else FALLBACK_MIN_CHARS
    marked = [line + mark if len(line.strip()) >= threshold else line for line in lines]
    return "\n".join(marked).encode("utf-8")


def html_to_text(page: str) -> str:
    """Plain prose of an article's HTML: one line per block, tags and entities removed."""
    blocks = _BLOCK_END.sub("\n", page)
    lines = (" ".join(html.unescape(_TAG.sub(" ", line)).split()) for line in blocks.split("\n"))
    return "\n".join(line for line in lines if line)


def html_sources(shared: Path = SHARED) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every shared HTML page and the seeds."""
    corpora = shared / "corpora" / "html"
    sources = [
        (f"readability-{page.parent.name}.html", page.read_bytes())
        for page in sorted((corpora / "readability").glob("*/source.html"))
    ]
    sources += [
        (f"trafilatura-{page.name}", page.read_bytes())
        for page in sorted((corpora / "trafilatura-cache").glob("*.html"))
    ]
    return sources + seed_sources(shared)


def seed_sources(shared: Path = SHARED) -> list[tuple[str, bytes]]:
    return [
        (f"seed-{seed.name}", seed.read_bytes())
        for seed in sorted((shared / "seeds").glob("*.txt"))
    ]


def text_sources(shared: Path = SHARED) -> list[tuple[str, bytes]]:
    """(file name, bytes) of text documents: the seeds (clean, wire, scraped), the CNN/DM token
    lists as lowercased wire text, and the readability articles as plain multilingual prose."""
    sources = seed_sources(shared)
    cnndm = shared / "corpora" / "tokenized" / "cnndm_bertsum" / "cnndm_sample.train.0.json"
    for index, record in enumerate(json.loads(cnndm.read_text(encoding="utf-8"))):
        text = "\n".join(" ".join(sentence) for sentence in record["src"])
        sources.append((f"cnndm-{index}.txt", text.encode("utf-8")))
    for expected in sorted((shared / "corpora" / "html" / "readability").glob("*/expected.html")):
        text = html_to_text(expected.read_text(encoding="utf-8"))
        sources.append((f"readability-{expected.parent.name}.txt", text.encode("utf-8")))
    return sources


def copy_plan(sources: list[tuple[str, bytes]], n: int) -> list[tuple[int, str, bytes]]:
    """(copy index, name, original bytes) of N documents: rounds over the shuffled sources."""
    order = list(sources)
    random.Random(_SHUFFLE_SEED).shuffle(order)
    return [(i // len(order), *order[i % len(order)]) for i in range(n)]


def build_corpus(sources: list[tuple[str, bytes]], n: int, directory: Path) -> list[Path]:
    """Write N distinct documents under directory/docs/copy_NNNN/; returns their paths.

    A directory already holding exactly this corpus (same manifest) is reused.
    """
    plan = copy_plan(sources, n)
    manifest = f"# marking {MARKING_VERSION}\n" + "\n".join(
        f"{k}\t{name}\t{len(payload)}" for k, name, payload in plan
    )
    paths = [directory / "docs" / f"copy_{k:04d}" / name for k, name, _ in plan]
    manifest_path = directory / "MANIFEST.tsv"
    if manifest_path.is_file() and manifest_path.read_text() == manifest:
        return paths
    if directory.exists():
        for old in sorted(directory.rglob("*"), reverse=True):
            old.unlink() if old.is_file() else old.rmdir()
    for path, (k, name, payload) in zip(paths, plan, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        marked = mark_html(payload, k) if name.endswith(".html") else mark_text(payload, k)
        path.write_bytes(marked)
    # Written last, outside the input folders: a half-built corpus is never reused.
    manifest_path.write_text(manifest)
    return paths
