/* loss.cl: classification losses over logits [NB, C] and int32 labels [NB]: cross_entropy,
 * nll, accuracy (scalars) and class_loss_grad.
 *
 * Specialised by -D: NB (rows), C (classes), OP_<name> (cross_entropy, nll or accuracy; for
 * the gradient, which loss). The scalar kernel runs one work-group of LWS items: each item
 * handles rows t, t + LWS, ... and the group sums them pairwise in local memory.
 *
 * Labels outside [0, C) are never used as an index: such a row makes cross_entropy and nll NaN
 * (and its gradient row NaN), and accuracy NaN, so a bad label shows instead of silently
 * training on garbage; checking on the host would cost a device sync every step. accuracy
 * counts a row right when its first maximal logit (NaN counts as maximal, as torch.argmax) is
 * at the label. */

#ifndef NB
#define NB 1
#endif
#ifndef C
#define C 1
#endif
#ifndef LWS
#define LWS 64
#endif

/* logsumexp of one row, stable. */
inline float row_lse(__global const float *z)
{
    float m = -INFINITY;
    for (uint c = 0; c < C; c++)
        m = (z[c] > m || isnan(z[c])) ? z[c] : m;
    if (isinf(m))
        return m;
    float s = 0.0f;
    for (uint c = 0; c < C; c++)
        s += exp(z[c] - m);
    return m + log(s);
}

inline uint row_argmax(__global const float *z)
{
    float m = z[0];
    uint k = 0;
    for (uint c = 1; c < C; c++)
        if (!isnan(m) && (z[c] > m || isnan(z[c]))) {
            m = z[c];
            k = c;
        }
    return k;
}

__kernel void class_loss(__global const float *z, uint z_off, __global const int *lab,
                         uint lab_off, __global float *y, uint y_off)
{
    __local float buf[LWS];
    uint t = get_local_id(0);
    z += z_off;
    lab += lab_off;
    float s = 0.0f, comp = 0.0f;
    for (uint i = t; i < NB; i += LWS) {
        __global const float *row = z + (size_t)i * C;
        int k = lab[i];
        float v;
        if (k < 0 || k >= C)
            v = NAN;
#if defined(OP_cross_entropy)
        else
            v = row_lse(row) - row[k];
#elif defined(OP_nll)
        else
            v = -row[k];
#else
        else
            v = row_argmax(row) == (uint)k ? 1.0f : 0.0f;
#endif
        float yk = v - comp, tt = s + yk;
        comp = isfinite(tt) ? (tt - s) - yk : 0.0f;
        s = tt;
    }
    buf[t] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint h = LWS / 2; h > 0; h >>= 1) {
        if (t < h)
            buf[t] += buf[t + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0)
        y[y_off] = buf[0] / (float)NB;
}

/* Gradient of the mean loss with respect to the logits (log-probabilities for nll), one
 * work-item per row: cross_entropy gy (softmax - onehot) / NB, nll -gy / NB at the label. */
__kernel void class_loss_grad(__global const float *z, uint z_off, __global const int *lab,
                              uint lab_off, __global const float *gy, uint gy_off,
                              __global float *gx, uint gx_off)
{
    uint i = get_global_id(0);
    if (i >= NB)
        return;
    __global const float *row = z + z_off + (size_t)i * C;
    __global float *g = gx + gx_off + (size_t)i * C;
    int k = lab[lab_off + i];
    float s = gy[gy_off] / (float)NB;
    if (k < 0 || k >= C) {
        for (uint c = 0; c < C; c++)
            g[c] = NAN;
        return;
    }
#if defined(OP_cross_entropy)
    float lse = row_lse(row);
    for (uint c = 0; c < C; c++)
        g[c] = s * (exp(row[c] - lse) - (c == (uint)k ? 1.0f : 0.0f));
#else
    for (uint c = 0; c < C; c++)
        g[c] = c == (uint)k ? -s : 0.0f;
#endif
}
