"""``import gluoncnn as d2l`` runs the course notes' chapter code written for d2lzh.

``NOTES_GOOGLENET`` is the code of course notes 001 (the Gluon GoogLeNet chapter,
``../shared/course-notes/001_*.txt``; indentation restored, comments translated), which imports
``d2lzh as d2l`` and uses ``d2l.try_gpu``, ``d2l.load_data_fashion_mnist`` and ``d2l.train_ch5``.
The test runs it with ``import gluoncnn as d2l`` instead, in a fresh process (MXNet's layer
names, which the notes print, are counted per process), shortened only in its data: the shipped
Fashion-MNIST sample, 256 training images resized to 32x32 and one epoch, instead of all of
Fashion-MNIST at 96x96 for five.
"""
import json
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOTES_GOOGLENET = '''
import d2lzh as d2l
from mxnet import gluon, init, nd
from mxnet.gluon import nn

# four parallel paths, concatenated along the channel axis
class Inception(nn.Block):
    def __init__(self, c1, c2, c3, c4, **kwargs):
        super(Inception, self).__init__(**kwargs)
        # path 1
        self.p1 = nn.Conv2D(c1, kernel_size=1, activation='relu')
        # path 2
        self.p2_1 = nn.Conv2D(c2[0], kernel_size=1, activation='relu')
        self.p2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation='relu')
        # path 3
        self.p3_1 = nn.Conv2D(c3[0], kernel_size=1, activation='relu')
        self.p3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation='relu')
        # path 4
        self.p4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
        self.p4_2 = nn.Conv2D(c4, kernel_size=1, activation='relu')

    def forward(self, x):
        p1 = self.p1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return nd.concat(p1, p2, p3, p4, dim=1)  # concatenated along the channels

# the five stages
B1 = nn.Sequential()
B1.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3, activation='relu'),
       nn.MaxPool2D(pool_size=3, strides=2, padding=1))
B2 = nn.Sequential()
B2.add(nn.Conv2D(64, kernel_size=1, activation='relu'),
       nn.Conv2D(192, kernel_size=3, padding=1, activation='relu'),
       nn.MaxPool2D(pool_size=3, strides=2, padding=1))
B3 = nn.Sequential()
B3.add(Inception(64, (96, 128), (16, 32), 32),
       Inception(128, (128, 192), (32, 96), 64),  # 128+192+96+64=480 output channels
       nn.MaxPool2D(pool_size=3, strides=2, padding=1))
B4 = nn.Sequential()
B4.add(Inception(192, (96, 208), (16, 48), 64),
       Inception(160, (112, 224), (24, 64), 64),
       Inception(128, (128, 256), (24, 64), 64),
       Inception(112, (144, 288), (32, 64), 64),
       Inception(256, (160, 320), (32, 128), 128),
       nn.MaxPool2D(pool_size=3, strides=2, padding=1))
B5 = nn.Sequential()
B5.add(Inception(256, (160, 320), (32, 128), (128)),
       Inception(384, (192, 384), (48, 128), 128),
       nn.GlobalAvgPool2D())
net = nn.Sequential()
net.add(B1, B2, B3, B4, B5, nn.Dense(10))
# each stage's output shape
X = nd.random.uniform(shape=(1, 1, 96, 96))
net.initialize()
for layer in net:
    X = layer(X)
    print(layer.name, 'output shape:', X.shape)

lr, num_epochs, batch_size, ctx = 0.1, 5, 128, d2l.try_gpu()
net.initialize(force_reinit=True, ctx=ctx, init=init.Xavier())
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size, resize=96)
d2l.train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs)
'''

#: What the notes print for the stages at 1x1x96x96.
NOTES_SHAPES = """\
sequential0 output shape: (1, 64, 24, 24)
sequential1 output shape: (1, 192, 12, 12)
sequential2 output shape: (1, 480, 6, 6)
sequential3 output shape: (1, 832, 3, 3)
sequential4 output shape: (1, 1024, 1, 1)
dense0 output shape: (1, 10)
"""

#: (the notes' text, what the test runs instead): the import, and shorter data.
SHORTER = [
    ("import d2lzh as d2l", "import gluoncnn as d2l"),
    ("lr, num_epochs, batch_size, ctx = 0.1, 5, 128",
     "lr, num_epochs, batch_size, ctx = 0.1, 1, 128"),
    ("load_data_fashion_mnist(batch_size, resize=96)",
     "load_data_fashion_mnist(batch_size, resize=32, sample=True, train_size=256, "
     "test_size=128)"),
]

#: d2lzh's and d2l's names that the chapters' code calls, all at gluoncnn's top level
#: (``train`` is the gluoncnn.train package, callable as d2lzh's ``train()``).
D2LZH_NAMES = ("try_gpu", "try_all_gpus", "load_data_fashion_mnist", "train_ch5",
               "evaluate_accuracy", "train", "train_ch6", "evaluate_accuracy_gpu",
               "show_images", "get_fashion_mnist_labels", "use_svg_display", "set_figsize",
               "Animator", "Timer", "Accumulator", "Residual", "resnet18")


def run_python(code):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [REPO, os.environ.get("PYTHONPATH")])), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def test_every_shortening_matches_the_notes_code():
    for notes_text, _ in SHORTER:
        assert NOTES_GOOGLENET.count(notes_text) == 1, notes_text


@pytest.mark.slow
def test_the_notes_googlenet_chapter_runs_with_gluoncnn_as_d2l():
    code = NOTES_GOOGLENET
    for notes_text, shorter in SHORTER:
        code = code.replace(notes_text, shorter)
    code += ("print('d2l.evaluate_accuracy', d2l.evaluate_accuracy(test_iter, net, ctx))\n"
             "print('d2l.__name__', d2l.__name__)\n")
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith(NOTES_SHAPES), out
    assert re.search(r"^training on [a-z]+\(0\)$", out, flags=re.M), out
    epoch = re.search(r"^epoch 1, loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+), "
                      r"time [\d.]+ sec$", out, flags=re.M)
    assert epoch, out
    test_acc = float(epoch.group(3))
    accuracy = re.search(r"^d2l.evaluate_accuracy ([\d.]+)$", out, flags=re.M)
    # train_ch5 prints evaluate_accuracy's number, rounded to 3 places
    assert accuracy and round(float(accuracy.group(1)), 3) == test_acc, out
    assert "d2l.__name__ gluoncnn" in out


def test_d2lzh_names_are_at_gluoncnn_top_level():
    done = run_python("import json, gluoncnn\n"
                      f"print(json.dumps({{n: callable(getattr(gluoncnn, n)) "
                      f"for n in {D2LZH_NAMES!r}}}))")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == {name: True for name in D2LZH_NAMES}
