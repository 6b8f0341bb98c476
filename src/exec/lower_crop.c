/* lower_crop.c: lowering of crop_grid, crop_all and their gradient crop_grad to the kernels of
 * cl/crop.cl. The grid of windows (GH x GW cells of SIZE x SIZE at STRIDE) is computed here from
 * the image shape; crop_all and crop_grad without idx use every cell in row-major order.
 * Out-of-range crop indices are clamped into the grid (see cl/crop.cl). */
#include <stdint.h>
#include <string.h>

#include "exec/lower.h"


enum cg_status cg_lower_crop(struct cg_lower *l)
{
    const struct cg_node *nd = l->node;
    int op = nd->op;
    /* the image: x for the crops, like (the output) for crop_grad */
    int img = op == CG_OP_crop_grad ? nd->out : nd->inputs[0];
    int idx = op == CG_OP_crop_grid ? nd->inputs[1] : op == CG_OP_crop_grad ? nd->inputs[1] : -1;
    if (cg_lower_shape_of(l, img)->rank != 4)
        return cg_lower_fail(l, "the image must be [N, C, H, W]");
    int64_t nb = cg_lower_dim(l, img, 0), c = cg_lower_dim(l, img, 1), h = cg_lower_dim(l, img, 2),
            w = cg_lower_dim(l, img, 3);
    int64_t size = cg_lower_attr(l, "size")->i, stride = cg_lower_attr(l, "stride")->i;
    if (size < 1 || stride < 1 || size > h || size > w)
        return cg_lower_fail(l, "bad crop size %lld / stride %lld for a %lld x %lld image",
                             (long long)size, (long long)stride, (long long)h, (long long)w);
    int64_t gh = (h - size) / stride + 1, gw = (w - size) / stride + 1;
    int64_t k = gh * gw;
    if (idx >= 0) {
        if (cg_lower_shape_of(l, idx)->rank != 2 || cg_lower_dim(l, idx, 0) != nb)
            return cg_lower_fail(l, "idx must be [N, K] for N images");
        k = cg_lower_dim(l, idx, 1);
    }
    int64_t crops = nb * k * c * size * size, n = op == CG_OP_crop_grad ? nb * c * h * w : crops;
    int grad_in = op == CG_OP_crop_grad ? nd->inputs[0] : -1;
    if (grad_in >= 0 && cg_lower_numel(l, grad_in) != crops)
        return cg_lower_fail(l, "gy must hold %lld crops of [%lld, %lld, %lld]",
                             (long long)(nb * k), (long long)c, (long long)size, (long long)size);
    if (crops > (int64_t)UINT32_MAX || n > (int64_t)UINT32_MAX)
        return cg_lower_fail(l, "more elements than the kernels index (2^32)");
    char defs[512] = "";
    cg_defines_add(defs, sizeof defs, "N", n);
    cg_defines_add(defs, sizeof defs, "C", c);
    cg_defines_add(defs, sizeof defs, "H", h);
    cg_defines_add(defs, sizeof defs, "W", w);
    cg_defines_add(defs, sizeof defs, "SIZE", size);
    cg_defines_add(defs, sizeof defs, "STRIDE", stride);
    cg_defines_add(defs, sizeof defs, "GH", gh);
    cg_defines_add(defs, sizeof defs, "GW", gw);
    cg_defines_add(defs, sizeof defs, "K", k);
    if (idx >= 0)
        cg_defines_add(defs, sizeof defs, "HAS_IDX", 1);
    struct cg_launch_desc d;
    cg_launch_1d(&d, "crop.cl", op == CG_OP_crop_grad ? "crop_grad" : "crop_fwd", defs, n);
    int src = op == CG_OP_crop_grad ? grad_in : nd->inputs[0];
    /* without idx the kernel never reads its idx argument: pass the source again */
    struct cg_karg args[3] = {CG_KV(src), CG_KV(idx >= 0 ? idx : src), CG_KV(nd->out)};
    return cg_lower_kernel(l, &d, args, 3);
}
