# Developer entry points. `make demo` and `make test` work on a fresh Debian machine.
SHELL := /bin/bash
export PATH := $(PATH):$(HOME)/.cargo/bin
export NOT_CRAN := true

.PHONY: deps install docs demo test test-rust test-r check clean

deps:
	@bash tools/install-deps.sh

# Build the Rust core and install the R package (also regenerates R/extendr-wrappers.R).
install: deps
	R CMD INSTALL --no-test-load . 2>&1 | tail -n 3

# Regenerate NAMESPACE and man/ from the roxygen comments.
docs: deps
	R CMD INSTALL --no-test-load --with-keep.source . 2>&1 | tail -n 1
	Rscript -e 'roxygen2::roxygenise(load_code = roxygen2::load_installed)'
	R CMD INSTALL --no-test-load . 2>&1 | tail -n 1

demo: install
	Rscript tools/demo.R

test: deps
	@bash tools/test-all.sh

test-rust:
	cd src/rust && cargo test --workspace --exclude innsight

test-r: install
	Rscript tools/run-tests.R

check: deps
	@bash tools/check.sh

clean:
	rm -rf src/rust/target src/*.o src/*.so check innsight_*.tar.gz
