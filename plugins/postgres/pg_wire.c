
/*
 * Binary wire formats: every parameter and result of the provider travels
 * in PostgreSQL's binary format, so bodies are never hex-encoded or parsed
 * as text.  Arrays use the array_send/array_recv layout:
 *
 *   int32 ndim, int32 has_nulls, uint32 element oid,
 *   ndim x (int32 length, int32 lower bound),
 *   per element: int32 byte length (-1 = NULL), bytes
 *
 * all integers big-endian.  An empty array is ndim = 0 and nothing after
 * the element oid.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

#define ARRAY_HEADER 20 /* ndim, flags, oid, one dimension */

uint64_t dura_pg_get_u64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

uint32_t dura_pg_get_u32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void dura_pg_put_u64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

void dura_pg_put_u32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void dura_pg_array_init(struct dura_pg_array *a, uint32_t elem_oid)
{
	memset(a, 0, sizeof *a);
	a->elem_oid = elem_oid;
	a->cap = 256;
	a->data = malloc(a->cap);
	if (!a->data) {
		a->oom = 1;
		a->cap = 0;
		return;
	}
	a->len = ARRAY_HEADER;
}

static int reserve(struct dura_pg_array *a, size_t extra)
{
	if (a->oom)
		return -1;
	if (a->len + extra <= a->cap)
		return 0;
	size_t cap = a->cap;
	while (cap < a->len + extra)
		cap *= 2;
	uint8_t *p = realloc(a->data, cap);
	if (!p) {
		a->oom = 1;
		return -1;
	}
	a->data = p;
	a->cap = cap;
	return 0;
}

void dura_pg_array_add(struct dura_pg_array *a, const void *p, size_t n)
{
	if (n > INT32_MAX) {
		a->oom = 1; /* cannot be sent; reported like an allocation failure */
		return;
	}
	if (reserve(a, 4 + n) != 0)
		return;
	dura_pg_put_u32(a->data + a->len, (uint32_t)n);
	if (n)
		memcpy(a->data + a->len + 4, p, n);
	a->len += 4 + n;
	a->n++;
}

void dura_pg_array_add_int8(struct dura_pg_array *a, int64_t v)
{
	uint8_t b[8];
	dura_pg_put_u64(b, (uint64_t)v);
	dura_pg_array_add(a, b, 8);
}

void dura_pg_array_add_null(struct dura_pg_array *a)
{
	if (reserve(a, 4) != 0)
		return;
	dura_pg_put_u32(a->data + a->len, 0xffffffffu); /* length -1 */
	a->len += 4;
	a->n++;
	a->has_nulls = 1;
}

int dura_pg_array_finish(struct dura_pg_array *a)
{
	if (a->oom)
		return -1;
	if (a->n == 0) {
		/* ndim 0: only ndim, flags and the element oid */
		dura_pg_put_u32(a->data, 0);
		dura_pg_put_u32(a->data + 4, 0);
		dura_pg_put_u32(a->data + 8, a->elem_oid);
		a->len = 12;
		return 0;
	}
	dura_pg_put_u32(a->data, 1);
	dura_pg_put_u32(a->data + 4, a->has_nulls ? 1 : 0);
	dura_pg_put_u32(a->data + 8, a->elem_oid);
	dura_pg_put_u32(a->data + 12, a->n);
	dura_pg_put_u32(a->data + 16, 1);
	return 0;
}

void dura_pg_array_free(struct dura_pg_array *a)
{
	free(a->data);
	a->data = NULL;
	a->len = a->cap = 0;
}

int dura_pg_array_open(struct dura_pg_array_reader *r, const char *value,
                       int len, uint32_t elem_oid)
{
	r->n = 0;
	r->p = r->end = NULL;
	if (!value || len <= 0)
		return 0; /* SQL NULL: array_agg over no rows */
	const uint8_t *p = (const uint8_t *)value;
	if (len < 12)
		return -1;
	uint32_t ndim = dura_pg_get_u32(p);
	uint32_t oid = dura_pg_get_u32(p + 8);
	if (oid != elem_oid)
		return -1;
	if (ndim == 0) {
		r->p = r->end = p + 12;
		return 0;
	}
	if (ndim != 1 || len < ARRAY_HEADER)
		return -1;
	r->n = dura_pg_get_u32(p + 12);
	r->p = p + ARRAY_HEADER;
	r->end = p + len;
	/* every element needs at least its length word */
	if ((size_t)(r->end - r->p) / 4 < r->n)
		return -1;
	return 0;
}

int dura_pg_array_next(struct dura_pg_array_reader *r, const uint8_t **data,
                       size_t *len)
{
	if (r->end - r->p < 4)
		return -1;
	int32_t n = (int32_t)dura_pg_get_u32(r->p);
	r->p += 4;
	if (n < 0) {
		*data = r->p;
		*len = 0;
		return 0;
	}
	if (r->end - r->p < n)
		return -1;
	*data = r->p;
	*len = (size_t)n;
	r->p += n;
	return 0;
}

void dura_pg_params_init(struct dura_pg_params *p)
{
	memset(p, 0, sizeof *p);
}

static int slot(struct dura_pg_params *p)
{
	/* PG_MAX_PARAMS covers the widest statement; overflowing it is a bug */
	if (p->n >= PG_MAX_PARAMS)
		abort();
	int i = p->n++;
	p->formats[i] = 1;
	return i;
}

void dura_pg_param_int8(struct dura_pg_params *p, int64_t v)
{
	int i = slot(p);
	dura_pg_put_u64(p->scalars[i], (uint64_t)v);
	p->values[i] = (const char *)p->scalars[i];
	p->lengths[i] = 8;
}

void dura_pg_param_int4(struct dura_pg_params *p, int32_t v)
{
	int i = slot(p);
	dura_pg_put_u32(p->scalars[i], (uint32_t)v);
	p->values[i] = (const char *)p->scalars[i];
	p->lengths[i] = 4;
}

void dura_pg_param_int4_sat(struct dura_pg_params *p, uint64_t v)
{
	dura_pg_param_int4(p, v > INT32_MAX ? INT32_MAX : (int32_t)v);
}

void dura_pg_param_bool(struct dura_pg_params *p, int v)
{
	int i = slot(p);
	p->scalars[i][0] = v ? 1 : 0;
	p->values[i] = (const char *)p->scalars[i];
	p->lengths[i] = 1;
}

void dura_pg_param_text(struct dura_pg_params *p, const char *s)
{
	int i = slot(p);
	p->values[i] = s; /* NULL = SQL NULL */
	p->lengths[i] = s ? (int)strlen(s) : 0;
}

void dura_pg_param_bytea(struct dura_pg_params *p, const void *d, size_t n)
{
	int i = slot(p);
	/* a non-NULL pointer even for empty bodies: NULL would mean SQL NULL */
	p->values[i] = d ? (const char *)d : "";
	p->lengths[i] = (int)n;
}

struct dura_pg_array *dura_pg_param_array(struct dura_pg_params *p,
                                          uint32_t elem_oid)
{
	int i = slot(p);
	struct dura_pg_array *a = &p->arrays[i];
	dura_pg_array_init(a, elem_oid);
	p->n_arrays++;
	p->values[i] = NULL; /* set by finish */
	p->lengths[i] = -2;  /* marks an array slot */
	return a;
}

int dura_pg_params_finish(struct dura_pg_params *p)
{
	int rc = 0;
	for (int i = 0; i < p->n; i++) {
		if (p->lengths[i] != -2)
			continue;
		struct dura_pg_array *a = &p->arrays[i];
		if (dura_pg_array_finish(a) != 0 || a->len > INT32_MAX) {
			rc = -1;
			continue;
		}
		p->values[i] = (const char *)a->data;
		p->lengths[i] = (int)a->len;
	}
	return rc;
}

void dura_pg_params_free(struct dura_pg_params *p)
{
	for (int i = 0; i < p->n; i++)
		if (p->arrays[i].data)
			dura_pg_array_free(&p->arrays[i]);
	p->n = 0;
}

int dura_pg_col_array(const PGresult *res, int col, uint32_t elem_oid,
                      struct dura_pg_array_reader *r)
{
	if (PQgetisnull(res, 0, col))
		return dura_pg_array_open(r, NULL, 0, elem_oid);
	return dura_pg_array_open(r, PQgetvalue(res, 0, col), PQgetlength(res, 0, col),
	                          elem_oid);
}

int64_t dura_pg_col_int8(const PGresult *res, int col, int64_t if_null)
{
	if (PQgetisnull(res, 0, col) || PQgetlength(res, 0, col) != 8)
		return if_null;
	return (int64_t)dura_pg_get_u64(PQgetvalue(res, 0, col));
}
