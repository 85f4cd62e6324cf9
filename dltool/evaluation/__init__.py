"""What the commands after training share: loading a received run safely, scoring, reports, ensembles.

One module per concern: :mod:`~dltool.evaluation.loading` (targets, overrides, safe loading),
:mod:`~dltool.evaluation.metrics`, :mod:`~dltool.evaluation.reports` and :mod:`~dltool.evaluation.ensemble`;
the commands that use them (``evaluate``, ``predict``, ``export``, ``runs``) are in :mod:`dltool.commands`.
None imports TensorFlow at module level except through the functions that need it.
"""
