"""The fast-read toolkit: declare a cached view and its rows; this package keeps them fast and correct."""
