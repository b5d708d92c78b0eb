"""Ground truth for ../shared/corpora/html/readability: {site: {"articleBody", "url"}}.

The article text is what Mozilla Readability extracted (`expected.html`), as plain text with
one block element per line: the same shape as the scrapinghub benchmark's `articleBody`.

    python benchmarks/make_readability_ground_truth.py ../shared/corpora/html/readability \
        benchmarks/data/readability_ground_truth.json
"""

from __future__ import annotations

import argparse
import json
import pathlib

import lxml.html

_BLOCKS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "tr",
    "figcaption",
    "section",
    "article",
    "br",
    "dd",
    "dt",
    "td",
    "th",
    "table",
}


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, a line per block element."""
    root = lxml.html.fromstring(html)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def build(corpus: pathlib.Path) -> dict[str, dict[str, str]]:
    truth = {}
    for expected in sorted(corpus.glob("*/expected.html")):
        metadata_path = expected.parent / "expected-metadata.json"
        metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
        truth[expected.parent.name] = {
            "articleBody": html_to_text(expected.read_text(encoding="utf-8")),
            "url": metadata.get("url") or "",
            "lang": metadata.get("lang") or "",
        }
    return truth


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=pathlib.Path)
    parser.add_argument("output", type=pathlib.Path)
    args = parser.parse_args(argv)
    truth = build(args.corpus)
    args.output.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(truth)} pages -> {args.output}")


if __name__ == "__main__":
    main()
