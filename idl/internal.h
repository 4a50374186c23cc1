/* internal.h - private interfaces of the IDL front end (not installed).
 *
 * The front end is four modules:
 *   lexer.l   tokens with locations and doc comments (never prints)
 *   parser.y  a pure bison parser; its actions only build the AST
 *   load.c    idl_load: reads files, follows imports, owns everything
 *   check.c   names, duplicates, types, numbers, the method contract
 * and two helpers: ast.c (node constructors and destructors) and diag.c
 * (the "file:line:col: error: ..." text handed to the user's callback).
 */
#ifndef IDL_INTERNAL_H
#define IDL_INTERNAL_H

#include <stdarg.h>

#include "ast.h"

/* One file read by the loader. Owned by the loader's state (prog->priv). */
typedef struct idl_src {
	ast_file *file; /* owned: the parsed file (NULL until parsed) */
	char *real;     /* owned: realpath, identifies the file */
	char *buf;      /* owned: the whole text, NUL-terminated */
	size_t len;
	int state; /* IDL_SRC_LOADING while its imports are followed */
} idl_src;

enum { IDL_SRC_LOADING = 1, IDL_SRC_DONE = 2 };

/* The loader's state; lives in prog->priv until idl_program_free. */
typedef struct idl_loader {
	const idl_options *opts;
	idl_program *prog;
	idl_src **srcs; /* owned, in load order (main first) */
	size_t n_srcs;
	int errors;                /* errors reported so far */
	int warnings;              /* warnings reported so far (not -Werror) */
	struct diag_block *blocks; /* owned: diagnostics not yet handed over */
	size_t n_blocks;
	int oom; /* an allocation failed */
} idl_loader;

/* ---- diag.c ---------------------------------------------------------- */

/* diag_error reports an error at loc (loc may be NULL for errors that
 * belong to no position). A following diag_note attaches to it. Blocks are
 * kept until diag_flush, which hands them to the callback in source order
 * (files in load order, then line and column). */
void diag_error(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* diag_warning reports a warning (an error under opts->werror). */
void diag_warning(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_note(idl_loader *ld, const ast_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_flush(idl_loader *ld);
/* diag_free drops blocks not yet flushed. */
void diag_free(idl_loader *ld);

/* ---- ast.c ----------------------------------------------------------- */

/* ast_grow makes room for one more element in *arr, which holds n elements
 * of size elem; capacity follows powers of two. Returns 0 or -1 (no memory;
 * *arr untouched). */
int ast_grow(void *arr, size_t n, size_t elem);

ast_type *ast_type_new(ast_type_kind kind, ast_loc loc);
void ast_type_free(ast_type *t);
void ast_decl_free(ast_decl *d);
void ast_file_free(ast_file *f);

/* ---- parser.y / lexer.l --------------------------------------------- */

/* The parser's location: bison's four numbers plus the index of the doc
 * comment that came right before the symbol's first token (-1: none). */
typedef struct idl_lloc {
	int first_line, first_column, last_line, last_column;
	int doc;
} idl_lloc;

/* State shared by the lexer and the parser of one file. */
typedef struct idl_parse {
	idl_loader *ld;
	ast_file *file;  /* borrowed: the file being filled */
	const char *src; /* borrowed: its text */
	size_t len;
	/* lexer position */
	int line, col;
	int last_tok_line;     /* line of the last token returned */
	int end_line, end_col; /* where the last token ended (0: none yet) */
	int prev_end_line, prev_end_col; /* ... and the one before it */
	size_t last_off;      /* the last token's text: offset in src */
	size_t last_len;      /* and length (0: end of file) */
	int last_tok;         /* its kind (0: end of file) */
	char *lex_copy;       /* owned: the text the scanner reads */
	void *lex_reserve[2]; /* owned: blocks for idl_yyalloc (lexer.l) */
	size_t lex_reserve_size[2];
	int huge_line, huge_col; /* where the last number past UINT64_MAX
	                            starts (lex_number saturates it) */
	int cstart_line;         /* where the open block comment starts */
	int cstart_col;
	/* doc comments seen so far; an entry moves to a node when taken */
	char **docs;
	size_t n_docs;
	int pending_doc;      /* index of the doc block waiting for a token */
	int pending_doc_line; /* line of its last /// line */
	/* what the grammar is filling */
	ast_decl *cur;   /* the struct, enum or service being parsed */
	size_t oneof;    /* 1 + index in cur's oneofs of the oneof being
	                    parsed; 0: none */
	ast_fopt *fopts; /* owned: options of the field being parsed, until
	                    parse_field takes them */
	size_t n_fopts;
	int errors; /* lexical and syntax errors in this file */
	int lex_errors;
	int nomem;
} idl_parse;

/* idl_parse_file parses p->src into p->file. Returns the number of errors
 * (lexical and syntax) it reported. */
int idl_parse_file(idl_parse *p);

/* idl_lex_open starts a scanner over p->src (lexer.l); returns 0, or -1
 * when out of memory. idl_lex_close ends it and accepts a NULL scanner. */
int idl_lex_open(idl_parse *p, void **scanner);
void idl_lex_close(idl_parse *p, void *scanner);

/* Helpers the grammar actions and the lexer call (parse.c in parser.y). */
void idl_parse_error(idl_parse *p, const idl_lloc *l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- check.c -------------------------------------------------------- */

/* check_program runs every rule over every loaded file and fills in
 * resolved types and implicit field numbers. Reports through ld. */
void check_program(idl_loader *ld);

/* check_spell_best tells whether cand is a closer spelling of typed than
 * the best so far, whose distance is *dist (start with SIZE_MAX), close
 * enough to suggest ("did you mean"); if so it updates *dist. */
bool check_spell_best(const char *typed, const char *cand, size_t *dist);

#endif
