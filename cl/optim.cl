/* optim.cl: optimizer updates (sgd_update, adam_update), in place, one work-item per 4
 * elements (float4 where all 4 are in range, scalar otherwise).
 *
 * The arithmetic follows PyTorch 1.13's single-tensor torch.optim.SGD/Adam/AdamW in float32,
 * operation by operation (contraction into fma is off so that products round as in PyTorch).
 * Specialised by -D: N (element count), MOMENTUM, ONE_M_DAMP (1 - dampening), WD
 * (weight_decay), NESTEROV, BETA1, BETA2, ONE_M_B1 (1 - beta1), ONE_M_B2 (1 - beta2), EPS; the
 * differences are taken in double on the host, as PyTorch does in Python. Run-time arguments
 * (computed on the host per step from the scheduled lr, lower_optim.c):
 * sgd: `int first` (1 at the first update: the momentum buffer becomes the gradient) and
 * `float neg_lr` (-lr); adam: `float neg_step_size` (-lr / (1 - beta1^t)), `float bc2_sqrt`
 * (sqrt(1 - beta2^t)) and `float decay` (1 - lr * weight_decay, used by AdamW). */
#pragma OPENCL FP_CONTRACT OFF

#ifndef N
#define N 1
#endif
#ifndef WD
#define WD 0.0f
#endif
#ifndef MOMENTUM
#define MOMENTUM 0.0f
#endif
#ifndef ONE_M_DAMP
#define ONE_M_DAMP 1.0f
#endif
#ifndef NESTEROV
#define NESTEROV 0
#endif
#ifndef BETA1
#define BETA1 0.9f
#endif
#ifndef BETA2
#define BETA2 0.999f
#endif
#ifndef ONE_M_B1
#define ONE_M_B1 0.1f
#endif
#ifndef ONE_M_B2
#define ONE_M_B2 0.001f
#endif
#ifndef EPS
#define EPS 1e-8f
#endif
#ifndef DECOUPLED
#define DECOUPLED 0
#endif

#define SGD_BODY(T, p, g, buf)                                                                 \
    {                                                                                          \
        T d = g;                                                                               \
        if (WD != 0.0f)                                                                        \
            d = d + WD * p;                                                                    \
        if (MOMENTUM != 0.0f) {                                                                \
            buf = first ? d : buf * MOMENTUM + ONE_M_DAMP * d;                                 \
            d = NESTEROV ? d + MOMENTUM * buf : buf;                                           \
        }                                                                                      \
        p = p + neg_lr * d;                                                                    \
    }

__kernel void sgd_update(__global float *p, uint p_off, __global const float *g, uint g_off,
                         __global float *buf, uint buf_off, int first, float neg_lr)
{
    p += p_off;
    g += g_off;
    buf += buf_off;
    size_t i = get_global_id(0) * 4;
    if (i + 3 < N) {
        float4 pv = vload4(0, p + i), gv = vload4(0, g + i), bv = vload4(0, buf + i);
        SGD_BODY(float4, pv, gv, bv)
        vstore4(pv, 0, p + i);
        if (MOMENTUM != 0.0f)
            vstore4(bv, 0, buf + i);
    } else {
        for (; i < N; i++) {
            float pv = p[i], gv = g[i], bv = MOMENTUM != 0.0f ? buf[i] : 0.0f;
            SGD_BODY(float, pv, gv, bv)
            p[i] = pv;
            if (MOMENTUM != 0.0f)
                buf[i] = bv;
        }
    }
}

/* torch: [p.mul_(1 - lr*wd)] grad = grad.add(p, alpha=wd); m.mul_(b1).add_(grad, alpha=1-b1);
 * v.mul_(b2).addcmul_(grad, grad, value=1-b2); denom = (v.sqrt() / bc2_sqrt).add_(eps);
 * p.addcdiv_(m, denom, value=-step_size) */
#define ADAM_BODY(T, p, g, m, v)                                                               \
    {                                                                                          \
        T d = g;                                                                               \
        if (DECOUPLED)                                                                         \
            p = p * decay;                                                                     \
        else if (WD != 0.0f)                                                                   \
            d = d + WD * p;                                                                    \
        m = m * BETA1;                                                                         \
        m = m + ONE_M_B1 * d;                                                                  \
        v = v * BETA2;                                                                         \
        v = v + ONE_M_B2 * d * d;                                                              \
        T denom = sqrt(v) / bc2_sqrt + EPS;                                                    \
        p = p + neg_step_size * m / denom;                                                     \
    }

__kernel void adam_update(__global float *p, uint p_off, __global const float *g, uint g_off,
                          __global float *m, uint m_off, __global float *v, uint v_off,
                          float neg_step_size, float bc2_sqrt, float decay)
{
    p += p_off;
    g += g_off;
    m += m_off;
    v += v_off;
    size_t i = get_global_id(0) * 4;
    if (i + 3 < N) {
        float4 pv = vload4(0, p + i), gv = vload4(0, g + i), mv = vload4(0, m + i),
               vv = vload4(0, v + i);
        ADAM_BODY(float4, pv, gv, mv, vv)
        vstore4(pv, 0, p + i);
        vstore4(mv, 0, m + i);
        vstore4(vv, 0, v + i);
    } else {
        for (; i < N; i++) {
            float pv = p[i], gv = g[i], mv = m[i], vv = v[i];
            ADAM_BODY(float, pv, gv, mv, vv)
            p[i] = pv;
            m[i] = mv;
            v[i] = vv;
        }
    }
}
