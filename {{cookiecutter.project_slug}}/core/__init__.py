"""Project plumbing and the reusable performance toolkit; never imports the ``api`` app."""
