/*
 * Socket options for BGP sessions that node:net cannot set up: TCP MD5 signatures (RFC 2385)
 * and the IP TTL of eBGP sessions (1 unless multihop), both needed before the first SYN:
 *  - connect(): a non-blocking socket gets TCP_MD5SIG (when a key is given), a TTL (when > 0)
 *    and a local address before connect(); libuv polls for completion and the callback gets
 *    the fd, which JavaScript wraps in a net.Socket.
 *  - setKey(): installs or removes a peer's key on a listening socket, so accepted
 *    connections from that peer are signed.
 *  - setTtl(): the TTL of an accepted connection.
 * Linux only. Errors come back as "syscall: strerror" strings.
 */
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(call)                                              \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, NULL, "N-API call failed: " #call);  \
      return NULL;                                               \
    }                                                            \
  } while (0)

/* Parses "a.b.c.d" or an IPv6 address into a sockaddr; an IPv4 address becomes IPv4-mapped
 * when the socket is AF_INET6 (the kernel then keys it as IPv4, see tcp_v6_parse_md5_keys). */
static int make_addr(const char *text, int port, int family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)ss;
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      s->sin_addr = v4;
      *len = sizeof *s;
      return 0;
    }
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_addr.s6_addr[10] = 0xff;
    s->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s->sin6_addr.s6_addr[12], &v4, 4);
    *len = sizeof *s;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &v6) == 1 && family == AF_INET6) {
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_addr = v6;
    *len = sizeof *s;
    return 0;
  }
  return -1;
}

static int set_md5(int fd, int family, const char *peer, const char *key, size_t keylen) {
  struct tcp_md5sig sig;
  socklen_t len;
  memset(&sig, 0, sizeof sig);
  if (make_addr(peer, 0, family, (struct sockaddr_storage *)&sig.tcpm_addr, &len) != 0) {
    errno = EINVAL;
    return -1;
  }
  if (keylen > TCP_MD5SIG_MAXKEYLEN) {
    errno = EINVAL;
    return -1;
  }
  sig.tcpm_keylen = (unsigned short)keylen;
  memcpy(sig.tcpm_key, key, keylen);
  return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig);
}

/* "what: strerror(err)" as a JS string, or NULL if it cannot be made. */
static napi_value error_string(napi_env env, const char *what, int err) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", what, strerror(err));
  napi_value v;
  if (napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &v) != napi_ok) return NULL;
  return v;
}

/* Copies a JS string into buf. A string that does not fit is an error (-2), never cut short:
 * a truncated key would sign with a different key than the operator gave. */
static int get_string(napi_env env, napi_value v, char *buf, size_t size, size_t *out_len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return -1;
  size_t need;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &need) != napi_ok) return -1;
  if (need + 1 > size) return -2;
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return -1;
  if (out_len) *out_len = len;
  return 0;
}

static const char *KEY_TOO_LONG = "TCP MD5 key longer than 80 bytes (TCP_MD5SIG_MAXKEYLEN)";

/* One connect in progress. Freed when both the poll handle is closed and the JS handle is
 * garbage-collected (refs counts the two owners). */
typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  int fd;
  int refs;
  int finished;
} pending_t;

static void release(pending_t *p) {
  if (--p->refs == 0) free(p);
}

static void on_closed(uv_handle_t *h) { release((pending_t *)h->data); }

static void finish(pending_t *p, int err) {
  if (p->finished) return;
  p->finished = 1;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
  napi_env env = p->env;
  napi_handle_scope scope;
  int delivered = 0;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value cb, global, argv[2], result;
    int ok = napi_get_reference_value(env, p->callback, &cb) == napi_ok && cb != NULL && napi_get_global(env, &global) == napi_ok;
    if (ok && err) {
      argv[0] = error_string(env, "connect", err);
      ok = argv[0] != NULL && napi_get_null(env, &argv[1]) == napi_ok;
    } else if (ok) {
      ok = napi_get_null(env, &argv[0]) == napi_ok && napi_create_int32(env, p->fd, &argv[1]) == napi_ok;
    }
    if (ok) {
      napi_status st = napi_call_function(env, global, cb, 2, argv, &result);
      /* The fd belongs to JavaScript once the callback got it, even if the callback threw. */
      delivered = !err;
      if (st == napi_pending_exception) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
    }
    napi_close_handle_scope(env, scope);
  }
  napi_delete_reference(env, p->callback);
  p->callback = NULL;
  if (!delivered) close(p->fd);
}

static void on_writable(uv_poll_t *h, int status, int events) {
  (void)events;
  pending_t *p = (pending_t *)h->data;
  int err = 0;
  socklen_t len = sizeof err;
  if (status < 0) err = -status;
  else if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  finish(p, err);
}

static void finalize_pending(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release((pending_t *)data);
}

/* The unicast TTL (hop limit) of a socket; NULL, or the failed call's name. */
static const char *set_ttl(int fd, int family, int ttl) {
  if (family == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) != 0) return "setsockopt(IPV6_UNICAST_HOPS)";
    /* A dual-stack listener's connections from IPv4 peers (::ffff:a.b.c.d) go out with IP_TTL. */
    return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == 0 ? NULL : "setsockopt(IP_TTL)";
  }
  return setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) == 0 ? NULL : "setsockopt(IP_TTL)";
}

/* connect(remote, port, local|null, key, ttl, callback) -> handle for cancel() */
static napi_value Connect(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char remote[64], local[64], key[TCP_MD5SIG_MAXKEYLEN + 1];
  size_t keylen = 0;
  int port, ttl;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "connect(remote: string, port: number, local: string | null, key: string, ttl: number, cb)");
    return NULL;
  }
  int local_rc = get_string(env, argv[2], local, sizeof local, NULL);
  int has_local = local_rc == 0;
  int key_rc = get_string(env, argv[3], key, sizeof key, &keylen);
  if (key_rc == -2) {
    napi_throw_range_error(env, NULL, KEY_TOO_LONG);
    return NULL;
  }
  if (local_rc == -2 || get_string(env, argv[0], remote, sizeof remote, NULL) != 0 || key_rc != 0 || napi_get_value_int32(env, argv[1], &port) != napi_ok ||
      napi_get_value_int32(env, argv[4], &ttl) != napi_ok) {
    napi_throw_type_error(env, NULL, "connect(remote: string, port: number, local: string | null, key: string, ttl: number, cb)");
    return NULL;
  }
  struct in6_addr probe;
  int family = inet_pton(AF_INET6, remote, &probe) == 1 ? AF_INET6 : AF_INET;
  struct sockaddr_storage dst, src;
  socklen_t dst_len, src_len = 0;
  if (make_addr(remote, port, family, &dst, &dst_len) != 0 || (has_local && make_addr(local, 0, family, &src, &src_len) != 0)) {
    napi_throw_error(env, NULL, "connect: bad remote or local address");
    return NULL;
  }
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  const char *failed = NULL;
  if (keylen > 0 && set_md5(fd, family, remote, key, keylen) != 0) failed = "setsockopt(TCP_MD5SIG)";
  if (!failed && ttl > 0) failed = set_ttl(fd, family, ttl);
  if (!failed && has_local && bind(fd, (struct sockaddr *)&src, src_len) != 0) failed = "bind";
  if (!failed && connect(fd, (struct sockaddr *)&dst, dst_len) != 0 && errno != EINPROGRESS) failed = "connect";
  if (failed) {
    int err = errno;
    close(fd);
    char buf[256];
    snprintf(buf, sizeof buf, "%s: %s", failed, strerror(err));
    napi_throw_error(env, NULL, buf);
    return NULL;
  }
  uv_loop_t *loop;
  pending_t *p = calloc(1, sizeof *p);
  if (p == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(p);
    close(fd);
    napi_throw_error(env, NULL, "connect: out of memory or no event loop");
    return NULL;
  }
  p->env = env;
  p->fd = fd;
  p->refs = 2;
  int rc = uv_poll_init(loop, &p->poll, fd);
  if (rc != 0) {
    free(p);
    close(fd);
    char buf[256];
    snprintf(buf, sizeof buf, "uv_poll_init: %s", uv_strerror(rc));
    napi_throw_error(env, NULL, buf);
    return NULL;
  }
  p->poll.data = p;
  napi_value handle;
  /* From here the poll handle exists: every failure path closes it (on_closed drops one ref). */
  if (napi_create_reference(env, argv[5], 1, &p->callback) != napi_ok || napi_create_external(env, p, finalize_pending, NULL, &handle) != napi_ok) {
    if (p->callback) napi_delete_reference(env, p->callback);
    p->finished = 1;
    p->refs = 1;
    uv_close((uv_handle_t *)&p->poll, on_closed);
    close(fd);
    napi_throw_error(env, NULL, "connect: N-API call failed");
    return NULL;
  }
  rc = uv_poll_start(&p->poll, UV_WRITABLE, on_writable);
  if (rc != 0) {
    /* The external owns one ref now; closing the poll handle drops the other. */
    napi_delete_reference(env, p->callback);
    p->callback = NULL;
    p->finished = 1;
    uv_close((uv_handle_t *)&p->poll, on_closed);
    close(fd);
    char buf[256];
    snprintf(buf, sizeof buf, "uv_poll_start: %s", uv_strerror(rc));
    napi_throw_error(env, NULL, buf);
    return NULL;
  }
  return handle;
}

/* cancel(handle): stops a connect in progress and closes its socket; the callback never runs. */
static napi_value Cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  pending_t *p;
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "cancel(handle)");
    return NULL;
  }
  CHECK(napi_get_value_external(env, argv[0], (void **)&p));
  if (!p->finished) {
    p->finished = 1;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, on_closed);
    close(p->fd);
    napi_delete_reference(env, p->callback);
    p->callback = NULL;
  }
  return NULL;
}

/* setKey(listenFd, peer, key): key "" removes the peer's key. */
static napi_value SetKey(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  char peer[64], key[TCP_MD5SIG_MAXKEYLEN + 1];
  size_t keylen = 0;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "setKey(fd: number, peer: string, key: string)");
    return NULL;
  }
  int key_rc = get_string(env, argv[2], key, sizeof key, &keylen);
  if (key_rc == -2) {
    napi_throw_range_error(env, NULL, KEY_TOO_LONG);
    return NULL;
  }
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || get_string(env, argv[1], peer, sizeof peer, NULL) != 0 || key_rc != 0) {
    napi_throw_type_error(env, NULL, "setKey(fd: number, peer: string, key: string)");
    return NULL;
  }
  struct sockaddr_storage self;
  socklen_t len = sizeof self;
  if (getsockname(fd, (struct sockaddr *)&self, &len) != 0 || set_md5(fd, self.ss_family, peer, key, keylen) != 0) {
    char buf[256];
    snprintf(buf, sizeof buf, "setsockopt(TCP_MD5SIG) for %s: %s", peer, strerror(errno));
    napi_throw_error(env, NULL, buf);
  }
  return NULL;
}

/* setTtl(fd, ttl): on an accepted connection, whose family getsockname tells. */
static napi_value SetTtl(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd, ttl;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &ttl) != napi_ok || ttl < 1 || ttl > 255) {
    napi_throw_type_error(env, NULL, "setTtl(fd: number, ttl: 1..255)");
    return NULL;
  }
  struct sockaddr_storage self;
  socklen_t len = sizeof self;
  const char *failed = getsockname(fd, (struct sockaddr *)&self, &len) != 0 ? "getsockname" : set_ttl(fd, self.ss_family, ttl);
  if (failed) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s: %s", failed, strerror(errno));
    napi_throw_error(env, NULL, buf);
  }
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"connect", NULL, Connect, NULL, NULL, NULL, napi_default, NULL},
      {"cancel", NULL, Cancel, NULL, NULL, NULL, napi_default, NULL},
      {"setKey", NULL, SetKey, NULL, NULL, NULL, napi_default, NULL},
      {"setTtl", NULL, SetTtl, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
