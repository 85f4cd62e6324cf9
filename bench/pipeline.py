"""Image-folder input pipeline vs the seeds' one-file-at-a-time loader, on the CIFAR-10 JPEG copy.

Variants, interleaved: each round runs every variant once, in turn (A B C ..., A B C ...), in one process;
each ratio below is taken per round and printed as the median (min–max) over the rounds:

- ``naive``: what the seeds' ``ImageDataGenerator(...).flow_from_directory`` does (Keras 3 has no
  such class, so it is written out plainly here): for each batch of 32, open every file with
  Pillow, convert, resize, make a float array, then apply the seeds' random transform (rotation
  20°, shifts 0.1, shear 0.2, zoom 0.2, horizontal flip, nearest fill) to each image with
  ``scipy.ndimage.affine_transform``, one channel after the other, as Keras 2 did;
- ``naive, no augmentation``: the same without the transform (decode + resize only);
- ``pipeline``: dltool's ``data=image_folder`` decoding (:func:`dltool.data.images.decode_images`:
  parallel ``tf.data`` decode + resize into memory), then the same augmentation as Keras layers
  (:func:`dltool.models.augment.augmentation_layers`: one ``RandomAffine``, the flip included) mapped over
  batches of 32 in ``tf.data``;
- ``pipeline, no augmentation``: ``decode_images`` alone;
- ``augmentation only``: that augmentation map alone, on the decoded images already in memory;
- ``augmentation only, one layer per transform``: the same with the layers dltool built before
  ``RandomAffine`` (``RandomFlip``, ``RandomRotation``, ``RandomShear``, ``RandomZoom``,
  ``RandomTranslation``: four resamplings of each image instead of one);
- ``train preloaded``: ``--epochs`` epochs of the seeds' CIFAR CNN (``model=cnn_cifar`` with
  ``regularization=augment``) on ``--train-files`` images already in memory, through dltool's
  batches (``epoch_batches``);
- ``train folder``: the same training preceded by ``load_dataset(data=image_folder)`` on a folder
  of those files (symbolic links): from the JPEG files to the last epoch;
- ``train streamed``: the same with ``data.stream=true``: every batch of every epoch read and
  decoded from the files (``ImageFiles``) while the model trains.

    python bench/pipeline.py --archive cifar10-jpg.tar.gz          # 10,000 files, training on 2,000, 3 rounds
    python bench/pipeline.py --folder cifar10-jpg --files 50000 --train-files 10000 --epochs 5 --rounds 5
    python bench/pipeline.py --archive cifar10-jpg.tar.gz --files 500 --train-files 200 --epochs 1 --rounds 2  # smoke

The images: ``--archive``, a ``.tar.gz`` of ``train/`` and ``test/`` folders of one folder per class (as the
CIFAR-10 JPEG copy), extracted once into ``--scratch``; or ``--folder``, such a folder already extracted. The
subsets drawn from it are folders of symbolic links in ``--scratch`` (default /tmp).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tarfile
import time
from datetime import date
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import interleaved, median_range, paired_ratios  # noqa: E402

BATCH = 32  # flow_from_directory's default batch size


def extract(archive: Path, root: Path) -> Path:
    """``archive`` extracted into ``root``, unless ``root`` already holds its ``train`` folder."""
    if not (root / "train").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    return root


def subset_folder(root: Path, scratch: Path, files: int, seed: int) -> tuple[Path, list[Path], list[int]]:
    """A folder in ``scratch`` of symbolic links to ``files`` random training images of ``root`` (and 500 test
    ones), same layout."""
    import numpy as np

    from dltool.data.folders import scan
    from dltool.data.images import IMAGE_SUFFIXES

    layout = scan(root, IMAGE_SUFFIXES)
    rng = np.random.default_rng(seed)
    folder = scratch / f"{root.name}-subset-{files}-seed{seed}"  # one folder per draw: never a union of two
    chosen = {}
    for split, n in (("train", files), ("test", 500)):
        paths, labels = layout.splits[split]
        keep = np.sort(rng.choice(len(paths), size=min(n, len(paths)), replace=False))
        chosen[split] = ([paths[i] for i in keep], [int(labels[i]) for i in keep])
        for path in chosen[split][0]:
            link = folder / split / path.parent.name / path.name
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(path)
    return folder, *chosen["train"]


SEEDS_AUGMENTATION = {
    "rotation": 20.0,
    "width_shift": 0.1,
    "height_shift": 0.1,
    "shear": 0.2,
    "zoom": 0.2,
    "horizontal_flip": True,
    "fill_mode": "nearest",
}


def seeds_transform(image, rng):
    """ImageDataGenerator's random_transform + apply_affine_transform (Keras 2), for one HWC image."""
    import numpy as np
    from scipy import ndimage

    h, w = image.shape[:2]
    theta = np.deg2rad(rng.uniform(-20, 20))
    tx, ty = rng.uniform(-0.1, 0.1) * h, rng.uniform(-0.1, 0.1) * w
    shear = np.deg2rad(rng.uniform(-0.2, 0.2))
    zx, zy = rng.uniform(0.8, 1.2, 2)
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    shearing = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    matrix = rotation @ shift @ shearing @ zoom
    o_x, o_y = h / 2 - 0.5, w / 2 - 0.5
    matrix = (
        np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]]) @ matrix @ np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    )
    channels = [
        ndimage.affine_transform(image[..., c], matrix[:2, :2], matrix[:2, 2], order=1, mode="nearest")
        for c in range(image.shape[-1])
    ]
    image = np.stack(channels, axis=-1)
    return image[:, ::-1] if rng.random() < 0.5 else image


def naive(paths: list[Path], size: tuple[int, int], augment: bool) -> float:
    """Seconds to load every file as flow_from_directory does: Pillow, one file at a time, per batch."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(0, len(paths), BATCH):
        batch = []
        for path in paths[i : i + BATCH]:
            with Image.open(path) as image:
                image = image.convert("RGB").resize(size[::-1], Image.NEAREST)  # load_img's default
                x = np.asarray(image, dtype=np.float32) / 255.0
            batch.append(seeds_transform(x, rng) if augment else x)
        np.stack(batch)
    return time.perf_counter() - start


def separate_layers(aug: dict) -> list:
    """The layers dltool's augmentation_layers built before RandomAffine: one resampling per transform."""
    import keras

    from dltool.models.augment import RandomShear

    fill = {"fill_mode": aug["fill_mode"]}
    return [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(aug["rotation"] / 360.0, **fill),
        RandomShear(aug["shear"], aug["shear"], **fill),
        keras.layers.RandomZoom((-aug["zoom"], aug["zoom"]), **fill),
        keras.layers.RandomTranslation(aug["height_shift"], aug["width_shift"], **fill),
    ]


def augment_batches(images, augment: list) -> None:
    """Scale uint8 ``images`` to [0, 1] and run ``augment`` over batches of 32 in a tf.data map."""
    import tensorflow as tf

    def transform(x: tf.Tensor) -> tf.Tensor:
        x = tf.cast(x, tf.float32) / 255.0
        for layer in augment:
            x = layer(x, training=True)
        return x

    batches = tf.data.Dataset.from_tensor_slices(images).batch(BATCH)
    for _ in batches.map(transform, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE):
        pass


def augmentation_only(images, augment: list) -> float:
    """Seconds of :func:`augment_batches` on images already decoded."""
    start = time.perf_counter()
    augment_batches(images, augment)
    return time.perf_counter() - start


def pipeline(paths: list[Path], size: tuple[int, int], augment: list) -> float:
    """Seconds to decode + resize in parallel, then augment batches of 32 in a tf.data map."""
    import numpy as np

    from dltool.data.images import decode_images

    start = time.perf_counter()
    images, ok = decode_images(paths, size, 3)
    assert ok.all()
    if augment:
        augment_batches(images, augment)
    else:
        images.astype(np.float32) / np.float32(255.0)
    return time.perf_counter() - start


def train(run, x, y, epochs: int) -> float:
    """Seconds of ``epochs`` epochs of a fresh model, fed as dltool's fit feeds it."""
    import keras

    from dltool.data import data_spec
    from dltool.training.batches import epoch_batches
    from dltool.training.build import build_compiled_model

    keras.utils.set_random_seed(0)
    model = build_compiled_model(run, data_spec(run.data))
    batches, steps = epoch_batches(x, y, run.trainer.batch_size, 0, (0, epochs))
    start = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=epochs, shuffle=False, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    images = parser.add_mutually_exclusive_group(required=True)
    images.add_argument("--archive", type=Path, help="a .tar.gz of train/ and test/ class folders")
    images.add_argument("--folder", type=Path, help="a folder of train/ and test/ class folders")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp"), help="for the extracted archive and subsets")
    parser.add_argument("--files", type=int, default=10000, help="training images loaded by the loaders")
    parser.add_argument("--train-files", type=int, default=2000, help="training images of the training variants")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = args.archive or args.folder
    if not source.exists():
        parser.error(f"{source} does not exist")
    root = extract(args.archive, args.scratch / args.archive.name.split(".")[0]) if args.archive else args.folder
    if not (root / "train").is_dir():
        parser.error(f"{source} holds no train/ folder (of one folder per class)")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from dltool.config import compose, validate
    from dltool.config.regularization import AugmentationConfig, RegularizationConfig
    from dltool.data import load_dataset
    from dltool.data.images import decode_images
    from dltool.models import augmentation_layers

    _, paths, _ = subset_folder(root, args.scratch, args.files, seed=0)
    folder, _, _ = subset_folder(root, args.scratch, args.train_files, seed=1)
    overrides = ["data=image_folder", f"data.root={folder}", "data.image_size=[32,32]", "data.validation_split=0"]
    run = validate(compose([*overrides, "model=cnn_cifar", "regularization=augment", "trainer.batch_size=64"]))
    seeds = RegularizationConfig(augmentation=AugmentationConfig(**SEEDS_AUGMENTATION))
    augment = augmentation_layers(seeds, (32, 32, 3))
    before = separate_layers(SEEDS_AUGMENTATION)
    decoded, _ = decode_images(paths, (32, 32), 3)
    preloaded = load_dataset(run.data, seed=0)  # outside the timings: the preloaded side's arrays
    n = len(preloaded.x_train)

    streamed = validate(compose([*overrides, "data.stream=true"])).data

    def train_folder(data_cfg) -> float:
        start = time.perf_counter()
        data = load_dataset(data_cfg, seed=0)
        load_s = time.perf_counter() - start
        return load_s + train(run, data.x_train, data.y_train, args.epochs)

    variants = {
        "naive": lambda: naive(paths, (32, 32), augment=True),
        "pipeline": lambda: pipeline(paths, (32, 32), augment),
        "naive, no augmentation": lambda: naive(paths, (32, 32), augment=False),
        "pipeline, no augmentation": lambda: pipeline(paths, (32, 32), []),
        "augmentation only": lambda: augmentation_only(decoded, augment),
        "augmentation only, one layer per transform": lambda: augmentation_only(decoded, before),
        "train preloaded": lambda: train(run, preloaded.x_train, preloaded.y_train, args.epochs),
        "train folder": lambda: train_folder(run.data),
        "train streamed": lambda: train_folder(streamed),
    }
    trainings = ("train preloaded", "train folder", "train streamed")
    counts = {name: len(paths) for name in variants} | {name: n * args.epochs for name in trainings}
    pipeline(paths[:256], (32, 32), augment)  # warm-up: tracing of the decode and augment functions
    augmentation_only(decoded[:256], before)
    loads = []

    def timed(name: str) -> float:
        loads.append(os.getloadavg()[0])
        seconds = variants[name]()
        print(f"{name}: {seconds:.2f} s", flush=True)
        return seconds

    times = interleaved({name: partial(timed, name) for name in variants}, args.rounds)
    print(
        f"\n{date.today()}, {platform.node()}, {os.cpu_count()} cores, "
        f"1-min load during the run {min(loads):.1f}-{max(loads):.1f}"
    )
    source_flag = f"--archive {args.archive}" if args.archive else f"--folder {args.folder}"
    print(
        f"command: python bench/pipeline.py {source_flag} --files {args.files} --train-files {args.train_files} "
        f"--epochs {args.epochs} --rounds {args.rounds}"
    )
    print("| variant | images | s, median (min–max) | images/s at the median |\n| --- | --- | --- | --- |")
    for name, got in times.items():
        done = [t for t in got if t is not None]
        rate = f"{counts[name] / statistics.median(done):.0f}" if done else "failed"
        print(f"| {name} | {counts[name]} | {median_range(done, '.2f')} | {rate} |")
    # other's images/s over base's, of the same images: base's time over other's, taken per round
    ratios = {
        "pipeline / naive (target >= 3x)": ("naive", "pipeline"),
        "pipeline / naive, no augmentation": ("naive, no augmentation", "pipeline, no augmentation"),
        "augmentation only, RandomAffine / one layer per transform": (
            "augmentation only, one layer per transform",
            "augmentation only",
        ),
        "train folder / train preloaded (target >= 90%)": ("train preloaded", "train folder"),
        "train streamed / train preloaded (target >= 90%)": ("train preloaded", "train streamed"),
    }
    print("\n| images/s ratio, per round | median (min–max) |\n| --- | --- |")
    for label, (base, other) in ratios.items():
        fmt = ".1%" if "train" in label else ".2f"
        print(f"| {label} | {median_range(paired_ratios(times[base], times[other]), fmt)} |")


if __name__ == "__main__":
    main()
