"""Tests of the template itself: generation, the hooks, and the generated project's checks and suite."""
