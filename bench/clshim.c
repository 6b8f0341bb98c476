/* clshim.c: an LD_PRELOAD shim that counts the OpenCL calls of a process between marks, to check
 * that a training step allocates no device memory, builds no program, creates no kernel and
 * waits on the host only where it must (bench/README.md, "What a step does").
 *
 * Build and use (bench/run.sh does both):
 *     cc -shared -fPIC -O2 -o bench/clshim.so bench/clshim.c -ldl
 *     LD_PRELOAD=$PWD/bench/clshim.so clgraph bench bench/cim.graph
 * Every wrapped function counts the call and forwards it to the real one (dlsym RTLD_NEXT), so
 * it sees the calls of clgraph and of the libraries it loads (libclblast calls the OpenCL ICD
 * loader through its PLT too). cg_clshim_mark(label), which `clgraph bench` finds with dlsym and
 * calls before and after its timed steps, prints the counts since the previous mark to stderr as
 *     clshim: timed steps: clCreateBuffer=0 clBuildProgram=0 ... clEnqueueReadBuffer(blocking)=20 ...
 * and starts counting again; without a mark nothing is printed. */
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdio.h>

enum {
    C_CREATE_BUFFER, C_CREATE_SUBBUFFER, C_CREATE_IMAGE, C_SVM_ALLOC, C_RELEASE_MEM,
    C_PROGRAM_SOURCE, C_PROGRAM_BINARY, C_BUILD_PROGRAM, C_COMPILE_PROGRAM, C_LINK_PROGRAM,
    C_CREATE_KERNEL, C_CREATE_KERNELS, C_CLONE_KERNEL, C_SET_KERNEL_ARG, C_RELEASE_KERNEL,
    C_FINISH, C_FLUSH, C_WAIT_EVENTS, C_READ_BLOCKING, C_READ_ASYNC, C_WRITE_BLOCKING,
    C_WRITE_ASYNC, C_MAP, C_NDRANGE, C_COPY, C_FILL, C_RELEASE_EVENT, C_COUNT
};

static const char *const names[C_COUNT] = {
    "clCreateBuffer", "clCreateSubBuffer", "clCreateImage", "clSVMAlloc", "clReleaseMemObject",
    "clCreateProgramWithSource", "clCreateProgramWithBinary", "clBuildProgram",
    "clCompileProgram", "clLinkProgram", "clCreateKernel", "clCreateKernelsInProgram",
    "clCloneKernel", "clSetKernelArg", "clReleaseKernel", "clFinish", "clFlush",
    "clWaitForEvents", "clEnqueueReadBuffer(blocking)", "clEnqueueReadBuffer(non-blocking)",
    "clEnqueueWriteBuffer(blocking)", "clEnqueueWriteBuffer(non-blocking)", "clEnqueueMapBuffer",
    "clEnqueueNDRangeKernel", "clEnqueueCopyBuffer", "clEnqueueFillBuffer", "clReleaseEvent",
};

static unsigned long counts[C_COUNT];

static void count(int c) { __atomic_fetch_add(&counts[c], 1, __ATOMIC_RELAXED); }

/* The next definition of `name` after this object (the ICD loader's). */
static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "clshim: %s not found\n", name);
        return NULL;
    }
    return f;
}

/* Declares fn, the real `name` (looked up on the first call). */
#define REAL(name)                                                                                 \
    static __typeof__(name) *fn;                                                                   \
    if (!fn)                                                                                       \
        *(void **)&fn = real(#name)

/* Prints the counts since the previous mark (calls that happened, in table order) and resets. */
void cg_clshim_mark(const char *label)
{
    fprintf(stderr, "clshim: %s:", label);
    for (int c = 0; c < C_COUNT; c++) {
        unsigned long n = __atomic_exchange_n(&counts[c], 0, __ATOMIC_RELAXED);
        fprintf(stderr, " %s=%lu", names[c], n);
    }
    fprintf(stderr, "\n");
}

cl_mem clCreateBuffer(cl_context ctx, cl_mem_flags flags, size_t size, void *host, cl_int *err)
{
    REAL(clCreateBuffer);
    count(C_CREATE_BUFFER);
    return fn(ctx, flags, size, host, err);
}

cl_mem clCreateSubBuffer(cl_mem buf, cl_mem_flags flags, cl_buffer_create_type type,
                         const void *info, cl_int *err)
{
    REAL(clCreateSubBuffer);
    count(C_CREATE_SUBBUFFER);
    return fn(buf, flags, type, info, err);
}

cl_mem clCreateImage(cl_context ctx, cl_mem_flags flags, const cl_image_format *fmt,
                     const cl_image_desc *desc, void *host, cl_int *err)
{
    REAL(clCreateImage);
    count(C_CREATE_IMAGE);
    return fn(ctx, flags, fmt, desc, host, err);
}

void *clSVMAlloc(cl_context ctx, cl_svm_mem_flags flags, size_t size, cl_uint align)
{
    REAL(clSVMAlloc);
    count(C_SVM_ALLOC);
    return fn(ctx, flags, size, align);
}

cl_int clReleaseMemObject(cl_mem mem)
{
    REAL(clReleaseMemObject);
    count(C_RELEASE_MEM);
    return fn(mem);
}

cl_program clCreateProgramWithSource(cl_context ctx, cl_uint n, const char **src,
                                     const size_t *len, cl_int *err)
{
    REAL(clCreateProgramWithSource);
    count(C_PROGRAM_SOURCE);
    return fn(ctx, n, src, len, err);
}

cl_program clCreateProgramWithBinary(cl_context ctx, cl_uint n, const cl_device_id *devs,
                                     const size_t *len, const unsigned char **bin,
                                     cl_int *status, cl_int *err)
{
    REAL(clCreateProgramWithBinary);
    count(C_PROGRAM_BINARY);
    return fn(ctx, n, devs, len, bin, status, err);
}

cl_int clBuildProgram(cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
                      void(CL_CALLBACK *notify)(cl_program, void *), void *data)
{
    REAL(clBuildProgram);
    count(C_BUILD_PROGRAM);
    return fn(p, n, devs, opts, notify, data);
}

cl_int clCompileProgram(cl_program p, cl_uint n, const cl_device_id *devs, const char *opts,
                        cl_uint nh, const cl_program *hdrs, const char **hnames,
                        void(CL_CALLBACK *notify)(cl_program, void *), void *data)
{
    REAL(clCompileProgram);
    count(C_COMPILE_PROGRAM);
    return fn(p, n, devs, opts, nh, hdrs, hnames, notify, data);
}

cl_program clLinkProgram(cl_context ctx, cl_uint n, const cl_device_id *devs, const char *opts,
                         cl_uint np, const cl_program *progs,
                         void(CL_CALLBACK *notify)(cl_program, void *), void *data, cl_int *err)
{
    REAL(clLinkProgram);
    count(C_LINK_PROGRAM);
    return fn(ctx, n, devs, opts, np, progs, notify, data, err);
}

cl_kernel clCreateKernel(cl_program p, const char *name, cl_int *err)
{
    REAL(clCreateKernel);
    count(C_CREATE_KERNEL);
    return fn(p, name, err);
}

cl_int clCreateKernelsInProgram(cl_program p, cl_uint n, cl_kernel *ks, cl_uint *ret)
{
    REAL(clCreateKernelsInProgram);
    count(C_CREATE_KERNELS);
    return fn(p, n, ks, ret);
}

cl_kernel clCloneKernel(cl_kernel k, cl_int *err)
{
    REAL(clCloneKernel);
    count(C_CLONE_KERNEL);
    return fn(k, err);
}

cl_int clSetKernelArg(cl_kernel k, cl_uint i, size_t size, const void *v)
{
    REAL(clSetKernelArg);
    count(C_SET_KERNEL_ARG);
    return fn(k, i, size, v);
}

cl_int clReleaseKernel(cl_kernel k)
{
    REAL(clReleaseKernel);
    count(C_RELEASE_KERNEL);
    return fn(k);
}

cl_int clFinish(cl_command_queue q)
{
    REAL(clFinish);
    count(C_FINISH);
    return fn(q);
}

cl_int clFlush(cl_command_queue q)
{
    REAL(clFlush);
    count(C_FLUSH);
    return fn(q);
}

cl_int clWaitForEvents(cl_uint n, const cl_event *evs)
{
    REAL(clWaitForEvents);
    count(C_WAIT_EVENTS);
    return fn(n, evs);
}

cl_int clEnqueueReadBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t off,
                           size_t size, void *ptr, cl_uint nw, const cl_event *wait,
                           cl_event *ev)
{
    REAL(clEnqueueReadBuffer);
    count(blocking ? C_READ_BLOCKING : C_READ_ASYNC);
    return fn(q, buf, blocking, off, size, ptr, nw, wait, ev);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, size_t off,
                            size_t size, const void *ptr, cl_uint nw, const cl_event *wait,
                            cl_event *ev)
{
    REAL(clEnqueueWriteBuffer);
    count(blocking ? C_WRITE_BLOCKING : C_WRITE_ASYNC);
    return fn(q, buf, blocking, off, size, ptr, nw, wait, ev);
}

void *clEnqueueMapBuffer(cl_command_queue q, cl_mem buf, cl_bool blocking, cl_map_flags flags,
                         size_t off, size_t size, cl_uint nw, const cl_event *wait, cl_event *ev,
                         cl_int *err)
{
    REAL(clEnqueueMapBuffer);
    count(C_MAP);
    return fn(q, buf, blocking, flags, off, size, nw, wait, ev, err);
}

cl_int clEnqueueNDRangeKernel(cl_command_queue q, cl_kernel k, cl_uint dim, const size_t *off,
                              const size_t *global, const size_t *local, cl_uint nw,
                              const cl_event *wait, cl_event *ev)
{
    REAL(clEnqueueNDRangeKernel);
    count(C_NDRANGE);
    return fn(q, k, dim, off, global, local, nw, wait, ev);
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t so, size_t dso,
                           size_t size, cl_uint nw, const cl_event *wait, cl_event *ev)
{
    REAL(clEnqueueCopyBuffer);
    count(C_COPY);
    return fn(q, src, dst, so, dso, size, nw, wait, ev);
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem buf, const void *pat, size_t psize,
                           size_t off, size_t size, cl_uint nw, const cl_event *wait,
                           cl_event *ev)
{
    REAL(clEnqueueFillBuffer);
    count(C_FILL);
    return fn(q, buf, pat, psize, off, size, nw, wait, ev);
}

cl_int clReleaseEvent(cl_event ev)
{
    REAL(clReleaseEvent);
    count(C_RELEASE_EVENT);
    return fn(ev);
}
