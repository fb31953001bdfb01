"""Towers through their libraries (issue 30): tiny random transformers and open_clip towers (no
download) give the tokens the library itself computes from its own preprocessing; names rebuild
them; missing libraries, weights and blocks are refused with what to do."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers", reason="pip install 'realorai[hf]'")
open_clip = pytest.importorskip("open_clip", reason="pip install 'realorai[open-clip]'")
from PIL import Image  # noqa: E402

from realorai.features import ExtractorUnavailable, create_extractor, list_extractors  # noqa: E402
from realorai.features.clip import CLIP_MEAN, CLIP_STD  # noqa: E402

CROPS = np.random.default_rng(0).integers(0, 256, (3, 3, 224, 224), dtype=np.uint8)
TINY = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2,
        "image_size": 224, "patch_size": 32}  # fmt: skip


def pil(crops: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(c.transpose(1, 2, 0)) for c in crops]


def tiny_hf(folder, kind: str = "clip", seed: int = 0):
    torch.manual_seed(seed)
    if kind == "clip":
        model = transformers.CLIPVisionModel(transformers.CLIPVisionConfig(**TINY))
        processor = transformers.CLIPImageProcessor()
    else:
        model = transformers.SiglipVisionModel(transformers.SiglipVisionConfig(**TINY))
        processor = transformers.SiglipImageProcessor()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return model.eval(), processor


def test_the_onnx_extractor_normalises_as_both_libraries_do():
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
    from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    assert tuple(CLIP_MEAN) == tuple(OPENAI_CLIP_MEAN) == tuple(OPENAI_DATASET_MEAN)
    assert tuple(CLIP_STD) == tuple(OPENAI_CLIP_STD) == tuple(OPENAI_DATASET_STD)
    processor = transformers.CLIPImageProcessor()  # openai/clip-vit-base-patch16's processor settings
    assert tuple(processor.image_mean) == CLIP_MEAN and tuple(processor.image_std) == CLIP_STD


@pytest.mark.parametrize("kind", ["clip", "siglip"])
def test_hf_tower_features_are_the_librarys_own_tokens(tmp_path, kind):
    model, processor = tiny_hf(tmp_path / kind, kind)
    ex = create_extractor(f"hf:{tmp_path / kind}@0+2")
    got = ex.crop_features(CROPS)
    # The library's own preprocessing of a native crop (no resize, no centre crop) and its hidden states.
    pixels = processor(images=pil(CROPS), do_resize=False, do_center_crop=False, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        hidden = model(pixel_values=pixels, output_hidden_states=True).hidden_states
    parts = []
    for b in (0, 2):
        h = hidden[b + 1]
        parts += [h[:, 0], h[:, 1:].mean(1)] if kind == "clip" else [h.mean(1)]
    want = torch.cat(parts, 1).numpy()
    assert got.shape == want.shape == (3, (2 if kind == "clip" else 1) * 16 * 2)
    assert np.allclose(got, want, atol=1e-5)
    d = ex.describe()
    assert tuple(d["data_config"]["mean"]) == tuple(processor.image_mean)
    assert d["data_config"]["resize"] == "crops" and d["weights"]["library"] == "transformers"


def test_open_clip_tower_features_match_the_librarys_preprocessing_and_blocks(tmp_path):
    config = {"embed_dim": 16, "vision_cfg": {"image_size": 224, "layers": 3, "width": 32, "head_width": 16,
              "patch_size": 32}, "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2,
              "layers": 1}}  # fmt: skip
    (tmp_path / "tiny-vit-test.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "tiny-vit-test.json")
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-vit-test")
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    ex = create_extractor(f"open_clip:tiny-vit-test/{tmp_path / 'tiny.pt'}@1")
    got = ex.crop_features(CROPS)
    # Independently: open_clip's own eval transform, and block 1's output caught by a forward hook.
    _, _, preprocess = open_clip.create_model_and_transforms("tiny-vit-test", pretrained=str(tmp_path / "tiny.pt"))
    x = torch.stack([preprocess(img) for img in pil(CROPS)])
    caught = {}
    hook = model.visual.transformer.resblocks[1].register_forward_hook(lambda m, i, o: caught.update(o=o))
    with torch.no_grad():
        model.eval().visual(x)
    hook.remove()
    h = caught["o"]
    want = torch.cat([h[:, 0], h[:, 1:].mean(1)], 1).numpy()
    assert np.allclose(got, want, atol=1e-5)
    assert ex.describe()["weights"] == {"library": "open_clip", "model": "tiny-vit-test",
                                        "pretrained": str(tmp_path / "tiny.pt")}  # fmt: skip
    with pytest.raises(ValueError, match="MODEL/PRETRAINED"):
        create_extractor("open_clip:tiny-vit-test")


def test_names_blocks_and_missing_pieces_are_refused_with_what_to_do(tmp_path, monkeypatch):
    names = list_extractors()
    assert {"clip-l14", "siglip-b16", "hf:REPO[@BLOCKS]", "open_clip:MODEL/PRETRAINED[@BLOCKS]"} <= set(names)
    tiny_hf(tmp_path / "t")
    with pytest.raises(ValueError, match="block 3 does not exist; the tower has blocks 0-2"):
        create_extractor(f"hf:{tmp_path / 't'}@3")
    with pytest.raises(ValueError, match="joined by"):
        create_extractor(f"hf:{tmp_path / 't'}@six")
    assert create_extractor(f"hf:{tmp_path / 't'}").blocks == (1,)  # the middle block by default
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    with pytest.raises(ExtractorUnavailable, match="hf:openai/clip-vit-large-patch14: not in the Hugging Face cache"):
        create_extractor("clip-l14")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ExtractorUnavailable, match=r"realorai\[hf\]"):
        create_extractor(f"hf:{tmp_path / 't'}")


def test_a_head_adapted_on_an_hf_tower_reloads_and_refuses_other_weights(tmp_path, toy_dataset):
    from realorai.inference.adapt import adapt
    from realorai.inference.detector import Detector
    from realorai.inference.examples import from_folders

    tiny_hf(tmp_path / "tower")
    name = f"hf:{tmp_path / 'tower'}@1"
    run = tmp_path / "run"
    report = adapt(from_folders(str(toy_dataset), [], []), run, views=1, show_progress=False, log=lambda m: None,
                   features=name)  # fmt: skip
    assert report["features"]["name"] == name and report["features"]["num_features"] == 32
    rows = Detector.load(run).predict([toy_dataset / "ai" / "ai_000.png"], pixels_only=True)
    assert 0 <= rows[0]["p_ai"] <= 1
    tiny_hf(tmp_path / "tower", seed=5)  # other weights under the same name
    with pytest.raises(ValueError, match="not the same features"):
        Detector.load(run)
