#ifndef THREADLOG_CLMDB_SHIM_H
#define THREADLOG_CLMDB_SHIM_H
#include <lmdb.h>
#endif
