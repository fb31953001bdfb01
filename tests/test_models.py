"""The registry: every model builds, runs and carries its preprocessing; weights load offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from realorai.baselines.preprocess import normalize, resize_for_model
from realorai.baselines.transfer import RESNET101_WEIGHTS, TransferNet
from realorai.models import count_params, create_model, get_spec, list_models
from realorai.models.weights import WeightsUnavailableError, load_lite_weights, torchvision_cache_file


def test_registry_lists_the_report_models():
    assert {
        "report-cnn",
        "resnet101-transfer",
        "efficientnet-lite0-transfer",
        "efficientnet-lite1-transfer",
        "efficientnet-lite2-transfer",
    } <= set(list_models())
    with pytest.raises(KeyError, match="available"):
        create_model("no-such-model")


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_and_finite(name, request):
    if "foundation" in str(get_spec(name).builder):
        request.getfixturevalue("clip_tower")  # CLIP's blocks: a tiny random tower, no weights needed
    torch.manual_seed(0)
    model = create_model(name, num_classes=2, pretrained=False).eval()
    cfg = model.data_config
    assert cfg == get_spec(name).data_config and model.realorai_name == name
    x = torch.randint(0, 256, (2, 3, cfg.input_size, cfg.input_size), dtype=torch.uint8)
    with torch.no_grad():
        out = model(normalize(x, cfg))
    assert out.shape == (2, 2) and torch.isfinite(out).all()
    params = count_params(model)
    assert params["total"] == params["trainable"] + params["non_trainable"] > 0
    if isinstance(model, TransferNet):
        head = sum(p.numel() for p in model.head.parameters())
        assert params["trainable"] == head  # backbone frozen
        model.train()
        assert not model.backbone.training and model.head.training


def test_report_cnn_parameter_count_matches_the_report():
    params = count_params(create_model("report-cnn"))
    assert params == {"total": 25_786_050, "trainable": 25_785_090, "non_trainable": 960}


def test_resnet101_head_is_the_reports():
    model = create_model("resnet101-transfer")
    assert [type(m).__name__ for m in model.head] == ["Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear"]
    assert model.head[0].in_features == 2048 and model.head[0].out_features == 256


def test_resnet101_offline_error_names_the_cache_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(WeightsUnavailableError) as e:
        create_model("resnet101-transfer", pretrained=True)
    expected = torchvision_cache_file(RESNET101_WEIGHTS)
    assert str(expected) in str(e.value) and str(tmp_path) in str(expected)
    assert "--no-pretrained" in str(e.value)


def test_resnet101_loads_weights_from_the_torch_hub_cache(tmp_path, monkeypatch):
    """A file in torch.hub's cache is used with no download (here a stand-in for the real file)."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried to download"))
    torch.manual_seed(1)
    reference = torchvision.models.resnet101()
    path = torchvision_cache_file(RESNET101_WEIGHTS)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = create_model("resnet101-transfer", pretrained=True)
    assert torch.equal(model.backbone.conv1.weight, reference.conv1.weight)


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_efficientnet_lite_weights_load_offline(variant):
    model = create_model(f"efficientnet-lite{variant}-transfer", pretrained=True)
    random_init = create_model(f"efficientnet-lite{variant}-transfer", pretrained=False)
    assert not torch.equal(model.backbone.conv_stem.weight, random_init.backbone.conv_stem.weight)


def test_efficientnet_lite0_imagenet_weights_rank_the_right_class():
    """scikit-image's coffee photo is an espresso (ImageNet class 967) to the pretrained net."""
    data = pytest.importorskip("skimage.data")
    import timm

    net = load_lite_weights(timm.create_model("tf_efficientnet_lite0", pretrained=False), 0).eval()
    cfg = get_spec("efficientnet-lite0-transfer").data_config
    x = normalize(resize_for_model(Image.fromarray(data.coffee()), cfg)[None], cfg)
    with torch.no_grad():
        probs = net(x).softmax(1)[0]
    assert int(probs.argmax()) == 967 and float(probs[967]) > 0.5
    assert np.isclose(float(probs.sum()), 1.0, atol=1e-4)


def test_written_out_preprocessing_is_the_libraries():
    """models/zoo.py writes the ImageNet models' preprocessing out (no torch at import); it must
    be what timm's and torchvision's weights were trained with."""
    import timm

    for v in (0, 1, 2):
        cfg = timm.get_pretrained_cfg(f"tf_efficientnet_lite{v}").to_dict()
        for name in (f"efficientnet-lite{v}-transfer", *(["detector-lite0-early"] if v == 0 else [])):
            d = get_spec(name).data_config
            assert (d.input_size, d.mean, d.std, d.interpolation) == (
                cfg["input_size"][-1], tuple(cfg["mean"]), tuple(cfg["std"]), cfg["interpolation"],
            )  # fmt: skip
        assert get_spec(f"efficientnet-lite{v}-transfer").data_config.crop_pct == cfg["crop_pct"]
    tf = RESNET101_WEIGHTS.transforms()
    d = get_spec("resnet101-transfer").data_config
    assert (d.input_size, d.mean, d.std) == (tf.crop_size[0], tuple(tf.mean), tuple(tf.std))
    assert d.crop_pct == pytest.approx(tf.crop_size[0] / tf.resize_size[0])


def test_registry_is_read_without_torch():
    """Listing models and reading the shipped checkpoint's metadata import no torch or family."""
    import subprocess
    import sys

    code = (
        "import sys; from realorai.models import list_models, get_spec; "
        "from realorai.models.checkpoint import read_meta; from realorai.inference.detector import default_weights; "
        "assert get_spec(read_meta(default_weights())['model']).kind == 'detector' and list_models(); "
        "heavy = ('torch', 'timm', 'realorai.baselines', 'realorai.detector.network'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
