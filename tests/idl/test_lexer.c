/* test_lexer.c - the tokens of the .rpc language: kinds, values,
 * locations, doc comments attached to the next token, lexical errors. */
#include "helpers.h"
#include "internal.h"
#include "parser.h"

#define MAX_TOKS 64

typedef struct lexed {
	int n;
	int kind[MAX_TOKS];
	int line[MAX_TOKS], col[MAX_TOKS];
	char *str[MAX_TOKS]; /* IDENT, STRLIT, FLOATLIT text */
	uint64_t num[MAX_TOKS];
	char *doc[MAX_TOKS]; /* the doc block attached, if any */
	char *diags;         /* lexical errors, "" if none */
	int lex_errors;
} lexed;

/* lex runs the lexer alone over text, end of file included. */
static void lex(const char *text, lexed *out)
{
	capture cap = {0};
	idl_options o = {.diag = capture_fn, .diag_ctx = &cap};
	idl_loader ld = {.opts = &o};
	ast_file file = {.path = "t.rpc"};
	idl_parse p = {0};
	void *sc = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	p.ld = &ld;
	p.file = &file;
	p.src = text;
	p.len = strlen(text);
	p.line = 1;
	p.col = 1;
	p.pending_doc = -1;
	ck_assert_int_eq(idl_lex_open(&p, &sc), 0);
	for (;;) {
		IDLP_STYPE v = {0};
		IDLP_LTYPE l = {0};
		int k = idl_yylex(&v, &l, sc);

		ck_assert_int_lt(out->n, MAX_TOKS);
		out->kind[out->n] = k;
		out->line[out->n] = l.first_line;
		out->col[out->n] = l.first_column;
		if (k == IDENT || k == STRLIT || k == FLOATLIT)
			out->str[out->n] = v.str;
		if (k == NUMBER)
			out->num[out->n] = v.num;
		if (l.doc >= 0) {
			out->doc[out->n] = p.docs[l.doc];
			p.docs[l.doc] = NULL;
		}
		out->n++;
		if (k == 0)
			break;
	}
	idl_lex_close(&p, sc);
	for (i = 0; i < p.n_docs; i++)
		free(p.docs[i]);
	free(p.docs);
	diag_flush(&ld);
	out->diags = cap.text ? cap.text : strdup("");
	out->lex_errors = p.lex_errors;
}

static void lexed_fini(lexed *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		free(l->str[i]);
		free(l->doc[i]);
	}
	free(l->diags);
}

START_TEST(test_lexer_keywords)
{
	static const char *const words[] = {
	    "package", "import", "struct", "enum",   "service", "optional",
	    "list",    "map",    "bool",   "int32",  "int64",   "uint32",
	    "uint64",  "float",  "double", "string", "bytes"};
	static const int kinds[] = {PACKAGE,  IMPORT, STRUCT, ENUM,  SERVICE,
	                            OPTIONAL, LIST,   MAP,    BOOL,  INT32,
	                            INT64,    UINT32, UINT64, FLOAT, DOUBLE,
	                            STRING,   BYTES};
	char text[256] = "";
	lexed l;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		strcat(text, words[i]);
		strcat(text, " ");
	}
	lex(text, &l);
	ck_assert_int_eq(l.n, (int)(sizeof(words) / sizeof(words[0])) + 1);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ck_assert_int_eq(l.kind[i], kinds[i]);
	ck_assert_int_eq(l.kind[l.n - 1], 0);
	ck_assert_str_eq(l.diags, "");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_identifiers_not_keywords)
{
	lexed l;

	lex("Int32 int32x _x packages x9", &l);
	ck_assert_int_eq(l.n, 6);
	ck_assert_int_eq(l.kind[0], IDENT);
	ck_assert_str_eq(l.str[0], "Int32");
	ck_assert_str_eq(l.str[1], "int32x");
	ck_assert_str_eq(l.str[2], "_x");
	ck_assert_str_eq(l.str[3], "packages");
	ck_assert_str_eq(l.str[4], "x9");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_punctuation)
{
	static const char text[] = "{}();,<>=*.-";
	lexed l;
	int i;

	lex(text, &l);
	ck_assert_int_eq(l.n, (int)strlen(text) + 1);
	for (i = 0; text[i]; i++) {
		ck_assert_int_eq(l.kind[i], text[i]);
		ck_assert_int_eq(l.col[i], i + 1);
	}
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_numbers)
{
	lexed l;

	lex("0 42 536870911 0x1F 18446744073709551615 99999999999999999999",
	    &l);
	ck_assert_int_eq(l.n, 7);
	ck_assert_int_eq(l.kind[0], NUMBER);
	ck_assert_uint_eq(l.num[0], 0);
	ck_assert_uint_eq(l.num[1], 42);
	ck_assert_uint_eq(l.num[2], 536870911);
	ck_assert_uint_eq(l.num[3], 31);
	ck_assert_uint_eq(l.num[4], UINT64_MAX);
	ck_assert_uint_eq(l.num[5], UINT64_MAX); /* saturates */
	ck_assert_str_eq(l.diags, "");
	lexed_fini(&l);
}
END_TEST

/* float literals: digits '.' digits and/or an exponent, as written; a
 * sign is the parser's; "1." and ".5" are not floats */
START_TEST(test_lexer_floats)
{
	lexed l;

	lex("1.5 2e3 6.02e+23 7E-1 -0.5 1.x", &l);
	ck_assert_int_eq(l.n, 10);
	ck_assert_int_eq(l.kind[0], FLOATLIT);
	ck_assert_str_eq(l.str[0], "1.5");
	ck_assert_int_eq(l.kind[1], FLOATLIT);
	ck_assert_str_eq(l.str[1], "2e3");
	ck_assert_str_eq(l.str[2], "6.02e+23");
	ck_assert_str_eq(l.str[3], "7E-1");
	ck_assert_int_eq(l.kind[4], '-');
	ck_assert_int_eq(l.kind[5], FLOATLIT);
	ck_assert_str_eq(l.str[5], "0.5");
	ck_assert_int_eq(l.kind[6], NUMBER);
	ck_assert_int_eq(l.kind[7], '.');
	ck_assert_int_eq(l.kind[8], IDENT);
	ck_assert_str_eq(l.diags, "");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_strings)
{
	lexed l;

	lex("import \"a/b.rpc\" \"q\\\"x\\\\y\"", &l);
	ck_assert_int_eq(l.n, 4);
	ck_assert_int_eq(l.kind[1], STRLIT);
	ck_assert_str_eq(l.str[1], "a/b.rpc");
	ck_assert_int_eq(l.col[1], 8);
	ck_assert_str_eq(l.str[2], "q\"x\\y");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_locations)
{
	lexed l;

	/* columns count bytes from 1; a tab is one byte */
	lex("struct A {\n\tint64  B;\n}\n", &l);
	ck_assert_int_eq(l.n, 8);
	ck_assert_int_eq(l.line[0], 1);
	ck_assert_int_eq(l.col[0], 1);
	ck_assert_int_eq(l.col[1], 8);  /* A */
	ck_assert_int_eq(l.col[2], 10); /* { */
	ck_assert_int_eq(l.line[3], 2); /* int64 */
	ck_assert_int_eq(l.col[3], 2);
	ck_assert_int_eq(l.col[4], 9);  /* B */
	ck_assert_int_eq(l.col[5], 10); /* ; */
	ck_assert_int_eq(l.line[6], 3); /* } */
	ck_assert_int_eq(l.col[6], 1);
	/* end of file sits just past the last token */
	ck_assert_int_eq(l.kind[7], 0);
	ck_assert_int_eq(l.line[7], 3);
	ck_assert_int_eq(l.col[7], 2);
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_comments_skipped)
{
	lexed l;

	lex("// line\nA /* block\n over */ B //// not a doc\nC", &l);
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.str[0], "A");
	ck_assert_str_eq(l.str[1], "B");
	ck_assert_int_eq(l.line[1], 3);
	ck_assert_int_eq(l.col[1], 10);
	ck_assert_str_eq(l.str[2], "C");
	ck_assert_ptr_null(l.doc[2]);
	ck_assert_str_eq(l.diags, "");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_doc_joined)
{
	lexed l;

	lex("/// First line.\n///Second, no space.\n///   indented\nstruct",
	    &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(l.kind[0], STRUCT);
	ck_assert_ptr_nonnull(l.doc[0]);
	ck_assert_str_eq(l.doc[0],
	                 "First line.\nSecond, no space.\n  indented");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_doc_blocks)
{
	lexed l;

	/* a gap starts a new block; a trailing /// is an ordinary comment;
	 * a blank line between block and token keeps the block */
	lex("/// old\n\n/// new\n\nA; /// trailing\nB\n///\nC", &l);
	ck_assert_int_eq(l.n, 5);
	ck_assert_str_eq(l.doc[0], "new");
	ck_assert_ptr_null(l.doc[1]);   /* ; */
	ck_assert_ptr_null(l.doc[2]);   /* B */
	ck_assert_str_eq(l.doc[3], ""); /* empty /// line */
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_stray_character)
{
	lexed l;

	lex("A @ B\n\x01", &l);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.str[1], "B");
	ck_assert_int_eq(l.lex_errors, 2);
	ck_assert_str_eq(l.diags, "t.rpc:1:3: error: stray '@' in input\n"
	                          "t.rpc:2:1: error: stray '\\x01' in input\n");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_unterminated_string)
{
	lexed l;

	lex("import \"abc\nB", &l);
	ck_assert_int_eq(l.n, 4);
	ck_assert_int_eq(l.kind[1], STRLIT);
	ck_assert_str_eq(l.str[1], "abc");
	ck_assert_str_eq(l.str[2], "B");
	ck_assert_int_eq(l.lex_errors, 1);
	ck_assert_str_eq(l.diags, "t.rpc:1:8: error: unterminated string\n");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_unterminated_comment)
{
	lexed l;

	lex("A\n  /* never\nclosed", &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(l.kind[1], 0);
	ck_assert_str_eq(l.diags, "t.rpc:2:3: error: unterminated comment\n");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_invalid_number)
{
	lexed l;

	lex("= 12abc;", &l);
	ck_assert_int_eq(l.n, 4);
	ck_assert_int_eq(l.kind[1], NUMBER);
	ck_assert_int_eq(l.kind[2], ';');
	ck_assert_str_eq(l.diags, "t.rpc:1:3: error: invalid number '12abc'\n");
	lexed_fini(&l);
}
END_TEST

START_TEST(test_lexer_empty_input)
{
	lexed l;

	lex("", &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_int_eq(l.kind[0], 0);
	ck_assert_int_eq(l.line[0], 1);
	ck_assert_int_eq(l.col[0], 1);
	lexed_fini(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idl-lexer");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("tokens");
	tcase_add_test(tc, test_lexer_keywords);
	tcase_add_test(tc, test_lexer_identifiers_not_keywords);
	tcase_add_test(tc, test_lexer_punctuation);
	tcase_add_test(tc, test_lexer_numbers);
	tcase_add_test(tc, test_lexer_floats);
	tcase_add_test(tc, test_lexer_strings);
	tcase_add_test(tc, test_lexer_empty_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("locations");
	tcase_add_test(tc, test_lexer_locations);
	suite_add_tcase(s, tc);

	tc = tcase_create("comments");
	tcase_add_test(tc, test_lexer_comments_skipped);
	tcase_add_test(tc, test_lexer_doc_joined);
	tcase_add_test(tc, test_lexer_doc_blocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_lexer_stray_character);
	tcase_add_test(tc, test_lexer_unterminated_string);
	tcase_add_test(tc, test_lexer_unterminated_comment);
	tcase_add_test(tc, test_lexer_invalid_number);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
