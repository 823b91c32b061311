# Regenerate the committed leaderboard of the embedded suites (results/embedded/) and the
# README's generated sections. `make results` runs every registered method on every
# embedded suite (about 1.5 hours on 2 CPU cores, measured 2026-11-27; resumable: finished cells are kept).
PY ?= python
RESULTS ?= results/embedded
METHODS ?= source,tent,eata,sar,read,deyo,tcr,rest
SUITES ?= smoke,mini-clean,mini-c,mini-pedes,mini-pedes-c,mini-diverse

.PHONY: results tables readme test

results:
	$(PY) -m bench run --method $(METHODS) --suite $(SUITES) --out $(RESULTS)
	$(PY) -m bench run --method source --suite mini-c --severity all --out $(RESULTS)/severity
	$(PY) -m bench ablate --method rest --suite mini-diverse --out $(RESULTS)/ablation \
		--table $(RESULTS)/ABLATION.md
	$(MAKE) tables

tables:
	$(PY) -m bench leaderboard $(RESULTS) --out $(RESULTS)/LEADERBOARD.md
	$(PY) -m bench leaderboard $(RESULTS) --metric retention_r1 --suite mini-diverse \
		--out $(RESULTS)/RETENTION.md
	$(PY) -m bench leaderboard $(RESULTS)/severity --out $(RESULTS)/SEVERITY.md
	$(PY) -m bench plot $(RESULTS) --out $(RESULTS)/figures
	$(PY) tools/update_readme.py

readme:
	$(PY) tools/update_readme.py

test:
	$(PY) -m pytest -q
