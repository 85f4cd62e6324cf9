"""Training: devices, optimizers, callbacks, the fit, and the run directory's artifacts."""
