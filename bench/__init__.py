"""Benchmarks of Confianza: ``python -m bench`` (``make bench``) runs the whole set.

Each benchmark is a module here with a ``main()`` of its own; the shared parts (broker and
provisioning, the pass-through relay, open-loop load, latency histograms, result files) live in
``bench.lib``. Results are JSON files in ``bench/results/``; ``bench.report`` turns a run's
files into a markdown table and PNG plots. See bench/README.md.
"""
