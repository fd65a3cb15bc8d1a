"""Warm start: a per-user helper process that keeps numpy, pandas, scikit-learn and pyarrow imported.

`flm warm start` runs it; `flm predict` then hands its argv, working directory, environment and
stdin/stdout/stderr to it over a Unix socket, and the helper forks a child that runs the very same
`flm predict` code. Nothing here imports anything heavy: the client side is on every `flm` start.
"""
