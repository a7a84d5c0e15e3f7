#!/usr/bin/env bash
# The indexing throughput on a machine with an NVIDIA GPU, in one short script:
# install (ONNX Runtime's CUDA build), write the footage, index it with one decoder worker per
# core and the image tower on CUDA, print the figures and, last, the JSON line.
#
#   bash benchmarks/device.sh [MINUTES]        # default 10; ~10 min on 16 cores + 1 GPU
#
# Needs the package registries (PyPI) the first time; later runs reuse .venv-device.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || {
  echo "no NVIDIA GPU visible (nvidia-smi failed)" >&2
  exit 1
}
if [ ! -x .venv-device/bin/python ]; then
  python3 -m venv .venv-device
  .venv-device/bin/pip install -q -c constraints.txt -e ".[bench]"
  # the CUDA build replaces the CPU one (same module name)
  .venv-device/bin/pip uninstall -q -y onnxruntime
  .venv-device/bin/pip install -q -c constraints.txt onnxruntime-gpu
fi
. .venv-device/bin/activate
python -c "import onnxruntime as o; p = o.get_available_providers(); print('providers:', p); \
assert 'CUDAExecutionProvider' in p, 'onnxruntime-gpu has no CUDA provider here'"
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python benchmarks/index_throughput.py --minutes "$minutes" --only vidsearch,vidsearch-keyframes
