{
  "targets": [
    {
      "target_name": "netlink_opts",
      "sources": ["netlink_opts.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
