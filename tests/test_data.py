"""dltool.data: shapes, dtypes and splits of every dataset; the option files; the archive readers (offline)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from dltool.config.schemas import SCHEMAS
from dltool.data import Dataset, DataSpec, Source, archives, data_spec, load_dataset, points, source
from dltool.data.archives import CIFAR100_NAMES, FASHION_FILES, ArchiveConfig
from dltool.data.points import PointsConfig
from dltool.data.synthetic import SyntheticConfig
from dltool.errors import ConfigError

CONF_DATA = Path(__file__).resolve().parents[1] / "conf" / "data"
GENERATED = ["digits", "xor", "blobs", "flower", "spirals", "function", "synthetic"]
ARCHIVES = ["mnist", "fashion_mnist", "cifar10", "cifar100"]


def cfg(name: str, **overrides):
    """The typed config of conf/data/<name>.yaml with ``overrides``, as validation would give it."""
    node = OmegaConf.merge(OmegaConf.structured(SCHEMAS["data"][name]), OmegaConf.load(CONF_DATA / f"{name}.yaml"))
    return OmegaConf.to_object(OmegaConf.merge(node, overrides))


def splits(data: Dataset):
    return [(data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)]


def check_conventions(data: Dataset) -> None:
    """dtypes and shapes of the interface, and the spec matching the arrays."""
    spec = data.spec
    for x, y in splits(data):
        assert x.dtype == np.float32 and x.shape[1:] == spec.input_shape and len(x) == len(y)
        assert np.isfinite(x).all()
        if spec.task == "multiclass":
            assert y.dtype == np.int32 and y.shape == (len(x),)
            assert len(y) == 0 or 0 <= y.min() <= y.max() < spec.num_classes
        else:
            assert y.dtype == np.float32 and y.shape == (len(x), 1) and spec.num_classes == 1
        if spec.task == "binary":
            assert set(np.unique(y)) <= {0.0, 1.0}
    if spec.class_names is not None:
        assert len(spec.class_names) == (spec.num_classes if spec.task == "multiclass" else 2)


# ------------------------------------------------------------------------------------ registry, option files
def test_registry_matches_schemas_and_option_files():
    for name, schema in SCHEMAS["data"].items():
        assert isinstance(source(name), Source), name  # the schema's source import path resolves
        assert schema.__dataclass_fields__["name"].default in (name, dataclasses.MISSING), name
    assert {p.stem for p in CONF_DATA.glob("*.yaml")} == set(SCHEMAS["data"])
    assert set(points.GENERATORS) == {n for n, s in SCHEMAS["data"].items() if s is PointsConfig}
    assert set(archives.ARCHIVES) == {n for n, s in SCHEMAS["data"].items() if s is ArchiveConfig}
    with pytest.raises(ConfigError) as err:
        data_spec(SyntheticConfig(name="synthetc"))
    assert str(err.value) == (
        "data=synthetc: unknown dataset (did you mean synthetic?); choose one of digits, xor, blobs, flower, "
        "spirals, function, synthetic, sequences, timeseries, qa, posts, sentence_pairs, camera_pairs, mnist, "
        "fashion_mnist, cifar10, cifar100, image_folder, csv, text_folder, imdb, arrays"
    )


@pytest.mark.parametrize("name", list(SCHEMAS["data"]))
def test_option_file_is_documented_and_matches_its_schema(name):
    path = CONF_DATA / f"{name}.yaml"
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("# ") and len(" ".join(header)) > 60  # says what the dataset is
    raw = OmegaConf.load(path)
    schema = SCHEMAS["data"][name]
    assert next(iter(raw)) == "name" and raw.name == name
    assert set(raw) == {f.name for f in dataclasses.fields(schema)}  # same keys as the schema, none missing
    typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    defaults = OmegaConf.to_container(OmegaConf.structured(schema(name=name)))
    assert OmegaConf.to_container(OmegaConf.structured(typed)) == defaults  # the schema's defaults


def test_data_spec_is_instant_and_imports_neither_keras_nor_sklearn():
    code = (
        "import sys, time\n"
        "from dltool.config.schemas import SCHEMAS\n"
        "from dltool.data import data_spec\n"
        "options = dict(SCHEMAS['data'])  # its first read imports the data modules: the registry, not the spec\n"
        "start = time.perf_counter()\n"
        "user_files = {'image_folder', 'csv', 'text_folder', 'arrays'}  # their spec reads the user's folder or file\n"
        "specs = [data_spec(schema(name=name)) for name, schema in options.items() if name not in user_files]\n"
        "assert time.perf_counter() - start < 0.1\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print(len(specs))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(SCHEMAS["data"]) - 4)


def test_unknown_dataset_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean cifar10"):
        data_spec(OmegaConf.create({"name": "cifar1O", "seed": None}))


# -------------------------------------------------------------------------------------------- generated sets
@pytest.mark.parametrize("name", GENERATED)
def test_generated_sets_follow_the_conventions_and_their_spec(name):
    config = cfg(name)
    data = load_dataset(config, seed=0)
    check_conventions(data)
    assert data.spec == data_spec(config)
    total = sum(len(x) for x, _ in splits(data))
    n = 1797 if name == "digits" else config.num_samples
    assert total == n
    assert len(data.x_test) == pytest.approx(config.test_split * n, abs=1)
    assert len(data.x_val) == pytest.approx(config.validation_split * (n - len(data.x_test)), abs=1)


def test_digits_are_sklearns_scaled_images():
    data = load_dataset(cfg("digits"), seed=0)
    assert data.spec == DataSpec((8, 8, 1), "multiclass", 10, tuple("0123456789"))
    x = np.concatenate([data.x_train, data.x_val, data.x_test])
    assert x.min() == 0.0 and x.max() == 1.0
    assert set(np.unique(x * 16)) <= set(range(17))  # 17 grey levels, divided by 16
    assert set(np.unique(data.y_train)) == set(range(10))


def test_xor_labels_are_the_quadrants():
    data = load_dataset(cfg("xor", noise=0.0), seed=3)
    x, y = data.x_train, data.y_train[:, 0]
    assert np.abs(x).max() <= 1.0
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.float32))
    assert 0.35 < y.mean() < 0.65


def test_blobs_are_two_unit_clouds_five_apart():
    data = load_dataset(cfg("blobs", num_samples=2000), seed=1)
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])[:, 0]
    assert (y == 1).sum() == (y == 0).sum()
    np.testing.assert_allclose(x[y == 0].mean(axis=0), [0, 0], atol=0.15)
    np.testing.assert_allclose(x[y == 1].mean(axis=0), [5, 5], atol=0.15)
    np.testing.assert_allclose(x[y == 0].std(axis=0), [1, 1], atol=0.1)


def test_flower_has_eight_petals_of_alternating_majority():
    from dltool.data.points import flower

    x, y = flower(400, 0.0, np.random.default_rng(0))
    assert x.shape == (400, 2) and y.sum() == 4 * 43 + 4 * 7
    assert np.linalg.norm(x, axis=1).max() == pytest.approx(7.0, abs=0.01)  # petal tips at 2 x 3.5
    for petal in range(8):
        ones = y[petal * 50 : (petal + 1) * 50].sum()
        assert ones == (43 if petal % 2 == 0 else 7)
    x, y = flower(13, 0.1, np.random.default_rng(0))  # any size: spread over the petals
    assert x.shape == (13, 2) and y.shape == (13,)


def test_spirals_are_balanced_and_point_symmetric():
    from dltool.data.points import spirals

    x, y = spirals(400, 0.0, np.random.default_rng(0))
    assert y.sum() == 200 and np.linalg.norm(x, axis=1).max() <= 3.0 + 1e-9
    angle, radius = np.arctan2(x[:, 1], x[:, 0]), np.linalg.norm(x, axis=1)
    # one spiral arm per class: radius = angle / pi for class 0 (mod a turn), the same rotated by pi for class 1
    turns = (radius * np.pi - np.where(y == 1, angle + np.pi, angle)) / (2 * np.pi)
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-6)


def test_function_is_the_noisy_cubic():
    config = cfg("function", low=-1.0, high=3.0)
    data = load_dataset(config, seed=0)
    x, y = data.x_train[:, 0], data.y_train[:, 0]
    assert x.min() >= -1.0 and x.max() <= 3.0
    residual = y - (x**3 + x**2 - x - 1)
    assert abs(residual.mean()) < 0.01 and residual.std() == pytest.approx(config.noise, rel=0.15)
    with pytest.raises(ConfigError, match=r"data.low=2.0 must be smaller than data.high=2.0"):
        load_dataset(cfg("function", low=2.0, high=2.0), seed=0)


@pytest.mark.parametrize(
    ("task", "num_classes", "outputs"), [("multiclass", 4, 4), ("binary", 4, 1), ("regression", 4, 1)]
)
def test_synthetic_has_any_shape_and_learnable_labels(task, num_classes, outputs):
    from sklearn.linear_model import LogisticRegression, Ridge

    config = cfg("synthetic", input_shape=[3, 2, 2], num_classes=num_classes, task=task, num_samples=2000)
    data = load_dataset(config, seed=5)
    check_conventions(data)
    assert data.spec == data_spec(config) == DataSpec((3, 2, 2), task, outputs, data.spec.class_names)
    x_train, x_test = data.x_train.reshape(len(data.x_train), -1), data.x_test.reshape(len(data.x_test), -1)
    model = Ridge() if task == "regression" else LogisticRegression(max_iter=1000)
    model.fit(x_train, data.y_train.ravel())
    assert model.score(x_test, data.y_test.ravel()) > 0.85  # a linear rule, learnt from 1,440 examples
    if task != "regression":
        assert len(np.unique(data.y_train)) == (num_classes if task == "multiclass" else 2)


def test_synthetic_rejects_an_empty_shape():
    with pytest.raises(ConfigError, match="input_shape"):
        data_spec(cfg("synthetic", input_shape=[4, 0]))


# ------------------------------------------------------------------------------------------------------ splits
@pytest.mark.parametrize("name", ["digits", "flower", "function", "synthetic"])
def test_splits_are_reproducible_from_the_seed(name):
    config = cfg(name, input_shape=[4]) if name == "synthetic" else cfg(name)
    first, again, other = (load_dataset(config, seed=s) for s in (7, 7, 8))
    for a, b in zip(splits(first), splits(again), strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(first.x_train, other.x_train)
    assert not np.array_equal(first.x_test, other.x_test)


def test_the_config_seed_replaces_the_seed_argument():
    pinned = load_dataset(cfg("xor", seed=11), seed=1)
    assert np.array_equal(pinned.x_train, load_dataset(cfg("xor"), seed=11).x_train)
    assert np.array_equal(pinned.x_train, load_dataset(cfg("xor", seed=11), seed=2).x_train)
    assert not np.array_equal(pinned.x_train, load_dataset(cfg("xor"), seed=1).x_train)


def test_splits_are_stratified():
    data = load_dataset(cfg("digits", test_split=0.3, validation_split=0.2), seed=0)
    y_all = np.concatenate([y for _, y in splits(data)])
    total = np.bincount(y_all, minlength=10)
    test, val = np.bincount(data.y_test, minlength=10), np.bincount(data.y_val, minlength=10)
    assert np.abs(test - 0.3 * total).max() <= 1
    assert np.abs(val - 0.2 * (total - test)).max() <= 1
    binary = load_dataset(cfg("flower"), seed=0)  # 200 of each class
    assert binary.y_test.sum() == 40 and binary.y_val.sum() == 16


def test_max_samples_keeps_at_most_that_many_of_each_split():
    data = load_dataset(cfg("digits", max_samples=50), seed=0)
    assert [len(x) for x, _ in splits(data)] == [50, 50, 50]
    check_conventions(data)
    small = load_dataset(cfg("xor", max_samples=40), seed=0)  # 288/32/80 examples before
    assert [len(x) for x, _ in splits(small)] == [40, 32, 40]
    full = load_dataset(cfg("digits"), seed=0)
    rows = {row.tobytes() for row in full.x_train}
    assert all(row.tobytes() in rows for row in data.x_train)  # a subset of the same split


def test_no_validation_split_gives_empty_arrays():
    data = load_dataset(cfg("digits", validation_split=0.0), seed=0)
    assert data.x_val.shape == (0, 8, 8, 1) and data.y_val.shape == (0,) and data.y_val.dtype == np.int32
    assert len(data.x_train) + len(data.x_test) == 1797
    binary = load_dataset(cfg("blobs", validation_split=0.0), seed=0)
    assert binary.x_val.shape == (0, 2) and binary.y_val.shape == (0, 1)


def test_tiny_sets_still_split():
    data = load_dataset(cfg("xor", num_samples=4), seed=0)  # too small to stratify
    assert [len(x) for x, _ in splits(data)] == [2, 1, 1]


# ---------------------------------------------------------------------------------------------- archive files
def _pickle_member(tar: tarfile.TarFile, name: str, obj) -> None:
    raw = pickle.dumps(obj, protocol=2)  # the archives are Python 2 pickles
    info = tarfile.TarInfo(name)
    info.size = len(raw)
    tar.addfile(info, io.BytesIO(raw))


def write_cifar10(path: Path, per_batch: int = 10) -> dict[str, np.ndarray]:
    """A cifar-10-python.tar.gz in the real layout, with random images; returns the test batch."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
            labels = [i % 10 for i in range(per_batch)]
            _pickle_member(
                tar,
                f"cifar-10-batches-py/{batch}",
                {
                    b"batch_label": batch.encode(),
                    b"labels": labels,
                    b"data": data,
                    b"filenames": [b"x.png"] * per_batch,
                },
            )
        names = [f"class{i}".encode() for i in range(10)]
        _pickle_member(
            tar,
            "cifar-10-batches-py/batches.meta",
            {b"label_names": names, b"num_cases_per_batch": per_batch, b"num_vis": 3072},
        )
    return {"data": data, "labels": np.array(labels)}


def test_cifar10_archive_in_root_is_read_channels_last(tmp_path):
    test = write_cifar10(tmp_path / "cifar-10-python.tar.gz")
    config = cfg("cifar10", root=str(tmp_path))
    data = load_dataset(config, seed=0)
    check_conventions(data)
    assert data.spec.input_shape == data_spec(config).input_shape == (32, 32, 3)
    assert data.spec.class_names == tuple(f"class{i}" for i in range(10))  # from batches.meta
    assert len(data.x_train) + len(data.x_val) == 50 and len(data.x_val) == 5
    expected = test["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1) / np.float32(255)
    np.testing.assert_allclose(data.x_test, expected)  # planes R, G, B of 1024 pixels each -> (32, 32, 3)
    assert data.x_test[0, 0, 1, 2] == test["data"][0, 2 * 1024 + 1] / np.float32(255)
    np.testing.assert_array_equal(data.y_test, test["labels"])


def test_cifar10_extracted_folder_in_the_keras_cache_is_found(tmp_path, monkeypatch):
    write_cifar10(tmp_path / "archive.tar.gz")
    cache = tmp_path / "home" / "datasets"
    cache.mkdir(parents=True)
    with tarfile.open(tmp_path / "archive.tar.gz") as tar:
        tar.extractall(cache, filter="data")  # -> datasets/cifar-10-batches-py/
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    data = load_dataset(cfg("cifar10", max_samples=8), seed=0)
    assert [len(x) for x, _ in splits(data)] == [8, 5, 8]


def test_cifar100_archive_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(0)
    with tarfile.open(tmp_path / "cifar-100-python.tar.gz", "w:gz") as tar:
        for split, n in (("train", 200), ("test", 30)):
            _pickle_member(
                tar,
                f"cifar-100-python/{split}",
                {
                    b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                    b"fine_labels": [i % 100 for i in range(n)],
                    b"coarse_labels": [i % 20 for i in range(n)],
                },
            )
        _pickle_member(
            tar,
            "cifar-100-python/meta",
            {b"fine_label_names": [n.encode() for n in CIFAR100_NAMES], b"coarse_label_names": []},
        )
    config = cfg("cifar100", root=str(tmp_path))
    data = load_dataset(config, seed=0)
    check_conventions(data)
    assert data.spec == data_spec(config)
    assert data.spec.num_classes == 100 and len(CIFAR100_NAMES) == 100 and CIFAR100_NAMES[-1] == "worm"
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (180, 20, 30)


def test_mnist_npz_in_root(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
        "y_train": np.arange(100) % 10,
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": np.arange(20) % 10,
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    config = cfg("mnist", root=str(tmp_path), validation_split=0.2)
    data = load_dataset(config, seed=0)
    check_conventions(data)
    assert data.spec == data_spec(config)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (80, 20, 20)
    assert np.bincount(data.y_val).tolist() == [2] * 10  # stratified
    np.testing.assert_array_equal(data.x_test[..., 0] * 255, arrays["x_test"])


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_idx_files_in_the_keras_cache(tmp_path, monkeypatch):
    folder = tmp_path / "datasets" / "fashion-mnist"  # keras.datasets' layout
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": rng.integers(0, 256, (60, 28, 28)), "t10k": rng.integers(0, 256, (10, 28, 28))}
    for file in FASHION_FILES:
        split = file.split("-")[0]
        _write_idx(folder / file, images[split] if "images" in file else np.arange(len(images[split])) % 10)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    data = load_dataset(cfg("fashion_mnist"), seed=0)
    check_conventions(data)
    assert data.spec.class_names[0] == "T-shirt/top" and data.spec.input_shape == (28, 28, 1)
    np.testing.assert_array_equal(data.x_test[..., 0] * 255, images["t10k"])
    np.testing.assert_array_equal(data.y_test, np.arange(10))


@pytest.mark.parametrize(
    ("name", "file"),
    [("mnist", "mnist.npz"), ("cifar10", "cifar-10-python.tar.gz"), ("fashion_mnist", "t10k-images-idx3-ubyte.gz")],
)
def test_missing_archive_in_root_names_the_file_and_folder(tmp_path, name, file):
    with pytest.raises(ConfigError) as err:
        load_dataset(cfg(name, root=str(tmp_path)), seed=0)
    message = str(err.value)
    assert file in message and str(tmp_path) in message and "\n" not in message


def _py2_batch(labels: list[int], data: bytes) -> bytes:
    """A CIFAR batch as Python 2's cPickle wrote the real archives: str as SHORT_BINSTRING, numpy.core names."""

    def s(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b

    labels_list = b"](" + b"".join(b"K" + bytes([label]) for label in labels) + b"e"
    dtype = (
        b"cnumpy\ndtype\n"
        + s(b"u1")
        + b"K\x00K\x01\x87R(K\x03"
        + s(b"|")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    shape = b"(K" + bytes([len(labels)]) + b"M\x00\x0ct"  # (n, 3072)
    array = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b") + b"\x87R"
    array += b"(K\x01" + shape + dtype + b"\x89T" + len(data).to_bytes(4, "little") + data + b"tb"
    return b"\x80\x02}(" + s(b"labels") + labels_list + s(b"data") + array + b"u."


def test_cifar_batches_pickled_by_python_2_and_numpy_1_are_read_as_plain_data():
    from dltool.data.safe_pickle import loads

    data = np.arange(2 * 3072, dtype=np.uint8).tobytes()
    batch = loads(_py2_batch([3, 7], data), encoding="bytes")
    assert batch[b"labels"] == [3, 7] and batch[b"data"].shape == (2, 3072)
    np.testing.assert_array_equal(batch[b"data"].ravel(), np.frombuffer(data, np.uint8))
    assert loads(pickle.dumps({b"x": np.arange(3)}, protocol=5))[b"x"].tolist() == [0, 1, 2]  # numpy 2, protocol 5


class _Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")  # unpickled, it would create the file


def test_an_extracted_cifar_folder_whose_meta_pickles_code_is_refused_and_the_code_never_runs(tmp_path):
    write_cifar10(tmp_path / "archive.tar.gz")
    with tarfile.open(tmp_path / "archive.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")  # -> cifar-10-batches-py/
    meta = tmp_path / "cifar-10-batches-py" / "batches.meta"
    meta.write_bytes(pickle.dumps({b"label_names": _Hostile(tmp_path / "code-ran")}, protocol=2))
    with pytest.raises(ConfigError, match=r"cifar-10-batches-py: batches.meta: it holds a pickled io.open; only"):
        load_dataset(cfg("cifar10", root=str(tmp_path)), seed=0)
    assert not (tmp_path / "code-ran").exists()


def test_corrupt_archive_is_a_config_error(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not a tar file")
    with pytest.raises(ConfigError, match="cifar10: cannot read"):
        load_dataset(cfg("cifar10", root=str(tmp_path)), seed=0)


def test_offline_download_fails_fast_with_the_file_and_folder(tmp_path, monkeypatch):
    pytest.importorskip("keras")  # imported before the clock starts: the download is what is timed

    def offline(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", offline)  # offline, whatever the machine's network
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_dataset(cfg("mnist"), seed=0)
    assert time.perf_counter() - start < 3
    message = str(err.value)
    assert "\n" not in message
    assert "mnist.npz" in message and str(tmp_path / "keras" / "datasets") in message and "data.root=" in message
    assert not (tmp_path / "keras" / "datasets" / "mnist.npz").exists()


def test_splits_are_views_of_the_data_held_once():
    """Splitting moves rows in place: the three splits share the source's memory, and every row is in one split."""
    from dltool.data.base import make_dataset
    from dltool.data.synthetic import SyntheticConfig, synthetic_spec

    cfg = SyntheticConfig(num_samples=500, input_shape=[4], num_classes=3, validation_split=0.1, test_split=0.2)
    x = np.repeat(np.arange(500, dtype=np.float32)[:, None], 4, axis=1)
    y = np.arange(500) % 3
    data = make_dataset(synthetic_spec(cfg), cfg, 0, x, y)
    splits = (data.x_train, data.x_val, data.x_test)
    assert all(np.shares_memory(part, x) for part in splits)
    assert [len(part) for part in splits] == [360, 40, 100]
    rows = np.concatenate([part[:, 0] for part in splits]).astype(int)
    assert sorted(rows.tolist()) == list(range(500))
    labels = np.concatenate([data.y_train, data.y_val, data.y_test])
    assert (labels == rows % 3).all()  # each row kept its label
