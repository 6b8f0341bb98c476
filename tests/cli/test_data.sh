#!/usr/bin/env bash
# test_data.sh: `clgraph data list | build | show` end to end on a small synthetic MNIST-format
# directory written here (IDX headers by printf, pixels from a fixed byte pattern): the list,
# builds with their files and info.json, byte-identical rebuilds for a seed and different data
# for another, replacing a built data set, the waterbirds_like JPEG folder and metadata.csv,
# grids, and the errors (unknown data set or parameter, bad values, missing sources, an --out
# that cannot be written or is not a data set), none of which may leave anything behind.
. "$(dirname "$0")/lib.bash"
trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
CLG_TIMEOUT=60

# run WANT_RC ARGS...: clgraph data ARGS; stdout/stderr to files.
run() {
    local want=$1; shift
    check "clgraph data $* (want exit $want)"
    clg "$want" data "$@"
}
no_leftovers() {
    local left
    left=$(ls -d "$TMP"/*.tmp-* "$TMP"/*.old-* 2>/dev/null)
    [ -z "$left" ] || fail "left behind: $left"
}
is_jpeg() { [ "$(head -c 3 "$1" | od -An -tx1 | tr -d ' ')" = "ffd8ff" ] || fail "$1 is not a JPEG"; }

M="$TMP/mnist"
mkdir -p "$M"
idx_pair "$M" train 60
idx_pair "$M" t10k 30

# ---- list ----
run 0 list
for d in mnist fashion_mnist colored_mnist mnist_grid shift_mnist digits_on_objects \
         waterbirds_like latent_pairs; do
    grep -qx "$d" "$TMP/out" || fail "list lacks $d"
done
expect out "params: alpha:float=1, mnist:str=none"
expect out "fields: x f32[3,28,28], y i32, digit i32, color i32"
run 1 list extra

# ---- build ----
run 0 build mnist_grid mnist="$M" --seed 3 --out "$TMP/g1"
expect out "train 60, test 30"
for f in info.json train/x.npy train/y.npy train/cell.npy test/x.npy test/y.npy test/cell.npy; do
    [ -f "$TMP/g1/$f" ] || fail "g1/$f missing"
done
grep -q '"seed": 3' "$TMP/g1/info.json" || fail "info.json lacks the seed"
# The output directory gets a plain directory's mode (not mkdtemp's 0700), under umask 022.
mode=$(umask 022 && "$CLGRAPH_BIN" data build mnist_grid mnist="$M" --seed 3 --out "$TMP/gm" \
       >/dev/null && stat -c %a "$TMP/gm")
[ "$mode" = 755 ] || fail "the output directory has mode $mode, not 755"
for f in train test; do
    [ "$(stat -c %a "$TMP/gm/$f")" = 755 ] || fail "gm/$f is not 755"
done
[ "$(stat -c %a "$TMP/gm/info.json")" = 644 ] || fail "gm/info.json is not 644"
rm -rf "$TMP/gm"
grep -q '"name": "x", "dtype": "f32", "shape": \[1, 84, 84\]' "$TMP/g1/info.json" || fail "info.json lacks x"
no_leftovers
run 0 build mnist_grid mnist="$M" --seed 3 --out "$TMP/g2/"
for f in info.json train/x.npy train/cell.npy test/x.npy test/cell.npy; do
    cmp -s "$TMP/g1/$f" "$TMP/g2/$f" || fail "$f differs for the same seed"
done
run 0 build mnist_grid mnist="$M" --seed 4 --out "$TMP/g3"
cmp -s "$TMP/g1/train/cell.npy" "$TMP/g3/train/cell.npy" && fail "seeds 3 and 4 give the same cells"
# Rebuilding over a data set replaces it.
run 0 build mnist_grid mnist="$M" --seed 4 --out "$TMP/g1"
cmp -s "$TMP/g1/train/cell.npy" "$TMP/g3/train/cell.npy" || fail "the rebuild did not replace g1"
no_leftovers
run 0 build colored_mnist alpha=50 mnist="$M" --out "$TMP/c"
grep -q '"alpha": "50"' "$TMP/c/info.json" || fail "info.json lacks alpha"
run 0 build latent_pairs n_train=100 n_test=10 --out "$TMP/lp"
expect out "train 100, test 10"

# waterbirds_like: npy fields plus the JPEG folder and metadata.csv.
run 0 build waterbirds_like mnist="$M" fashion="$M" --out "$TMP/wb"
[ "$(head -1 "$TMP/wb/metadata.csv")" = "path,y,group,split" ] || fail "metadata.csv header"
[ "$(wc -l <"$TMP/wb/metadata.csv")" -eq 91 ] || fail "metadata.csv rows"
grep -q '^images/test/000029.jpg,[01],[0-3],test$' "$TMP/wb/metadata.csv" || fail "metadata.csv last row"
is_jpeg "$TMP/wb/images/train/000000.jpg"
[ -f "$TMP/wb/train/group.npy" ] || fail "wb/train/group.npy missing"
run 0 build mnist mnist="$M" --jpeg --out "$TMP/mj"
is_jpeg "$TMP/mj/images/test/000000.jpg"

# A user's MNIST-format directory, gzipped (and with the dotted names of some archives), as
# mnist=DIR and fashion=DIR: its own split, the same x and y as the raw directory.
G="$TMP/mnist_gz"
mkdir -p "$G"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
         t10k-labels-idx1-ubyte; do
    gzip -c "$M/$f" >"$G/${f/-idx/.idx}.gz"
done
run 0 build mnist mnist="$G" --out "$TMP/mg"
expect out "train 60, test 30"
run 0 build mnist mnist="$M" --out "$TMP/mr"
for f in train/x.npy train/y.npy test/x.npy test/y.npy; do
    cmp -s "$TMP/mg/$f" "$TMP/mr/$f" || fail "gzipped mnist=DIR: $f differs from the raw one"
done
run 0 build fashion_mnist fashion="$G" --out "$TMP/fg"
expect out "train 60, test 30"
cmp -s "$TMP/fg/train/x.npy" "$TMP/mr/train/x.npy" || fail "fashion=DIR: x differs"
run 0 build colored_mnist mnist="$G" --out "$TMP/cg"
expect out "train 60, test 30"
rm -rf "$TMP/mg" "$TMP/mr" "$TMP/fg" "$TMP/cg"

# ---- build errors: exit 1, the problem named, nothing left behind ----
run 1 build no_such_set --out "$TMP/e1"
expect err "unknown data set 'no_such_set'"
expect err "colored_mnist"
[ -e "$TMP/e1" ] && fail "e1 created"
run 1 build colored_mnist alpha=abc mnist="$M" --out "$TMP/e2"
expect err "parameter alpha: 'abc' is not a number"
run 1 build colored_mnist alpha=150 mnist="$M" --out "$TMP/e2"
expect err "alpha"
run 1 build colored_mnist beta=1 --out "$TMP/e2"
expect err "unknown parameter 'beta' (parameters: alpha:float=1, mnist:str=none)"
run 1 build latent_pairs n_train=1.5 --out "$TMP/e2"
expect err "parameter n_train: '1.5' is not an integer"
run 1 build mnist mnist="$TMP/nowhere" --out "$TMP/e2"
expect err "$TMP/nowhere"
[ -e "$TMP/e2" ] && fail "e2 created"
no_leftovers
run 1 build mnist_grid mnist="$M"
expect err "missing --out"
run 1 build mnist_grid mnist="$M" --seed -1 --out "$TMP/e2"
expect err "--seed"
run 1 build mnist_grid notakeyvalue --out "$TMP/e2"
expect err "expected key=value"
run 1 build mnist_grid mnist="$M" --bogus --out "$TMP/e2"
expect err "unknown option '--bogus'"
# --out that cannot be written: below a regular file; in a read-only directory.
echo x >"$TMP/afile"
run 1 build mnist_grid mnist="$M" --out "$TMP/afile/sub"
expect err "$TMP/afile/sub"
mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
if ! touch "$TMP/ro/probe" 2>/dev/null; then
    run 1 build mnist_grid mnist="$M" --out "$TMP/ro/out"
    expect err "$TMP/ro/out"
    [ -z "$(ls -A "$TMP/ro")" ] || fail "files left in ro"
else
    rm -f "$TMP/ro/probe"; echo "note: running as root, no read-only directory check"
fi
# A non-empty directory that is not a data set is never replaced.
mkdir "$TMP/mine" && echo precious >"$TMP/mine/notes.txt"
run 1 build mnist_grid mnist="$M" --out "$TMP/mine"
expect err "not a data set directory"
[ "$(cat "$TMP/mine/notes.txt")" = precious ] || fail "mine was touched"
run 1 build mnist_grid mnist="$M" --out "$TMP/afile"
expect err "not a data set directory"
no_leftovers

# ---- show ----
run 0 show colored_mnist mnist="$M" --grid "$TMP/c.jpg" --n 16
is_jpeg "$TMP/c.jpg"
expect out "16 examples of colored_mnist train/x"
run 0 show "$TMP/g1" --split test --grid "$TMP/g.jpg"
is_jpeg "$TMP/g.jpg"
expect out "30 examples of mnist_grid test/x"
run 0 show "$TMP/wb" --grid "$TMP/w.jpg" --n 5
is_jpeg "$TMP/w.jpg"
run 1 show "$TMP/lp" --grid "$TMP/l.jpg"
expect err "no image field 'x'"
run 1 show "$TMP/g1" --grid "$TMP/x.jpg" --field cell
expect err "no image field 'cell'"
run 1 show colored_mnist mnist="$M"
expect err "missing --grid"
run 1 show "$TMP/g1" --grid "$TMP/x.jpg" --split valid
expect err "--split is train or test"
run 1 show "$TMP/g1" --grid "$TMP/x.jpg" --n 0
expect err "--n expects"
run 1 show "$TMP/e1" --grid "$TMP/x.jpg"
expect err "unknown data set"
run 1 show "$TMP/afile/nodir" --grid "$TMP/x.jpg"
mkdir "$TMP/empty"
run 1 show "$TMP/empty" --grid "$TMP/x.jpg"
expect err "$TMP/empty/info.json"
run 1 show colored_mnist mnist="$M" --grid "$TMP/afile/g.jpg"
expect err "$TMP/afile/g.jpg"

# ---- usage ----
run 1
expect err "expected list, build or show"
run 1 frob
expect err "unknown subcommand 'frob'"
run 0 --help
expect out "clgraph data build NAME"
echo "all $n checks passed"
