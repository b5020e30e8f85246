"""Helpers every area may use: warnings once per call, atomic file writes,
the comparison's reuse of shared work, confidence bins, BLAS on one thread.
They import nothing of skcal.
"""
