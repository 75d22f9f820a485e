"""The science of the study, on MNIST and Fashion-MNIST: parameter files, data, models, training, metrics,
statistics, evidence on the seed report's claims, plots, tables and result records.

It knows nothing of how its notebooks are run or assembled into the book: that is `pipeline`'s job.
"""
