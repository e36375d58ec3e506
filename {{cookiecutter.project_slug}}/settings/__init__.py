"""Settings for each environment: base, local, test and production."""
