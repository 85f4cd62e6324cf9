"""dltool: train Keras models from composable Hydra configs, one command per technique."""

__version__ = "0.1.0"
