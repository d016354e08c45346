"""PyTorch reference for `npm run bench`: ms per Adam training step of the same MLP and CNN.

Prints one JSON line: {"torch": version, "threads": n, "mlp": [ms, ...], "cnn": [ms, ...]}.
Run by bench/kernels.ts with the system python3 when `import torch` works; never by the tests.
"""
import json
import sys
import time

import torch
from torch import nn

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 30
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def mlp():
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10)
    )


def cnn():
    # The same layers as the TensorFlow.js CNN (valid padding, as tf.layers' default).
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 10),
    )


def time_steps(model, batch):
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(STEPS):
            step()
        runs.append((time.perf_counter() - start) * 1000 / STEPS)
    return runs


print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "mlp": time_steps(mlp(), 128),
    "cnn": time_steps(cnn(), 64),
}))
