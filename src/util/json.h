/* json.h: a small JSON reader for the files clgraph itself writes and reads back (a data set's
 * info.json, a run's config.json and metrics.jsonl lines).
 *
 * The whole text is parsed into a tree of struct cg_json values: objects keep their keys in file
 * order, numbers keep their text (so a 64-bit seed reads back exactly) and a double. Integers
 * (no fraction, no exponent) are CG_JSON_INT, other numbers CG_JSON_REAL. Strings are decoded
 * (escapes, \u with surrogate pairs, as UTF-8). Nesting is limited to 32 levels. Every error
 * names the file and the byte offset: "NAME: error: malformed JSON at offset K: what". */
#ifndef CG_JSON_H
#define CG_JSON_H

#include "util/util.h"

enum cg_json_kind {
    CG_JSON_NULL,
    CG_JSON_BOOL,
    CG_JSON_INT,
    CG_JSON_REAL,
    CG_JSON_STR,
    CG_JSON_ARR,
    CG_JSON_OBJ
};

/* A parsed value. Objects hold keys[i] -> items[i] (n pairs), arrays items[i]. */
struct cg_json {
    enum cg_json_kind kind;
    int boolean;       /* CG_JSON_BOOL */
    double num;        /* CG_JSON_INT and CG_JSON_REAL */
    long long i;       /* CG_JSON_INT (saturated at the long long range) */
    char numtext[40];  /* CG_JSON_INT and CG_JSON_REAL: the number as written */
    char *str;         /* CG_JSON_STR, NUL-terminated */
    int n;
    char **keys;       /* CG_JSON_OBJ */
    struct cg_json *items;
};

/* Parses the NUL-terminated text (one value, whitespace around it allowed) into *out (zeroed
 * first; on failure *out holds nothing to free). name stands for the file in messages. Returns
 * CG_OK, CG_ERR_INPUT ("NAME: error: malformed JSON at offset K: ...", also for text after the
 * value) or CG_ERR_NOMEM. */
enum cg_status cg_json_parse(const char *text, const char *name, struct cg_json *out,
                             struct cg_error *e);

/* Frees what a value owns and zeroes it; a zeroed value is a no-op. */
void cg_json_free(struct cg_json *v);

/* The member `key` of object o when it has that kind (CG_JSON_REAL also accepts an integer),
 * else NULL (o not an object, no such key, another kind). */
const struct cg_json *cg_json_get(const struct cg_json *o, const char *key,
                                  enum cg_json_kind kind);

/* The member `key` of object o as a double: 1 and *v set when it is a number, else 0. */
int cg_json_number(const struct cg_json *o, const char *key, double *v);

#endif
