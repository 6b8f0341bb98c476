/* common.cl: the shared header of every clgraph OpenCL program.
 *
 * The runtime (src/runtime/device.c) builds a program for cl/NAME as the text of this file
 * followed by cl/NAME, with #line markers so build logs name the right file and line, compiled
 * with -cl-std=CL1.2 and the -D options of the schedule (sizes and strides known at compile
 * time). Keep this file small: helpers and macros every kernel family may use. */

/* Kernel arguments are (buffer, offset) pairs into the schedule's arena: CG_AT(buf, off) is the
 * element pointer of such a pair. */
#define CG_AT(buf, off) ((buf) + (off))

/* Integer ceiling division, for work sizes. */
#define CG_CDIV(a, b) (((a) + (b) - 1) / (b))

/* Half-precision storage is used only where the device reports cl_khr_fp16. */
#ifdef cl_khr_fp16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#define CG_HAS_FP16 1
#else
#define CG_HAS_FP16 0
#endif
