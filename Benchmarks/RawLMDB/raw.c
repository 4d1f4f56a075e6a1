#include "RawLMDB.h"
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_be64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) { p[i] = v & 0xff; v >>= 8; }
}

static uint64_t get_be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* xorshift: the same stream sequence as the Swift side for the same seed. */
static uint64_t next_random(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    *state = x;
    return x;
}

#define CHECK(expr) do { int rc_ = (expr); if (rc_) { fprintf(stderr, "%s: %s\n", #expr, mdb_strerror(rc_)); return rc_; } } while (0)

int raw_append(const char *dir, uint64_t total, uint32_t per_commit, uint32_t streams, uint32_t value_size,
               uint64_t seed, double *seconds) {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi events, heads, meta;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_maxdbs(env, 8));
    CHECK(mdb_env_set_mapsize(env, (size_t)8 << 30));
    CHECK(mdb_env_open(env, dir, MDB_NOTLS, 0644));
    CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK(mdb_dbi_open(txn, "events", MDB_CREATE, &events));
    CHECK(mdb_dbi_open(txn, "streams", MDB_CREATE, &heads));
    CHECK(mdb_dbi_open(txn, "meta", MDB_CREATE, &meta));
    CHECK(mdb_txn_commit(txn));

    unsigned char *value = calloc(1, value_size);
    unsigned char key[8], head[16], headrec[40] = {0};
    char name[32];
    uint64_t position = 0, state = seed ? seed : 88172645463325252ULL;
    double start = now_seconds();
    while (position < total) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (uint32_t i = 0; i < per_commit && position < total; i++) {
            int len = snprintf(name, sizeof name, "thread-%llu", (unsigned long long)(next_random(&state) % streams));
            MDB_val k = {len, name}, v;
            uint64_t version = 0, previous = 0;
            int rc = mdb_get(txn, heads, &k, &v);
            if (rc == 0) { version = get_be64(v.mv_data); previous = get_be64((unsigned char *)v.mv_data + 8); }
            else if (rc != MDB_NOTFOUND) return rc;
            position++;
            version++;
            put_be64(key, position);
            put_be64(value + 16, version);
            put_be64(value + 24, previous);
            MDB_val ek = {8, key}, ev = {value_size, value};
            CHECK(mdb_put(txn, events, &ek, &ev, MDB_APPEND));
            put_be64(head, version);
            put_be64(head + 8, position);
            MDB_val hv = {16, head};
            CHECK(mdb_put(txn, heads, &k, &hv, 0));
        }
        put_be64(headrec, position);
        MDB_val mk = {4, "head"}, mv = {40, headrec};
        CHECK(mdb_put(txn, meta, &mk, &mv, 0));
        CHECK(mdb_txn_commit(txn));
    }
    *seconds = now_seconds() - start;
    free(value);
    mdb_env_close(env);
    return 0;
}

int raw_scan(const char *dir, uint64_t *count, uint64_t *bytes, double *seconds) {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi events;
    MDB_cursor *cursor;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_maxdbs(env, 8));
    CHECK(mdb_env_open(env, dir, MDB_NOTLS | MDB_RDONLY, 0644));
    double start = now_seconds();
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK(mdb_dbi_open(txn, "events", 0, &events));
    CHECK(mdb_cursor_open(txn, events, &cursor));
    MDB_val k, v;
    uint64_t n = 0, total = 0;
    int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
    while (rc == 0) {
        n++;
        total += v.mv_size + ((unsigned char *)v.mv_data)[0];
        rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    *seconds = now_seconds() - start;
    *count = n;
    *bytes = total;
    mdb_env_close(env);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
