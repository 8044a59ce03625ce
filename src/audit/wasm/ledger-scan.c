// The byte-level hot path of `audit verify`, compiled to WebAssembly (scripts/build-wasm.sh):
// checking that a ~1 KB body is a JSON object and finding a handful of its members, and
// reading a whole entry as it arrives: a JSONL line laid out as the exporter writes it (its
// body checked while it is unescaped, in one pass), or a binary COPY tuple. In JavaScript
// these loops cost more than the sha256 of the body; here string content is copied or skipped
// 16 bytes at a time with SIMD.
//
// Everything here is conservative: 1 (or a length) means JSON.parse would read the input
// exactly as found here; anything unusual answers 0 (or -1), and the caller runs the exact
// JavaScript checks (check-ledger-entry.ts), which word the failure or find none. Every read
// is bounded by `end`: a vector load or store may reach past it (the caller leaves at least
// 16 bytes of slack after input and output),
// but no byte beyond `end` is ever taken as input.
//
// Freestanding: no libc, no allocation. The caller owns the memory after __heap_base.

#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;

// Member slots, as BODY_MEMBER in scan-canonical-body.ts; two int32 each (value start, value
// end, relative to the body; -1 absent, -2 duplicate).
enum { SEQ = 0, TS = 1, TYPE = 2, REQUEST_ID = 3, SUBJECT_ID = 4, RESOURCE = 5, ACTOR = 6, ACTOR_USER_ID = 7, SLOTS = 16 };
enum { MAX_DEPTH = 256, OBJECT = 1, ARRAY = 2 };

static int32_t members[2 * SLOTS];
/** What check_line or check_tuple found: next entry's start, seq (high, low 32 bits), prev_hash start, hash start. */
static int32_t info[8];

static u8 kinds[MAX_DEPTH + 2];
static int8_t slots[MAX_DEPTH + 2];
static int32_t starts[MAX_DEPTH + 2];

static const u8 HEX[256] = {['0' ... '9'] = 1, ['a' ... 'f'] = 1, ['A' ... 'F'] = 1};
static const u8 SHORT_ESCAPE[256] = {['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1};

__attribute__((export_name("members_ptr"))) int32_t *members_ptr(void) { return members; }
__attribute__((export_name("info_ptr"))) int32_t *info_ptr(void) { return info; }

/**
 * Bit k set when byte k of the 16 in v is '"', '\\' or a control character, or when k is
 * `left` (the end of the input, when fewer than 16 bytes are left).
 */
static inline uint32_t stop_mask(v128_t v, int left) {
  v128_t stop = wasm_v128_or(wasm_v128_or(wasm_i8x16_eq(v, wasm_i8x16_splat('"')), wasm_i8x16_eq(v, wasm_i8x16_splat('\\'))), wasm_u8x16_lt(v, wasm_i8x16_splat(0x20)));
  uint32_t mask = wasm_i8x16_bitmask(stop);
  return left < 16 ? mask | 1u << left : mask;
}

/** The first byte at or after p that is '"', '\\' or a control character; `end` if none. */
static inline int plain_run_end(const u8 *b, int p, int end) {
  for (;;) {
    int left = end - p;
    if (left <= 0) return end;
    uint32_t mask = stop_mask(wasm_v128_load(b + p), left);
    if (mask) return p + __builtin_ctz(mask);
    p += 16;
  }
}

/** A JSON string whose opening quote is at p: the index after its closing quote, or -1. */
static inline int skip_string(const u8 *b, int p, int end, int *escaped) {
  p++;
  for (;;) {
    p = plain_run_end(b, p, end);
    if (p >= end) return -1;
    u8 c = b[p];
    if (c == '"') return p + 1;
    if (c != '\\' || p + 1 >= end) return -1;
    *escaped = 1;
    u8 e = b[p + 1];
    if (e == 'u') {
      if (p + 5 >= end || !HEX[b[p + 2]] || !HEX[b[p + 3]] || !HEX[b[p + 4]] || !HEX[b[p + 5]]) return -1;
      p += 6;
    } else if (SHORT_ESCAPE[e]) p += 2;
    else return -1;
  }
}

static inline int same(const u8 *b, int p, const char *text, int length) {
  for (int k = 0; k < length; k++)
    if (b[p + k] != (u8)text[k]) return 0;
  return 1;
}

static int top_slot(const u8 *b, int p, int length) {
  switch (length) {
    case 2: return same(b, p, "ts", 2) ? TS : -1;
    case 3: return same(b, p, "seq", 3) ? SEQ : -1;
    case 4: return same(b, p, "type", 4) ? TYPE : -1;
    case 5: return same(b, p, "actor", 5) ? ACTOR : -1;
    case 8: return same(b, p, "resource", 8) ? RESOURCE : -1;
    case 10: return same(b, p, "request_id", 10) ? REQUEST_ID : same(b, p, "subject_id", 10) ? SUBJECT_ID : -1;
    default: return -1;
  }
}

static inline void record(int slot, int start, int end) {
  if (members[2 * slot] != -1) members[2 * slot] = -2;
  else {
    members[2 * slot] = start;
    members[2 * slot + 1] = end;
  }
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/**
 * A JSON string whose opening quote is at p: the index after its closing quote, or -1; `*q`
 * is where its copy in `out` ends. Plain: the input is the body (out is not written, *q
 * follows p). Escaped: the input is the body as the content of an export line's JSON string,
 * where each of its '"' and '\\' is escaped once more; the string is written unescaped to out.
 */
ALWAYS_INLINE int string_at(const u8 *b, int p, int end, u8 *out, int *q, const int escaped, int *escapes) {
  if (!escaped) {
    if (p >= end || b[p] != '"') return -1;
    int after = skip_string(b, p, end, escapes);
    *q = after;
    return after;
  }
  if (p + 1 >= end || b[p] != '\\' || b[p + 1] != '"') return -1;
  int o = *q;
  out[o++] = '"';
  p += 2;
  for (;;) {
    for (;;) {
      int left = end - p;
      if (left <= 0) return -1;
      v128_t v = wasm_v128_load(b + p);
      wasm_v128_store(out + o, v);
      uint32_t mask = stop_mask(v, left);
      if (!mask) {
        p += 16;
        o += 16;
        continue;
      }
      int k = __builtin_ctz(mask);
      p += k;
      o += k;
      break;
    }
    // A raw '"' would end the line's string inside this one; a control character is invalid.
    if (p + 1 >= end || b[p] != '\\') return -1;
    u8 e = b[p + 1];
    if (e == '"') {
      out[o++] = '"';
      *q = o;
      return p + 2;
    }
    // Any other escape of the line's string stands for a byte a canonical body never has there.
    if (e != '\\') return -1;
    // The body's own escape: a backslash, then its character, itself escaped if '"' or '\\'.
    *escapes = 1;
    out[o++] = '\\';
    p += 2;
    if (p >= end) return -1;
    u8 x = b[p];
    if (x == '\\') {
      if (p + 1 >= end || (b[p + 1] != '"' && b[p + 1] != '\\')) return -1;
      out[o++] = b[p + 1];
      p += 2;
    } else if (x == 'u') {
      if (p + 4 >= end || !HEX[b[p + 1]] || !HEX[b[p + 2]] || !HEX[b[p + 3]] || !HEX[b[p + 4]]) return -1;
      for (int k = 0; k < 5; k++) out[o++] = b[p + k];
      p += 5;
    } else if (x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't') {
      out[o++] = x;
      p++;
    } else return -1;
  }
}

/**
 * The body check, once for both layouts: whether the input is certainly a JSON object as
 * JSON.parse reads it, with no whitespace, fractions or exponents (never canonical), escaped
 * tracked keys or nesting deeper than MAX_DEPTH; fills `members` (positions in the body).
 * Returns the input position after the object's closing brace, or -1. Plain: the body is
 * b[p, end). Escaped: the body is the content of an export line's string from p (see
 * string_at), written unescaped to out[0, *q); the caller checks what follows.
 */
ALWAYS_INLINE int scan_json(const u8 *b, int p, int end, u8 *out, int *q_end, const int escaped) {
  for (int k = 0; k < 2 * SLOTS; k++) members[k] = -1;
  // In the body: `q` (escaped: the copy in out; plain: the input itself, q == p).
  const u8 *body = escaped ? out : b;
  int q = escaped ? 0 : p;
#define TAKE(n)                                           \
  do {                                                    \
    if (escaped)                                          \
      for (int t_ = 0; t_ < (n); t_++) out[q + t_] = b[p + t_]; \
    p += (n);                                             \
    q += (n);                                             \
  } while (0)
  if (p >= end || b[p] != '{') return -1;
  TAKE(1);
  int depth = 0;
  kinds[0] = OBJECT;
  slots[0] = -1;
  int actor_depth = -1;
  if (p < end && b[p] == '}') {
    TAKE(1);
    *q_end = q;
    return p;
  }

  for (;;) {
    // At the start of an object member or an array element.
    int slot = -1;
    if (kinds[depth] == OBJECT) {
      int escapes = 0;
      int key_start = q + 1;
      p = string_at(b, p, end, out, &q, escaped, &escapes);
      if (p < 0 || p >= end || b[p] != ':') return -1;
      int key_length = q - 1 - key_start;
      TAKE(1);
      if (depth == 0) {
        // An escaped key may spell a tracked name: its decoded name is unknown here.
        if (escapes) return -1;
        slot = top_slot(body, key_start, key_length);
      } else if (depth == actor_depth) {
        if (escapes) return -1;
        if (key_length == 7 && same(body, key_start, "user_id", 7)) slot = ACTOR_USER_ID;
      }
    }

    if (p >= end) return -1;
    int value_start = q;
    u8 c = b[p];
    if (c == (escaped ? '\\' : '"')) {
      int escapes = 0;
      p = string_at(b, p, end, out, &q, escaped, &escapes);
      if (p < 0) return -1;
    } else if (c == '{' || c == '[') {
      if (depth >= MAX_DEPTH) return -1;
      depth++;
      kinds[depth] = c == '{' ? OBJECT : ARRAY;
      slots[depth] = (int8_t)slot;
      starts[depth] = value_start;
      if (slot == ACTOR && c == '{') actor_depth = depth;
      TAKE(1);
      if (p >= end) return -1;
      if (b[p] != (c == '{' ? '}' : ']')) continue;
      // An empty container: closed at once.
      TAKE(1);
      if (depth == actor_depth) actor_depth = -1;
      depth--;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      int start = p;
      if (c == '-') p++;
      if (p >= end) return -1;
      if (b[p] == '0') p++;
      else if (b[p] >= '1' && b[p] <= '9') {
        p++;
        while (p < end && b[p] >= '0' && b[p] <= '9') p++;
      } else return -1;
      // Fractions and exponents are valid JSON but never canonical: left to the exact check.
      if (p < end && (b[p] == '.' || b[p] == 'e' || b[p] == 'E')) return -1;
      int n = p - start;
      p = start;
      TAKE(n);
    } else if (c == 't') {
      if (p + 4 > end || !same(b, p, "true", 4)) return -1;
      TAKE(4);
    } else if (c == 'f') {
      if (p + 5 > end || !same(b, p, "false", 5)) return -1;
      TAKE(5);
    } else if (c == 'n') {
      if (p + 4 > end || !same(b, p, "null", 4)) return -1;
      TAKE(4);
    } else return -1;
    // A scalar or an empty container is complete here; others are recorded as they close.
    if (slot >= 0) record(slot, value_start, q);

    // After a value: a comma, or the end of containers.
    for (;;) {
      if (p >= end) return -1;
      u8 next = b[p];
      if (next == ',') {
        TAKE(1);
        break;
      }
      if (next != (kinds[depth] == OBJECT ? '}' : ']')) return -1;
      TAKE(1);
      if (depth == 0) {
        // JSON.parse keeps the last "actor": the user_id found may be another one's.
        if (members[2 * ACTOR] == -2) members[2 * ACTOR_USER_ID] = -2;
        *q_end = q;
        return p;
      }
      if (slots[depth] >= 0) record(slots[depth], starts[depth], q);
      if (depth == actor_depth) actor_depth = -1;
      depth--;
    }
  }
#undef TAKE
}

/** 1 when b[0, end) is a body scan_json accepts (members filled), 0 otherwise. */
__attribute__((export_name("scan_body"))) int scan_body(const u8 *b, int end) {
  int q = 0;
  return scan_json(b, 0, end, (u8 *)b, &q, 0) == end;
}

// ---------------------------------------------------------------------------------------------
// JSONL lines as `audit export` writes them (docs/ledger-format.md, "JSONL export"):
// {"seq":"…","ts":"…","type":"…","request_id":…,"resource":…,"actor_id":…,"subject_id":…,"prev_hash":"…","hash":"…","body":"…"}

static int32_t columns[12];
static const int COLUMN_SLOTS[6] = {TS, TYPE, REQUEST_ID, RESOURCE, ACTOR_USER_ID, SUBJECT_ID};

/** `,"name":` then a plain string (no escapes) or, when nullable, null. The index after it, or -1. */
static int column(const u8 *b, int p, int end, const char *name, int name_length, int index, int nullable) {
  if (p < 0 || p + name_length > end || !same(b, p, name, name_length)) return -1;
  p += name_length;
  int start = p;
  if (p < end && b[p] == '"') {
    p = plain_run_end(b, p + 1, end);
    if (p >= end || b[p] != '"') return -1;
    p++;
  } else if (nullable && p + 4 <= end && same(b, p, "null", 4)) p += 4;
  else return -1;
  columns[2 * index] = start;
  columns[2 * index + 1] = p;
  return p;
}

/** The body member's JSON text is exactly line[start, end). */
static int member_is(const u8 *body, int slot, const u8 *line, int start, int end) {
  int at = members[2 * slot];
  if (at < 0 || members[2 * slot + 1] - at != end - start) return 0;
  for (int k = 0; k < end - start; k++)
    if (body[at + k] != line[start + k]) return 0;
  return 1;
}

static int is_lower_hex(const u8 *b, int p) {
  for (int k = 0; k < 64; k++) {
    u8 c = b[p + k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  return 1;
}

/**
 * The entry whose prev_hash is at `prev` follows the one whose hash is at `last_hash` (seq
 * last_seq + 1, prev_hash equal to that hash); the first of a chunk (last_hash -1) only needs
 * 64 lowercase hex digits: later ones equal a hash the caller checked against its digest.
 */
static int follows(const u8 *b, int prev, int64_t seq, int last_hash, double last_seq) {
  if (last_hash < 0) return is_lower_hex(b, prev);
  if ((double)seq != last_seq + 1) return 0;
  for (int k = 0; k < 64; k++)
    if (b[prev + k] != b[last_hash + k]) return 0;
  return 1;
}

#define KEY(text) text, (int)(sizeof(text) - 1)

/**
 * One line of line[p, end) (end: the end of the whole run of lines). Writes prev_hash ‖ body
 * to `out` (with 16 bytes of slack after it) and returns its length; 0 for a blank line; -1
 * when the line is not laid out as the exporter writes it, or does not agree with itself
 * (columns, seq), or does not follow the line whose hash is at `last_hash` and whose seq is
 * `last_seq` (last_hash -1: none, then its prev_hash must be 64 lowercase hex digits). `info` says where the next line starts, the seq,
 * and where prev_hash and hash are. The sha256 is the caller's.
 */
__attribute__((export_name("check_line"))) int check_line(const u8 *line, int p, int end, u8 *out, int last_hash, double last_seq) {
  const u8 *b = line;
  if (p < end && b[p] == '\n') {
    info[0] = p + 1;
    return 0;
  }
  if (p + 1 < end && b[p] == '\r' && b[p + 1] == '\n') {
    info[0] = p + 2;
    return 0;
  }
  if (p + 8 > end || !same(b, p, KEY("{\"seq\":\""))) return -1;
  p += 8;
  int seq_start = p - 1;
  if (p >= end || b[p] < '1' || b[p] > '9') return -1;
  int64_t seq = 0;
  // Up to 15 digits a double holds the seq exactly (the caller's last_seq); longer ones are
  // left to the exact path.
  while (p < end && b[p] >= '0' && b[p] <= '9' && p - seq_start <= 15) seq = seq * 10 + (b[p++] - '0');
  if (p >= end || b[p] != '"') return -1;
  p++;
  int seq_end = p;

  p = column(b, p, end, KEY(",\"ts\":"), 0, 0);
  p = column(b, p, end, KEY(",\"type\":"), 1, 0);
  p = column(b, p, end, KEY(",\"request_id\":"), 2, 1);
  p = column(b, p, end, KEY(",\"resource\":"), 3, 1);
  p = column(b, p, end, KEY(",\"actor_id\":"), 4, 1);
  p = column(b, p, end, KEY(",\"subject_id\":"), 5, 1);
  if (p < 0 || p + 14 + 64 + 10 + 64 + 10 > end) return -1;
  if (!same(b, p, KEY(",\"prev_hash\":\""))) return -1;
  int prev = p + 14;
  if (!same(b, prev + 64, KEY("\",\"hash\":\""))) return -1;
  int hash = prev + 64 + 10;
  if (!same(b, hash + 64, KEY("\",\"body\":\""))) return -1;
  p = hash + 64 + 10;

  if (!follows(b, prev, seq, last_hash, last_seq)) return -1;

  // The body, unescaped after prev_hash and checked as it is copied (scan_json). The
  // exporter's body string holds no escapes but \" and \\ (a canonical body's own escapes
  // arrive doubled); any other is left to the exact path.
  __builtin_memcpy(out, b + prev, 64);
  const u8 *body = out + 64;
  int body_length = 0;
  p = scan_json(b, p, end, out + 64, &body_length, 1);
  // The closing quote of the line's string, the end of the object, the end of the line.
  if (p < 0 || p + 1 >= end || b[p] != '"' || b[p + 1] != '}') return -1;
  int next = p + 2;
  if (next < end) {
    if (b[next] == '\n') next += 1;
    else if (next + 1 < end && b[next] == '\r' && b[next + 1] == '\n') next += 2;
    else return -1;
  }
  int q = 64 + body_length;
  if (!member_is(body, SEQ, b, seq_start, seq_end)) return -1;
  for (int k = 0; k < 6; k++) {
    int start = columns[2 * k];
    // A NULL column matches a null or absent member (check-ledger-entry.ts).
    if (b[start] == 'n' && members[2 * COLUMN_SLOTS[k]] == -1) continue;
    if (!member_is(body, COLUMN_SLOTS[k], b, start, columns[2 * k + 1])) return -1;
  }
  info[0] = next;
  info[1] = (int32_t)(seq >> 32);
  info[2] = (int32_t)(uint32_t)seq;
  info[3] = prev;
  info[4] = hash;
  return q;
}

// ---------------------------------------------------------------------------------------------
// Binary COPY tuples of COPY_COLUMNS (verify-copy-chunk.ts): seq int8, then ts, type,
// request_id, actor_id, subject_id, resource as text (or NULL), prev_hash, body, hash; each in
// its CopyData message as it came off the wire (copy-out-tuples.ts): 'd', int32 length, tuple.

static inline int32_t read_i32(const u8 *b, int p) {
  return (int32_t)((uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | (uint32_t)b[p + 3]);
}

static const int TUPLE_COLUMN_SLOTS[6] = {TS, TYPE, REQUEST_ID, ACTOR_USER_ID, SUBJECT_ID, RESOURCE};

/** A text column (start, length; -1 for NULL) agrees with the body member as check-ledger-entry.ts compares them. */
static int column_matches(const u8 *body, int slot, const u8 *b, int start, int length) {
  int at = members[2 * slot];
  if (at == -2) return 0;
  if (length < 0) return at == -1 || (members[2 * slot + 1] - at == 4 && same(body, at, "null", 4));
  if (at == -1 || members[2 * slot + 1] - at != length + 2 || body[at] != '"' || body[at + length + 1] != '"') return 0;
  // A column needing an escape is left to the exact path: its member is spelled differently.
  for (int k = 0; k < length; k++) {
    u8 c = b[start + k];
    if (c < 0x20 || c == '"' || c == '\\' || c != body[at + 1 + k]) return 0;
  }
  return 1;
}

/**
 * The tuple at b[p] (whole tuples up to `end`): writes prev_hash ‖ body to `out` and returns its
 * length; 0 for a message that holds no tuple (info[0] says where the next one starts); -1
 * when the tuple is not as COPY_COLUMNS lays it out, its seq is not last_seq + 1, its
 * prev_hash is not the hash at `last_hash` (-1: none, then 64 lowercase hex digits), or its
 * body or columns do not agree (scan_body, column_matches). `info`: next tuple, seq high and
 * low 32 bits, hash start. Whether the body is UTF-8, and the sha256, are the caller's.
 */
__attribute__((export_name("check_tuple"))) int check_tuple(const u8 *b, int p, int end, u8 *out, int last_hash, double last_seq) {
  int start[10], length[10];
  if (p + 5 > end) return -1;
  int32_t message = read_i32(b, p + 1);
  if (message < 4 || message - 4 > end - p - 5) return -1;
  // What PostgreSQL may send between rows (NoticeResponse, ParameterStatus,
  // NotificationResponse), and the trailer (a CopyData of -1 fields): skipped.
  if (b[p] == 'N' || b[p] == 'S' || b[p] == 'A' || (b[p] == 'd' && message == 6 && b[p + 5] == 0xff && b[p + 6] == 0xff)) {
    info[0] = p + 1 + message;
    return 0;
  }
  if (b[p] != 'd') return -1;
  // The tuple must fill its message exactly.
  end = p + 1 + message;
  p += 5;
  if (p + 2 > end || b[p] != 0 || b[p + 1] != 10) return -1;
  p += 2;
  for (int f = 0; f < 10; f++) {
    if (p + 4 > end) return -1;
    int32_t n = read_i32(b, p);
    p += 4;
    if (n < -1 || n > end - p) return -1;
    start[f] = p;
    length[f] = n;
    if (n > 0) p += n;
  }
  if (p != end || length[0] != 8 || length[7] != 64 || length[9] != 64 || length[8] < 0) return -1;
  int64_t seq = (int64_t)((uint64_t)(uint32_t)read_i32(b, start[0]) << 32 | (uint32_t)read_i32(b, start[0] + 4));
  // Beyond 2^53 a double no longer holds every seq: left to the exact path.
  if (seq < 1 || seq > 9007199254740991LL) return -1;
  int prev = start[7];
  if (!follows(b, prev, seq, last_hash, last_seq)) return -1;
  int body_length = length[8];
  __builtin_memcpy(out, b + prev, 64);
  __builtin_memcpy(out + 64, b + start[8], (unsigned long)body_length);
  u8 *body = out + 64;
  if (!scan_body(body, body_length)) return -1;

  // The body's "seq" is the decimal string of the row's seq.
  char digits[20];
  int count = 0;
  for (int64_t rest = seq; rest > 0; rest /= 10) digits[count++] = (char)('0' + rest % 10);
  int at = members[2 * SEQ];
  if (at < 0 || members[2 * SEQ + 1] - at != count + 2 || body[at] != '"' || body[at + count + 1] != '"') return -1;
  for (int k = 0; k < count; k++)
    if (body[at + 1 + k] != (u8)digits[count - 1 - k]) return -1;
  for (int k = 0; k < 6; k++)
    if (!column_matches(body, TUPLE_COLUMN_SLOTS[k], b, start[1 + k], length[1 + k])) return -1;

  info[0] = p;
  info[1] = (int32_t)(seq >> 32);
  info[2] = (int32_t)(uint32_t)seq;
  info[3] = prev;
  info[4] = start[9];
  return 64 + body_length;
}
