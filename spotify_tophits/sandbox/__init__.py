"""The emulator of Spotify and the chart sources, used by the tests and by `tophits demo`."""
