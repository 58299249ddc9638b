{
  "targets": [
    {
      "target_name": "pcre2_binding",
      "sources": ["src/pcre2_binding.c"],
      "defines": ["PCRE2_CODE_UNIT_WIDTH=8", "NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lpcre2-8"]
    }
  ]
}
