"""Everything after training: evaluate (and ensemble) checkpoints, predict, export, list runs.

One module per concern: :mod:`~dltool.evaluation.loading` (targets, overrides, safe loading),
:mod:`~dltool.evaluation.metrics`, :mod:`~dltool.evaluation.reports`, :mod:`~dltool.evaluation.ensemble`,
:mod:`~dltool.evaluation.evaluate`, :mod:`~dltool.evaluation.predict`, :mod:`~dltool.evaluation.export`
and :mod:`~dltool.evaluation.runs`. None imports TensorFlow at module level except through the
functions that need it.
"""
