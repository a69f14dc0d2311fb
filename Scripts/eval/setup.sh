#!/usr/bin/env bash
# Sets up the evaluation suite on Debian; safe to run again (installs only what is missing).
#   Scripts/eval/setup.sh          apt: ffmpeg, tesseract-ocr (+eng), wamerican, the held-out fonts;
#                                  .venv with Scripts/eval/requirements.txt (RapidOCR/PP-OCRv4, onnxruntime)
#   Scripts/eval/setup.sh --tests  only what the tests need (apt-packages.txt + numpy/pillow/pytest)
set -euo pipefail
cd "$(dirname "$0")/../.."
tests_only=0
case "${1:-}" in
  --tests) tests_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  *) echo "setup: unknown option $1" >&2; exit 64 ;;
esac

mapfile -t packages < <(grep -v '^#' Scripts/eval/apt-packages.txt | tr ' ' '\n' | grep -v '^$')
packages+=(python3-venv)
[ "$tests_only" = 1 ] || packages+=(tesseract-ocr tesseract-ocr-eng)
. Scripts/lib/setup-common.sh
apt_install_missing "${packages[@]}"

req=Scripts/eval/requirements.txt
[ "$tests_only" = 1 ] && req=Scripts/requirements-test.txt
venv_install "$req"
echo "eval setup: ready ($(.venv/bin/python --version); $(command -v tesseract >/dev/null && tesseract --version 2>/dev/null | head -1 || echo 'no tesseract'))" >&2
