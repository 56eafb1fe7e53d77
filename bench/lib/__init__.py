"""What the benchmarks share: a provisioned local broker, worker processes, the pass-through
relay, the open-loop load generator, the collector of outputs, latency histograms, result files.
"""
