# Regenerate the committed leaderboard of the embedded suites (results/embedded/) and the
# generated sections of README.md and docs/. `make results` runs every registered method on every
# embedded suite of `all` with three seeds (resumable: finished cells are kept). Measured
# 2026-12-02 with two such runs sharing one folder on 2 CPU cores (--threads 1 each), one
# seed of the 8 methods on mini-diverse v3 took 98 min, three seeds of smoke, mini-clean and
# mini-pedes 87 min; on 2026-12-03's machine one mini-diverse v3 seed took 40-41 min
# (cell walls summed 79-80 min), one mini-c v3 seed 115 min (cell walls summed 228 min:
# rest 51, sar 48, deyo 30, tent 28, tcr 21, eata 21, read 21, source 8; ~10 min of it paused).
# The mini-c v3 seed 1 run (same two processes): 11 cells in one run, the other 205
# from 16:58 to 19:02 (14 min of it paused); cell walls summed 257 min (sar 65, rest 49, read 40).
# Seed 2 ran in two runs (2026-12-03/04) beside other runs: cell walls summed 447 min.
# The COCO-sized suites are opt-in: `make coco`.
PY ?= python
RESULTS ?= results/embedded
METHODS ?= source,tent,eata,sar,read,deyo,tcr,rest
SEEDS ?= 0,1,2
# The rows committed before per-query outcomes were stored would be kept as finished:
# regenerate them once with `make results RUN_FLAGS=--overwrite`.
RUN_FLAGS ?=
SUITES ?= smoke,mini-clean,mini-c,mini-pedes,mini-pedes-c,mini-diverse

COCO_SUITES ?= mini-coco-c,mini-coco-diverse
COMPOSED_SUITES ?= mini-cir-c
BASELINES ?= source,tent,eata,sar,read,deyo

.PHONY: results coco composed pair rank similarity tables readme test site

results:
	$(PY) -m bench run --method $(METHODS) --suite $(SUITES) --seed $(SEEDS) $(RUN_FLAGS) \
		--out $(RESULTS)
	$(PY) -m bench run --method source --suite mini-c --severity all --seed $(SEEDS) \
		$(RUN_FLAGS) --out $(RESULTS)/severity
	$(PY) -m bench ablate --method rest --suite mini-diverse --out $(RESULTS)/ablation \
		--table $(RESULTS)/ABLATION.md
	$(MAKE) similarity
	$(MAKE) tables

# The COCO-sized embedded suites (opt-in: not in `--suite all`, hours on 2 cores), in their
# own store ($(RESULTS)/coco) so that the main board's overall ranking compares every method
# on the same cells. Then mini-c beside mini-coco-c per method and direction.
coco:
	$(PY) -m bench run --method $(METHODS) --suite $(COCO_SUITES) --seed $(SEEDS) \
		--out $(RESULTS)/coco
	$(MAKE) pair

# Composed image retrieval (docs/composed.md), opt-in like coco, in its own store: the
# zero-shot composition (mini-clip) and the trained combiner (mini-cir-combiner).
composed:
	$(PY) -m bench run --method $(METHODS) --suite $(COMPOSED_SUITES) --seed $(SEEDS) \
		--out $(RESULTS)/composed
	$(PY) -m bench run --method $(METHODS) --suite $(COMPOSED_SUITES) --seed $(SEEDS) \
		--model mini-cir-combiner --out $(RESULTS)/composed

pair:
	$(PY) tools/suite_pair.py $(RESULTS) $(RESULTS)/coco --suites mini-c,mini-coco-c \
		--out $(RESULTS)/SUITE_PAIR.md

# Kendall's tau of the measured baseline ranking on mini-coco-c (i2t) vs the published BLIP
# COCO-C ranking (docs/protocol.md section 7); needs the baselines' mini-coco-c image cells
# only (the 25,000-caption t2i cells are not part of it).
rank:
	$(PY) -m bench run --method $(BASELINES) --suite mini-coco-c --direction i2t --seed $(SEEDS) \
		--out $(RESULTS)/coco
	$(PY) tools/rank_vs_published.py $(RESULTS)/coco --suite mini-coco-c --out $(RESULTS)/RANK.md

# Severity check: clean-vs-shifted embedding similarity per image shift and severity, on
# the benchmark's own images and with one random draw shared by all severities (--paired).
similarity:
	$(PY) -m bench similarity --suite mini-c --quiet --out $(RESULTS)/SIMILARITY.md \
		--csv $(RESULTS)/similarity.csv
	$(PY) -m bench similarity --suite mini-c --paired --quiet \
		--out $(RESULTS)/SIMILARITY_PAIRED.md --csv $(RESULTS)/similarity_paired.csv

# Each store's statistics memo (statistics.json, bench/report/memo.py) is rebuilt from
# scratch, so the committed one holds exactly the entries these tables use.
tables:
	rm -f $(RESULTS)/statistics.json $(RESULTS)/severity/statistics.json \
		$(RESULTS)/coco/statistics.json $(RESULTS)/composed/statistics.json \
		$(RESULTS)/ablation/statistics.json
	$(PY) -m bench leaderboard $(RESULTS) --out $(RESULTS)/LEADERBOARD.md
	$(PY) -m bench leaderboard $(RESULTS) --metric retention_r1 --suite mini-diverse \
		--out $(RESULTS)/RETENTION.md
	$(PY) -m bench leaderboard $(RESULTS)/severity --out $(RESULTS)/SEVERITY.md
	rm -rf $(RESULTS)/figures  # only the figures the current rows make
	$(PY) -m bench plot $(RESULTS) --out $(RESULTS)/figures
	if [ -d $(RESULTS)/coco/cells ]; then \
		$(PY) -m bench leaderboard $(RESULTS)/coco --out $(RESULTS)/COCO.md && \
		$(PY) -m bench leaderboard $(RESULTS)/coco --metric retention_r1 \
			--suite mini-coco-diverse --if-present --out $(RESULTS)/COCO_RETENTION.md && \
		$(MAKE) pair && \
		$(PY) tools/rank_vs_published.py $(RESULTS)/coco --out $(RESULTS)/RANK.md; fi
	if [ -d $(RESULTS)/composed/cells ]; then \
		$(PY) -m bench leaderboard $(RESULTS)/composed --metric r10 --out $(RESULTS)/COMPOSED.md && \
		$(PY) -m bench leaderboard $(RESULTS)/composed --metric r50 \
			--out $(RESULTS)/COMPOSED_R50.md; fi
	$(PY) tools/update_readme.py
	$(MAKE) site

readme:
	$(PY) tools/update_readme.py

test:
	$(PY) -m pytest -q

# The committed embedded leaderboard as a static website (docs/leaderboard/index.html):
# tables, methods, each number's cells, compare, figures, downloads (docs/site.md); each
# nested store (severity, ablation, coco, composed) a section of its own in
# docs/leaderboard/<name>/ (--nested).
site:
	$(PY) -m bench site $(RESULTS) --nested --out docs/leaderboard
