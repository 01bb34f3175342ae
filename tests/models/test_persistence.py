"""Model files are untrusted input: crafted or damaged files are refused, never trusted."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import recsys as rs
from tests.models._fixtures import block_interactions, crafted_copy

Arrays = dict[str, np.ndarray]


def _saved(model: rs.Recommender, tmp_path: Path) -> Path:
    path = tmp_path / "good.npz"
    model.fit(block_interactions(n_users_per_group=6, n_items_per_group=6)).save(path)
    return path


def _set(key: str, value: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict, Arrays], None]:
    def change(meta: dict, arrays: Arrays) -> None:
        arrays[key] = value(arrays[key])

    return change


def _bump_last(a: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[-1] = 10_000
    return out


CRAFTED = [
    # (model, array key, change, what the error names)
    (lambda: rs.ItemKNN(neighbors=3), "model.similarity.indices", _bump_last, "similarity.indices"),
    (
        lambda: rs.ItemKNN(neighbors=3),
        "model.similarity.indptr",
        lambda a: a[::-1].copy(),
        "indptr",
    ),
    (
        lambda: rs.ItemKNN(neighbors=3),
        "model.similarity.indices",
        lambda a: a[::-1].copy(),
        "sorted",
    ),
    (lambda: rs.ALS(factors=2, iterations=1), "model.item_factors", lambda a: a[:, :1], "shape"),
    (
        lambda: rs.ALS(factors=2, iterations=1),
        "model.item_factors",
        lambda a: np.full_like(a, np.nan),
        "NaN",
    ),
    (lambda: rs.Popular(), "user_items.indices", _bump_last, "user_items.indices"),
    (lambda: rs.Popular(), "item_popularity", lambda a: a[:3], "item_popularity"),
    (lambda: rs.Repurchase(), "model.backfill", lambda a: a[:3], "backfill"),
    (lambda: rs.Repurchase(), "model.scores_data", lambda a: a.astype(np.int64), "dtype"),
    (
        lambda: rs.Blend(
            [("all", rs.Popular()), ("recent", rs.Popular(window_days=30)), ("knn", rs.ItemKNN())]
        ),
        "model.weights",
        lambda a: a[:1],
        "weights",
    ),
    (lambda: rs.Popular(), "users", lambda a: a[:-1], "users"),
]


@pytest.mark.parametrize(("make", "key", "change", "message"), CRAFTED)
def test_crafted_arrays_are_refused(tmp_path, make, key, change, message) -> None:
    good = _saved(make(), tmp_path)
    bad = crafted_copy(good, tmp_path / "bad.npz", _set(key, change))
    with pytest.raises(rs.ModelFormatError, match=message):
        rs.load_model(bad)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda meta, arrays: meta["model"].update({"class": ["Popular"]}), "class"),
        (lambda meta, arrays: meta["model"].update({"params": [1, 2]}), "parameters"),
        (lambda meta, arrays: meta["model"].update({"params": {"bogus": 1}}), "do not fit"),
        (lambda meta, arrays: meta.update({"model": "Popular"}), "not an object"),
        (lambda meta, arrays: meta["model"].update({"state": [1]}), "state"),
        (lambda meta, arrays: meta.update({"reference_time": "noon"}), "inconsistent"),
    ],
)
def test_crafted_metadata_is_refused(tmp_path, change, message) -> None:
    good = _saved(rs.Popular(), tmp_path)
    with pytest.raises(rs.ModelFormatError, match=message):
        rs.load_model(crafted_copy(good, tmp_path / "bad.npz", change))


def test_tampering_without_a_new_checksum_is_detected(tmp_path) -> None:
    good = _saved(rs.ALS(factors=2, iterations=1), tmp_path)
    with np.load(good, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["model.user_factors"] = arrays["model.user_factors"] * 2  # same shape and dtype
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(rs.ModelFormatError, match="checksum"):
        rs.load_model(tmp_path / "edited.npz")


def test_foreign_numpy_files(tmp_path) -> None:
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(rs.ModelFormatError, match=r"not an \.npz"):
        rs.load_model(tmp_path / "plain.npy")
    with pytest.raises(rs.ModelFormatError):
        rs.load_model(tmp_path)  # a directory


def test_every_flipped_byte_is_refused_or_harmless(tmp_path) -> None:
    """Single-byte flips all over a saved blend: ModelFormatError or the same model.

    Run in a subprocess, so a crash of the interpreter fails the test instead of
    ending the test run.
    """
    model = rs.Blend(
        [
            ("knn", rs.ItemKNN(neighbors=3)),
            ("again", rs.Repurchase()),
            ("als", rs.ALS(factors=2, iterations=1)),
        ]
    )
    good = _saved(model, tmp_path)
    script = textwrap.dedent(
        f"""
        import sys, warnings
        import recsys as rs
        warnings.simplefilter("ignore")
        path = {str(good)!r}
        data = open(path, "rb").read()
        reference = rs.load_model(path).recommend(k=5)
        outcomes = {{"refused": 0, "same": 0}}
        for pos in range(0, len(data), max(1, len(data) // 400)):
            flipped = bytearray(data)
            flipped[pos] ^= 0xFF
            open(path + ".x", "wb").write(flipped)
            try:
                loaded = rs.load_model(path + ".x")
            except rs.ModelFormatError:
                outcomes["refused"] += 1
                continue
            except BaseException as err:
                print("ESCAPED", pos, type(err).__name__, err)
                sys.exit(3)
            if not loaded.recommend(k=5).equals(reference):
                print("ACCEPTED A CHANGED MODEL", pos)
                sys.exit(4)
            outcomes["same"] += 1
        print(outcomes)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'refused'" in done.stdout


MUTATION_SCRIPT = """
import json, sys, warnings
import numpy as np
import polars as pl
import recsys as rs
from recsys._io import checksum
from tests.models.test_contract import MODELS
from tests.models._fixtures import block_interactions

warnings.simplefilter("ignore")
inter = block_interactions(n_users_per_group=6, n_items_per_group=6)
rng = np.random.default_rng(0)


def mutations(a):
    yield "truncated", a[: max(0, len(a) - 1)] if a.ndim else a
    yield "extended", np.concatenate([a, a[:1]]) if a.ndim and len(a) else a
    if a.dtype.kind == "f":
        yield "nan", np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a)
        yield "inf", np.full_like(a, np.inf)
        yield "as int", a.astype(np.int64)
    if a.dtype.kind in "iu":
        yield "out of range", a + 10_000
        yield "negative", a - 10_000
        yield "shuffled", rng.permutation(a.ravel()).reshape(a.shape)
        yield "as float", a.astype(np.float64)
    if a.dtype.kind == "U":
        yield "as bytes", a.astype("S")
    if a.ndim == 2:
        yield "transposed", np.ascontiguousarray(a.T)
        yield "flattened", a.ravel()


counts = {"refused": 0, "ran": 0, "tampered refused": 0}
for name, make in MODELS.items():
    path = f"{sys.argv[1]}/{name}.npz"
    make().fit(inter).save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta.pop("checksum")
    for key in sorted(arrays):
        for kind, changed in mutations(arrays[key]):
            if changed.shape == arrays[key].shape and changed.dtype == arrays[key].dtype and (
                np.array_equal(changed, arrays[key], equal_nan=True)
            ):
                continue
            crafted = {**arrays, key: changed}
            for consistent in (True, False):
                m = dict(meta)
                m["checksum"] = checksum(meta, crafted if consistent else arrays)
                np.savez(path + ".x.npz", __meta__=np.asarray(json.dumps(m)), **crafted)
                try:
                    model = rs.load_model(path + ".x.npz")
                except rs.ModelFormatError:
                    counts["refused" if consistent else "tampered refused"] += 1
                    continue
                except BaseException as err:
                    print("ESCAPED", name, key, kind, type(err).__name__, err)
                    sys.exit(3)
                if not consistent:
                    print("TAMPERING NOT DETECTED", name, key, kind)
                    sys.exit(4)
                try:
                    recs = model.recommend(k=5)
                except rs.RecsysError:
                    counts["refused"] += 1
                    continue
                assert set(recs["item_id"].to_list()) <= set(model.items_.ids.to_list())
                counts["ran"] += 1
print(json.dumps(counts))
"""


def test_every_array_of_every_model_mutated(tmp_path) -> None:
    """Shape, dtype, value and index mutations of every array of every model's file.

    A mutation with the old checksum must be refused; one with a matching
    checksum (a crafted file) must be refused or load into a model that runs.
    In a subprocess: an interpreter crash fails the test.
    """
    done = subprocess.run(
        [sys.executable, "-c", MUTATION_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["tampered refused"] > 100
    assert counts["refused"] > counts["ran"]


class TestLoadErrors:
    def test_missing_file(self, tmp_path) -> None:
        with pytest.raises(rs.ModelFormatError, match="no model file"):
            rs.load_model(tmp_path / "absent.npz")

    def test_corrupt_file(self, tmp_path) -> None:
        path = tmp_path / "bad.npz"
        path.write_bytes(b"PK\x03\x04 not really a zip")
        with pytest.raises(rs.ModelFormatError):
            rs.load_model(path)
        path.write_text("hello")
        with pytest.raises(rs.ModelFormatError):
            rs.load_model(path)

    def test_foreign_npz(self, tmp_path) -> None:
        path = tmp_path / "foreign.npz"
        np.savez(path, weights=np.zeros(3))
        with pytest.raises(rs.ModelFormatError, match="no metadata"):
            rs.load_model(path)
        np.savez(path, __meta__=np.asarray(json.dumps({"format": "other"})))
        with pytest.raises(rs.ModelFormatError, match="format mismatch"):
            rs.load_model(path)

    def test_unknown_version_and_class(self, tmp_path) -> None:
        good = tmp_path / "good.npz"
        rs.Popular().fit(block_interactions()).save(good)
        crafted_copy(
            good, tmp_path / "v99.npz", lambda meta, arrays: meta.update(format_version=99)
        )
        with pytest.raises(rs.ModelFormatError, match="version 99"):
            rs.load_model(tmp_path / "v99.npz")
        crafted_copy(
            good, tmp_path / "cls.npz", lambda meta, arrays: meta["model"].update({"class": "Evil"})
        )
        with pytest.raises(rs.ModelFormatError, match="Evil"):
            rs.load_model(tmp_path / "cls.npz")

    def test_truncated_arrays(self, tmp_path) -> None:
        good = tmp_path / "good.npz"
        rs.ALS(factors=4, iterations=2).fit(block_interactions()).save(good)
        with np.load(good, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        arrays["model.item_factors"] = arrays["model.item_factors"][:3]
        np.savez(tmp_path / "trunc.npz", **arrays)
        with pytest.raises(rs.ModelFormatError):
            rs.load_model(tmp_path / "trunc.npz")
        with zipfile.ZipFile(good) as zf:
            names = zf.namelist()
        assert "__meta__.npy" in names

    def test_save_is_atomic_and_overwrites(self, tmp_path) -> None:
        path = tmp_path / "m.npz"
        inter = block_interactions()
        rs.Popular().fit(inter).save(path)
        rs.Repurchase().fit(inter).save(path)
        assert type(rs.load_model(path)) is rs.Repurchase
        assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


# ------------------------------------------- re-signed files: hyperparameters and signs
def _negated(a: np.ndarray) -> np.ndarray:
    return -a


RESIGNED_SCORES = [
    # (model, scores array key): the stored buy-again probabilities must stay > 0
    (lambda: rs.BuyAgain(label_days=20), "model.scores_data"),
    (rs.RepeatExplore, "models[0].model.scores_data"),  # its default repeat part: BuyAgain
]


@pytest.mark.parametrize(("make", "key"), RESIGNED_SCORES)
@pytest.mark.parametrize("change", [_negated, np.zeros_like, lambda a: a - 1.0])
def test_resigned_non_positive_scores_are_refused(tmp_path, make, key, change) -> None:
    model = make().fit(block_interactions())
    good = tmp_path / "good.npz"
    model.save(good)
    with np.load(good, allow_pickle=False) as archive:
        assert key in archive.files
    bad = crafted_copy(good, tmp_path / "bad.npz", _set(key, change))
    with pytest.raises(rs.ModelFormatError, match="scores_data"):
        rs.load_model(bad)


def test_resigned_negative_repurchase_scores_are_refused(tmp_path) -> None:
    good = _saved(rs.Repurchase(), tmp_path)
    bad = crafted_copy(good, tmp_path / "bad.npz", _set("model.scores_data", _negated))
    with pytest.raises(rs.ModelFormatError, match=r"scores_data.*below 0"):
        rs.load_model(bad)


@pytest.mark.parametrize("depth", ["50", None, 0, 2.5])
@pytest.mark.parametrize("make", [rs.RepeatExplore, lambda: rs.Blend([("popular", rs.Popular())])])
def test_resigned_hyperparameters_are_validated(tmp_path, make, depth) -> None:
    good = tmp_path / "good.npz"
    make().fit(block_interactions(n_users_per_group=6, n_items_per_group=6)).save(good)

    def change(meta: dict, arrays: Arrays) -> None:
        meta["model"]["params"]["depth"] = depth

    with pytest.raises(rs.ModelFormatError, match=r"depth=\.\.\.\) must be an integer"):
        rs.load_model(crafted_copy(good, tmp_path / "bad.npz", change))


def test_resigned_fitted_values_are_validated(tmp_path) -> None:
    good = _saved(rs.RepeatExplore(), tmp_path)

    def merge(meta: dict, arrays: Arrays) -> None:
        meta["model"]["state"]["merge"] = "magic"

    def masks(meta: dict, arrays: Arrays) -> None:
        meta["model"]["state"]["masks"] = ["bought"]

    with pytest.raises(rs.ModelFormatError, match="merge"):
        rs.load_model(crafted_copy(good, tmp_path / "merge.npz", merge))
    with pytest.raises(rs.ModelFormatError, match="masks"):
        rs.load_model(crafted_copy(good, tmp_path / "masks.npz", masks))


# ---------------------------------------------------------------- older model files
@pytest.mark.parametrize("version", [1, 2, None, "3"])
def test_older_or_unknown_format_versions_are_refused(tmp_path, version) -> None:
    """Only the current format is read: older layouts are refused, not migrated."""
    good = tmp_path / "good.npz"
    rs.ItemKNN(neighbors=5).fit(block_interactions()).save(good)
    with np.load(good, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta.pop("checksum")
    meta["format_version"] = version
    old = tmp_path / "old.npz"
    np.savez(old, __meta__=np.asarray(json.dumps(meta)), **arrays)
    with pytest.raises(rs.ModelFormatError, match=rf"format version {version!r}.*reads version"):
        rs.load_model(old)
