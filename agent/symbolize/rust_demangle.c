/* SPDX-License-Identifier: BSD-2-Clause */
/* Rust demangling, bounded: the legacy scheme (Itanium-style path, $-escapes, a trailing hash
 * element dropped) and the v0 scheme (RFC 2603 grammar: paths, generic arguments, types,
 * constants, back-references), printed the way rustc's users read names, without hashes or
 * disambiguators. Back-references only point backwards, but can nest: depth, steps and the
 * output size are capped so a crafted name costs little. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "symbolize/rust_demangle.h"

#define MAX_DEPTH 64
#define MAX_STEPS 20000

struct out {
	char *buf;
	size_t len, n;
	int err;
};

static void emit(struct out *o, const char *s, size_t n)
{
	if (o->err || !n)
		return;
	if (n >= o->len - o->n) {
		o->err = -E2BIG;
		return;
	}
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	o->buf[o->n] = '\0';
}

static void emits(struct out *o, const char *s)
{
	emit(o, s, strlen(s));
}

/* --- legacy: _ZN {len bytes} E, the last element h + 16 hex digits --- */

static bool is_hash(const char *s, size_t n)
{
	if (n != 17 || s[0] != 'h')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const struct {
	const char *esc, *s;
} legacy_escapes[] = {
	{ "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" },
	{ "GT", ">" }, { "LP", "(" }, { "RP", ")" }, { "C", "," },
};

/* One element with its escapes undone. */
static int legacy_element(struct out *o, const char *s, size_t n)
{
	size_t i = 0;

	if (n >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < n && !o->err) {
		if (s[i] == '$') {
			const char *end = memchr(s + i + 1, '$', n - i - 1);
			size_t el;
			bool done = false;

			if (!end)
				return -EINVAL;
			el = (size_t)(end - (s + i + 1));
			for (size_t k = 0; k < sizeof(legacy_escapes) / sizeof(legacy_escapes[0]);
			     k++)
				if (strlen(legacy_escapes[k].esc) == el &&
				    !memcmp(s + i + 1, legacy_escapes[k].esc, el)) {
					emits(o, legacy_escapes[k].s);
					done = true;
				}
			if (!done && el >= 2 && el <= 3 && s[i + 1] == 'u') {
				unsigned v = 0;

				for (size_t k = i + 2; k < i + 1 + el; k++) {
					if (!isxdigit((unsigned char)s[k]))
						return -EINVAL;
					v = v * 16 +
					    (unsigned)(isdigit((unsigned char)s[k])
							   ? s[k] - '0'
							   : (tolower((unsigned char)s[k]) - 'a' +
							      10));
				}
				if (v < 0x20 || v > 0x7e)
					return -EINVAL;
				char c = (char)v;

				emit(o, &c, 1);
				done = true;
			}
			if (!done)
				return -EINVAL;
			i += el + 2;
		} else if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') {
			emits(o, "::");
			i += 2;
		} else {
			emit(o, s + i, 1);
			i++;
		}
	}
	return o->err;
}

static int demangle_legacy(const char *name, struct out *o)
{
	const char *p = name + 3, *elems[256];
	size_t lens[256], n = 0;
	int err;

	while (*p && *p != 'E') {
		size_t l = 0;

		if (!isdigit((unsigned char)*p) || n == 256)
			return -EINVAL;
		while (isdigit((unsigned char)*p) && l < 100000)
			l = l * 10 + (size_t)(*p++ - '0');
		if (!l || strnlen(p, l) < l)
			return -EINVAL;
		elems[n] = p;
		lens[n++] = l;
		p += l;
	}
	/* a trailing ".llvm.<hash>", ".0" is the compiler's, not part of the path */
	if (*p != 'E' || (p[1] && p[1] != '.') || n < 2 || !is_hash(elems[n - 1], lens[n - 1]))
		return -EINVAL;
	for (size_t i = 0; i + 1 < n; i++) {
		if (i)
			emits(o, "::");
		err = legacy_element(o, elems[i], lens[i]);
		if (err)
			return err;
	}
	return o->err;
}

/* --- v0 --- */

struct v0 {
	const char *s; /* after "_R": back-references are offsets into it */
	size_t len, pos;
	struct out *o;
	int depth, err;
	unsigned steps;
	uint64_t bound; /* lifetimes bound by enclosing binders */
	bool quiet;	/* parsing only: impl paths are not printed */
};

static void fail(struct v0 *p, int err)
{
	if (!p->err)
		p->err = err;
}

static void put(struct v0 *p, const char *s)
{
	if (!p->quiet)
		emits(p->o, s);
	if (p->o->err)
		fail(p, p->o->err);
}

static void putn(struct v0 *p, const char *s, size_t n)
{
	if (!p->quiet)
		emit(p->o, s, n);
	if (p->o->err)
		fail(p, p->o->err);
}

static char peek(const struct v0 *p)
{
	return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool eat(struct v0 *p, char c)
{
	if (peek(p) != c || !c)
		return false;
	p->pos++;
	return true;
}

static char next(struct v0 *p)
{
	if (p->pos >= p->len) {
		fail(p, -EINVAL);
		return '\0';
	}
	return p->s[p->pos++];
}

/* Entering a grammar rule: false (and the parse fails) past the bounds. */
static bool enter(struct v0 *p)
{
	if (p->err)
		return false;
	if (++p->depth > MAX_DEPTH || ++p->steps > MAX_STEPS) {
		fail(p, -E2BIG);
		return false;
	}
	return true;
}

static void leave(struct v0 *p)
{
	p->depth--;
}

/* {0-9a-zA-Z} "_": "_" is 0, else the digits' value + 1 */
static uint64_t base62(struct v0 *p)
{
	uint64_t x = 0;

	if (eat(p, '_'))
		return 0;
	for (;;) {
		char c = next(p);
		unsigned d;

		if (c == '_')
			break;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = 10u + (unsigned)(c - 'a');
		else if (c >= 'A' && c <= 'Z')
			d = 36u + (unsigned)(c - 'A');
		else {
			fail(p, -EINVAL);
			return 0;
		}
		if (x > (UINT64_MAX - d) / 62) {
			fail(p, -EINVAL);
			return 0;
		}
		x = x * 62 + d;
	}
	if (x == UINT64_MAX) {
		fail(p, -EINVAL);
		return 0;
	}
	return x + 1;
}

static uint64_t opt_base62(struct v0 *p, char tag)
{
	return eat(p, tag) ? base62(p) + 1 : 0;
}

static uint64_t decimal(struct v0 *p)
{
	uint64_t x = 0;
	char c = peek(p);

	if (!isdigit((unsigned char)c)) {
		fail(p, -EINVAL);
		return 0;
	}
	if (c == '0') {
		p->pos++;
		return 0;
	}
	while (isdigit((unsigned char)peek(p))) {
		if (x > 100000000) {
			fail(p, -EINVAL);
			return 0;
		}
		x = x * 10 + (uint64_t)(next(p) - '0');
	}
	return x;
}

struct ident {
	const char *s;
	size_t n;
	bool punycode;
};

static struct ident undisambiguated(struct v0 *p)
{
	struct ident id = { 0 };
	uint64_t n;

	id.punycode = eat(p, 'u');
	n = decimal(p);
	eat(p, '_');
	if (p->err || n > p->len - p->pos) {
		fail(p, -EINVAL);
		return id;
	}
	id.s = p->s + p->pos;
	id.n = (size_t)n;
	p->pos += (size_t)n;
	return id;
}

static void put_ident(struct v0 *p, struct ident id)
{
	if (id.punycode) {
		put(p, "punycode{");
		putn(p, id.s, id.n);
		put(p, "}");
		return;
	}
	putn(p, id.s, id.n);
}

static void path(struct v0 *p, bool in_value);
static void type(struct v0 *p);

/* Runs fn at the back-reference's target, then returns here. */
static void backref(struct v0 *p, void (*fn)(struct v0 *, bool), bool arg)
{
	size_t at = p->pos - 1, saved;
	uint64_t to = base62(p);

	if (p->err || to >= at) {
		fail(p, -EINVAL);
		return;
	}
	saved = p->pos;
	p->pos = (size_t)to;
	fn(p, arg);
	p->pos = saved;
}

static void type_fn(struct v0 *p, bool unused)
{
	type(p);
}

static void lifetime(struct v0 *p, uint64_t i)
{
	char buf[32];

	if (!i) {
		put(p, "'_");
		return;
	}
	if (i > p->bound) {
		fail(p, -EINVAL);
		return;
	}
	i = p->bound - i;
	if (i < 26)
		snprintf(buf, sizeof(buf), "'%c", (char)('a' + i));
	else
		snprintf(buf, sizeof(buf), "'_%llu", (unsigned long long)i);
	put(p, buf);
}

/* "G" binder: opens count lifetimes, printed as for<'a, ...>; returns how many. */
static uint64_t binder(struct v0 *p)
{
	uint64_t n = opt_base62(p, 'G');

	if (!n || p->err)
		return 0;
	if (n > 64 || p->bound + n > 1024) {
		fail(p, -E2BIG);
		return 0;
	}
	put(p, "for<");
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			put(p, ", ");
		p->bound++;
		lifetime(p, 1);
	}
	put(p, "> ");
	return n;
}

static void constant(struct v0 *p);

static void const_fn(struct v0 *p, bool unused)
{
	constant(p);
}

static void constant(struct v0 *p)
{
	char t, buf[48];
	uint64_t v = 0;
	bool neg = false;
	size_t digits = 0;

	if (!enter(p))
		return;
	if (eat(p, 'p')) {
		put(p, "_");
		goto out;
	}
	if (eat(p, 'B')) {
		backref(p, const_fn, false);
		goto out;
	}
	t = next(p);
	if (!strchr("abchjmostxyil", t) || !t) {
		fail(p, -EINVAL); /* str, reference, array, tuple and ADT constants: not here */
		goto out;
	}
	neg = eat(p, 'n');
	while (!eat(p, '_')) {
		char c = next(p);

		if (!isxdigit((unsigned char)c) || isupper((unsigned char)c)) {
			fail(p, -EINVAL);
			goto out;
		}
		if (++digits > 16) {
			fail(p, -E2BIG);
			goto out;
		}
		v = v * 16 + (uint64_t)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
	}
	if (t == 'b') {
		if (v > 1 || neg)
			fail(p, -EINVAL);
		put(p, v ? "true" : "false");
	} else if (t == 'c') {
		if (v < 0x20 || v > 0x7e || v == '\'' || v == '\\')
			snprintf(buf, sizeof(buf), "'\\u{%llx}'", (unsigned long long)v);
		else
			snprintf(buf, sizeof(buf), "'%c'", (char)v);
		put(p, buf);
	} else {
		snprintf(buf, sizeof(buf), "%s%llu", neg ? "-" : "", (unsigned long long)v);
		put(p, buf);
	}
out:
	leave(p);
}

static void generic_arg(struct v0 *p)
{
	if (eat(p, 'L'))
		lifetime(p, base62(p));
	else if (eat(p, 'K'))
		constant(p);
	else
		type(p);
}

static const char *basic_type(char c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 'p':
		return "_";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	default:
		return NULL;
	}
}

/* A trait path in dyn position: its generic arguments are left open for the associated type
 * bindings that follow. Returns whether a "<" is open. */
static bool dyn_trait_path(struct v0 *p)
{
	bool open = false;

	if (!enter(p))
		return false;
	if (eat(p, 'I')) {
		path(p, false);
		put(p, "<");
		for (int i = 0; !p->err && !eat(p, 'E'); i++) {
			if (i)
				put(p, ", ");
			generic_arg(p);
		}
		open = true;
	} else if (eat(p, 'B')) {
		size_t at = p->pos - 1, saved;
		uint64_t to = base62(p);

		if (p->err || to >= at) {
			fail(p, -EINVAL);
		} else {
			saved = p->pos;
			p->pos = (size_t)to;
			open = dyn_trait_path(p);
			p->pos = saved;
		}
	} else {
		path(p, false);
	}
	leave(p);
	return open;
}

static void dyn_bounds(struct v0 *p)
{
	uint64_t bound;

	put(p, "dyn ");
	bound = binder(p);
	for (int i = 0; !p->err && !eat(p, 'E'); i++) {
		bool open;

		if (i)
			put(p, " + ");
		open = dyn_trait_path(p);
		while (!p->err && eat(p, 'p')) {
			put(p, open ? ", " : "<");
			open = true;
			put_ident(p, undisambiguated(p));
			put(p, " = ");
			type(p);
		}
		if (open)
			put(p, ">");
	}
	p->bound -= bound;
}

static void fn_sig(struct v0 *p)
{
	uint64_t bound = binder(p);

	if (eat(p, 'U'))
		put(p, "unsafe ");
	if (eat(p, 'K')) {
		put(p, "extern \"");
		if (eat(p, 'C')) {
			put(p, "C");
		} else {
			struct ident id = undisambiguated(p);

			for (size_t i = 0; i < id.n && !p->err; i++)
				putn(p, id.s[i] == '_' ? "-" : id.s + i, 1);
		}
		put(p, "\" ");
	}
	put(p, "fn(");
	for (int i = 0; !p->err && !eat(p, 'E'); i++) {
		if (i)
			put(p, ", ");
		type(p);
	}
	put(p, ")");
	if (eat(p, 'u')) {
		/* returns () */
	} else {
		put(p, " -> ");
		type(p);
	}
	p->bound -= bound;
}

static void type(struct v0 *p)
{
	const char *basic;
	char c;

	if (!enter(p))
		return;
	c = next(p);
	basic = basic_type(c);
	if (basic) {
		put(p, basic);
		goto out;
	}
	switch (c) {
	case 'R':
	case 'Q':
		put(p, "&");
		if (eat(p, 'L')) {
			uint64_t i = base62(p);

			if (i) {
				lifetime(p, i);
				put(p, " ");
			}
		}
		if (c == 'Q')
			put(p, "mut ");
		type(p);
		break;
	case 'P':
		put(p, "*const ");
		type(p);
		break;
	case 'O':
		put(p, "*mut ");
		type(p);
		break;
	case 'A':
	case 'S':
		put(p, "[");
		type(p);
		if (c == 'A') {
			put(p, "; ");
			constant(p);
		}
		put(p, "]");
		break;
	case 'T': {
		int i = 0;

		put(p, "(");
		for (; !p->err && !eat(p, 'E'); i++) {
			if (i)
				put(p, ", ");
			type(p);
		}
		put(p, i == 1 ? ",)" : ")");
		break;
	}
	case 'F':
		fn_sig(p);
		break;
	case 'D':
		dyn_bounds(p);
		if (!p->err && eat(p, 'L')) {
			uint64_t i = base62(p);

			if (i) {
				put(p, " + ");
				lifetime(p, i);
			}
		}
		break;
	case 'B':
		backref(p, type_fn, false);
		break;
	default:
		p->pos--;
		path(p, false);
		break;
	}
out:
	leave(p);
}

/* An impl's own path is not printed: "<T>" and "<T as Trait>" say what it is. */
static void impl_path(struct v0 *p)
{
	bool quiet = p->quiet;

	opt_base62(p, 's');
	p->quiet = true;
	path(p, false);
	p->quiet = quiet;
}

static void path(struct v0 *p, bool in_value)
{
	char c, ns;
	uint64_t dis;
	struct ident id;
	char buf[48];

	if (!enter(p))
		return;
	c = next(p);
	switch (c) {
	case 'C':
		opt_base62(p, 's');
		put_ident(p, undisambiguated(p));
		break;
	case 'N':
		ns = next(p);
		if (!isalpha((unsigned char)ns)) {
			fail(p, -EINVAL);
			break;
		}
		path(p, in_value);
		dis = opt_base62(p, 's');
		id = undisambiguated(p);
		if (p->err)
			break;
		if (islower((unsigned char)ns)) {
			if (id.n) {
				put(p, "::");
				put_ident(p, id);
			}
			break;
		}
		put(p, "::{");
		put(p, ns == 'C' ? "closure" : ns == 'S' ? "shim" : (char[]){ ns, 0 });
		if (id.n) {
			put(p, ":");
			put_ident(p, id);
		}
		snprintf(buf, sizeof(buf), "#%llu}", (unsigned long long)dis);
		put(p, buf);
		break;
	case 'M':
	case 'X':
		impl_path(p);
		put(p, "<");
		type(p);
		if (c == 'X') {
			put(p, " as ");
			path(p, false);
		}
		put(p, ">");
		break;
	case 'Y':
		put(p, "<");
		type(p);
		put(p, " as ");
		path(p, false);
		put(p, ">");
		break;
	case 'I':
		path(p, in_value);
		put(p, in_value ? "::<" : "<");
		for (int i = 0; !p->err && !eat(p, 'E'); i++) {
			if (i)
				put(p, ", ");
			generic_arg(p);
		}
		put(p, ">");
		break;
	case 'B':
		backref(p, path, in_value);
		break;
	default:
		fail(p, -EINVAL);
		break;
	}
	leave(p);
}

static int demangle_v0(const char *name, struct out *o)
{
	struct v0 p = { .o = o };
	const char *s = name + 2;
	size_t n = strlen(s);

	/* a vendor suffix (".llvm.<hash>", "$...") is not part of the name */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == '$') {
			n = i;
			break;
		}
	p.s = s;
	p.len = n;
	if (isdigit((unsigned char)peek(&p)))
		return -EINVAL; /* an encoding version this does not know */
	path(&p, true);
	/* the instantiating crate, not printed */
	if (!p.err && p.pos < p.len) {
		p.quiet = true;
		path(&p, false);
	}
	if (!p.err && p.pos != p.len)
		fail(&p, -EINVAL);
	return p.err;
}

int rust_demangle(const char *name, char *out, size_t len)
{
	struct out o = { out, len, 0, 0 };
	int err;

	if (!len)
		return -E2BIG;
	out[0] = '\0';
	if (!strncmp(name, "_R", 2))
		err = demangle_v0(name, &o);
	else if (!strncmp(name, "_ZN", 3))
		err = demangle_legacy(name, &o);
	else
		err = -EINVAL;
	if (!err)
		err = o.err;
	if (err)
		out[0] = '\0';
	return err;
}
