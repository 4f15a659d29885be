"""Chart sources: each turns a public chart into a validated `Chart`, or raises SourceError.

A source never decides what goes into a playlist; it only reports what a chart said on a day.
`base` holds what they share, `registry` parses and builds them from `config.toml`, and each
other module is one source.
"""
