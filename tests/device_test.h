/* device_test.h: the cmocka group fixture of the tests that run on the OpenCL device through the
 * public API, header-only. Include after <cmocka.h> and <clgraph/clgraph.h>:
 *
 *     return cmocka_run_group_tests(tests, cg_test_device_open, cg_test_device_close);
 *
 * and read the device in a test as `struct cg_device *dev = *state`. */
#ifndef CG_DEVICE_TEST_H
#define CG_DEVICE_TEST_H

#include <stdio.h>

/* Opens the default device (CLGRAPH_DEVICE, else the first GPU, else PoCL's CPU device) into
 * *state; no device fails the group with the reason on stderr (device tests never skip). */
static int cg_test_device_open(void **state)
{
    struct cg_error e;
    struct cg_device *dev = NULL;
    if (cg_device_open(NULL, 0, &dev, &e) != CG_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    *state = dev;
    return 0;
}

/* Closes the device of cg_test_device_open. */
static int cg_test_device_close(void **state)
{
    cg_device_close(*state);
    return 0;
}

#endif
