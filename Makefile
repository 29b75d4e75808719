# Developer entry points. `make demo` and `make test` work on a fresh Debian machine.
SHELL := /bin/bash
export PATH := $(PATH):$(HOME)/.cargo/bin
export NOT_CRAN := true

.PHONY: deps install docs demo demo-models imagenet test test-rust test-r test-keras test-torch tarball test-offline check bench fuzz fuzz-seeds clean

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

# Retrain the shipped demo models in inst/extdata (PyTorch on the CPU, about ten
# minutes; run by hand, not in CI). See tools/demo-models/README.md.
demo-models: install
	@bash tools/demo-models/run.sh

# The ImageNet article (VGG19, ResNet50; four photos x seven methods) with the
# package's own helpers instead of keras: figures in imagenet-out/. IMAGES=dir of
# image_1.png..image_4.png (default: the seed's photos next to the repository).
IMAGES ?= ../shared/seed/images
imagenet: install
	Rscript tools/imagenet/article.R "$(IMAGES)" imagenet-out

test: deps
	@bash tools/test-all.sh

test-rust:
	cd src/rust && cargo test --workspace --exclude innsight

test-r: install
	Rscript tools/run-tests.R

# The Keras tests, with Python Keras from a venv made on first use (~/.cache/keras-venv,
# about 1.6 GB; VENV=path to choose another place; KERAS2=1 adds Keras 2 (tf_keras)).
test-keras: install
	@bash tools/test-keras.sh

# The PyTorch tests: modules through reticulate (directly and as ONNX files, incl.
# full-size VGG16 and ResNet50) against torch's outputs and autograd, with the
# benchmark's venv (~/.cache/peers-venv, made on first use; VENV=path for another).
test-torch: install
	@bash tools/test-torch.sh

# The source tarball, carrying the Rust crates' sources (src/rust/vendor.tar.xz,
# made by tools/vendor.sh and removed again afterwards) so that it installs offline.
tarball: deps
	@bash tools/build-tarball.sh

# Install that tarball with the network cut off, then use the package.
test-offline: deps
	@bash tools/test-offline-install.sh

# R CMD check --as-cran of the tarball, itself offline (see tools/check.sh).
check: deps
	@bash tools/check.sh

# innsight vs Captum/Zennit on VGG16, VGG19 and ResNet50 -> bench/results.md (see bench/README.md).
# BENCH_QUICK=1 for a smoke test; sets up the peers' Python environment when needed.
bench: deps
	@bash bench/run.sh

# The Fashion-MNIST test set in one process and on two future workers, full result
# vs summary -> bench/results-scaling.md (needs Debian's dataset-fashion-mnist).
bench-scaling: install
	@dpkg-query -W dataset-fashion-mnist >/dev/null 2>&1 || apt-get install -y -q --no-install-recommends dataset-fashion-mnist
	@Rscript bench/scaling.R

# Fuzz the readers of untrusted files (model file, safetensors, ONNX) with cargo-fuzz
# on the nightly toolchain, FUZZ_SECONDS per target, one job at a time; crashes land in
# src/rust/fuzz/artifacts/<target>/. See tools/fuzz/README.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= model_file safetensors onnx
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo +nightly install cargo-fuzz
	cd src/rust/fuzz && for t in $(FUZZ_TARGETS); do \
	  nice -n 15 cargo +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 || exit 1; \
	done

# Rewrite the committed seed corpora (src/rust/fuzz/corpus/<target>/seed-*).
fuzz-seeds:
	cd src/rust/fuzz && nice -n 15 cargo +nightly run --release --example seeds

clean:
	rm -rf src/rust/target src/*.o src/*.so check innsight_*.tar.gz
