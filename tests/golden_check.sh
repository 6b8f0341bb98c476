#!/usr/bin/env bash
# golden_check.sh: the PyTorch golden suite (tests/golden/check.sh: every op forward and
# gradient, and three end-to-end graphs, through `clgraph run`) as a ctest test.
#
# Every case runs in a normal build (about 90 s on the 2-core CI machine). In an ASan + UBSan
# build all 151 cases take about 3.5 minutes, close to ctest's 300 s timeout when ctest -j2 runs
# other tests beside it, so only a representative subset runs there: at least one case of every
# op family, forward and gradient, with every e2e case (e2e_cim: graphs/cim.graph at N=2, so the
# CIM graph runs with fed inputs under the sanitizers) and one training case (alternating
# objectives with gradient clipping and an lr schedule). The sanitizer build is recognised from
# the binary itself (it imports __asan_init), so this holds however ctest is started.
# Overrides: CLGRAPH_GOLDEN=all runs every case, CLGRAPH_GOLDEN=subset the subset.
set -u
BIN=${CLGRAPH_BIN:?CLGRAPH_BIN must point to the clgraph executable}
SRC=${CLGRAPH_SOURCE_DIR:?CLGRAPH_SOURCE_DIR must point to the source tree}

SUBSET=(
    accuracy avg_pool2d_k3_s2_p1 binary_add_bcast binary_div_bcast binary_maximum
    binary_scalar_tensor conv2d_groups2 conv2d_s2_p1 conv_transpose2d_s2_p1_op1
    crop_grid_overlap cross_entropy e2e_cim e2e_cnn e2e_mlp_classifier entropy_last info_nce
    kl_std_normal_3d l2_normalize_ax1_3d linear_bias_3d log_softmax_ax0 matmul_batched_bcast
    matmul_2d_1d max_pool2d_k3_s2_p1 ms_ssim_s2_win7 mse_bcast nll_log_softmax pairwise_sqdist
    param_explicit reduce_argmax_keep reduce_logsumexp_list_keep reduce_max_list_keep
    reduce_var_list_biased_keep shape_concat3_mid shape_gather_ax1 shape_one_hot shape_permute
    shape_slice_neg softmax_ax1_3d ssim_win7 sugar_conv_t sugar_mlp_named unary_clamp_lo
    unary_dropout_p0 unary_pow_neg0_5 unary_softplus_beta2 unary_stop_gradient
    upsample_nearest_3 train_alternate_clip_sched
)

mode=${CLGRAPH_GOLDEN:-auto}
if [ "$mode" = auto ]; then
    mode=all
    if grep -q __asan_init "$BIN" 2>/dev/null; then
        mode=subset
    fi
fi
case "$mode" in
all)
    echo "golden: every case"
    exec sh "$SRC/tests/golden/check.sh"
    ;;
subset)
    echo "golden: sanitizer build (or CLGRAPH_GOLDEN=subset): ${#SUBSET[@]} cases"
    # every subset name must be a case (check.sh matches substrings: a typo would run nothing)
    for c in "${SUBSET[@]}"; do
        [ -f "$SRC/tests/golden/cases/$c/case.json" ] || { echo "FAIL: no golden case '$c'"; exit 1; }
    done
    exec sh "$SRC/tests/golden/check.sh" "${SUBSET[@]}"
    ;;
*)
    echo "golden_check.sh: CLGRAPH_GOLDEN must be all, subset or unset, got '$mode'" >&2
    exit 1
    ;;
esac
