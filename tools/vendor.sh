#!/usr/bin/env bash
# Vendor the Rust crates for an offline build from the source tarball.
#
#   bash tools/vendor.sh          writes src/rust/vendor.tar.xz and inst/AUTHORS
#
# src/rust/vendor.tar.xz holds `vendor/`, the sources of every crate in
# src/rust/Cargo.lock (as `cargo vendor` lays them out, checksums included).
# src/Makevars unpacks it when present and builds with `cargo build --offline`,
# so an install from the tarball needs no network. The archive is not kept in git
# (`make tarball` makes it, builds the tarball and removes it again).
# inst/AUTHORS lists the vendored crates with their authors and licences, as
# CRAN asks of bundled code; like the archive it is not kept in git, only made here.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.cargo/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --locked: the versions of Cargo.lock, nothing newer
cargo vendor --locked --versioned-dirs --manifest-path src/rust/Cargo.toml "$work/vendor" >/dev/null 2>"$work/log" ||
  { cat "$work/log"; exit 1; }
# the same bytes for the same crates (sorted names, fixed owner and time)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00Z' \
  -C "$work" -cf - vendor | xz -9 -T1 >src/rust/vendor.tar.xz
echo "src/rust/vendor.tar.xz: $(du -h src/rust/vendor.tar.xz | cut -f1), $(ls "$work/vendor" | wc -l) crates"

cargo metadata --locked --format-version 1 --manifest-path src/rust/Cargo.toml | python3 -c '
import json, sys
m = json.load(sys.stdin)
crates = sorted((p for p in m["packages"] if p.get("source")), key=lambda p: (p["name"], p["version"]))
print("The compiled core of innsight (src/rust) is built from these Rust crates, whose")
print("sources the package carries in src/rust/vendor.tar.xz. Each crate remains under")
print("its own licence; the copyright holders are the crates authors listed here (or,")
print("where a crate lists none, the contributors of its repository).")
print()
for p in crates:
    authors = ", ".join(a.split(" <")[0] for a in p.get("authors") or []) or "the contributors of " + (p.get("repository") or p["name"])
    print("%s %s" % (p["name"], p["version"]))
    print("  licence: %s" % (p.get("license") or p.get("license_file") or "see the crate"))
    print("  authors: %s" % authors)
    if p.get("repository"):
        print("  source:  %s" % p["repository"])
' >inst/AUTHORS
echo "inst/AUTHORS: $(grep -c '^  licence' inst/AUTHORS) crates"
