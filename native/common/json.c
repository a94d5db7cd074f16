#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct parser
{
  struct json *j;
  size_t pos;
  size_t cap; /* tokens allocated */
};

static int
invalid (void)
{
  errno = EINVAL;
  return -1;
}

/* The byte at the parser's position, or 0 at the end of the text (a NUL in the text is not JSON
   anywhere either). */
static unsigned char
peek (const struct parser *p)
{
  return p->pos < p->j->len ? (unsigned char) p->j->text[p->pos] : 0;
}

static void
skip_space (struct parser *p)
{
  for (unsigned char c = peek (p); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek (p))
    p->pos++;
}

static bool
is_digit (unsigned char c)
{
  return c >= '0' && c <= '9';
}

static int
hex_value (unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Append a token for a value that starts at `start`; its end, size and next are set by the caller
   once the value is read.  The token's index, or -1 (ENOMEM). */
static long
add_token (struct parser *p, enum json_type type, size_t start)
{
  struct json *j = p->j;

  if (j->n == p->cap)
    {
      size_t cap = p->cap ? p->cap * 2 : 16;
      struct json_token *bigger = realloc (j->tokens, cap * sizeof *bigger);

      if (bigger == NULL)
        {
          errno = ENOMEM;
          return -1;
        }
      j->tokens = bigger;
      p->cap = cap;
    }
  j->tokens[j->n] = (struct json_token) { .type = type, .start = start, .end = start, .size = 0, .next = j->n + 1 };
  return (long) j->n++;
}

static int parse_value (struct parser *p, unsigned depth);

/* At the opening quote. */
static int
parse_string (struct parser *p)
{
  size_t start = ++p->pos;
  long t;

  for (;;)
    {
      unsigned char c = peek (p);

      if (p->pos >= p->j->len || c < 0x20)
        return invalid (); /* unterminated, or a raw control character */
      if (c == '"')
        break;
      if (c != '\\')
        {
          p->pos++;
          continue;
        }
      p->pos++;
      c = peek (p);
      if (c == 'u')
        {
          for (int i = 1; i <= 4; i++)
            if (p->pos + i >= p->j->len || hex_value ((unsigned char) p->j->text[p->pos + i]) < 0)
              return invalid ();
          p->pos += 5;
        }
      else if (c != 0 && strchr ("\"\\/bfnrt", c) != NULL)
        p->pos++;
      else
        return invalid ();
    }
  t = add_token (p, JSON_STRING, start);
  if (t < 0)
    return -1;
  p->j->tokens[t].end = p->pos++;
  return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
parse_number (struct parser *p)
{
  size_t start = p->pos;
  long t;

  if (peek (p) == '-')
    p->pos++;
  if (peek (p) == '0')
    p->pos++;
  else if (is_digit (peek (p)))
    while (is_digit (peek (p)))
      p->pos++;
  else
    return invalid ();
  if (peek (p) == '.')
    {
      p->pos++;
      if (!is_digit (peek (p)))
        return invalid ();
      while (is_digit (peek (p)))
        p->pos++;
    }
  if (peek (p) == 'e' || peek (p) == 'E')
    {
      p->pos++;
      if (peek (p) == '+' || peek (p) == '-')
        p->pos++;
      if (!is_digit (peek (p)))
        return invalid ();
      while (is_digit (peek (p)))
        p->pos++;
    }
  t = add_token (p, JSON_NUMBER, start);
  if (t < 0)
    return -1;
  p->j->tokens[t].end = p->pos;
  return 0;
}

static int
parse_literal (struct parser *p, const char *word, enum json_type type)
{
  size_t len = strlen (word);
  long t;

  if (p->j->len - p->pos < len || memcmp (p->j->text + p->pos, word, len) != 0)
    return invalid ();
  t = add_token (p, type, p->pos);
  if (t < 0)
    return -1;
  p->pos += len;
  p->j->tokens[t].end = p->pos;
  return 0;
}

/* An object or an array, at its opening bracket: members are a string, a colon and a value. */
static int
parse_container (struct parser *p, enum json_type type, unsigned depth)
{
  char close = type == JSON_OBJECT ? '}' : ']';
  long t;

  if (depth >= JSON_MAX_DEPTH)
    return invalid ();
  t = add_token (p, type, p->pos++);
  if (t < 0)
    return -1;
  skip_space (p);
  if (peek (p) == close)
    p->pos++;
  else
    for (;;)
      {
        if (type == JSON_OBJECT)
          {
            skip_space (p);
            if (peek (p) != '"')
              return invalid ();
            if (parse_string (p) < 0)
              return -1;
            skip_space (p);
            if (peek (p) != ':')
              return invalid ();
            p->pos++;
          }
        if (parse_value (p, depth + 1) < 0)
          return -1;
        p->j->tokens[t].size++;
        skip_space (p);
        if (peek (p) == ',')
          {
            p->pos++;
            continue;
          }
        if (peek (p) != close)
          return invalid ();
        p->pos++;
        break;
      }
  p->j->tokens[t].end = p->pos;
  p->j->tokens[t].next = p->j->n;
  return 0;
}

/* `depth`: the containers around the value. */
static int
parse_value (struct parser *p, unsigned depth)
{
  skip_space (p);
  switch (peek (p))
    {
    case '{':
      return parse_container (p, JSON_OBJECT, depth);
    case '[':
      return parse_container (p, JSON_ARRAY, depth);
    case '"':
      return parse_string (p);
    case 't':
      return parse_literal (p, "true", JSON_TRUE);
    case 'f':
      return parse_literal (p, "false", JSON_FALSE);
    case 'n':
      return parse_literal (p, "null", JSON_NULL);
    default:
      return parse_number (p);
    }
}

int
json_parse (struct json *j, const char *text, size_t len)
{
  struct parser p = { .j = j, .pos = 0, .cap = 0 };

  j->text = text;
  j->len = len;
  j->tokens = NULL;
  j->n = 0;
  if (parse_value (&p, 0) < 0)
    return -1;
  skip_space (&p);
  if (p.pos != len)
    return invalid ();
  return 0;
}

void
json_free (struct json *j)
{
  free (j->tokens);
  j->tokens = NULL;
  j->n = 0;
}

static unsigned
hex4 (const char *p)
{
  unsigned v = 0;

  for (int i = 0; i < 4; i++)
    v = v << 4 | (unsigned) hex_value ((unsigned char) p[i]);
  return v;
}

static size_t
utf8_encode (unsigned cp, char out[4])
{
  if (cp < 0x80)
    {
      out[0] = (char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      out[0] = (char) (0xc0 | cp >> 6);
      out[1] = (char) (0x80 | (cp & 0x3f));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (char) (0xe0 | cp >> 12);
      out[1] = (char) (0x80 | (cp >> 6 & 0x3f));
      out[2] = (char) (0x80 | (cp & 0x3f));
      return 3;
    }
  out[0] = (char) (0xf0 | cp >> 18);
  out[1] = (char) (0x80 | (cp >> 12 & 0x3f));
  out[2] = (char) (0x80 | (cp >> 6 & 0x3f));
  out[3] = (char) (0x80 | (cp & 0x3f));
  return 4;
}

/* Decode one unit of a string that json_parse checked (a byte, or an escape: \uXXXX\uXXXX for a
   surrogate pair) at *pp, before end, into out; advances *pp.  Never more bytes out than in. */
static size_t
decode_unit (const char **pp, const char *end, char out[4])
{
  const char *p = *pp;
  unsigned cp;

  if (p[0] != '\\')
    {
      out[0] = p[0];
      *pp = p + 1;
      return 1;
    }
  *pp = p + 2;
  switch (p[1])
    {
    case 'b':
      out[0] = '\b';
      return 1;
    case 'f':
      out[0] = '\f';
      return 1;
    case 'n':
      out[0] = '\n';
      return 1;
    case 'r':
      out[0] = '\r';
      return 1;
    case 't':
      out[0] = '\t';
      return 1;
    case 'u':
      break;
    default: /* " \ / */
      out[0] = p[1];
      return 1;
    }
  cp = hex4 (p + 2);
  p += 6;
  if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u')
    {
      unsigned low = hex4 (p + 2);

      if (low >= 0xdc00 && low <= 0xdfff)
        {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          p += 6;
        }
    }
  if (cp >= 0xd800 && cp <= 0xdfff)
    cp = 0xfffd; /* a lone surrogate */
  *pp = p;
  return utf8_encode (cp, out);
}

static bool
string_equals (const struct json *j, const struct json_token *t, const char *s)
{
  const char *p = j->text + t->start, *end = j->text + t->end;
  size_t len = strlen (s), off = 0;

  while (p < end)
    {
      char unit[4];
      size_t n = decode_unit (&p, end, unit);

      if (off + n > len || memcmp (s + off, unit, n) != 0)
        return false;
      off += n;
    }
  return off == len;
}

long
json_get (const struct json *j, size_t obj, const char *key)
{
  long found = -1;
  size_t key_token;

  if (obj >= j->n || j->tokens[obj].type != JSON_OBJECT)
    return -1;
  key_token = obj + 1;
  for (size_t m = 0; m < j->tokens[obj].size; m++)
    {
      size_t value = key_token + 1;

      if (string_equals (j, &j->tokens[key_token], key))
        found = (long) value;
      key_token = j->tokens[value].next;
    }
  return found;
}

char *
json_string (const struct json *j, size_t t, size_t *len)
{
  const struct json_token *tok;
  const char *p, *end;
  char *out;
  size_t off = 0;

  if (t >= j->n || j->tokens[t].type != JSON_STRING)
    {
      errno = EINVAL;
      return NULL;
    }
  tok = &j->tokens[t];
  p = j->text + tok->start;
  end = j->text + tok->end;
  out = malloc (tok->end - tok->start + 1);
  if (out == NULL)
    return NULL;
  while (p < end)
    off += decode_unit (&p, end, out + off);
  out[off] = '\0';
  if (len != NULL)
    *len = off;
  return out;
}

bool
json_integer (const struct json *j, size_t t, long long *out)
{
  const char *p, *end;
  unsigned long long v = 0, limit;
  bool negative;

  if (t >= j->n || j->tokens[t].type != JSON_NUMBER)
    return false;
  p = j->text + j->tokens[t].start;
  end = j->text + j->tokens[t].end;
  negative = *p == '-';
  if (negative)
    p++;
  limit = negative ? (unsigned long long) LLONG_MAX + 1 : (unsigned long long) LLONG_MAX;
  for (; p < end; p++)
    {
      unsigned d;

      if (!is_digit ((unsigned char) *p))
        return false; /* a fraction or an exponent */
      d = (unsigned) (*p - '0');
      if (v > (limit - d) / 10)
        return false;
      v = v * 10 + d;
    }
  *out = negative && v > 0 ? -(long long) (v - 1) - 1 : (long long) v;
  return true;
}
