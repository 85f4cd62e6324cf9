"""What the commands after training (:mod:`dltool.commands`) share: loading a received run safely, scoring,
reports, ensembles; none imports TensorFlow at module level except through the functions that need it.
"""
