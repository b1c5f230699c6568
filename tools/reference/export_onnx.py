#!/usr/bin/env python3
"""Export a sentence-transformers BERT model folder to ONNX for the ONNX Runtime
peer of bench/embed (issue 12), and quantise it with ORT's dynamic int8.

Two steps, each in the environment that has its library:

    build/refvenv/bin/python tools/reference/export_onnx.py export   --model DIR --out OUTDIR
    build/ortvenv/bin/python tools/reference/export_onnx.py quantize --out OUTDIR

`export` (torch 1.13 + transformers, the reference venv) writes OUTDIR/model.onnx:
the Transformer module only (transformers.AutoModel, inputs input_ids,
attention_mask, token_type_ids [batch, seq] int64, output last_hidden_state
[batch, seq, hidden]), dynamic batch and sequence axes, opset 14. Mean pooling
and L2 normalisation are done in numpy by bench/embed_ort.py, as
sentence-transformers' Pooling + Normalize modules do. It also checks the export
against torch on two padded sentences (max |diff| printed, must be < 1e-4).

`quantize` (onnxruntime, build/ortvenv) writes OUTDIR/model_int8.onnx with
onnxruntime.quantization.quantize_dynamic (weights QInt8, ORT's defaults
otherwise: per-tensor weight scales, dynamic u8 activations) — ORT's documented
int8 recipe for transformer encoders on CPU.

bench/ort_setup.sh runs both.
"""
import argparse
import json
import os
import sys


def export(model_dir, out):
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    os.makedirs(out, exist_ok=True)
    model = AutoModel.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = tok(["A man is playing a guitar.", "A woman is slicing an onion with a very sharp knife."],
              padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(enc[n] for n in names)
    path = os.path.join(out, "model.onnx")
    dyn = {n: {0: "batch", 1: "seq"} for n in names}
    dyn["last_hidden_state"] = {0: "batch", 1: "seq"}
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=dyn, opset_version=14, do_constant_folding=True)
        ref = model(*args).last_hidden_state.numpy()
    meta = {"model": os.path.abspath(model_dir), "torch": torch.__version__, "opset": 14,
            "check_inputs": {n: enc[n].numpy().tolist() for n in names}}
    np.save(os.path.join(out, "check_ref.npy"), ref)
    with open(os.path.join(out, "export.json"), "w") as f:
        json.dump(meta, f)
    print("export_onnx: wrote %s (%d bytes)" % (path, os.path.getsize(path)))


def quantize(out):
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = os.path.join(out, "model.onnx"), os.path.join(out, "model_int8.onnx")
    if not os.path.exists(src):
        sys.exit("export_onnx: %s missing: run the export step first" % src)
    # the export step's check, here where onnxruntime is
    meta = json.load(open(os.path.join(out, "export.json")))
    ref = np.load(os.path.join(out, "check_ref.npy"))
    feeds = {n: np.array(v, dtype=np.int64) for n, v in meta["check_inputs"].items()}
    got = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    mask = feeds["attention_mask"][..., None] > 0
    diff = float(np.abs(np.where(mask, got - ref, 0)).max())
    print("export_onnx: ORT fp32 vs torch on the check inputs: max |diff| %.2e" % diff)
    if not diff < 1e-4:
        sys.exit("export_onnx: the ONNX export does not reproduce torch (max |diff| %.2e)" % diff)
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
    print("export_onnx: wrote %s (%d bytes), onnxruntime %s" % (dst, os.path.getsize(dst), ort.__version__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["export", "quantize"])
    ap.add_argument("--model", default=os.path.join("models", "all-MiniLM-L6-v2"))
    ap.add_argument("--out", default=os.path.join("build", "onnx", "all-MiniLM-L6-v2"))
    a = ap.parse_args()
    if a.step == "export":
        export(a.model, a.out)
    else:
        quantize(a.out)


if __name__ == "__main__":
    main()
