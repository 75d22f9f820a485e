"""The machinery that runs the study's notebooks and assembles the book: the declared pages, jobs and their
hashes, the papermill runner, the Dask scheduler, the command line, the table of contents and the benchmarks.

It imports `study`; `study` never imports it.
"""
