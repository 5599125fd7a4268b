/*
 * glibc's malloc keeps a freed allocation of up to 32 MB in its arena once an earlier one of
 * that size was freed (its mmap threshold rises with what is freed). A month's ingest frees
 * many buffers of 128 KB to a few MB (batches, their transfer between threads): kept in the
 * threads' arenas they added 20-30 MB to its peak RSS. keepLargeMapped() fixes the threshold
 * at glibc's initial 128 KiB, so large allocations are mapped and given back when freed. Other C
 * libraries have no such threshold, and false is returned.
 */
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value keep_large_mapped(napi_env env, napi_callback_info info) {
  (void)info;
  int done = 0;
#ifdef __GLIBC__
  done = mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1;
#endif
  napi_value result;
  if (napi_get_boolean(env, done, &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "keepLargeMapped", NAPI_AUTO_LENGTH, keep_large_mapped, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "keepLargeMapped", fn) != napi_ok) return NULL;
  return exports;
}
