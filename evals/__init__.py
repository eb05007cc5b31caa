"""The evaluation harness: named protocols on real data, metrics named ``name@k``, reports.

Computing is separate from reporting: protocols produce per-case ranks, metrics turn
ranks into numbers, writers turn numbers into files.
"""
