"""Benchmarks of cf-pages-ops, run as `python -m bench` (or `make bench`), written to docs/benchmarks.md.

Modules, by measure: `coldstart` (cold start and memory of each function), `status` (status page latency and
throughput), `pruning` (pruner throughput, requests and convergence) and `packages` (package sizes). They
share `containers` (code layouts and the python3.13 processes that stand in for Lambda containers, running
`child.py`), `stand_ins` (the local Cloudflare and AWS stand-ins and their data), `loadgen`, `importtime`,
`stats`, `machine` and `report` (the Markdown page).
"""
