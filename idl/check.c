/* check.c - placeholder: fills implicit field numbers. */
#include "internal.h"

void check_program(idl_loader *ld)
{
	size_t i, j, k;

	for (i = 0; i < ld->prog->n_files; i++) {
		ast_file *f = ld->prog->files[i];

		for (j = 0; j < f->n_decls; j++) {
			ast_decl *d = f->decls[j];

			for (k = 0; k < d->n_fields; k++)
				if (!d->fields[k].explicit_number)
					d->fields[k].number = (int64_t)k + 1;
		}
	}
}
