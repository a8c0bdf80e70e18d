"""The classic CNNs as Gluon HybridBlocks, one module per family, all reachable by name.

>>> from gluoncnn.models import get_model, list_models, model_info
>>> net = get_model('vgg11', classes=10, in_channels=1, small_input=True)
>>> model_info('resnet18').params
11689512
"""
from .. import runtime

runtime.import_mxnet()  # before this package's modules import mxnet: one clear error without it

from .registry import (ModelInfo, UnknownOptionError, families,  # noqa: F401
                       get_model, list_models, model_info, model_options, model_table,
                       register_model)
from .common import Classifier, InputShapeError  # noqa: F401
from .pretrained import load_pretrained  # noqa: F401
from . import (lenet, alexnet, vgg, nin, googlenet, resnet, resnet_variants,  # noqa: F401
               keras_resnet, fractalnet, densenet, squeezenet)
from .lenet import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .nin import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .resnet_variants import *  # noqa: F401,F403
from .keras_resnet import *  # noqa: F401,F403
from .fractalnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
