"""Torture run: a generated corpus of bad inputs through `python -m pipeline`.

    python benchmarks/torture.py                 # the sizes of issue 10 (a 200 MB file, ...)
    python benchmarks/torture.py --scale 0.1     # a tenth of them, a few minutes
    python benchmarks/torture.py --keep DIR      # keep the corpus and output in DIR

Generates every bad input issue 10 lists and more (gzip bombs, a huge file, a symlink loop,
thousands of tiny files, broken and endless JSON lines, truncated gzip and WARC, PDF, Office
files, images, archives, UTF-16/32 without BOM, NUL bytes, a 9 MB one-word text, a 5 MB line,
deep HTML, mojibake, a date only in a namespace URL, Chinese after pinyin), runs the pipeline
on it in a subprocess, and prints: inputs tried, rows, dead letters by reason, peak memory of
the run, the longest time one document took (each single document timed again in this
process through read, extract, clean and language detection), crashes and hangs (both must
be 0).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pathlib
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from transforms.clean import clean_article
from transforms.deadline import DEFAULT_MAX_SECONDS_PER_DOCUMENT, run_with_deadline
from transforms.extract import extract_article
from transforms.read import iter_file_documents
from transforms.records import PipelineError, RawDocument
from transforms.text.language import detect_language

STORY = (
    "The harbour council met on Tuesday evening to discuss the new bridge over the river. "
    "Residents said the ferry had served the island well for forty years, and that a bridge "
    "would change the town. The vote is expected next month, the mayor said.\n"
)
MIB = 1024 * 1024


def _story(number: int) -> str:
    return f"Story {number}.\n" + STORY.replace("forty", str(number)) * 3


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>" * 50)
    return buffer.getvalue()


def _tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = STORY.encode()
        info = tarfile.TarInfo("story.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _gzip_of_repeats(path: pathlib.Path, block: bytes, total_bytes: int) -> None:
    with gzip.open(path, "wb", compresslevel=6) as out:
        for _ in range(max(1, total_bytes // len(block))):
            out.write(block)


def _warc(records: int) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for number in range(records):
        html = f"<html><body><article><p>{_story(number)}</p></article></body></html>".encode()
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        record = writer.create_warc_record(
            f"https://news.example/{number}",
            "response",
            payload=io.BytesIO(html),
            http_headers=headers,
        )
        writer.write_record(record)
    return buffer.getvalue()


def make_corpus(root: pathlib.Path, scale: float) -> dict[str, str]:
    """Writes the corpus under root; returns {case: path relative to root}."""
    rng = random.Random(0)
    cases: dict[str, str] = {}

    def write(name: str, content: bytes, case: str | None = None) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        cases[case or name] = name

    for number in range(5):
        write(f"good/story{number}.txt", _story(number).encode(), "good text")
    write("good/page.html", f"<html><body><article>{STORY * 3}</article></body></html>".encode())

    # Bombs and sizes.
    _gzip_of_repeats(root / "bomb.txt.gz", b"a" * MIB, int(1024 * MIB * scale))
    cases["gzip bomb (text)"] = "bomb.txt.gz"
    lines = max(10_000, int(8_700_000 * scale))
    block = "".join(
        json.dumps({"id": number, "text": f"line {number}"}) + "\n" for number in range(10_000)
    ).encode()
    _gzip_of_repeats(root / "lines.jsonl.gz", block, lines * (len(block) // 10_000))
    cases[f"{lines:,} JSON lines (.jsonl.gz)"] = "lines.jsonl.gz"
    with open(root / "huge.txt", "wb") as out:
        for _ in range(max(1, int(200 * scale))):
            out.write(STORY.encode() * (MIB // len(STORY)))
    cases["huge file (200 MB x scale)"] = "huge.txt"
    write("one_word.txt", b"ab" * min(int(4.5 * MIB * max(scale, 0.1)), 9 * MIB // 2 - 1))
    write("one_line.txt", (STORY.replace("\n", " ") * int(20_000 * max(scale, 0.1))).encode())
    write("mojibake.txt", ("CafÃ© dÃ©jÃ  vu â€™ " * int(50_000 * max(scale, 0.1))).encode())
    deep = "<div>" * 20_000 + STORY + "</div>" * 20_000
    write("deep.html", f"<html><body>{deep}</body></html>".encode())
    paragraphs = min(int(12_000 * max(scale, 0.05)), 12_000)  # 9 MB: under --max_document_bytes
    many_p = "".join(f"<p>{_story(n)}</p>" for n in range(paragraphs))
    write("many_paragraphs.html", f"<html><body><article>{many_p}</article></body></html>".encode())

    # Broken containers.
    broken = []
    for number in range(int(2_000 * max(scale, 0.1))):
        broken.append(json.dumps({"text": _story(number)}) if number % 10 else "{not json")
    write("broken.jsonl", "\n".join(broken).encode())
    write("array.json", json.dumps([{"text": _story(n)} for n in range(200)]).encode())
    compressed = gzip.compress("".join(_story(n) for n in range(50)).encode())
    write("truncated.html.gz", compressed[: len(compressed) // 2])
    warc = _warc(20)
    write("truncated.warc.gz", warc[: len(warc) * 2 // 3])
    write("bad_json_line.jsonl", b'{"text": "' + b"x" * 100 + b"\n")

    # Formats by content.
    write("report.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + STORY.encode())
    write("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(rng.randbytes(2000)))
    write("logo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randbytes(2000)))
    write("letter.docx", _zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml"]))
    write("sheet.xlsx", _zip(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"]))
    write("old.doc", bytes.fromhex("D0CF11E0A1B11AE1") + bytes(2000))
    write("bundle.zip", _zip(["a.txt", "b.txt"]))
    write("bundle.tar", _tar())
    write("bundle.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(rng.randbytes(200)))
    write("bundle.rar", b"Rar!\x1a\x07\x01\x00" + bytes(rng.randbytes(200)))
    write("random.bin", rng.randbytes(10_000))
    write("invalid_utf8.txt", STORY.encode() + b"\xff\xfe\xfa" * 10 + STORY.encode())
    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le"):
        write(f"wide/{encoding}.txt", (STORY * 3).encode(encoding))
    html = f"<!DOCTYPE html><html><head><title>Bridge</title></head><body><p>{STORY * 3}</p>"
    write("wide/utf-16-le.html", (html + "</body></html>").encode("utf-16-le"))
    text = (STORY * 30).encode()
    write("nul/early.txt", text[:10] + b"\x00" + text[10:])
    write("nul/late.txt", text[:9000] + b"\x00" + text[9000:])

    # Dates and languages.
    write(
        "rdf_date.html",
        (
            '<html xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"><head><title>Bridge</title>'
            f"</head><body><article><p>{STORY * 3}</p></article></body></html>"
        ).encode(),
    )
    write(
        "pinyin.txt",
        (
            "Zhongguo renmin yinhang (Zhōngguó rénmín yínháng) jintian xuanbu. "
            + "中国人民银行今天宣布，将下调存款准备金率零点五个百分点，以支持实体经济发展。" * 10
        ).encode(),
    )

    # File system oddities.
    write("empty.txt", b"")
    write("blank.txt", b"   \n\n  ")
    (root / "loop").mkdir()
    os.symlink(root / "loop", root / "loop" / "again")
    os.symlink(root / "missing-target", root / "dangling.txt")
    tiny = root / "tiny"
    tiny.mkdir()
    count = int(20_000 * scale)
    for number in range(count):
        (tiny / f"{number:06d}.txt").write_text(_story(number) if number % 2 else "x")
    cases[f"{count:,} tiny files"] = "tiny/"
    return cases


def time_documents(root: pathlib.Path, max_seconds: float) -> tuple[float, str]:
    """(seconds, which) of the slowest single document: read, extract, clean and language
    detection as the pipeline runs them, each step under its budget. Files of records:
    their first 50."""
    slowest = (0.0, "")
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.parent.name == "tiny":
            continue
        try:
            documents = iter_file_documents(str(path), 10 * MIB)
            for index, item in enumerate(documents):
                if index >= 50:
                    break
                if not isinstance(item, RawDocument):
                    continue
                started = time.perf_counter()
                try:
                    article = run_with_deadline(max_seconds, extract_article, item)
                    article = run_with_deadline(max_seconds, clean_article, article)
                    detect_language(article.text)
                except PipelineError:
                    pass
                took = time.perf_counter() - started
                if took > slowest[0]:
                    slowest = (took, item.source_uri.replace(str(root) + "/", ""))
        except Exception:  # noqa: BLE001 - the read step turns these into dead letters
            continue
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--keep", default=None, help="folder for the corpus and the output")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a hang")
    parser.add_argument("--max_seconds_per_document", type=float, default=None)
    args = parser.parse_args()
    workdir = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="torture-"))
    corpus, output = workdir / "corpus", workdir / "out"
    corpus.mkdir(parents=True, exist_ok=False)
    started = time.perf_counter()
    cases = make_corpus(corpus, args.scale)
    files = sum(1 for path in corpus.rglob("*") if path.is_file())
    made_in = time.perf_counter() - started
    print(f"corpus: {len(cases)} cases, {files:,} files, made in {made_in:.0f} s")

    record_limit = max(1_000, int(100_000 * args.scale))
    command = [
        sys.executable, "-m", "pipeline", "--input", str(corpus), "--output", str(output),
        "--max_records_per_file", str(record_limit),
    ]  # fmt: skip
    if args.max_seconds_per_document:
        command += ["--max_seconds_per_document", str(args.max_seconds_per_document)]
    started = time.perf_counter()
    hangs = crashes = 0
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        crashes = int(completed.returncode != 0)
        if crashes:
            print(completed.stderr[-3000:])
    except subprocess.TimeoutExpired:
        hangs = 1
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    summary_path = output / "_run_summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    unexpected = {
        reason: count
        for reason, count in summary.get("dead_letters_by_reason", {}).items()
        if reason.split(".", 1)[-1][:1].isupper()  # named after an exception class
    }
    budget = args.max_seconds_per_document or DEFAULT_MAX_SECONDS_PER_DOCUMENT
    slowest_seconds, slowest_document = time_documents(corpus, budget)

    print(f"pipeline: {' '.join(command[1:])}")
    print(f"run: {seconds:.0f} s, peak memory (largest process) {peak_mib:,.0f} MiB")
    print(f"inputs tried: {summary.get('inputs', 0):,}")
    print(f"rows: {summary.get('rows', 0):,}, duplicates: {summary.get('duplicates', 0):,}")
    print(f"dead letters: {summary.get('dead_letters', 0):,}, balanced: {summary.get('balanced')}")
    for reason, count in sorted(summary.get("dead_letters_by_reason", {}).items()):
        print(f"  {reason:40} {count:>9,}")
    fixes = summary.get("fixes", {})
    for fix in ("nul_bytes_removed", "transcoded_from"):  # UTF-16/32 without BOM
        print(f"  fix {fix:36} {fixes.get(fix, 0):>9,}")
    print(f"longest document: {slowest_seconds:.2f} s ({slowest_document})")
    print(f"unexpected exceptions: {sum(unexpected.values())} {unexpected or ''}")
    print(f"crashes: {crashes}, hangs: {hangs}")
    print(f"corpus and output: {workdir}")
    sys.exit(1 if crashes or hangs or not summary.get("balanced") else 0)


if __name__ == "__main__":
    main()
