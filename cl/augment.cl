/* augment.cl: the image augmentations of src/data/augment.c on batches of images
 * f32 [N, C, H, W] in [0, 1]: random resized crop (aug_rrc), horizontal flip (aug_flip), colour
 * jitter (aug_jitter), random grayscale (aug_gray) and Gaussian blur (aug_blur_h then
 * aug_blur_v, separable).
 *
 * Layout: one work-group of LWS work-items per image (global size N * LWS, group id = image).
 * Work-item 0 draws the image's parameters into local memory, a barrier publishes them, and the
 * group loops over the image's pixels. Each kernel reads src and writes dst (distinct places).
 *
 * Randomness: the parameters of image i are drawn from the blocks
 * philox4x32_10(counter = (i, step, j, AUG_TAG), key = (seed_lo, seed_hi)), j = 0, 1, ...
 * (cl/common.cl), where the key is splitmix(seed, augmentation id) computed on the host; word 3
 * of the counter (AUG_TAG) keeps these blocks apart from the random ops' (word 3 = 0). The
 * host reference (src/data/augment.c) draws the same numbers with the same float operations;
 * FP_CONTRACT is off so that no fused multiply-add makes the device round differently.
 *
 * Every kernel's arguments: (src, src_off, dst, dst_off, settings..., seed_lo, seed_hi, step).
 * Specialised by -D: N (images), C (1 or 3), H, W (input size), OH, OW (output size of aug_rrc),
 * K (blur kernel size, odd), LWS (the fixed local size). */
#pragma OPENCL FP_CONTRACT OFF

#ifndef N
#define N 1
#endif
#ifndef C
#define C 3
#endif
#ifndef H
#define H 1
#endif
#ifndef W
#define W 1
#endif
#ifndef OH
#define OH H
#endif
#ifndef OW
#define OW W
#endif
#ifndef K
#define K 1
#endif
#ifndef LWS
#define LWS 64
#endif

#define AUG_TAG 0x41554721u
#define HW (H * W)
#define CHW (C * H * W)

/* Block j of image img. */
inline uint4 aug_block(uint img, uint j, uint k0, uint k1, uint step)
{
    return philox4x32_10((uint4)(img, step, j, AUG_TAG), k0, k1);
}

/* lo + (hi - lo) * u, u in [0, 1) from word r (torch's uniform_). */
inline float aug_uniform(uint r, float lo, float hi)
{
    return lo + (hi - lo) * rnd_u01(r);
}

/* An integer in [0, n) by multiply-shift (as cl/random.cl's randint). */
inline int aug_randint(uint r, uint n)
{
    return (int)(((ulong)r * (ulong)n) >> 32);
}

/* Luma of torchvision's rgb_to_grayscale. */
inline float aug_luma(float r, float g, float b)
{
    return 0.2989f * r + 0.587f * g + 0.114f * b;
}

/* Copies image img of src to dst (same size). */
inline void aug_copy(__global const float *x, __global float *y)
{
    for (uint o = get_local_id(0); o < CHW; o += LWS)
        y[o] = x[o];
}

/* ---- random resized crop ---------------------------------------------------------------- */

/* Up to 10 attempts (block a = attempt a: words scale, log-ratio, top, left) of a crop of area
 * H*W*U(scale0, scale1) and aspect exp(U(logr0, logr1)), sides rounded half to even, kept when it
 * fits; else the fallback crop (fb_*: torchvision's centre crop, computed on the host). The crop
 * is resized to OH x OW bilinearly (PyTorch upsample_bilinear2d, align_corners=False, no
 * antialias). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_rrc(__global const float *x, uint x_off, __global float *y, uint y_off, float scale0,
        float scale1, float logr0, float logr1, int fb_top, int fb_left, int fb_h, int fb_w,
        uint seed_lo, uint seed_hi, uint step)
{
    __local int box[4];
    uint img = get_group_id(0);
    if (img >= N)
        return;
    if (get_local_id(0) == 0) {
        int top = fb_top, left = fb_left, h = fb_h, w = fb_w;
        for (uint a = 0; a < 10; a++) {
            uint4 r = aug_block(img, a, seed_lo, seed_hi, step);
            float target = (float)(H * W) * aug_uniform(r.x, scale0, scale1);
            float ar = exp(aug_uniform(r.y, logr0, logr1));
            int cw = (int)rint(sqrt(target * ar)), ch = (int)rint(sqrt(target / ar));
            if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
                top = aug_randint(r.z, (uint)(H - ch + 1));
                left = aug_randint(r.w, (uint)(W - cw + 1));
                h = ch;
                w = cw;
                break;
            }
        }
        box[0] = top;
        box[1] = left;
        box[2] = h;
        box[3] = w;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int top = box[0], left = box[1], h = box[2], w = box[3];
    float sy = (float)h / (float)OH, sx = (float)w / (float)OW;
    x += x_off + img * CHW + top * W + left;
    y += y_off + img * (C * OH * OW);
    for (uint o = get_local_id(0); o < OH * OW; o += LWS) {
        int oy = (int)(o / OW), ox = (int)(o % OW);
        float fy = fmax(sy * ((float)oy + 0.5f) - 0.5f, 0.0f);
        float fx = fmax(sx * ((float)ox + 0.5f) - 0.5f, 0.0f);
        int y0 = (int)fy, x0 = (int)fx;
        int dy = y0 < h - 1 ? W : 0, dx = x0 < w - 1 ? 1 : 0;
        float ly1 = fy - (float)y0, lx1 = fx - (float)x0;
        float ly0 = 1.0f - ly1, lx0 = 1.0f - lx1;
        for (int c = 0; c < C; c++) {
            __global const float *p = x + c * HW + y0 * W + x0;
            y[c * (OH * OW) + o] =
                ly0 * (lx0 * p[0] + lx1 * p[dx]) + ly1 * (lx0 * p[dy] + lx1 * p[dy + dx]);
        }
    }
}

/* ---- horizontal flip -------------------------------------------------------------------- */

/* Mirrors image img left-right when u < p (block 0, word x). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_flip(__global const float *x, uint x_off, __global float *y, uint y_off, float p,
         uint seed_lo, uint seed_hi, uint step)
{
    uint img = get_group_id(0);
    if (img >= N)
        return;
    int flip = rnd_u01(aug_block(img, 0, seed_lo, seed_hi, step).x) < p;
    x += x_off + img * CHW;
    y += y_off + img * CHW;
    for (uint o = get_local_id(0); o < CHW; o += LWS) {
        uint col = o % W;
        y[o] = x[flip ? o - col + (W - 1 - col) : o];
    }
}

/* ---- random grayscale ------------------------------------------------------------------- */

/* When u < p (block 0, word x), every channel of a 3-channel image becomes the luma; a
 * 1-channel image is unchanged (torchvision's rgb_to_grayscale with C output channels). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_gray(__global const float *x, uint x_off, __global float *y, uint y_off, float p,
         uint seed_lo, uint seed_hi, uint step)
{
    uint img = get_group_id(0);
    if (img >= N)
        return;
    int gray = C == 3 && rnd_u01(aug_block(img, 0, seed_lo, seed_hi, step).x) < p;
    x += x_off + img * CHW;
    y += y_off + img * CHW;
    if (!gray) {
        aug_copy(x, y);
        return;
    }
    for (uint o = get_local_id(0); o < HW; o += LWS) {
        float l = aug_luma(x[o], x[HW + o], x[2 * HW + o]);
        for (int c = 0; c < C; c++)
            y[c * HW + o] = l;
    }
}

/* ---- colour jitter ---------------------------------------------------------------------- */

#define JIT_BRIGHT 0
#define JIT_CONTRAST 1
#define JIT_SAT 2
#define JIT_HUE 3

/* torchvision's _rgb2hsv, adjust_hue's shift, _hsv2rgb for one pixel (v.xyz = r, g, b). */
inline float4 aug_hue(float4 v, float shift)
{
    float r = v.x, g = v.y, b = v.z;
    float maxc = fmax(fmax(r, g), b), minc = fmin(fmin(r, g), b);
    int eqc = maxc == minc;
    float cr = maxc - minc;
    float s = cr / (eqc ? 1.0f : maxc);
    float crd = eqc ? 1.0f : cr;
    float rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
    float hh = maxc == r ? bc - gc : (maxc == g ? 2.0f + rc - bc : 4.0f + gc - rc);
    hh = hh / 6.0f + 1.0f; /* in [5/6, 11/6]: minus its floor is exactly fmod(hh, 1) */
    hh -= floor(hh);
    hh += shift;
    hh = hh - floor(hh);
    float h6 = hh * 6.0f, fi = floor(h6), f = h6 - fi;
    int i = (int)fi;
    i = i >= 6 ? i - 6 : i;
    float p = clamp(maxc * (1.0f - s), 0.0f, 1.0f);
    float q = clamp(maxc * (1.0f - s * f), 0.0f, 1.0f);
    float t = clamp(maxc * (1.0f - s * (1.0f - f)), 0.0f, 1.0f);
    float m = maxc;
    /* sector i: (m,t,p) (q,m,p) (p,m,t) (p,q,m) (t,p,m) (m,p,q), as selects */
    return (float4)((i == 0 || i == 5) ? m : (i == 1 ? q : (i == 4 ? t : p)),
                    (i == 1 || i == 2) ? m : (i == 0 ? t : (i == 3 ? q : p)),
                    (i == 3 || i == 4) ? m : (i == 2 ? t : (i == 5 ? q : p)), 0.0f);
}

/* The luma of a pixel (its value for one channel). */
inline float aug_pix_luma(float4 v)
{
    return C == 3 ? aug_luma(v.x, v.y, v.z) : v.x;
}

/* One jitter operation on a pixel (channels in v.x, v.y, v.z) with factor f (mean: the
 * image's mean luma, for contrast). Saturation and hue need 3 channels (the host disables them
 * otherwise). Pixels are float4 values, not private arrays: with private arrays (float v[C] and
 * the permutation in work-item 0), PoCL 3.1 (LLVM 15) returned wrong channels 1 and 2 of work-item
 * 0's pixels in the pass after the barriers. */
inline float4 aug_jit_op(int op, float4 v, float f, float mean)
{
    if (op == JIT_HUE)
        return C == 3 ? aug_hue(v, f) : v;
    float other = 0.0f;
    if (op == JIT_CONTRAST)
        other = mean;
    else if (op == JIT_SAT)
        other = aug_pix_luma(v);
    return clamp(f * v + (1.0f - f) * other, 0.0f, 1.0f);
}

inline float4 aug_load(__global const float *x, uint o)
{
    return C == 3 ? (float4)(x[o], x[HW + o], x[2 * HW + o], 0.0f) : (float4)(x[o], 0, 0, 0);
}

inline void aug_store(__global float *y, uint o, float4 v)
{
    y[o] = v.x;
    if (C == 3) {
        y[HW + o] = v.y;
        y[2 * HW + o] = v.z;
    }
}

/* With probability p (block 0, word x), applies brightness, contrast, saturation and hue
 * (factors U(b0, b1), U(c0, c1), U(s0, s1), shift U(h0, h1) from block 0 words y, z, w and block
 * 1 word x) in a random order per image (Fisher-Yates on block 1 words y, z, w), each only when
 * bit op of `mask` is set. Contrast blends with the mean luma of the image as it stands at that
 * point (torchvision's adjust_contrast), a reduction over the group: the pixels go through the
 * operations before contrast, are written, reduced, then read back for the rest. */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_jitter(__global const float *x, uint x_off, __global float *y, uint y_off, float p, float b0,
           float b1, float c0, float c1, float s0, float s1, float h0, float h1, uint mask,
           uint seed_lo, uint seed_hi, uint step)
{
    __local float fac[4];
    __local int ord[5];
    __local float red[LWS];
    uint img = get_group_id(0), lid = get_local_id(0);
    if (img >= N)
        return;
    if (lid == 0) {
        uint4 r0 = aug_block(img, 0, seed_lo, seed_hi, step);
        uint4 r1 = aug_block(img, 1, seed_lo, seed_hi, step);
        fac[JIT_BRIGHT] = aug_uniform(r0.y, b0, b1);
        fac[JIT_CONTRAST] = aug_uniform(r0.z, c0, c1);
        fac[JIT_SAT] = aug_uniform(r0.w, s0, s1);
        fac[JIT_HUE] = aug_uniform(r1.x, h0, h1);
        for (int k = 0; k < 4; k++)
            ord[k] = k;
        for (int k = 3; k >= 1; k--) {
            uint wd = k == 3 ? r1.y : (k == 2 ? r1.z : r1.w);
            int j = aug_randint(wd, (uint)(k + 1)), t = ord[k];
            ord[k] = ord[j];
            ord[j] = t;
        }
        ord[4] = rnd_u01(r0.x) < p;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    x += x_off + img * CHW;
    y += y_off + img * CHW;
    if (!ord[4]) {
        aug_copy(x, y);
        return;
    }
    int kc = 4;
    for (int k = 0; k < 4; k++)
        if (ord[k] == JIT_CONTRAST && (mask & (1u << JIT_CONTRAST)))
            kc = k;
    float part = 0.0f;
    for (uint o = lid; o < HW; o += LWS) {
        float4 v = aug_load(x, o);
        for (int k = 0; k < kc; k++)
            if (mask & (1u << ord[k]))
                v = aug_jit_op(ord[k], v, fac[ord[k]], 0.0f);
        aug_store(y, o, v);
        part += aug_pix_luma(v);
    }
    if (kc == 4)
        return;
    red[lid] = part;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = LWS / 2; s > 0; s >>= 1) {
        if (lid < s)
            red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float mean = red[0] / (float)HW;
    for (uint o = lid; o < HW; o += LWS) {
        float4 v = aug_load(y, o);
        for (int k = kc; k < 4; k++)
            if (mask & (1u << ord[k]))
                v = aug_jit_op(ord[k], v, fac[ord[k]], mean);
        aug_store(y, o, v);
    }
}

/* ---- Gaussian blur ---------------------------------------------------------------------- */

/* The K weights of image img into wt when it is blurred (u < p, block 0 word x; sigma =
 * U(sigma0, sigma1), word y): torchvision's _get_gaussian_kernel1d. Returns whether to blur. */
inline int aug_blur_weights(__local float *wt, __local int *on, float p, float sigma0,
                            float sigma1, uint img, uint seed_lo, uint seed_hi, uint step)
{
    if (get_local_id(0) == 0) {
        uint4 r = aug_block(img, 0, seed_lo, seed_hi, step);
        float sigma = aug_uniform(r.y, sigma0, sigma1), mid = (float)(K - 1) * 0.5f, sum = 0.0f;
        for (int k = 0; k < K; k++) {
            float t = ((float)k - mid) / sigma;
            wt[k] = exp(-0.5f * (t * t));
            sum += wt[k];
        }
        for (int k = 0; k < K; k++)
            wt[k] /= sum;
        *on = rnd_u01(r.x) < p;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return *on;
}

/* Reflect padding (PyTorch "reflect": -1 -> 1, n -> n - 2); K / 2 < n is checked on the host. */
inline int aug_reflect(int i, int n)
{
    return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
}

/* The horizontal pass: dst = src convolved along rows (a copy when the image is not blurred). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_blur_h(__global const float *x, uint x_off, __global float *y, uint y_off, float p,
           float sigma0, float sigma1, uint seed_lo, uint seed_hi, uint step)
{
    __local float wt[K];
    __local int on;
    uint img = get_group_id(0);
    if (img >= N)
        return;
    int blur = aug_blur_weights(wt, &on, p, sigma0, sigma1, img, seed_lo, seed_hi, step);
    x += x_off + img * CHW;
    y += y_off + img * CHW;
    if (!blur) {
        aug_copy(x, y);
        return;
    }
    for (uint o = get_local_id(0); o < CHW; o += LWS) {
        int col = (int)(o % W);
        __global const float *row = x + (o - (uint)col);
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += wt[k] * row[aug_reflect(col + k - K / 2, W)];
        y[o] = s;
    }
}

/* The vertical pass: dst = src convolved along columns (a copy when not blurred). */
__kernel __attribute__((reqd_work_group_size(LWS, 1, 1))) void
aug_blur_v(__global const float *x, uint x_off, __global float *y, uint y_off, float p,
           float sigma0, float sigma1, uint seed_lo, uint seed_hi, uint step)
{
    __local float wt[K];
    __local int on;
    uint img = get_group_id(0);
    if (img >= N)
        return;
    int blur = aug_blur_weights(wt, &on, p, sigma0, sigma1, img, seed_lo, seed_hi, step);
    x += x_off + img * CHW;
    y += y_off + img * CHW;
    if (!blur) {
        aug_copy(x, y);
        return;
    }
    for (uint o = get_local_id(0); o < CHW; o += LWS) {
        uint plane = o / HW * HW;
        int r = (int)(o % HW / W), col = (int)(o % W);
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += wt[k] * x[plane + (uint)(aug_reflect(r + k - K / 2, H) * W + col)];
        y[o] = s;
    }
}
