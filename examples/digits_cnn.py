"""Train a small CNN on scikit-learn's 8x8 digits (PyTorch code with the import changed).

    pip install ".[examples]" && python examples/digits_cnn.py
"""
import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import neurarust as nr
import neurarust.nn as nn


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),                   # 32 x 4 x 4
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()

    nr.manual_seed(0)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = (nr.from_numpy(a).to(args.device) for a in
                                        train_test_split(x, y, test_size=0.2, random_state=0))

    model = make_model().to(args.device)
    optimizer = nr.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = nr.randperm(x_train.shape[0], device=args.device)
        for i in range(0, x_train.shape[0], 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
    elapsed = time.perf_counter() - start

    model.eval()
    with nr.no_grad():
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"trained {args.epochs} epochs in {elapsed:.2f} s; test accuracy {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
