"""Browser tests: the web client driven in Debian's Chromium through Playwright."""
