"""`--data tfds:NAME`: TensorFlow Datasets read offline from a tiny dataset
built here in a temporary data_dir (two record files, eight images)."""

import json
import sys

import numpy as np
import pytest

NAME = "tf_cbam_style_tiny_photos"
IMAGES = 8


_BUILDER = []  # TFDS registers a builder class by name, once per process


def build_tiny_tfds(data_dir):
    """Prepares `NAME` in `data_dir`: image `i` is a flat grey of value 10 i + 5,
    in two record files."""
    import tensorflow_datasets as tfds

    if not _BUILDER:
        class TfCbamStyleTinyPhotos(tfds.core.GeneratorBasedBuilder):
            VERSION = tfds.core.Version("1.0.0")

            def _info(self):
                features = tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(None, None, 3))})
                return tfds.core.DatasetInfo(builder=self, features=features)

            def _split_generators(self, dl_manager):
                return {"train": self._generate_examples()}

            def _generate_examples(self):
                for i in range(IMAGES):
                    yield i, {"image": np.full((40, 48, 3), 10 * i + 5, dtype=np.uint8)}

        _BUILDER.append(TfCbamStyleTinyPhotos)
    builder = _BUILDER[0](data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(num_shards=2))
    assert builder.info.splits["train"].num_shards == 2
    return str(data_dir)


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    pytest.importorskip("tensorflow_datasets")
    return build_tiny_tfds(tmp_path_factory.mktemp("tfds"))


def _image_ids(dataset, count):
    return [int(round((float(np.mean(batch)) * 255 - 5) / 10)) for batch in dataset.take(count)]


def test_input_pipelines_read_disjoint_record_files_that_cover_the_split(tfds_dir):
    import tensorflow as tf

    from tf_cbam_style.data import make_tfds_dataset

    seen = []
    for index in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=index, num_replicas_in_sync=2)
        dataset = make_tfds_dataset(f"tfds:{NAME}", crop_size=32, batch_size=1, data_dir=tfds_dir,
                                    input_context=context)
        ids = _image_ids(dataset, IMAGES // 2)  # one epoch of this pipeline's file
        assert len(set(ids)) == IMAGES // 2
        seen.append(set(ids))
    assert not seen[0] & seen[1] and seen[0] | seen[1] == set(range(IMAGES))
    whole = make_tfds_dataset(f"tfds:{NAME}", crop_size=32, batch_size=4, data_dir=tfds_dir)
    batch = next(iter(whole)).numpy()
    assert batch.shape == (4, 32, 32, 3) and batch.dtype == np.float32
    too_many = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=0, num_replicas_in_sync=3)
    with pytest.raises(ValueError, match="fewer than the 3 input pipelines"):
        make_tfds_dataset(f"tfds:{NAME}", data_dir=tfds_dir, input_context=too_many)


def test_train_reads_a_tfds_name_offline(tfds_dir, tmp_path, vgg_weights, capsys):
    from tf_cbam_style.cli import main

    out = tmp_path / "run"
    assert main(["train", "--data", f"tfds:{NAME}", "--tfds-data-dir", tfds_dir, "--out", str(out),
                 "--depth", "relu3_1", "--crop-size", "32", "--batch-size", "2", "--steps", "2",
                 "--checkpoint-every", "1", "--strategy", "single-host"]) == 0
    assert f"Found {IMAGES} images in tfds:{NAME} (train)" in capsys.readouterr().out
    facts = json.loads((out / "training.json").read_text())
    assert (facts["data"], facts["images"], facts["steps"]) == (f"tfds:{NAME}", IMAGES, 2)
    assert (out / "model.keras").is_file()


def test_unknown_or_unprepared_tfds_dataset_is_a_one_line_error(tfds_dir, tmp_path, capsys):
    from tf_cbam_style.cli import main

    base = ["train", "--out", str(tmp_path / "run"), "--tfds-data-dir", str(tmp_path / "empty")]
    assert main(base + ["--data", "tfds:no_such_dataset_anywhere"]) == 2
    assert main(base + ["--data", f"tfds:{NAME}"]) == 2  # known, not prepared in this data_dir
    assert main(["train", "--out", str(tmp_path / "run"), "--tfds-data-dir", tfds_dir,
                 "--data", f"tfds:{NAME}", "--tfds-split", "test"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)
    assert "names no TFDS dataset known" in errors[0]
    assert "not prepared" in errors[1] and "--tfds-download" in errors[1]
    assert "`tfds_split` must be one of ['train']" in errors[2]
    assert not (tmp_path / "run").exists()


def test_without_tensorflow_datasets_the_error_names_the_pip_command(monkeypatch):
    from tf_cbam_style.data import tfds_builder

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install -e "\.\[tfds\]"'):
        tfds_builder("tfds:coco/2017")
    with pytest.raises(ValueError, match="Received: data='tfds:'"):
        from tf_cbam_style.data import tfds_name

        tfds_name("tfds:")
