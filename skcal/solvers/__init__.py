"""The solvers the calibration maps use: safeguarded Newton for the temperature,
L-BFGS rounds, projected Newton for the one-vs-rest logistic problems, class
blocks and the preconditioner, and each parametric map's loss. No public names.
"""
