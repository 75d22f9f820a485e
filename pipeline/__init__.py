"""The machinery that runs the study's notebooks and assembles the book: the declared pages, jobs and their
hashes, the papermill runner, the Dask scheduler and the check of a cluster's workers, the command line, the
table of contents, the benchmarks and the replay of recorded job times.

It imports `study`; `study` never imports it.
"""
