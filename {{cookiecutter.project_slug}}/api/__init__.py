"""The project's API: models, selectors (reads), services (writes), serializers, views and URLs."""
