/* lower_gemm.h: GEMM helpers shared by the lowering files that emit GEMMs (lower_gemm.c for
 * linear and matmul, lower_conv.c for the convolutions). Every GEMM a lowering emits goes
 * through cg_gemm_emit, which chooses cl/gemm.cl (every case but A^T B^T; env
 * CLGRAPH_GEMM=clblast forces CLBlast) or CLBlast; before the first CLBlast GEMM of a device is
 * scheduled, the device's one-time GEMM self-check runs at compile time. */
#ifndef CG_LOWER_GEMM_H
#define CG_LOWER_GEMM_H

#include "exec/lower.h"

/* Checks CLBlast's SGEMM on dev once per process (cached per cl_device_id): a few odd-sized
 * GEMMs (transposes, strided batches, one size large enough for the indirect kernels) against
 * a host reference. A wrong result fails with CG_ERR_DEVICE naming the case. *stride0_ok (may
 * be NULL) receives whether strided-batched GEMMs with a zero operand stride give correct
 * results (a probe, not an error when they do not). */
enum cg_status cg_gemm_self_check(struct cg_device *dev, int *stride0_ok, struct cg_error *e);

/* Emits d: a gemm.cl kernel launch, or (A^T B^T, CLGRAPH_GEMM=clblast) cg_lower_emit_gemm after
 * the device's self-check, where a strided batch with a zero operand stride that the device
 * failed becomes one GEMM per batch entry. */
enum cg_status cg_gemm_emit(struct cg_lower *l, const struct cg_gemm_desc *d);

/* y[i] += b[(i / inner) % c] for i < n (a per-channel bias after a GEMM), from cl/conv.cl. */
enum cg_status cg_lower_bias_add(struct cg_lower *l, int y, int b, int64_t n, int64_t c,
                                 int64_t inner);

#endif
