/*
 * glibc's malloc_trim(0), which Node does not expose: gives the free pages inside malloc's heap
 * back to the kernel. glibc returns memory by itself only from the top of the heap; an idle
 * agent's heap held 2-3 MiB of free pages below live chunks, counted in its RSS until trimmed.
 * trim() returns true when memory was released. Other C libraries have no malloc_trim: there the
 * addon is built without it and trim() returns false.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h> /* defines __GLIBC__ under glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#ifdef __GLIBC__
  released = malloc_trim(0) == 1;
#endif
  napi_value out;
  if (napi_get_boolean(env, released, &out) != napi_ok) return NULL;
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"trim", NULL, trim, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 1, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
