"""gluoncnn: the classic convolutional networks in MXNet Gluon, for a runnable course."""
__version__ = "0.1.0"
