# The two commands a newcomer needs: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install tools demo test smoke bench catalogs untranslated clean docs mutation

# -qq on the project's own install: errors only. Without it setuptools prints a banner about editable
# installs, meant for package authors, that reads like a problem; a failed install still says why and stops.
# pip is upgraded only when it is older than 21.3, which cannot install a project like this one as
# editable (PEP 660); a newer one is left as it is (an upgrade is 3 s of a clean clone's set-up).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import sys, pip; sys.exit(tuple(map(int, pip.__version__.split('.')[:2])) < (21, 3))" \
	  || $(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -qq --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set, an editable install would
# otherwise compile cpcm again at every start of every command (about 0.1 s). Only stale files
# are compiled again.
install: $(STAMP)
	@$(BIN)/python -m compileall -q cpcm > /dev/null

# System tools the tests use: the reference `age` command (interop tests).
tools:
	@scripts/ensure-tools

demo: install
	@PATH="$(CURDIR)/$(BIN):$$PATH" scripts/demo

# What users install is what CI tests: a plain `pip install .` in a fresh venv, run as a user would.
smoke:
	@scripts/plain-install-smoke

# The tests' temporary folders (every repository, remote and key a test makes, and the temp files of
# what it runs) go in memory (/dev/shm) where it has room to spare: the tests create, rename and link
# small files by the hundred thousand and start git on them, and on the disk's file system a run took
# a quarter to a third longer (docs/testing.md). A run takes up to about 1.5 GB there: its folder is
# removed when every test passed, and kept (its path said) when one failed.
TEST_TMPDIR = $(shell $(BIN)/python -c "import os, shutil; print('/dev/shm' if os.access('/dev/shm', os.W_OK | os.X_OK) and shutil.disk_usage('/dev/shm').free >= 4 << 30 else '')")

# PYTHONDONTWRITEBYTECODE is cleared for pytest: with it set, every test process rewrites and
# compiles every test module again at each run (about 8 s of a core each); without it, pytest
# keeps them in tests/__pycache__ (ignored by git) until a test file changes. --maxschedchunk 4:
# a worker is handed a few tests at a time, so the long tests, which run first (tests/conftest.py
# run_order), spread over both workers instead of queueing on one. One worker more than the
# machine's cores: the tests wait on the git and cpcm processes they start and on the disk often
# enough that a worker per core left a tenth of the cores idle (docs/testing.md).
# The plain-install smoke (`make smoke`) runs beside the tests, its output printed after theirs: it
# waits on pip and on its own processes as much as on the processor, and the tests leave a core
# idle now and then. Either failing fails `make test`.
TEST_WORKERS = $(shell $(BIN)/python -c "import os; print(len(os.sched_getaffinity(0)) + 1 if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1) + 1)")
test: install tools
	@scripts/plain-install-smoke > $(VENV)/smoke.log 2>&1 & smoke=$$!; \
	temp=$(if $(TEST_TMPDIR),$$(mktemp -d $(TEST_TMPDIR)/pytest-cpcm.XXXXXX)); \
	TMPDIR="$${temp:-$${TMPDIR:-/tmp}}" PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --maxschedchunk 4 \
	  $${temp:+--basetemp=$$temp/pytest}; tests=$$?; \
	if [ -n "$$temp" ]; then if [ $$tests -eq 0 ]; then rm -rf "$$temp"; \
	  else echo "make test: the tests' folders are kept in $$temp, in memory until removed (rm -rf $$temp)" >&2; fi; fi; \
	wait $$smoke; smoked=$$?; cat $(VENV)/smoke.log; \
	[ $$smoked -eq 0 ] || { echo "make test: the plain-install smoke failed (above)" >&2; exit 1; }; exit $$tests

# Rewrite every generated table in docs/ (stages, clocks, rule codes); a test fails when one is stale.
docs: install
	$(BIN)/python docs/tools/generate.py

# Mutation testing of cpcm/domain and cpcm/workflow against the pure tests (docs/testing.md): long.
mutation: install
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

# The documents' words: extract them from the templates (babel.cfg) into the catalog template,
# then update every language's catalog from it. Translate what is new or marked fuzzy, then
# run tests/test_catalogs.py. See docs/translating.md.
catalogs: install
	$(BIN)/pybabel extract -F babel.cfg -o cpcm/render/locale/cpcm.pot --project=cpcm \
	  --add-location=file --sort-by-file --add-comments=Translators: .
	$(BIN)/pybabel update -i cpcm/render/locale/cpcm.pot -d cpcm/render/locale -D cpcm --ignore-obsolete

# What a language still lacks: the form texts (cpcm/forms/*.yaml) with no words in it, the catalog's
# messages untranslated or fuzzy, and the wordings marked '# review' that wait for a speaker's
# review. `make untranslated` for Kiswahili, `make untranslated L=fr` for another. docs/translating.md
L ?= sw
untranslated: install
	@$(BIN)/python scripts/untranslated.py $(L)

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
