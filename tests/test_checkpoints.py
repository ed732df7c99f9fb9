"""tg.save / tg.load and Layer.save / Layer.load: permissions, symlinks, names, all-or-nothing."""

import os
import stat

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_ce as tg


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_permissions_are_those_np_savez_gives(tmp_path, umask_022):
    ours, numpys = tmp_path / "ours.npz", tmp_path / "numpys.npz"
    tg.save({"w": np.ones(2)}, ours)
    np.savez(numpys, w=np.ones(2))
    assert mode(ours) == mode(numpys) == 0o644
    for existing in (0o600, 0o640):          # np.savez over a file keeps that file's mode
        os.chmod(ours, existing)
        os.chmod(numpys, existing)
        tg.save({"w": np.zeros(2)}, ours)
        np.savez(numpys, w=np.zeros(2))
        assert mode(ours) == mode(numpys) == existing


def test_saving_through_a_symlink_updates_its_target(tmp_path):
    folder = tmp_path / "real"
    folder.mkdir()
    target, link = folder / "model.npz", tmp_path / "latest.npz"
    tg.save({"w": np.ones(2)}, target)
    link.symlink_to(target)
    tg.save({"w": np.arange(2.0)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(tg.load(target)["w"], np.arange(2.0))
    assert sorted(p.name for p in folder.iterdir()) == ["model.npz"]     # no temporary left


def test_names_that_are_savez_arguments_round_trip(tmp_path):
    state = {"allow_pickle": np.arange(2.0), "file": np.ones((2, 2)), "x.npy": np.zeros(1)}
    tg.save(state, tmp_path / "c.npz")
    back = tg.load(tmp_path / "c.npz")
    assert sorted(back) == sorted(state)
    for k in state:
        np.testing.assert_array_equal(back[k], state[k])


@pytest.mark.parametrize("state, name", [
    ({1: np.ones(1), "1": np.zeros(1)}, "1"),     # would become one name
    ({"": np.ones(1)}, "''"),
    ({"w": np.array(["1.5", "2"])}, "'w'"),       # strings, which a load would parse as numbers
    ({"w": np.array([None])}, "'w'"),
])
def test_a_name_or_value_that_cannot_round_trip_is_refused_before_writing(tmp_path, state, name):
    path = tmp_path / "c.npz"
    tg.save({"old": np.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=f"save: .*{name}"):
        tg.save(state, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["c.npz"]


@settings(max_examples=25)
@given(st.dictionaries(st.text(max_size=8), st.integers(0, 3), max_size=4))
def test_every_name_round_trips_or_is_refused_by_name(tmp_path_factory, sizes):
    path = tmp_path_factory.mktemp("keys") / "c.npz"
    state = {k: np.arange(n, dtype=np.float64) for k, n in sizes.items()}
    try:
        tg.save(state, path)
    except TypeError as e:
        assert any(repr(k) in str(e) for k in state)
        return
    back = tg.load(path)
    assert sorted(back) == sorted(state)
    for k in state:
        np.testing.assert_array_equal(back[k], state[k])


def test_every_unreadable_file_is_an_error_naming_its_path(tmp_path):
    npy = tmp_path / "one.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(ValueError, match="one.npy holds a single array"):
        tg.load(npy)
    strings = tmp_path / "strings.npz"
    np.savez(strings, w=np.array(["1.5"]))
    with pytest.raises(ValueError, match="strings.npz is not a checkpoint of numbers: 'w'"):
        tg.load(strings)
    with pytest.raises(ValueError, match="strings.npz is not a checkpoint of numbers"):
        tg.Affine(1, 1).load(strings)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz is not a readable checkpoint"):
        tg.load(pickled)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.npz is not a readable checkpoint"):
        tg.load(text)
    with pytest.raises(OSError, match=f"cannot read {tmp_path}"):
        tg.load(tmp_path)                                   # a folder
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*absent.npz"):
        tg.load(tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match="folder .*nodir does not exist"):
        tg.save({"w": np.ones(1)}, tmp_path / "nodir" / "m.npz")


def test_a_failed_load_leaves_the_model_unchanged(tmp_path):
    path = tmp_path / "m.npz"
    tg.Sequential(tg.Affine(3, 4, rng=0), tg.ReLU(), tg.Affine(4, 3, rng=1)).save(path)
    model = tg.Sequential(tg.Affine(3, 4, rng=5), tg.ReLU(), tg.Affine(4, 2, rng=6))
    before = {k: np.array(v, copy=True) for k, v in model.state().items()}
    with pytest.raises(ValueError, match=r"'2.W' has shape \(4, 3\) in the checkpoint but \(4, 2\)"):
        model.load(path)
    for k, v in model.state().items():                      # '0.W' was not overwritten
        np.testing.assert_array_equal(v, before[k])


def test_single_layer_and_sequential_both_refuse_extra_names(tmp_path):
    path = tmp_path / "m.npz"
    tg.save({"W": np.ones((2, 3)), "b": np.ones(3), "extra": np.ones(1)}, path)
    layer = tg.Affine(2, 3, rng=0)
    W = layer.W.data.copy()
    with pytest.raises(ValueError, match=r"\['extra'\] that this model does not"):
        layer.load(path)
    np.testing.assert_array_equal(layer.W.data, W)
    tg.save({"0.W": np.ones((2, 3)), "0.b": np.ones(3), "1.W": np.ones(1)}, path)
    with pytest.raises(ValueError, match=r"\['1.W'\] that this model does not"):
        tg.Sequential(tg.Affine(2, 3)).load(path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()

    def disk_full(file, array, **kwargs):
        file.write(b"partial data")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError, match="save: cannot write .*ckpt.npz: No space left"):
        tg.save({"w": np.arange(5.0)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    monkeypatch.undo()
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))


def test_files_are_readable_by_plain_numpy(tmp_path):
    tg.save({"a": np.arange(4).reshape(2, 2), "flag": np.array([True])}, tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["a"], np.arange(4).reshape(2, 2))
        assert f["flag"].dtype == bool
