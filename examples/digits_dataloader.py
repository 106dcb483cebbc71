"""Train the digits MLP through a DataLoader with 2 worker processes and augmentation.

The 8x8 scikit-learn digits are served by a ``Dataset`` whose ``__getitem__``
augments each training image (a random shift by up to one pixel, through
``RandomCrop`` with padding) and normalises it; two worker processes prepare
the batches while the main process trains.  Needs the ``[examples]`` extra:

    pip install scikit-learn
    python examples/digits_dataloader.py

Swap ``neurarust as nr`` for ``torch`` (and ``neurarust.utils.data`` for
``torch.utils.data``, transforms for torchvision's) and the script runs the same.
"""
import time

import numpy as np
from sklearn.datasets import load_digits

import neurarust as nr
import neurarust.nn as nn
import neurarust.optim as optim
from neurarust.utils.data import DataLoader, Dataset, Subset, random_split
from neurarust.utils.data import transforms as T


class Digits(Dataset):
    """Images as float32 CHW arrays in [0, 1] (sklearn's pixels go from 0 to 16)."""

    def __init__(self, transform=None):
        data = load_digits()
        self.images = (data.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
        self.labels = data.target.astype(np.int64)
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = self.images[i]
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])


def main():
    nr.manual_seed(0)
    normalize = T.Normalize([0.3], [0.4])
    train_tf = T.Compose([T.RandomCrop(8, padding=1), normalize])
    full = Digits()
    train_idx, test_idx = random_split(range(len(full)), [0.8, 0.2], generator=nr.Generator().manual_seed(0))
    train_ds, test_ds = Digits(train_tf), Digits(normalize)
    train_loader = DataLoader(Subset(train_ds, train_idx.indices), batch_size=64, shuffle=True, num_workers=2,
                              persistent_workers=True, generator=nr.Generator().manual_seed(1))
    test_loader = DataLoader(Subset(test_ds, test_idx.indices), batch_size=256)

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                          nn.Linear(64, 10))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(15):
        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            count += len(y)
        if epoch % 3 == 0 or epoch == 14:
            print(f"epoch {epoch:2d}  train loss {total / count:.4f}")
    model.eval()
    correct = n = 0
    with nr.no_grad():
        for x, y in test_loader:
            correct += int((model(x).argmax(dim=1) == y).sum().item())
            n += len(y)
    print(f"test accuracy {correct / n:.3f} on {n} images ({time.perf_counter() - start:.1f} s, 2 workers)")


if __name__ == "__main__":
    main()
