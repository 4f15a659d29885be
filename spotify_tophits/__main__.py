"""Make `python -m spotify_tophits` behave like the `tophits` console script."""

from spotify_tophits.cli import main

main()
