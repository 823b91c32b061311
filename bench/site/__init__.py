"""`bench site`: the leaderboard as a static website (another renderer of the table model).

The tables, intervals, markers, tie groups and readings come from `bench.report` exactly as
`bench leaderboard` and `bench compare` compute them; this package only lays them out as
HTML pages (jinja2 templates), attaches each number to the store cells behind it and writes
the figures of `bench.report.plots`. Every script and style is copied into the output folder,
so the site opens from file:// and from any static host with no network.
"""
