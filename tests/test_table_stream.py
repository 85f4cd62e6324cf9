"""Tables read in parts (data.stream): the rows, features and batches of the table read in memory."""

from __future__ import annotations

import csv
import errno
import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from dltool.data import data_spec, load_dataset, table_stream
from dltool.data.tables import CSVConfig
from dltool.errors import ConfigError
from tests.conftest import results, train_in_process


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 500 rows: a table of a few thousand rows is read in several."""
    monkeypatch.setattr(table_stream, "CHUNK_ROWS", 500)


def mixed_table(path: Path, rows: int = 3000) -> Path:
    """Numbers (some missing), a 0/1 column, categories (some missing, one of 8 values), a yes/no column, short
    texts and a 3-class target ``y``; row ids keep every row's features distinct."""
    rng = np.random.default_rng(1)
    words = ["red", "fox", "jumps", "over", "lazy", "dog", "quick", "brown"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "size", "flag", "colour", "shop", "paid", "note", "y"])
        for i in range(rows):
            size = "" if i % 13 == 0 else f"{rng.normal() * 5:.4f}"
            colour = "NA" if i % 29 == 0 else ("red", "green", "blue")[int(rng.integers(3))]
            note = " ".join(rng.choice(words, 3)) + f" n{i}"  # distinct: a text column in any rows
            label = ("u", "v", "w")[int(rng.integers(3))]
            writer.writerow([i, size, i % 2, colour, f"s{rng.integers(8)}", ("no", "yes")[i % 3 % 2], note, label])
    return path


def parquet_copy(path: Path) -> Path:
    import pyarrow.csv
    import pyarrow.parquet

    target = path.with_suffix(".parquet")
    pyarrow.parquet.write_table(pyarrow.csv.read_csv(path), target)
    return target


def both(path: Path, **options: object) -> tuple:
    """The dataset of ``path`` read in memory, and read in parts."""
    loaded = []
    for stream in (False, True):
        cfg = CSVConfig(path=str(path), target="y", stream=stream, text_tokens=20, **options)
        loaded.append((load_dataset(cfg, seed=3), data_spec(cfg)))
    return loaded


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_table_read_in_parts_gives_the_rows_features_and_batches_of_the_table_in_memory(
    tmp_path: Path, kind: str
) -> None:
    from dltool.training.batches import epoch_batches

    path = mixed_table(tmp_path / "t.csv")
    path = parquet_copy(path) if kind == "parquet" else path
    (memory, memory_spec), (streamed, streamed_spec) = both(path, max_categories=5)
    assert streamed_spec == memory_spec
    assert isinstance(streamed.x_train, np.memmap) and not isinstance(memory.x_train, np.memmap)
    for split, size in (("train", 2160), ("val", 240), ("test", 600)):
        x, y = getattr(streamed, f"x_{split}"), getattr(streamed, f"y_{split}")
        assert x.shape == (size, memory_spec.input_shape[0]) and x.dtype == np.float32
        assert np.allclose(x, getattr(memory, f"x_{split}"), atol=0, rtol=1e-6)  # the same rows, in the same order
        assert np.array_equal(y, getattr(memory, f"y_{split}"))
    # the same filled cells and categories kept; only the types' reasons count other rows (the first 500)
    shared = [line for line in memory.decisions if "tf-idf" not in line]  # the text line tells why it is text
    assert shared == [line for line in streamed.decisions if "tf-idf" not in line] and len(shared) == 6
    assert "column 'size': 231 missing cells filled with" in "\n".join(shared)
    assert "column 'shop': 8 categories; one-hot encoded over the 4 most frequent" in "\n".join(shared)
    batches = []
    for data in (memory, streamed):
        epoch, steps = epoch_batches(data.x_train, data.y_train, batch_size=256, seed=7, epochs=(0, 1))
        batches.append([(x.numpy(), y.numpy()) for x, y in epoch.take(steps)])
    assert len(batches[1]) == 9
    for (x_memory, y_memory), (x_streamed, y_streamed) in zip(*batches, strict=True):
        assert np.allclose(x_memory, x_streamed, atol=0, rtol=1e-6) and np.array_equal(y_memory, y_streamed)


def test_rows_dropped_for_a_missing_cell_are_the_same_read_in_parts(tmp_path: Path) -> None:
    (memory, _), (streamed, _) = both(mixed_table(tmp_path / "t.csv"), missing="drop")
    dropped = sum(1 for i in range(3000) if i % 13 == 0 or i % 29 == 0)  # a size or a colour missing
    line = f"{dropped} rows dropped (a missing target, or data.missing=drop)"
    assert memory.decisions[0] == streamed.decisions[0] == line
    assert np.allclose(memory.x_test, streamed.x_test, atol=0, rtol=1e-6)


def test_a_missing_cell_under_missing_error_names_the_same_line_read_in_parts(tmp_path: Path) -> None:
    path = mixed_table(tmp_path / "t.csv")
    messages = []
    for stream in (False, True):
        with pytest.raises(ConfigError) as err:
            load_dataset(CSVConfig(path=str(path), target="y", stream=stream, missing="error"), seed=0)
        messages.append(str(err.value))
    assert (
        messages[0]
        == messages[1]
        == f"{path}:2: column 'size' has a missing value "
        + ("(data.missing=error; fill or drop them with data.missing=fill|drop)")
    )


def test_auto_reads_a_table_over_the_budget_in_parts_and_trains_on_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = mixed_table(tmp_path / "t.csv")
    assert not table_stream.streams(CSVConfig(path=str(path), target="y"))  # the default budget: in memory
    (tmp_path / "run").mkdir()
    with caplog.at_level(logging.INFO, logger="dltool.data.table_stream"):
        out = train_in_process(
            tmp_path / "run",
            "data=csv",
            f"data.path={path}",
            "data.target=y",
            "data.memory_budget_mb=1",
            "trainer.epochs=2",
            "callbacks=minimal",
        )
    # the rows estimated from the first 500 rows' length; 8 cells of 100 bytes and 5,049 features of 12 a row (5,000
    # text tokens; id and size standardized and over 16 bins; flag; colour 4, shop 8, paid 2 in the first 500 rows)
    logged = rf"data.stream=auto: data.path={re.escape(str(path))}: about 3,\d{{3}} rows of 8 columns take about (\d+)"
    found = [m for m in map(re.compile(logged).match, caplog.messages) if m]
    assert len(found) == 1 and 3000 * 61388 / 2**20 < int(found[0].group(1)) < 3300 * 61388 / 2**20
    assert found[0].string.endswith("over data.memory_budget_mb=1; reading it in parts of 500 rows")
    assert out["status"] == "completed" and results(tmp_path / "run")["test_accuracy"] == out["test_accuracy"]
    assert 0 <= out["test_accuracy"] <= 1 and out["task"] == "multiclass" and out["data"]["test"] == 600


def test_predict_refits_the_encoding_of_a_table_read_in_parts_as_in_memory(tmp_path: Path) -> None:
    path = mixed_table(tmp_path / "t.csv")
    encoders = [
        table_stream.fitted_encoder(cfg, seed=3)
        for cfg in (
            CSVConfig(path=str(path), target="y", stream=s, max_categories=5, text_tokens=20) for s in (False, True)
        )
    ]
    assert encoders[0].numeric == encoders[1].numeric and encoders[0].numeric["size"][2] > 1  # (fill, mean, std)
    assert encoders[0].categorical == encoders[1].categorical and len(encoders[1].categorical["shop"]) == 4
    rows = encoders[1].read(path, ",")[1]
    # id and size (each standardized and over 16 bins), flag; colour 4 (its <missing> too); shop 5 (4 and <other>);
    # paid 2; note 20
    assert np.array_equal(rows, encoders[0].read(path, ",")[1]) and rows.shape == (3000, 2 * 17 + 1 + 4 + 5 + 2 + 20)


def test_a_table_over_the_budget_with_stream_false_is_refused(tmp_path: Path) -> None:
    path = mixed_table(tmp_path / "t.csv")
    with pytest.raises(ConfigError, match=r"over data\.memory_budget_mb=1; read it in parts with data\.stream=true"):
        data_spec(CSVConfig(path=str(path), target="y", memory_budget_mb=1, stream=False))


def test_a_later_cell_that_contradicts_the_inferred_type_names_its_line(tmp_path: Path) -> None:
    path = mixed_table(tmp_path / "t.csv", rows=800)
    lines = path.read_text().splitlines()
    lines[700] = lines[700].replace(lines[700].split(",")[1], "big", 1)  # a size of text, after the first 500 rows
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as err:
        data_spec(CSVConfig(path=str(path), target="y", stream=True))
    assert str(err.value) == (
        f"{path}:701: column 'size' holds text ('big'), its first 500 rows numbers (the type is inferred from them); "
        "set data.columns.size=category or text"
    )


def test_named_inputs_are_not_read_in_parts(tmp_path: Path) -> None:
    cfg = CSVConfig(path=str(mixed_table(tmp_path / "t.csv", rows=50)), inputs={"a": ["size"]}, targets={"b": "y"})
    cfg.stream = True
    with pytest.raises(ConfigError, match=r"^data\.stream=true: a table of named inputs .* is read in memory only"):
        data_spec(cfg)


def test_categories_embedded_as_ids_are_not_read_in_parts(tmp_path: Path) -> None:
    path = mixed_table(tmp_path / "t.csv")
    cfg = CSVConfig(path=str(path), target="y", stream=True, max_categories=5, embed_categories=True)
    with pytest.raises(ConfigError, match=r"^data\.embed_categories=true: column 'shop' \(more than data\.max_"):
        data_spec(cfg)


def test_no_room_for_the_features_is_one_line_and_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    path = mixed_table(tmp_path / "t.csv", rows=200)
    (tmp_path / "scratch").mkdir()
    monkeypatch.setattr(os, "posix_fallocate", full_disk, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    with pytest.raises(ConfigError, match=r"^data\.stream: no room for \d+ MB of features in .*scratch/dltool-table-"):
        load_dataset(CSVConfig(path=str(path), target="y", stream=True, text_tokens=20), seed=0)
    assert list((tmp_path / "scratch").iterdir()) == []  # the folder and its files are gone
