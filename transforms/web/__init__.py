"""Pure web pieces: HTTP client, address guard, robots.txt, feed lists and feed parsing."""
