"""The daemon: corpus rescans, due targets → checks → results, retention.

`service.Daemon` wires the parts; `scan` keeps the database in step with the
corpus files; `writer` commits results in batches; `rollup` is the pure
arithmetic of daily rollups; `maintenance` applies retention.
"""
