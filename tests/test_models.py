"""The registry: every model builds, runs and carries its preprocessing; weights load offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from realorai.models import count_params, create_model, get_spec, list_models, resolve_data_config
from realorai.models.transfer import RESNET101_WEIGHTS, TransferNet, lite_imagenet_classifier
from realorai.models.weights import WeightsUnavailableError, torchvision_cache_file
from realorai.preprocess import normalize, resize_for_model


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
def test_forward_shape_and_finite(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=2, pretrained=False).eval()
    cfg = resolve_data_config(model)
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
    net = lite_imagenet_classifier(0)
    cfg = resolve_data_config("efficientnet-lite0-transfer")
    x = normalize(resize_for_model(Image.fromarray(data.coffee()), cfg)[None], cfg)
    with torch.no_grad():
        probs = net(x).softmax(1)[0]
    assert int(probs.argmax()) == 967 and float(probs[967]) > 0.5
    assert np.isclose(float(probs.sum()), 1.0, atol=1e-4)
