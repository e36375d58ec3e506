"""Tests that drive the OpenAPI docs pages in headless Chromium against a live server."""
