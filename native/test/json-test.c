/*
 * Unit test of common/json.c, run by `make -C native check`: exits 0 when every check passes,
 * else 1 after naming the failed ones.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static int checks, failures;

#define CHECK(cond)                                                                                                    \
  do                                                                                                                   \
    {                                                                                                                  \
      checks++;                                                                                                        \
      if (!(cond))                                                                                                     \
        {                                                                                                              \
          failures++;                                                                                                  \
          fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                    \
        }                                                                                                              \
    }                                                                                                                  \
  while (0)

static bool
parses (const char *text)
{
  struct json j;
  int r = json_parse (&j, text, strlen (text));

  json_free (&j);
  return r == 0;
}

static bool
rejects (const char *text, size_t len)
{
  struct json j;
  int r = json_parse (&j, text, len);

  json_free (&j);
  return r < 0 && errno == EINVAL;
}

/* The string member `key` of the object `text`, decoded, compared with the `want_len` bytes of
   `want` (NULL: the member must be absent or not a string). */
static bool
member_is (const char *text, const char *key, const char *want, size_t want_len)
{
  struct json j;
  bool ok = false;
  long t;

  if (json_parse (&j, text, strlen (text)) == 0)
    {
      t = json_get (&j, 0, key);
      if (want == NULL)
        ok = t < 0 || j.tokens[t].type != JSON_STRING;
      else if (t >= 0)
        {
          size_t len;
          char *s = json_string (&j, (size_t) t, &len);

          ok = s != NULL && len == want_len && memcmp (s, want, len) == 0 && s[len] == '\0';
          free (s);
        }
    }
  json_free (&j);
  return ok;
}

#define MEMBER_IS(text, key, want) member_is (text, key, want, sizeof want - 1)

static bool
integer_is (const char *text, bool want_ok, long long want)
{
  struct json j;
  long long v = 0;
  bool ok = false;

  if (json_parse (&j, text, strlen (text)) == 0)
    ok = json_integer (&j, 0, &v) == want_ok && (!want_ok || v == want);
  json_free (&j);
  return ok;
}

/* Nested arrays, `depth` deep. */
static bool
nested_parses (int depth)
{
  char text[512];

  memset (text, '[', (size_t) depth);
  memset (text + depth, ']', (size_t) depth);
  text[2 * depth] = '\0';
  return parses (text);
}

int
main (void)
{
  struct json j;

  /* the daemon's answers (src/api/client-run.ts, router.ts) */
  CHECK (MEMBER_IS (
      "{\"Id\":\"0123abcd\",\"Spec\":\"/run/corral/x/launch.spec\",\"Launcher\":\"/opt/corral/native/corral-launch\"}",
      "Spec", "/run/corral/x/launch.spec"));
  CHECK (MEMBER_IS ("{\"message\":\"invalid memory \\\"1x\\\": use a number\\nand a unit\"}", "message",
                    "invalid memory \"1x\": use a number\nand a unit"));
  CHECK (integer_is ("137", true, 137));
  CHECK (parses ("{\"ExitCode\":137,\"Message\":\"OOM killed (memory limit 64 MiB)\"}"));

  /* escapes */
  CHECK (MEMBER_IS ("{\"s\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}", "s", "a\"b\\c/d\be\ff\ng\rh\ti"));
  CHECK (MEMBER_IS ("{\"s\":\"\\u0041\\u00e9\\u20AC\"}", "s", "A\xc3\xa9\xe2\x82\xac"));
  CHECK (MEMBER_IS ("{\"s\":\"\\ud83d\\ude00\"}", "s", "\xf0\x9f\x98\x80"));         /* a surrogate pair */
  CHECK (MEMBER_IS ("{\"s\":\"\\ud800x\"}", "s", "\xef\xbf\xbdx"));                  /* lone high surrogate */
  CHECK (MEMBER_IS ("{\"s\":\"\\udc00\\ud800\"}", "s", "\xef\xbf\xbd\xef\xbf\xbd")); /* reversed pair */
  CHECK (MEMBER_IS ("{\"s\":\"\\ud800\\u0041\"}", "s", "\xef\xbf\xbd\x41"));
  CHECK (MEMBER_IS ("{\"s\":\"a\\u0000b\"}", "s", "a\0b"));
  CHECK (MEMBER_IS ("{\"s\":\"caf\xc3\xa9 \xe2\x82\xac\"}", "s", "caf\xc3\xa9 \xe2\x82\xac")); /* raw UTF-8 */
  CHECK (MEMBER_IS ("{\"s\":\"\"}", "s", ""));
  CHECK (MEMBER_IS ("{\"s\":\"\\\\\"}", "s", "\\"));

  /* members: only the object's own, decoded keys, the last of a repeated key */
  CHECK (MEMBER_IS ("{\"a\":{\"Id\":\"inner\"},\"Id\":\"outer\"}", "Id", "outer"));
  CHECK (MEMBER_IS ("{\"a\":{\"Id\":\"inner\"}}", "Id", NULL));
  CHECK (MEMBER_IS ("{\"message\":\"\\\"Id\\\":\\\"fake\\\"\",\"Id\":\"real\"}", "Id", "real"));
  CHECK (MEMBER_IS ("{\"message\":\"\\\"Id\\\":\\\"fake\\\"\"}", "Id", NULL));
  CHECK (MEMBER_IS ("{\"l\":[1,[2,{\"Id\":\"x\"}],{}],\"n\":null,\"Id\":\"y\"}", "Id", "y"));
  CHECK (MEMBER_IS ("{\"Id\":\"first\",\"Id\":\"second\"}", "Id", "second"));
  CHECK (MEMBER_IS ("{\"I\\u0064\":\"escaped key\"}", "Id", "escaped key"));
  CHECK (MEMBER_IS ("{\"Idx\":\"a\",\"I\":\"b\"}", "Id", NULL));
  CHECK (MEMBER_IS ("{\"Id\":null}", "Id", NULL));
  CHECK (MEMBER_IS ("{\"Id\":42}", "Id", NULL));
  CHECK (MEMBER_IS ("[\"Id\",\"x\"]", "Id", NULL));
  CHECK (MEMBER_IS (" \t\r\n{ \"Id\" : \"spaced\" , \"x\" : [ ] } \n", "Id", "spaced"));

  /* tokens: document order, sizes, next */
  {
    const char *text = "[1,[2,3],{\"a\":4},\"s\",true,false,null]";

    CHECK (json_parse (&j, text, strlen (text)) == 0);
  }
  CHECK (j.n == 12);
  CHECK (j.tokens[0].type == JSON_ARRAY && j.tokens[0].size == 7 && j.tokens[0].next == 12);
  CHECK (j.tokens[2].type == JSON_ARRAY && j.tokens[2].size == 2 && j.tokens[2].next == 5);
  CHECK (j.tokens[5].type == JSON_OBJECT && j.tokens[5].size == 1 && j.tokens[5].next == 8);
  CHECK (j.tokens[6].type == JSON_STRING && j.tokens[6].end - j.tokens[6].start == 1);
  CHECK (j.tokens[8].type == JSON_STRING && j.tokens[9].type == JSON_TRUE && j.tokens[10].type == JSON_FALSE);
  CHECK (j.tokens[11].type == JSON_NULL && j.tokens[11].end - j.tokens[11].start == 4);
  CHECK (json_get (&j, 0, "a") == -1 && json_get (&j, 5, "a") == 7 && json_get (&j, 99, "a") == -1);
  CHECK (json_string (&j, 1, NULL) == NULL && errno == EINVAL);
  json_free (&j);

  /* numbers */
  CHECK (parses ("0") && parses ("-0") && parses ("123") && parses ("-123") && parses ("1.5") && parses ("1e10"));
  CHECK (parses ("1E+2") && parses ("-0.0e-0") && parses ("0.25") && parses ("[0,-1,2.5e3]"));
  CHECK (rejects ("01", 2) && rejects ("+1", 2) && rejects ("1.", 2) && rejects (".5", 2) && rejects ("1e", 2));
  CHECK (rejects ("-", 1) && rejects ("0x1", 3) && rejects ("1e+", 3) && rejects ("- 1", 3) && rejects ("1 2", 3));
  CHECK (integer_is ("0", true, 0) && integer_is ("-0", true, 0) && integer_is ("-42", true, -42));
  CHECK (integer_is ("9223372036854775807", true, LLONG_MAX));
  CHECK (integer_is ("-9223372036854775808", true, LLONG_MIN));
  CHECK (integer_is ("9223372036854775808", false, 0) && integer_is ("-9223372036854775809", false, 0));
  CHECK (integer_is ("1.0", false, 0) && integer_is ("1e2", false, 0) && integer_is ("\"1\"", false, 0));
  CHECK (integer_is ("null", false, 0));

  /* the text is taken by its length, not up to a NUL */
  CHECK (json_parse (&j, "12345", 3) == 0 && j.tokens[0].end == 3);
  {
    long long v = 0;

    CHECK (json_integer (&j, 0, &v) && v == 123);
  }
  json_free (&j);
  CHECK (rejects ("{}\0", 3) && rejects ("\"a\0b\"", 5));

  /* not JSON */
  CHECK (rejects ("", 0) && rejects (" ", 1) && rejects ("{", 1) && rejects ("}", 1) && rejects ("[", 1));
  CHECK (rejects ("{\"a\"}", 5) && rejects ("{\"a\":}", 6) && rejects ("{\"a\":1,}", 8) && rejects ("[1,]", 4));
  CHECK (rejects ("[1 2]", 5) && rejects ("{\"a\" 1}", 7) && rejects ("{a:1}", 5) && rejects ("{'a':1}", 7));
  CHECK (rejects ("{1:2}", 5) && rejects ("[,]", 3) && rejects ("{,}", 3) && rejects ("{\"a\":1 \"b\":2}", 13));
  CHECK (rejects ("\"abc", 4) && rejects ("\"a\x01\"", 4) && rejects ("\"a\nb\"", 5) && rejects ("\"\\x\"", 4));
  CHECK (rejects ("\"\\u12\"", 6) && rejects ("\"\\u12g4\"", 8) && rejects ("\"\\", 2) && rejects ("\"\\u", 3));
  CHECK (rejects ("tru", 3) && rejects ("nul", 3) && rejects ("truex", 5) && rejects ("True", 4));
  CHECK (rejects ("{} {}", 5) && rejects ("{}x", 3) && rejects ("[1]]", 4) && rejects ("/* */ 1", 7));
  CHECK (parses ("true") && parses ("false") && parses ("null") && parses ("\"\"") && parses ("{}") && parses ("[]"));

  /* nesting */
  CHECK (nested_parses (JSON_MAX_DEPTH));
  CHECK (!nested_parses (JSON_MAX_DEPTH + 1));

  if (failures > 0)
    {
      fprintf (stderr, "json-test: %d of %d checks failed\n", failures, checks);
      return 1;
    }
  printf ("json-test: %d checks passed\n", checks);
  return 0;
}
