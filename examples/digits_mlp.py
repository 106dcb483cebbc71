"""Train a 64-128-64-10 MLP on scikit-learn's 8x8 digits, then save and reload it.

The script is a PyTorch training loop with the import changed: swap
``neurarust as nr`` for ``torch`` and it runs the same.  Needs the
``[examples]`` extra (scikit-learn; tqdm for a progress bar if installed):

    pip install ".[examples]" && python examples/digits_mlp.py

``--device cuda`` trains on a GPU: the only change is moving the model and
the data with ``.to(device)``.
"""
import argparse
import os
import tempfile
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import neurarust as nr
import neurarust.nn as nn

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is optional
    tqdm = None


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def load_data(device="cpu"):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    return tuple(nr.from_numpy(a).to(device) for a in (x_train, y_train, x_test, y_test))


@nr.no_grad()
def accuracy(model, x, y) -> float:
    model.eval()
    predictions = model(x).argmax(dim=1)
    model.train()
    return (predictions == y).float().mean().item()


def train(model, x, y, epochs: int, batch_size: int = 64) -> None:
    optimizer = nr.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    epoch_range = range(epochs)
    if tqdm is not None:
        epoch_range = tqdm(epoch_range, desc="epochs", unit="epoch")
    for _ in epoch_range:
        order = nr.randperm(n, device=x.device)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        if tqdm is not None:
            epoch_range.set_postfix(loss=f"{loss.item():.4f}")


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    nr.manual_seed(0)
    x_train, y_train, x_test, y_test = load_data(args.device)
    model = make_model().to(args.device)
    start = time.perf_counter()
    train(model, x_train, y_train, args.epochs)
    elapsed = time.perf_counter() - start
    acc = accuracy(model, x_test, y_test)
    print(f"trained {args.epochs} epochs in {elapsed:.2f} s; test accuracy {acc:.4f}")

    # Save, reload into a fresh model, and check that it predicts the same.
    path = os.path.join(tempfile.mkdtemp(), "digits_mlp.safetensors")
    nr.save(model.state_dict(), path)
    reloaded = make_model().to(args.device)
    reloaded.load_state_dict(nr.load(path, map_location=args.device))
    with nr.no_grad():
        same = bool((reloaded.eval()(x_test).argmax(1) == model.eval()(x_test).argmax(1)).all())
    print(f"saved to {path}; reloaded model predicts the same: {same}")
    if not same:
        raise SystemExit("reloaded model disagrees with the trained one")
    return acc


if __name__ == "__main__":
    main()
