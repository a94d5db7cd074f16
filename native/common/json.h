/*
 * A small JSON tokenizer (RFC 8259), enough to read the daemon's answers in corral-front.
 *
 * json_parse checks a whole text and cuts it into tokens, in document order: an object is one
 * token followed by its members, each a key (a string token) and its value; an array is one token
 * followed by its elements.  Nothing is copied or decoded until asked for (json_string,
 * json_integer).  Strings may hold any escape; bytes of 0x80 and above are taken as they are (the
 * text is not checked to be UTF-8); nesting is limited to JSON_MAX_DEPTH.
 */
#ifndef CORRAL_COMMON_JSON_H
#define CORRAL_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64

enum json_type
{
  JSON_OBJECT = 1,
  JSON_ARRAY,
  JSON_STRING,
  JSON_NUMBER,
  JSON_TRUE,
  JSON_FALSE,
  JSON_NULL,
};

struct json_token
{
  enum json_type type;
  size_t start; /* offset of the value's first byte; a string's is past its opening quote */
  size_t end;   /* offset past its last byte; a string's is its closing quote */
  size_t size;  /* an object's members, an array's elements; 0 for the others */
  size_t next;  /* index of the first token after this value and everything in it */
};

struct json
{
  const char *text;
  size_t len;
  struct json_token *tokens;
  size_t n; /* tokens[0] is the whole text's value */
};

/* Tokenize text (len bytes): exactly one JSON value, with only white space around it.  0, or -1
   with errno EINVAL (not JSON, or nested deeper than JSON_MAX_DEPTH) or ENOMEM; *j needs json_free
   either way. */
int json_parse (struct json *j, const char *text, size_t len);

void json_free (struct json *j);

/* The index of the value of member `key` of the object token `obj` (the last one if the key
   repeats, as JavaScript's JSON.parse takes it), or -1 when `obj` is not an object or has no such
   member.  Keys are compared decoded. */
long json_get (const struct json *j, size_t obj, const char *key);

/* The string token `t` decoded: escapes undone, \u escapes as UTF-8 (a surrogate pair as one
   character, a lone surrogate as U+FFFD).  A new NUL-terminated buffer (to be freed) with its
   length in *len (if not NULL; a \u0000 in the string makes it longer than strlen), or NULL with
   errno EINVAL (not a string) or ENOMEM. */
char *json_string (const struct json *j, size_t t, size_t *len);

/* The number token `t` if it is an integer (no fraction, no exponent) in the range of long long:
   true and *out; else false. */
bool json_integer (const struct json *j, size_t t, long long *out);

#endif
