"""mnistgen: train, sample, score and compare generative models of MNIST-family images."""

__version__ = "0.1.0"

from mnistgen.errors import MnistgenError

__all__ = ["MnistgenError", "__version__"]
