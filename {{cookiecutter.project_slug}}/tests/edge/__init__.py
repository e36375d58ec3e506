"""Tests of the edge: Varnish with deploy/varnish/default.vcl in front of a stub backend, both really running."""
