"""Feed lists (transforms/web/feed_list.py): text and OPML, duplicates, bad lines, traps."""

from __future__ import annotations

import gzip
import resource
import time

import pytest

from transforms.web.feed_list import (
    FeedListError,
    FeedSource,
    canonical_feed_url,
    parse_feed_list,
    read_feed_list,
)

TEXT_LIST = b"""\xef\xbb\xbf# News feeds
https://www.theguardian.com/world/rss

  http://feeds.bbci.co.uk/news/rss.xml   # BBC
# https://commented.example/feed
HTTPS://WWW.THEGUARDIAN.COM:443/world/rss#top
https://example.org/feed?format=rss
https://example.org/feed?format=atom
"""

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- exported -->
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="News">
      <outline text="Guardian" title="The Guardian" type="rss"
               xmlUrl="https://www.theguardian.com/world/rss" htmlUrl="https://www.theguardian.com"/>
      <outline text="Tech">
        <outline text="heise" xmlurl="https://www.heise.de/rss/heise-atom.xml"/>
      </outline>
    </outline>
    <outline text="A page, not a feed" htmlUrl="https://example.org/"/>
    <outline text="Guardian again" xmlUrl="https://WWW.theguardian.com/world/rss"/>
  </body>
</opml>
"""


def test_text_list():
    feeds = parse_feed_list(TEXT_LIST)
    assert feeds == [
        FeedSource("https://www.theguardian.com/world/rss"),
        FeedSource("http://feeds.bbci.co.uk/news/rss.xml"),
        FeedSource("https://example.org/feed?format=rss"),
        FeedSource("https://example.org/feed?format=atom"),
    ]


def test_opml_nested_outlines():
    feeds = parse_feed_list(OPML)
    assert feeds == [
        FeedSource("https://www.theguardian.com/world/rss", "The Guardian"),
        FeedSource("https://www.heise.de/rss/heise-atom.xml", "heise"),
    ]


def test_opml_is_told_by_content_not_name(tmp_path):
    path = tmp_path / "feeds.txt"
    path.write_bytes(OPML)
    assert [feed.title for feed in read_feed_list(str(path))] == ["The Guardian", "heise"]
    text_named_opml = tmp_path / "feeds.opml"
    text_named_opml.write_bytes(TEXT_LIST)
    assert len(read_feed_list(str(text_named_opml))) == 4


def test_gzipped_list_is_read(tmp_path):
    path = tmp_path / "feeds.txt.gz"
    path.write_bytes(gzip.compress(TEXT_LIST))
    assert len(read_feed_list(str(path))) == 4


def test_invalid_lines_are_all_reported_with_their_numbers():
    data = b"https://ok.example/feed\nftp://files.example/feed\n\nnot a url\nhttps:///nohost\n"
    with pytest.raises(FeedListError) as caught:
        parse_feed_list(data, source="feeds.txt")
    error = caught.value
    assert [line for line, _ in error.problems] == [2, 4, 5]
    message = str(error)
    assert "\n" not in message
    assert message.startswith("feed list feeds.txt: 3 invalid line(s): line 2: not an http(s)")
    assert "line 4:" in message and "line 5: no host" in message


def test_many_invalid_lines_are_counted_not_all_printed():
    data = b"".join(b"javascript:alert(%d)\n" % i for i in range(12))
    with pytest.raises(FeedListError) as caught:
        parse_feed_list(data)
    assert len(caught.value.problems) == 12
    assert str(caught.value).endswith("; and 7 more")


def test_opml_invalid_feed_reports_its_line():
    data = OPML.replace(b"https://www.heise.de/rss/heise-atom.xml", b"file:///etc/passwd")
    with pytest.raises(FeedListError) as caught:
        parse_feed_list(data, source="feeds.opml")
    assert caught.value.problems == [(10, "not an http(s) URL: 'file:///etc/passwd'")]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "no feed URL"),
        (b"# only comments\n\n", "no feed URL"),
        (b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>", "root is <rss>"),
        (b"<opml><body><outline xmlUrl='https://a.example/'></body>", "not well-formed OPML"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_unusable_lists(data, fragment):
    with pytest.raises(FeedListError, match=fragment):
        parse_feed_list(data)


def test_missing_file_is_a_feed_list_error(tmp_path):
    with pytest.raises(FeedListError, match="cannot be read"):
        read_feed_list(str(tmp_path / "absent.txt"))


def test_opml_billion_laughs_is_refused_promptly():
    declarations = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [{declarations}]><opml version="2.0"><body>'
        '<outline text="&lol9;" xmlUrl="https://a.example/&lol9;"/></body></opml>'
    ).encode()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    with pytest.raises(FeedListError, match="not well-formed OPML"):
        parse_feed_list(data)
    # Generous bounds: an expansion would take gigabytes and minutes.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000
    assert time.process_time() - started < 30


def test_opml_external_entity_is_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("https://leaked.example/feed")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="x" xmlUrl="https://a.example/feed"/>'
        "<outline text='&xxe;' xmlUrl='https://b.example/feed'/></body></opml>"
    ).encode()
    # XML forbids external entities in attributes; libxml2 refuses, and never reads the file.
    with pytest.raises(FeedListError, match="external entity"):
        parse_feed_list(data)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM:443/feed#x", "https://example.com/feed"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/rss?b=2&a=1", "http://example.com:8080/rss?b=2&a=1"),
        ("https://[::1]:8443/f", "https://[::1]:8443/f"),
    ],
)
def test_canonical_feed_url(url, canonical):
    assert canonical_feed_url(url) == canonical
