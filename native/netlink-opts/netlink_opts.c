/*
 * Socket options for the netlink sockets the `netlink` package opens, which it cannot set:
 *  - noEnobufs(fd): NETLINK_NO_ENOBUFS. Without it a receive queue overrun (a burst of route
 *    events while the process is busy) sets an error on the socket; libuv reports that as a
 *    poll error, and the package's native poll handler aborts the whole process on one (it
 *    builds its error with a null syscall name). With it the kernel drops what does not fit
 *    and the socket goes on; the periodic full sync repairs what a dropped event would have.
 *  - rcvbufForce(fd, bytes): SO_RCVBUFFORCE (root), a receive buffer above net.core.rmem_max,
 *    so that a burst fits in the first place.
 * Both return nothing and throw "what: strerror" on failure.
 */
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

static napi_value fail(napi_env env, const char *what, int err) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, buf);
  return NULL;
}

/* Reads `count` int32 arguments into out; throws and returns -1 if they are not numbers. */
static int int_args(napi_env env, napi_callback_info info, size_t count, int32_t *out) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "expected numeric arguments");
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "expected numeric arguments");
      return -1;
    }
  }
  return 0;
}

static napi_value no_enobufs(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, 1, a) != 0) return NULL;
  int on = 1;
  if (setsockopt(a[0], SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on) != 0) return fail(env, "setsockopt NETLINK_NO_ENOBUFS", errno);
  return NULL;
}

static napi_value rcvbuf_force(napi_env env, napi_callback_info info) {
  int32_t a[2];
  if (int_args(env, info, 2, a) != 0) return NULL;
  int bytes = a[1];
  if (setsockopt(a[0], SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) return fail(env, "setsockopt SO_RCVBUFFORCE", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"noEnobufs", NULL, no_enobufs, NULL, NULL, NULL, napi_default, NULL},
      {"rcvbufForce", NULL, rcvbuf_force, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, 2, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
