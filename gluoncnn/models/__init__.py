"""The classic CNNs as Gluon HybridBlocks, one module per family, all reachable by name.

>>> from gluoncnn.models import get_model, list_models
>>> net = get_model('vgg11', classes=10, in_channels=1, small_input=True)
"""
from .registry import get_model, list_models, model_options, register_model
from .common import Classifier, InputShapeError
from . import lenet, alexnet, vgg, nin, googlenet, resnet, fractalnet, densenet, squeezenet
from .lenet import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .nin import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .fractalnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
