/* tmpdir_test.h: a scratch directory for cmocka tests that write files, header-only.
 * Include after <cmocka.h>; define TMPDIR_PREFIX (e.g. "/tmp/cg_readers") before including.
 * setup/teardown make and remove the directory around the group; tpath(name) is a path inside
 * it (8 rotating buffers); put_file writes bytes to a path, asserting success. */
#ifndef TMPDIR_TEST_H
#define TMPDIR_TEST_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s.XXXXXX", TMPDIR_PREFIX);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static inline void put_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

#endif
