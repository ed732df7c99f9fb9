"""DataLoader, the datasets (parsed from small files in the official formats), checkpoints."""

import gzip
import hashlib
import os
import tarfile
import zlib

import numpy as np
import pytest

import tinygrad_ce as tg
from tinygrad_ce.datasets import download, mnist

# ---- DataLoader -------------------------------------------------------------------------------

def test_dataloader_batches_shuffle_and_drop_last():
    x, t = np.arange(10.0)[:, None], np.arange(10)
    batches = list(tg.data.DataLoader(x, t, batch_size=4, shuffle=False))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert len(tg.data.DataLoader(x, t, batch_size=4, drop_last=True)) == 2
    seen = np.concatenate([b[1] for b in tg.data.DataLoader(x, t, batch_size=3, rng=0)])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    again = np.concatenate([b[1] for b in tg.data.DataLoader(x, t, batch_size=3, rng=0)])
    np.testing.assert_array_equal(seen, again)           # same seed, same batches


def test_dataloader_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        tg.data.DataLoader(np.ones(3), batch_size=0)
    with pytest.raises(ValueError, match="different lengths"):
        tg.data.DataLoader(np.ones(3), np.ones(4), batch_size=2)


# ---- shipped and synthetic data ---------------------------------------------------------------

def test_shipped_digits_and_iris():
    (x, t), (xt, tt) = tg.datasets.load_digits()
    assert x.shape == (1438, 64) and xt.shape == (359, 64) and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(t)) == set(range(10))
    (x, t), _ = tg.datasets.load_digits(flatten=False, one_hot_label=True, normalize=False)
    assert x.shape[1:] == (1, 8, 8) and t.shape[1] == 10 and x.max() == 16
    (x, t), (xt, tt) = tg.datasets.load_iris()
    assert x.shape == (120, 4) and xt.shape == (30, 4) and np.bincount(tt).tolist() == [10, 10, 10]


def test_spiral():
    x, t = tg.datasets.spiral(50, 3, seed=1)
    assert x.shape == (150, 2) and np.bincount(t).tolist() == [50, 50, 50]
    np.testing.assert_array_equal(tg.datasets.spiral(50, 3, seed=1)[0], x)


# ---- MNIST and CIFAR-10 from files in the official formats ------------------------------------

def write_idx(path, array, gz):
    magic = {1: 2049, 3: 2051}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_mnist(root, gz=True, n=(6, 3)):
    rng = np.random.default_rng(0)
    for split, count in zip(("train", "t10k"), n):
        suffix = ".gz" if gz else ""
        write_idx(root / f"{split}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (count, 28, 28)), gz)
        write_idx(root / f"{split}-labels-idx1-ubyte{suffix}", rng.integers(0, 10, count), gz)


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_parses_the_official_format(tmp_path, gz):
    make_mnist(tmp_path, gz)
    (x, t), (xt, tt) = tg.datasets.load_mnist(tmp_path)
    assert x.shape == (6, 784) and xt.shape == (3, 784) and t.shape == (6,)
    assert 0 <= x.min() and x.max() <= 1
    (x, _), _ = tg.datasets.load_mnist(tmp_path, flatten=False, normalize=False)
    assert x.shape == (6, 1, 28, 28) and x.max() > 1


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*download=True"):
        tg.datasets.load_mnist(tmp_path)
    make_mnist(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte is truncated or corrupt"):
        tg.datasets.load_mnist(tmp_path)


def test_mnist_download_verifies_checksums_into_the_cache(tmp_path, monkeypatch):
    source = tmp_path / "mirror"
    source.mkdir()
    make_mnist(source)
    sums = {name: hashlib.md5((source / (name + ".gz")).read_bytes()).hexdigest()
            for name in mnist.FILES}
    monkeypatch.setattr(mnist, "MIRROR", source.as_uri() + "/")
    monkeypatch.setattr(mnist, "FILES", sums)
    cache = tmp_path / "cache"
    (x, _), _ = tg.datasets.load_mnist(cache, download=True)
    assert x.shape == (6, 784) and len(list(cache.iterdir())) == 4
    bad = dict(sums, **{"t10k-labels-idx1-ubyte": "0" * 32})
    monkeypatch.setattr(mnist, "FILES", bad)
    os.remove(cache / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(OSError, match="MD5"):
        tg.datasets.load_mnist(cache, download=True)
    assert sorted(p.name for p in cache.iterdir()) == sorted(n + ".gz" for n in sums
                                                            if n != "t10k-labels-idx1-ubyte")


def write_cifar(folder, counts):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name, n in zip(names, counts):
        records = np.concatenate([rng.integers(0, 10, (n, 1)), rng.integers(0, 256, (n, 3072))], 1)
        records.astype(np.uint8).tofile(folder / name)


def test_load_cifar10_parses_the_binary_batches(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-bin", [2, 1, 1, 1, 1, 3])
    (x, t), (xt, tt) = tg.datasets.load_cifar10(tmp_path)
    assert x.shape == (6, 3072) and xt.shape == (3, 3072) and t.max() <= 9
    (x, _), _ = tg.datasets.load_cifar10(tmp_path, flatten=False)
    assert x.shape == (6, 3, 32, 32)


def test_cifar10_errors_and_download(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin.*download=True"):
        tg.datasets.load_cifar10(tmp_path / "none")
    write_cifar(tmp_path / "src" / "cifar-10-batches-bin", [1] * 6)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    from tinygrad_ce.datasets import cifar10
    monkeypatch.setattr(cifar10, "URL", archive.as_uri())
    monkeypatch.setattr(cifar10, "MD5", download.md5(archive))
    (x, _), _ = tg.datasets.load_cifar10(tmp_path / "cache", download=True)
    assert x.shape == (5, 3072)
    (tmp_path / "cache" / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b"\x01" * 100)
    with pytest.raises(ValueError, match="test_batch.bin is truncated or corrupt"):
        tg.datasets.load_cifar10(tmp_path / "cache")


# ---- checkpoints ------------------------------------------------------------------------------

def test_save_and_load_round_trip_without_pickle(tmp_path):
    model = tg.Sequential(tg.Affine(3, 4, rng=0), tg.BatchNorm(4), tg.Affine(4, 2, rng=1))
    model.forward(np.random.default_rng(0).standard_normal((5, 3)))   # move running stats
    path = tmp_path / "model.npz"
    model.save(path)
    other = tg.Sequential(tg.Affine(3, 4, rng=5), tg.BatchNorm(4), tg.Affine(4, 2, rng=6))
    other.load(path)
    for a, b in zip(model.state().values(), other.state().values()):
        np.testing.assert_array_equal(a, b)
    with np.load(path, allow_pickle=False) as f:
        assert "1.running_mean" in f.files and "0.W" in f.files


def test_loading_into_another_architecture_names_the_parameter_and_shapes(tmp_path):
    path = tmp_path / "m.npz"
    tg.Sequential(tg.Affine(3, 4, rng=0)).save(path)
    with pytest.raises(ValueError, match=r"'0.W' has shape \(3, 4\) in the checkpoint but \(3, 5\)"):
        tg.Sequential(tg.Affine(3, 5)).load(path)
    with pytest.raises(ValueError, match="different architecture"):
        tg.Sequential(tg.Affine(3, 4), tg.ReLU(), tg.Affine(4, 1)).load(path)


def test_corrupt_or_missing_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    tg.save({"w": np.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(ValueError, match="broken.npz is not a readable checkpoint"):
        tg.load(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        tg.load(tmp_path / "absent.npz")


# ---- offline, broken and corrupt data ---------------------------------------------------------

def test_missing_files_message_gives_both_spellings_the_urls_and_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        tg.datasets.load_mnist(tmp_path / "mnist")
    message = str(info.value)
    assert "--download" in message and "download=True" in message and "--data-root" in message
    assert mnist.MIRROR + "t10k-labels-idx1-ubyte.gz" in message
    assert f"put them in {tmp_path / 'mnist'} by hand" in message
    assert not (tmp_path / "mnist").exists()
    with pytest.raises(FileNotFoundError, match="cifar-10-binary.tar.gz .*--download"):
        tg.datasets.load_cifar10(tmp_path / "cifar")


def test_a_server_that_never_answers_times_out_naming_the_url(tmp_path, monkeypatch, silent_server):
    import urllib.request
    monkeypatch.setattr(download, "TIMEOUT", 0.3)
    monkeypatch.setattr(mnist, "MIRROR", silent_server)
    waits, urlopen = [], urllib.request.urlopen
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: waits.append(timeout) or urlopen(url, timeout=timeout))
    root = tmp_path / "cache" / "mnist"
    with pytest.raises(OSError, match=f"could not download {silent_server}train-images-idx3-ubyte"
                                      r".gz: no answer within 0.3 s.*by hand"):
        tg.datasets.load_mnist(root, download=True)
    assert waits == [0.3]                           # the bound applies to connect and reads
    assert list(tmp_path.iterdir()) == []           # no empty cache folders left behind


def test_an_unreachable_server_names_the_url_and_leaves_no_folders(tmp_path, monkeypatch):
    import socket
    with socket.socket() as s:                      # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(mnist, "MIRROR", f"http://127.0.0.1:{port}/")
    with pytest.raises(OSError, match=f"could not download http://127.0.0.1:{port}/train-images"):
        tg.datasets.load_mnist(tmp_path / "a" / "b", download=True)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_gzip_is_a_clear_error_naming_the_file(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.compress(gzip.decompress(path.read_bytes())))    # no name in the header
    raw[10:14] = b"\xff" * 4                        # damage the deflate stream: zlib.error
    path.write_bytes(bytes(raw))
    with pytest.raises(zlib.error):
        gzip.decompress(bytes(raw))
    with pytest.raises(ValueError, match="cannot read .*train-labels-idx1-ubyte.gz .*corrupt"):
        tg.datasets.load_mnist(tmp_path)
    path.write_bytes(bytes(raw[:15]))               # cut short: EOFError
    with pytest.raises(ValueError, match="cannot read .*train-labels-idx1-ubyte.gz"):
        tg.datasets.load_mnist(tmp_path)


@pytest.mark.parametrize("bad", [10, 200, 255])
def test_mnist_labels_outside_0_to_9_are_refused(tmp_path, bad):
    make_mnist(tmp_path, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([1, bad, 3]), gz=False)
    with pytest.raises(ValueError, match=f"t10k labels hold {bad}, outside 0..9"):
        tg.datasets.load_mnist(tmp_path)


def test_an_idx_header_whose_size_overflows_is_called_corrupt(tmp_path):
    make_mnist(tmp_path, gz=False)
    header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2**31, 2**31, 4))
    (tmp_path / "train-images-idx3-ubyte").write_bytes(header)    # 2**64 pixels, 0 bytes of data
    with pytest.raises(ValueError, match="train-images-idx3-ubyte is truncated or corrupt"):
        tg.datasets.load_mnist(tmp_path)
