#ifndef THREADLOG_RAW_LMDB_H
#define THREADLOG_RAW_LMDB_H
#include <stdint.h>

/// The baseline of the benchmarks: the event log's writes done with plain LMDB calls and nothing else.
/// Same tables and key layout: `events` (8-byte big-endian position -> value), `streams` (stream name ->
/// version + last position, read and rewritten for every event, as the log's expected-version check does),
/// and a `meta` head record per commit. Durable commits (fsync), as the log's default.
/// Returns 0 on success, else the LMDB error code.
int raw_append(const char *dir, uint64_t total_events, uint32_t events_per_commit, uint32_t streams,
               uint32_t value_size, uint64_t seed, double *seconds);

/// A bare cursor scan over the `events` table of an environment; counts events and bytes.
int raw_scan(const char *dir, uint64_t *events, uint64_t *bytes, double *seconds);

#endif
