/*
 * The ingest's fast path for auditd's own lines, in C: `type=SECCOMP msg=audit(S.MS:SERIAL):
 * auid=... pid= comm= exe= sig= arch= syscall= compat= ip=0x code=0x` at the start of a line,
 * the kernel's field order since 4.14, which is what a node's audit.log holds by the million.
 * It reads a run of such lines and writes each as a packed entry (see src/ingest/
 * packed-records.ts for the layout), counts auditd's lines of other record types as skipped,
 * and stops at the first line that is anything else, which the JavaScript parser then reads. It accepts exactly what the JavaScript fast path accepts
 * (src/parse/canonical-fields.ts and SeccompLineParser.tryRecordLine) and fills the entry as
 * RecordPacker.addRecord would from that parse; tests compare the two on every input form.
 *
 * Every read is bounded by the line's newline, found first, which must lie before `end`: the
 * bytes are input (hostile, as any log line), and a line never reads into the next.
 *
 * Exports:
 *   scan(buf, pos, end, numbers: Float64Array, ranges: Int32Array, entry, maxEntries, out: Int32Array)
 *     -> the position after the last line read (pos when none); out[0] = entries written (record
 *        lines), out[1] = lines skipped
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

/* as src/parse/record-stream-parser.ts FAST_WINDOW: the JavaScript fast path takes a record
 * line only when its newline is within this many bytes of its start */
#define FAST_WINDOW 16384

/* the entry layout of packed-records.ts */
enum { NUMBERS = 12, RANGES = 14 };
enum { N_TIME, N_SERIAL, N_PID, N_UID, N_GID, N_AUID, N_SES, N_SIG, N_ARCH, N_NR, N_COMPAT, N_CODE };
enum { R_ENTRY = 0, R_BUF = 1, R_ACTION = 2, R_PLAIN = 3, R_COMM = 4, R_EXE = 6, R_SUBJ = 8, R_IP = 10, R_HEAD = 12 };
#define RECORD (-1)
#define ABSENT (-1)

static const char PREFIX[] = "type=SECCOMP msg=audit(";
#define PREFIX_LEN (sizeof PREFIX - 1)

static inline int digit(uint8_t c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

/* lower-case hex only: the kernel prints %x (upper case is auditd's ENRICHED text) */
static inline int hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static inline int same(const uint8_t *b, const char *key, size_t len) {
  return memcmp(b, key, len) == 0;
}

static inline int key_at(const uint8_t *b, size_t p, size_t nl, const char *key, size_t len) {
  return p + len <= nl && same(b + p, key, len);
}

/* SECCOMP_ACTIONS' index of the action `code` stands for (seccomp-action.ts actionOfCode) */
static int32_t action_index(int64_t code) {
  switch ((uint32_t)code & 0xffff0000u) {
    case 0x7ffc0000u: return 0; /* log */
    case 0x00050000u: return 1; /* errno */
    case 0x80000000u: return 2; /* kill_process */
    case 0x00000000u: return 3; /* kill_thread */
    case 0x00030000u: return 4; /* trap */
    case 0x7fc00000u: return 5; /* user_notif */
    case 0x7ff00000u: return 6; /* trace */
    case 0x7fff0000u: return 7; /* allow */
    default: return 8;          /* unknown */
  }
}

/* End of a comm/exe value starting at p: after its closing quote, or at the space after hex;
 * 0 when the line ends first (0 is never a valid end: values start after a key). */
static size_t value_end(const uint8_t *b, size_t p, size_t nl) {
  if (p < nl && b[p] == '"') {
    for (size_t i = p + 1; i < nl; i++) if (b[i] == '"') return i + 1;
    return 0;
  }
  for (size_t i = p; i < nl; i++) if (b[i] == ' ') return i;
  return 0;
}

/* Decimal digits at *p (at most `max`), as an integer: 0 digits or more than `max` fail (-1).
 * Integers, not doubles, on the way: a double's multiply-add per digit made a dependent chain
 * of ~8 cycles a digit, most of the line's time. At most 15 digits stay below 2^53, where the
 * result is exactly what the JavaScript parser's double arithmetic gives; longer numbers (no
 * kernel writes them) are left to it. */
static inline int64_t decimal(const uint8_t *b, size_t *p, size_t nl, int max) {
  size_t q = *p;
  uint64_t v = 0;
  int d;
  for (; q < nl && (d = digit(b[q])) >= 0; q++) {
    if ((int)(q - *p) == max) return -1;
    v = v * 10 + (uint64_t)d;
  }
  if (q == *p) return -1;
  *p = q;
  return (int64_t)v;
}

/* The same for lower-case hex digits, at most 8 (the kernel prints 32-bit values). */
static inline int64_t hexadecimal(const uint8_t *b, size_t *p, size_t nl, size_t max) {
  size_t q = *p;
  uint64_t v = 0;
  int d;
  for (; q < nl && q - *p < max && (d = hex(b[q])) >= 0; q++) v = v * 16 + (uint64_t)d;
  if (q == *p) return -1;
  *p = q;
  return (int64_t)v;
}

/* ` key=` then its decimal number (see decimal), or -1. */
static inline int64_t keyed_decimal(const uint8_t *b, size_t *p, size_t nl, const char *key, size_t len, int max) {
  if (!key_at(b, *p, nl, key, len)) return -1;
  *p += len;
  return decimal(b, p, nl, max);
}

/* Reads one record line starting at `pos`, whose newline is at `nl`, into the entry at n and
 * r; returns 0 when the line is not one this path takes. */
static int read_line(const uint8_t *b, size_t pos, size_t nl, double *n, int32_t *r) {
  if (nl - pos < PREFIX_LEN || !same(b + pos, PREFIX, PREFIX_LEN)) return 0;
  size_t q = pos + PREFIX_LEN;
  int d;
  /* the stamp: SECS.MS:SERIAL): (more than three digits of milliseconds are read, not used) */
  int64_t secs = decimal(b, &q, nl, 15);
  if (secs < 0 || q >= nl || b[q] != '.') return 0;
  q++;
  int64_t ms = 0;
  int digits = 0;
  for (; q < nl && (d = digit(b[q])) >= 0; q++, digits++) if (digits < 3) ms = ms * 10 + d;
  if (digits == 0 || q >= nl || b[q] != ':') return 0;
  for (; digits < 3; digits++) ms *= 10;
  q++;
  int64_t serial = decimal(b, &q, nl, 15);
  if (serial < 0 || q + 1 >= nl || b[q] != ')' || b[q + 1] != ':') return 0;
  size_t p = q + 2 < nl && b[q + 2] == ' ' ? q + 3 : q + 2;

  if (!key_at(b, p, nl, "auid=", 5)) return 0;
  /* auid, uid, gid, ses and subj are left for the reader to take from the head when asked */
  size_t head = p, i;
  for (i = p + 5; i + 3 < nl; i++) {
    if (b[i] == 'p' && b[i - 1] == ' ' && b[i + 1] == 'i' && b[i + 2] == 'd' && b[i + 3] == '=') break;
  }
  if (i + 3 >= nl) return 0;
  size_t head_end = i - 1;
  p = i + 4;
  int64_t pid = decimal(b, &p, nl, 10);
  if (pid < 0) return 0;

  if (!key_at(b, p, nl, " comm=", 6)) return 0;
  p += 6;
  size_t comm = p;
  if ((p = value_end(b, p, nl)) == 0) return 0;
  size_t comm_end = p;
  if (!key_at(b, p, nl, " exe=", 5)) return 0;
  p += 5;
  size_t exe = p;
  if ((p = value_end(b, p, nl)) == 0) return 0;
  size_t exe_end = p;

  int64_t sig = keyed_decimal(b, &p, nl, " sig=", 5, 15);
  if (sig < 0) return 0;
  if (!key_at(b, p, nl, " arch=", 6)) return 0;
  p += 6;
  /* nine digits or more: the JavaScript path refuses the line, so this one does */
  int64_t arch = hexadecimal(b, &p, nl, 8);
  if (arch < 0 || (p < nl && hex(b[p]) >= 0)) return 0;
  int64_t nr = keyed_decimal(b, &p, nl, " syscall=", 9, 10);
  if (nr < 0) return 0;
  int64_t compat = keyed_decimal(b, &p, nl, " compat=", 8, 15);
  if (compat < 0) return 0;
  if (!key_at(b, p, nl, " ip=0x", 6)) return 0;
  size_t ip = p + 4;
  {
    const uint8_t *space = memchr(b + p + 6, ' ', nl - (p + 6));
    if (space == NULL) return 0;
    p = (size_t)(space - b);
  }
  size_t ip_end = p;
  if (!key_at(b, p, nl, " code=0x", 8)) return 0;
  p += 8;
  int64_t code = hexadecimal(b, &p, nl, 8);
  if (code < 0) return 0;
  /* what may follow: the end, auditd's 0x1d separator, or its upper-case fields glued on (the
   * rest of the line is then skipped, as the JavaScript path does) */
  if (p < nl) {
    uint8_t c = b[p];
    if (c != 0x1d && c != ' ' && c != '\r' && c != '#' && !(c >= 'A' && c <= 'Z')) return 0;
  }

  /* as the JavaScript parser computes it: in doubles (a 14-digit second overflows 2^53) */
  n[N_TIME] = (double)secs * 1000 + (double)ms;
  n[N_SERIAL] = (double)serial;
  n[N_PID] = (double)pid;
  n[N_UID] = ABSENT;
  n[N_GID] = ABSENT;
  n[N_AUID] = ABSENT;
  n[N_SES] = ABSENT;
  n[N_SIG] = (double)sig;
  n[N_ARCH] = (double)arch;
  n[N_NR] = (double)nr;
  n[N_COMPAT] = (double)compat;
  n[N_CODE] = (double)code;
  r[R_ENTRY] = RECORD;
  r[R_BUF] = 0;
  r[R_ACTION] = action_index(code);
  r[R_PLAIN] = 0;
  r[R_COMM] = (int32_t)comm;
  r[R_COMM + 1] = (int32_t)comm_end;
  r[R_EXE] = (int32_t)exe;
  r[R_EXE + 1] = (int32_t)exe_end;
  r[R_SUBJ] = ABSENT;
  r[R_SUBJ + 1] = ABSENT;
  r[R_IP] = (int32_t)ip;
  r[R_IP + 1] = (int32_t)ip_end;
  r[R_HEAD] = (int32_t)head;
  r[R_HEAD + 1] = (int32_t)head_end;
  return 1;
}

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 8) return throw_type(env, "scan(buf, pos, end, numbers, ranges, entry, maxEntries, out)");
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) return throw_type(env, "scan: buf must be a Buffer");
  int32_t pos, end, entry, max_entries;
  if (napi_get_value_int32(env, argv[1], &pos) != napi_ok || napi_get_value_int32(env, argv[2], &end) != napi_ok ||
      napi_get_value_int32(env, argv[5], &entry) != napi_ok || napi_get_value_int32(env, argv[6], &max_entries) != napi_ok) {
    return throw_type(env, "scan: pos, end, entry and maxEntries must be numbers");
  }
  napi_typedarray_type type;
  size_t n_len, r_len, o_len;
  void *n_data, *r_data, *o_data;
  if (napi_get_typedarray_info(env, argv[3], &type, &n_len, &n_data, NULL, NULL) != napi_ok || type != napi_float64_array) return throw_type(env, "scan: numbers must be a Float64Array");
  if (napi_get_typedarray_info(env, argv[4], &type, &r_len, &r_data, NULL, NULL) != napi_ok || type != napi_int32_array) return throw_type(env, "scan: ranges must be an Int32Array");
  if (napi_get_typedarray_info(env, argv[7], &type, &o_len, &o_data, NULL, NULL) != napi_ok || type != napi_int32_array || o_len < 2) return throw_type(env, "scan: out must be an Int32Array of 2");
  if (pos < 0 || end < pos || (size_t)end > length || entry < 0 || max_entries < entry ||
      (size_t)max_entries * NUMBERS > n_len || (size_t)max_entries * RANGES > r_len) {
    return throw_type(env, "scan: pos, end or the entry range out of bounds");
  }
  const uint8_t *b = data;
  double *numbers = n_data;
  int32_t *ranges = r_data;
  size_t p = (size_t)pos;
  int32_t e = entry, skipped = 0;
  while (e < max_entries && p < (size_t)end) {
    size_t window = (size_t)end - p < FAST_WINDOW ? (size_t)end - p : FAST_WINDOW;
    const uint8_t *found = memchr(b + p, '\n', window);
    if (found == NULL) break;
    size_t nl = (size_t)(found - b);
    if (nl - p < 5 || !same(b + p, "type=", 5)) break;
    if (nl - p >= 13 && same(b + p + 5, "SECCOMP ", 8)) {
      if (!read_line(b, p, nl, numbers + (size_t)e * NUMBERS, ranges + (size_t)e * RANGES)) break;
      e++;
    } else if (nl - p >= 10 && same(b + p + 5, "1326 ", 5)) {
      /* the kernel's form: its framing is for the JavaScript parser to judge */
      break;
    } else {
      /* another record type of auditd's (the JavaScript parser skips a `type=` line whose
       * type is neither SECCOMP nor 1326 without reading further) */
      skipped++;
    }
    p = nl + 1;
  }
  ((int32_t *)o_data)[0] = e - entry;
  ((int32_t *)o_data)[1] = skipped;
  napi_value result;
  CHECK(napi_create_int64(env, (int64_t)p, &result));
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scan", fn) != napi_ok) return NULL;
  return exports;
}
