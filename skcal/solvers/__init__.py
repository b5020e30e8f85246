"""The solvers the calibration maps use: safeguarded Newton for the temperature,
L-BFGS rounds, projected Newton for the one-vs-rest logistic problems, class
blocks and the preconditioner, and each parametric map's loss. No public names.

Every solver takes checked input and does not check it again: logits as an
array or :class:`~skcal.rows._blocks.Rows` (finite, float32 or float64), ``y``
as column indices (intp), ``sample_weight`` as None or finite non-negative
float64 weights (see :mod:`skcal.calibrators._inputs`).
"""
