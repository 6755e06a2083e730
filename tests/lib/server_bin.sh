# Sourced by the attack and soak scripts: picks the server binary to test and a label
# for the report. Needs $repo. Sets $bin and $label.
#   SERVER_BIN=path    test an already built server instead of building this checkout
#   SERVER_LABEL=text  what the report calls it (default: this checkout's commit)
bin="${SERVER_BIN:-}"
if [ -z "$bin" ]; then
    echo "building the release server..." >&2
    (cd "$repo" && timeout 900 cargo build --release -p server -q)
    bin="$repo/target/release/server"
fi
label="${SERVER_LABEL:-commit $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)}"
