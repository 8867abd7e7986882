# 机器学习笔记 (ML Notes) — build, test and preview the site.
# Every target that needs Python depends on the virtual environment, which is
# (re)created from the pinned requirements when it is missing or stale.

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
# The site's set (requirements.txt) and, on top of it, the tests' and tools' set
# (requirements-test.txt): `make html` installs only the first.
SITE_STAMP  := $(VENV)/.installed-site
TEST_STAMP  := $(VENV)/.installed-test
# MathJax, which draws the formulas at build time, runs under Node.js (package.json).
NODE_STAMP  := node_modules/.installed
SITE_ENV    := $(SITE_STAMP) $(NODE_STAMP)
TEST_ENV    := $(TEST_STAMP) $(NODE_STAMP)
BUILDDIR    := _build
# The pickled environment and doctrees stay out of _build/html, the directory
# that is published (Sphinx would otherwise put them in _build/html/.doctrees).
DOCTREES    := $(BUILDDIR)/doctrees
# Strict: every warning is an error, every reference must resolve, and we
# keep going so that one run reports all problems at once.
STRICT      := -W --keep-going -n
SPHINXBUILD := $(VPY) -m sphinx
SPHINXOPTS  ?=
TITLE       ?=
CATEGORY    ?=
NEED_NODE   := command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
  echo "The site needs Node.js and npm: MathJax draws the formulas at build time. On Debian/Ubuntu:"; \
  echo "  sudo apt-get install -y nodejs npm"; exit 1; }
# The concept graph is drawn by Graphviz's dot, a system package.
NEED_DOT    := command -v dot >/dev/null 2>&1 || { \
  echo "The site needs Graphviz (dot) to draw the concept graph. On Debian/Ubuntu:"; \
  echo "  sudo apt-get install -y graphviz"; exit 1; }
TEX_PACKAGES := latexmk texlive-xetex texlive-lang-chinese texlive-latex-recommended \
                texlive-latex-extra texlive-fonts-recommended fonts-texgyre fonts-dejavu-core fonts-freefont-otf \
                poppler-utils

.DEFAULT_GOAL := help
.PHONY: icons help venv html test test-fast test-latest test-browser lint serve new-post latexpdf tex-packages bench clean clean-venv vendor-axe inventories

help:  ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-15s %s\n", $$1, $$2}'

venv: $(TEST_ENV)  ## Create .venv (the site's and the tests' pinned sets) and node_modules (package-lock.json)

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "ML Notes needs Python 3.11 or newer ($(PYTHON) is older); set PYTHON=python3.X"; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	  echo "$(PYTHON) cannot create virtual environments. On Debian/Ubuntu:"; \
	  echo "  sudo apt-get install -y python3-venv"; exit 1; }
	@echo ">> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip

# A changed requirements file updates the venv in place (pip installs the new pins).
$(SITE_STAMP): requirements.txt | $(VPY)
	@echo ">> installing the site's set (requirements.txt) into $(VENV)"
	$(VPY) -m pip install --quiet -r requirements.txt
	touch $@

$(TEST_STAMP): requirements-test.txt $(SITE_STAMP)
	@echo ">> installing the tests' set (requirements-test.txt) into $(VENV)"
	$(VPY) -m pip install --quiet -r requirements-test.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	@$(NEED_NODE)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

html: $(SITE_ENV)  ## Build the site into _build/html (strict)
	@$(NEED_DOT)
	$(SPHINXBUILD) -b html -d $(DOCTREES) $(STRICT) $(SPHINXOPTS) . $(BUILDDIR)/html

# The suite in two passes: everything but the browser tests on both cores (a test file stays
# on one core, so its module fixtures are built once), then the browser tests alone, since
# their page budgets and paint times are measured and must not share the machine.
test: lint $(NODE_STAMP)  ## Lint, build strictly, run the whole test suite
	@$(NEED_DOT)
	$(SPHINXBUILD) -b html -d $(DOCTREES) $(STRICT) $(SPHINXOPTS) . $(BUILDDIR)/html
	MLNOTES_BUILT_HTML=$(BUILDDIR)/html MLNOTES_BUILT_DOCTREES=$(DOCTREES) \
	  $(VPY) -m pytest -n 2 --dist loadfile -m "not browser" $(PYTEST_ARGS)
	MLNOTES_BUILT_HTML=$(BUILDDIR)/html MLNOTES_BUILT_DOCTREES=$(DOCTREES) \
	  $(VPY) -m pytest -m browser $(PYTEST_ARGS)

test-fast: $(TEST_STAMP) $(NODE_STAMP)  ## The edit loop: ruff, and the tests that need neither the whole site nor a browser
	$(VPY) -m ruff check .
	$(VPY) -m pytest --fast -q -n 2 $(PYTEST_ARGS)

# The upgrade canary: the whole suite in a fresh venv holding the newest release of every
# dependency (tools/latest.py; torch stays at its pin), the build in _build/latest.  It prints
# each pin beside the newest version; README, "Upgrading the dependencies", keeps the result.
LATEST      := .venv-latest
test-latest: $(NODE_STAMP)  ## The upgrade canary: make test with the newest version of every dependency
	@mkdir -p $(BUILDDIR)/latest
	$(PYTHON) tools/latest.py --venv $(LATEST) --out $(BUILDDIR)/latest | tee $(BUILDDIR)/latest/versions.txt
	$(MAKE) test VENV=$(LATEST) BUILDDIR=$(BUILDDIR)/latest

test-browser: $(TEST_ENV)  ## Build, then only the browser tests (Chromium: search, a11y, phones, contrast)
	@$(NEED_DOT)
	$(SPHINXBUILD) -b html -d $(DOCTREES) $(STRICT) $(SPHINXOPTS) . $(BUILDDIR)/html
	MLNOTES_BUILT_HTML=$(BUILDDIR)/html MLNOTES_BUILT_DOCTREES=$(DOCTREES) $(VPY) -m pytest -m browser tests/test_browser.py $(PYTEST_ARGS)

# (locales/ is skipped: the .po catalog is not reST and sphinx-lint misreads it)
lint: $(TEST_STAMP)  ## Ruff and sphinx-lint only
	$(VPY) -m ruff check .
	$(VPY) -m sphinxlint --ignore .venv --ignore $(LATEST) --ignore _build --ignore tests/roots --ignore locales .

# tools/serve.py keeps the Sphinx application between builds: a saved post is built in
# memory (1.2 s to the browser at 1,000 posts; sphinx-autobuild, a new sphinx-build per
# change, 2.6 s in the same benchmark run).
serve: $(SITE_ENV)  ## Live preview at http://127.0.0.1:8000 (drafts shown, no search index)
	@$(NEED_DOT)
	MLNOTES_DRAFTS=1 $(VPY) tools/serve.py -d $(BUILDDIR)/doctrees-serve -D mlnotes_search_index=0 \
	  . $(BUILDDIR)/serve

new-post: $(SITE_STAMP)  ## Write posts/<slug>.md: make new-post TITLE="..." CATEGORY="..." [SLUG=...]
	$(VPY) tools/new_post.py --title "$(TITLE)" --category "$(CATEGORY)" $(if $(SLUG),--slug "$(SLUG)")

latexpdf: $(SITE_STAMP)  ## Build the PDF book with XeLaTeX
	@command -v xelatex >/dev/null 2>&1 && command -v latexmk >/dev/null 2>&1 || { \
	  echo "make latexpdf needs XeLaTeX. On Debian/Ubuntu install it with:"; \
	  echo "  sudo apt-get install -y $(TEX_PACKAGES)"; exit 1; }
	@$(NEED_DOT)
	$(SPHINXBUILD) -M latexpdf . $(BUILDDIR) $(STRICT) $(SPHINXOPTS)

bench: $(TEST_ENV)  ## Build-time benchmark at N = 30, 300, 1000 posts (10-15 min)
	$(VPY) tools/bench.py $(BENCH_ARGS)

icons: html $(TEST_STAMP)  ## Regenerate _static/mlnotes-icons.css (the icons the pages draw) after a theme upgrade
	$(VPY) tools/icons.py $(BUILDDIR)/html

tex-packages:  ## Print the Debian/Ubuntu packages that `make latexpdf` needs
	@echo $(TEX_PACKAGES)

# numpy.inv and torch.inv: the official inventories when the network is there
# (plus the alias entries the type hints need), else generated from the installed
# packages. python.inv comes from Debian's python3.11-doc (README, "Offline intersphinx").
INVENTORY_URLS := numpy=https://numpy.org/doc/stable/objects.inv \
                  torch=https://docs.pytorch.org/docs/stable/objects.inv

inventories: $(SITE_STAMP)  ## Refresh _intersphinx/numpy.inv and torch.inv (official if online, else generated)
	$(VPY) tools/inventories.py
	@mkdir -p $(BUILDDIR)/inventories
	@for pair in $(INVENTORY_URLS); do \
	  name=$${pair%%=*}; url=$${pair#*=}; \
	  if curl -fsSL --max-time 30 -o $(BUILDDIR)/inventories/$$name.inv "$$url"; then \
	    $(VPY) tools/inventories.py --only $$name --official $(BUILDDIR)/inventories/$$name.inv; \
	  else \
	    echo ">> cannot download $$url (offline?): keeping the generated _intersphinx/$$name.inv"; \
	  fi; \
	done

AXE_VERSION := 4.14.1
vendor-axe:  ## Refresh the vendored axe-core (accessibility tests) from npm (needs network)
	rm -rf $(BUILDDIR)/axe && mkdir -p $(BUILDDIR)/axe
	cd $(BUILDDIR)/axe && npm pack axe-core@$(AXE_VERSION) && tar xzf axe-core-$(AXE_VERSION).tgz
	cp $(BUILDDIR)/axe/package/axe.min.js $(BUILDDIR)/axe/package/LICENSE \
	  $(BUILDDIR)/axe/package/LICENSE-3RD-PARTY.txt tests/vendor/

clean:  ## Remove build output
	rm -rf $(BUILDDIR)

clean-venv:  ## Remove the virtual environment and node_modules
	rm -rf $(VENV) node_modules
