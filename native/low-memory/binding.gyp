{
  "targets": [
    {
      "target_name": "low_memory",
      "sources": ["low_memory.cc"],
      "cflags_cc": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
