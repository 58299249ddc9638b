/*
 * bulwark-pcre2: a small N-API binding to the system libpcre2-8 (Debian's libpcre2-dev).
 *
 * 8-bit code units, no UTF: patterns and subjects are raw bytes. The subject is the caller's
 * Uint8Array (a Buffer is one), read in place between two offsets: nothing is copied or
 * converted on the match path. Captures are written into a caller-provided Int32Array.
 *
 * Every match runs with the match, depth and heap limits last set on the compiled expression
 * (setLimits; default 3500 / 1500 / 8 MiB, Suricata's), on a JIT stack owned by the thread (one
 * per N-API environment, so worker threads each have their own). Patterns are JIT-compiled when asked and when the library supports it; a
 * pattern the JIT refuses runs in the interpreter.
 *
 * JS API (see index.d.ts):
 *   compile(pattern: Uint8Array, options: number, jit: boolean)
 *     -> { handle, captureCount, jit, names: [name, number][] }   or throws (pcre2Code, offset)
 *   setLimits(handle, matchLimit, depthLimit, heapLimitKiB)
 *   match(handle, subject: Uint8Array, start, end, from, ovector: Int32Array, options) -> number
 *     the subject is subject[start, end) (`^` and lookbehind see nothing before start); the
 *     search begins `from` bytes into it (like Suricata's start offset on a retry)
 *     >= 1  match: the number of pairs written (whole match first), offsets absolute in subject
 *     -1    no match
 *     -2    match limit   -3 depth limit   -4 heap limit   -5 JIT stack limit
 *     -6    another matching error (the PCRE2 code is kept for lastError())
 *   lastError() -> number      the last PCRE2 error code of a match that returned -6
 *   errorMessage(code) -> string
 *   config() -> { version, jit, jitTarget }
 *   options: { CASELESS, MULTILINE, DOTALL, EXTENDED, ANCHORED, DOLLAR_ENDONLY, UNGREEDY,
 *              NO_AUTO_CAPTURE, NEVER_UTF, ... }   compile option bits of this libpcre2
 */
#include <node_api.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OVEC_PAIRS 128          /* pairs in the shared match data: whole match + 127 groups */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)
#define MAX_PATTERN_BYTES (64 * 1024)

/* Options a caller may pass to a match (the reference matcher anchors at each position). */
#define MATCH_OPTIONS (PCRE2_ANCHORED | PCRE2_NOTBOL | PCRE2_NOTEOL | PCRE2_NOTEMPTY | PCRE2_NOTEMPTY_ATSTART)

#define RC_NOMATCH -1
#define RC_MATCH_LIMIT -2
#define RC_DEPTH_LIMIT -3
#define RC_HEAP_LIMIT -4
#define RC_JIT_STACK_LIMIT -5
#define RC_ERROR -6

typedef struct {
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  pcre2_jit_stack *jit_stack;
  int last_error;
} Instance;

typedef struct {
  pcre2_code *code;
  uint32_t match_limit;
  uint32_t depth_limit;
  uint32_t heap_limit;
  int64_t external_bytes;
} Regex;

#define CHECK(env, call)                                  \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      napi_throw_error((env), NULL, "pcre2: N-API call failed: " #call); \
      return NULL;                                        \
    }                                                     \
  } while (0)

static void instance_free(napi_env env, void *data, void *hint) {
  Instance *in = (Instance *)data;
  if (in == NULL) return;
  if (in->md) pcre2_match_data_free(in->md);
  if (in->mctx) pcre2_match_context_free(in->mctx);
  if (in->jit_stack) pcre2_jit_stack_free(in->jit_stack);
  free(in);
}

static Instance *instance(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (Instance *)data;
}

static void regex_free(napi_env env, void *data, void *hint) {
  Regex *re = (Regex *)data;
  if (re == NULL) return;
  if (re->code) pcre2_code_free(re->code);
  if (re->external_bytes > 0) {
    int64_t ignored;
    napi_adjust_external_memory(env, -re->external_bytes, &ignored);
  }
  free(re);
}

static napi_status set_named(napi_env env, napi_value obj, const char *name, napi_value v) {
  return napi_set_named_property(env, obj, name, v);
}

static napi_value make_uint(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

/* Bytes of a Uint8Array argument (a Buffer is one); NULL with a thrown TypeError otherwise. */
static const uint8_t *u8_arg(napi_env env, napi_value v, size_t *len, const char *what) {
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  /* N-API hands out the data pointer already adjusted by the view's byte offset. */
  return data != NULL ? (const uint8_t *)data : (const uint8_t *)"";
}

static napi_value Compile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "pcre2.compile(pattern, options, jit)");
    return NULL;
  }
  size_t plen = 0;
  const uint8_t *pattern = u8_arg(env, argv[0], &plen, "pcre2.compile: pattern must be a Uint8Array");
  if (pattern == NULL) return NULL;
  uint32_t options = 0;
  bool jit = false;
  CHECK(env, napi_get_value_uint32(env, argv[1], &options));
  CHECK(env, napi_get_value_bool(env, argv[2], &jit));

  pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
  if (cctx == NULL) {
    napi_throw_error(env, NULL, "pcre2: out of memory (compile context)");
    return NULL;
  }
  pcre2_set_max_pattern_length(cctx, MAX_PATTERN_BYTES);
  int errcode = 0;
  PCRE2_SIZE erroffset = 0;
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, plen, options, &errcode, &erroffset, cctx);
  pcre2_compile_context_free(cctx);
  if (code == NULL) {
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
    napi_value text, err, num;
    CHECK(env, napi_create_string_utf8(env, (const char *)msg, NAPI_AUTO_LENGTH, &text));
    CHECK(env, napi_create_error(env, NULL, text, &err));
    CHECK(env, napi_create_int32(env, errcode, &num));
    CHECK(env, set_named(env, err, "pcre2Code", num));
    CHECK(env, napi_create_uint32(env, (uint32_t)erroffset, &num));
    CHECK(env, set_named(env, err, "offset", num));
    napi_throw(env, err);
    return NULL;
  }

  int jitted = 0;
  if (jit && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0) jitted = 1;

  Regex *re = (Regex *)calloc(1, sizeof(Regex));
  if (re == NULL) {
    pcre2_code_free(code);
    napi_throw_error(env, NULL, "pcre2: out of memory");
    return NULL;
  }
  re->code = code;
  re->match_limit = 3500;
  re->depth_limit = 1500;
  re->heap_limit = 8192;
  size_t size = 0, jitsize = 0;
  pcre2_pattern_info(code, PCRE2_INFO_SIZE, &size);
  if (jitted) pcre2_pattern_info(code, PCRE2_INFO_JITSIZE, &jitsize);
  re->external_bytes = (int64_t)(size + jitsize + sizeof(Regex));
  int64_t ignored;
  napi_adjust_external_memory(env, re->external_bytes, &ignored);

  napi_value handle;
  if (napi_create_external(env, re, regex_free, NULL, &handle) != napi_ok) {
    regex_free(env, re, NULL);
    napi_throw_error(env, NULL, "pcre2: cannot create handle");
    return NULL;
  }

  uint32_t captures = 0, name_count = 0, name_entry = 0;
  PCRE2_SPTR name_table = NULL;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
  pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &name_count);
  pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &name_entry);
  pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &name_table);

  napi_value out, names, b;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, set_named(env, out, "handle", handle));
  CHECK(env, set_named(env, out, "captureCount", make_uint(env, captures)));
  CHECK(env, napi_get_boolean(env, jitted != 0, &b));
  CHECK(env, set_named(env, out, "jit", b));
  CHECK(env, napi_create_array_with_length(env, name_count, &names));
  for (uint32_t i = 0; i < name_count && name_table != NULL; i++) {
    PCRE2_SPTR entry = name_table + (size_t)i * name_entry;
    uint32_t number = ((uint32_t)entry[0] << 8) | entry[1];
    napi_value pair, name;
    CHECK(env, napi_create_array_with_length(env, 2, &pair));
    CHECK(env, napi_create_string_latin1(env, (const char *)entry + 2, NAPI_AUTO_LENGTH, &name));
    CHECK(env, napi_set_element(env, pair, 0, name));
    CHECK(env, napi_set_element(env, pair, 1, make_uint(env, number)));
    CHECK(env, napi_set_element(env, names, i, pair));
  }
  CHECK(env, set_named(env, out, "names", names));
  return out;
}

static napi_value SetLimits(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Regex *re = NULL;
  if (argc < 4 || napi_get_value_external(env, argv[0], (void **)&re) != napi_ok || re == NULL) {
    napi_throw_type_error(env, NULL, "pcre2.setLimits(handle, matchLimit, depthLimit, heapLimitKiB)");
    return NULL;
  }
  CHECK(env, napi_get_value_uint32(env, argv[1], &re->match_limit));
  CHECK(env, napi_get_value_uint32(env, argv[2], &re->depth_limit));
  CHECK(env, napi_get_value_uint32(env, argv[3], &re->heap_limit));
  return NULL;
}

static napi_value Match(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "pcre2.match(handle, subject, start, end, from, ovector, options)");
    return NULL;
  }
  Instance *in = instance(env);
  Regex *re = NULL;
  if (in == NULL || napi_get_value_external(env, argv[0], (void **)&re) != napi_ok || re == NULL) {
    napi_throw_type_error(env, NULL, "pcre2.match: bad handle");
    return NULL;
  }
  size_t slen = 0;
  const uint8_t *subject = u8_arg(env, argv[1], &slen, "pcre2.match: subject must be a Uint8Array");
  if (subject == NULL) return NULL;
  int32_t start = 0, end = 0, from = 0;
  CHECK(env, napi_get_value_int32(env, argv[2], &start));
  CHECK(env, napi_get_value_int32(env, argv[3], &end));
  CHECK(env, napi_get_value_int32(env, argv[4], &from));
  if (start < 0 || end < start || (size_t)end > slen || from < 0 || from > end - start) {
    napi_throw_range_error(env, NULL, "pcre2.match: need 0 <= start <= end <= subject.length and 0 <= from <= end - start");
    return NULL;
  }
  napi_typedarray_type otype;
  size_t olen = 0;
  void *odata = NULL;
  if (napi_get_typedarray_info(env, argv[5], &otype, &olen, &odata, NULL, NULL) != napi_ok || otype != napi_int32_array) {
    napi_throw_type_error(env, NULL, "pcre2.match: ovector must be an Int32Array");
    return NULL;
  }
  uint32_t options = 0;
  CHECK(env, napi_get_value_uint32(env, argv[6], &options));
  if ((options & ~MATCH_OPTIONS) != 0) {
    napi_throw_range_error(env, NULL, "pcre2.match: unsupported match option");
    return NULL;
  }

  pcre2_set_match_limit(in->mctx, re->match_limit);
  pcre2_set_depth_limit(in->mctx, re->depth_limit);
  pcre2_set_heap_limit(in->mctx, re->heap_limit);
  int rc = pcre2_match(re->code, (PCRE2_SPTR)(subject + start), (PCRE2_SIZE)(end - start), (PCRE2_SIZE)from, options, in->md, in->mctx);

  int32_t result;
  if (rc >= 0) {
    /* rc == 0: more groups than the match data holds; the first OVEC_PAIRS are set. */
    uint32_t pairs = rc == 0 ? OVEC_PAIRS : (uint32_t)rc;
    uint32_t room = (uint32_t)(olen / 2);
    uint32_t n = pairs < room ? pairs : room;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(in->md);
    int32_t *dst = (int32_t *)odata;
    for (uint32_t i = 0; i < 2 * n; i++) dst[i] = ov[i] == PCRE2_UNSET ? -1 : (int32_t)ov[i] + start;
    result = (int32_t)pairs;
  } else {
    switch (rc) {
      case PCRE2_ERROR_NOMATCH:
      case PCRE2_ERROR_PARTIAL:
        result = RC_NOMATCH;
        break;
      case PCRE2_ERROR_MATCHLIMIT:
        result = RC_MATCH_LIMIT;
        break;
      case PCRE2_ERROR_DEPTHLIMIT:
        result = RC_DEPTH_LIMIT;
        break;
      case PCRE2_ERROR_HEAPLIMIT:
      case PCRE2_ERROR_NOMEMORY:
        result = RC_HEAP_LIMIT;
        break;
      case PCRE2_ERROR_JIT_STACKLIMIT:
        result = RC_JIT_STACK_LIMIT;
        break;
      default:
        in->last_error = rc;
        result = RC_ERROR;
    }
  }
  napi_value out;
  CHECK(env, napi_create_int32(env, result, &out));
  return out;
}

static napi_value LastError(napi_env env, napi_callback_info info) {
  Instance *in = instance(env);
  napi_value out;
  CHECK(env, napi_create_int32(env, in ? in->last_error : 0, &out));
  return out;
}

static napi_value ErrorMessage(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t code = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) {
    napi_throw_type_error(env, NULL, "pcre2.errorMessage(code)");
    return NULL;
  }
  PCRE2_UCHAR msg[256];
  if (pcre2_get_error_message(code, msg, sizeof msg) < 0) strcpy((char *)msg, "unknown error");
  napi_value out;
  CHECK(env, napi_create_string_utf8(env, (const char *)msg, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  char version[64] = "";
  char target[128] = "";
  uint32_t jit = 0;
  pcre2_config(PCRE2_CONFIG_VERSION, version);
  pcre2_config(PCRE2_CONFIG_JIT, &jit);
  if (jit) pcre2_config(PCRE2_CONFIG_JITTARGET, target);
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, napi_create_string_latin1(env, version, NAPI_AUTO_LENGTH, &v));
  CHECK(env, set_named(env, out, "version", v));
  CHECK(env, napi_get_boolean(env, jit != 0, &v));
  CHECK(env, set_named(env, out, "jit", v));
  CHECK(env, napi_create_string_latin1(env, target, NAPI_AUTO_LENGTH, &v));
  CHECK(env, set_named(env, out, "jitTarget", v));
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  Instance *in = (Instance *)calloc(1, sizeof(Instance));
  if (in == NULL) {
    napi_throw_error(env, NULL, "pcre2: out of memory");
    return NULL;
  }
  in->md = pcre2_match_data_create(OVEC_PAIRS, NULL);
  in->mctx = pcre2_match_context_create(NULL);
  in->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
  if (in->md == NULL || in->mctx == NULL) {
    instance_free(env, in, NULL);
    napi_throw_error(env, NULL, "pcre2: out of memory");
    return NULL;
  }
  /* Without a stack of its own the JIT would use 32 KiB of the machine stack. */
  if (in->jit_stack != NULL) pcre2_jit_stack_assign(in->mctx, NULL, in->jit_stack);
  CHECK(env, napi_set_instance_data(env, in, instance_free, NULL));

  napi_property_descriptor fns[] = {
      {"compile", NULL, Compile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"match", NULL, Match, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setLimits", NULL, SetLimits, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lastError", NULL, LastError, NULL, NULL, NULL, napi_enumerable, NULL},
      {"errorMessage", NULL, ErrorMessage, NULL, NULL, NULL, napi_enumerable, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));

  napi_value opts;
  CHECK(env, napi_create_object(env, &opts));
#define OPT(name) CHECK(env, set_named(env, opts, #name, make_uint(env, PCRE2_##name)))
  OPT(CASELESS);
  OPT(MULTILINE);
  OPT(DOTALL);
  OPT(EXTENDED);
  OPT(ANCHORED);
  OPT(DOLLAR_ENDONLY);
  OPT(UNGREEDY);
  OPT(NO_AUTO_CAPTURE);
  OPT(NEVER_UTF);
  OPT(NEVER_UCP);
  OPT(DUPNAMES);
  OPT(ENDANCHORED);
  OPT(NOTEMPTY);
  OPT(NOTEMPTY_ATSTART);
  OPT(NOTBOL);
  OPT(NOTEOL);
#undef OPT
  CHECK(env, set_named(env, exports, "options", opts));
  napi_value n;
  CHECK(env, napi_create_int32(env, PCRE2_ERROR_BAD_SUBPATTERN_REFERENCE, &n));
  CHECK(env, set_named(env, exports, "ERROR_BAD_SUBPATTERN_REFERENCE", n));
  CHECK(env, set_named(env, exports, "OVECTOR_PAIRS", make_uint(env, OVEC_PAIRS)));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
