"""Pure document parsing: format detection, HTML and plain-text extraction, WARC records."""
