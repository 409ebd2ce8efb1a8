# Two entry points for a newcomer: `make demo` and `make test`. Both build .venv from constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := reports/demo
SAMPLE_KEY := sample_logs/sample.key

.PHONY: setup demo test bench browser locales java sample sample-bundle clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO)
	mkdir -p $(DEMO)
	chmod 600 $(SAMPLE_KEY)
	$(BIN)/forensics ingest sample_logs/logs --accounts sample_logs/accounts.parquet \
		--key-file $(SAMPLE_KEY) --case $(DEMO)/case
	$(BIN)/forensics cluster $(DEMO)/case
	$(BIN)/forensics report $(DEMO)/case --out $(DEMO)/bundle --case-id sample-incident
	$(BIN)/forensics verify $(DEMO)/bundle
	@echo "Evidence bundle: $(DEMO)/bundle (open $(DEMO)/bundle/data/report.html)"

# Headless Chromium renders report.html in one test; install it where apt is available.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium unavailable: the report rendering test will be skipped"; }

# The VERIFY.md test runs every step under en_US.UTF-8 as well as C; generate that locale where it is missing.
locales:
	@locale -a 2>/dev/null | grep -qix 'en_US.utf-\?8' || { [ "$$(id -u)" = 0 ] && { [ -d /usr/share/i18n/locales ] || \
		{ command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq locales >/dev/null; }; } && \
		localedef -i en_US -c -f UTF-8 en_US.UTF-8; } || \
		echo "en_US.UTF-8 unavailable (needs root): the VERIFY.md locale test will fail"

# The Spark tests start JVMs (pyspark's driver, a standalone master and workers, a Spark Connect server). They need
# Java 17 or newer: the `java` Spark's launcher runs, JAVA_HOME's if set, else the one on PATH. pip cannot install it.
java:
	@java="$${JAVA_HOME:+$$JAVA_HOME/bin/}java"; \
	version=$$("$$java" -version 2>&1 | awk -F'"' '/version/ {print $$2; exit}'); \
	major=$${version%%.*}; [ "$$major" = 1 ] && major=$$(echo "$$version" | cut -d. -f2); \
	case "$$major" in ''|*[!0-9]*) major=0;; esac; \
	if [ "$$major" -lt 17 ]; then \
		echo "The Spark tests need Java 17 or newer; found $${version:-no java} ($$java)."; \
		echo "Install it, then run make test again:"; \
		echo "  Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless"; \
		echo "  elsewhere:     a JDK or JRE 17+ from your vendor, with JAVA_HOME set to it or its java on PATH"; \
		exit 1; \
	fi

test: $(STAMP) browser locales java
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Regenerate the committed sample incident and its committed bundle (a deliberate, reviewed update).
sample: $(STAMP)
	$(BIN)/python -m forensics.cli synth --out sample_logs --scale sample --seed 7 --quiet
	$(MAKE) sample-bundle

sample-bundle: $(STAMP)
	chmod 600 $(SAMPLE_KEY)
	rm -rf .sample-case
	$(BIN)/forensics ingest sample_logs/logs --accounts sample_logs/accounts.parquet \
		--key-file $(SAMPLE_KEY) --case .sample-case --quiet
	$(BIN)/forensics cluster .sample-case --quiet
	$(BIN)/forensics report .sample-case --out reports/sample --case-id sample-incident --force --quiet
	rm -rf .sample-case

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
