"""`make bench`: the benchmark suite (bench/run.py) and its baseline view (only with HANDSHAKE_BENCH_VIEWS)."""
