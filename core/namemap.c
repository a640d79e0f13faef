/**
 * @file namemap.c
 * Open-addressing hash table keyed by object names (see namemap.h). Names
 * are already uniformly distributed SHA-256 digests, so the first 16 hex
 * digits are the hash.
 */
#include "core/namemap.h"

#include "core/util.h"

#include <stdlib.h>
#include <string.h>

static size_t name_hash(const struct gg_name *n)
{
	size_t h = 0;
	for (int i = 1; i <= 16; i++)
		h = h << 4 | (size_t)(n->s[i] <= '9' ? n->s[i] - '0' : n->s[i] - 'a' + 10);
	return h ^ (size_t)n->s[0];
}

static struct namemap_slot *find(const struct namemap *m, const struct gg_name *key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = name_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct namemap_slot *s = &m->slots[i];
		if (!s->used || gg_name_eq(&s->key, key))
			return s;
	}
}

void *namemap_get(const struct namemap *m, const struct gg_name *key)
{
	struct namemap_slot *s = find(m, key);
	return s && s->used ? s->value : NULL;
}

static void grow(struct namemap *m)
{
	struct namemap old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->len = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].used)
			namemap_put(m, &old.slots[i].key, old.slots[i].value);
	free(old.slots);
}

void namemap_put(struct namemap *m, const struct gg_name *key, void *value)
{
	if ((m->len + 1) * 2 > m->cap)
		grow(m);
	struct namemap_slot *s = find(m, key);
	if (!s->used) {
		s->used = true;
		s->key = *key;
		m->len++;
	}
	s->value = value;
}

void *namemap_del(struct namemap *m, const struct gg_name *key)
{
	struct namemap_slot *s = find(m, key);
	if (!s || !s->used)
		return NULL;
	void *v = s->value;
	s->used = false;
	m->len--;
	/* Re-insert the rest of the probe run so lookups don't stop early. */
	size_t i = (size_t)(s - m->slots);
	for (i = (i + 1) & (m->cap - 1); m->slots[i].used; i = (i + 1) & (m->cap - 1)) {
		struct namemap_slot moved = m->slots[i];
		m->slots[i].used = false;
		m->len--;
		namemap_put(m, &moved.key, moved.value);
	}
	return v;
}

void namemap_free(struct namemap *m)
{
	free(m->slots);
	memset(m, 0, sizeof *m);
}

/* ---- nameidx ---- */

static const struct gg_name *idx_key(const struct nameidx *m, const void *obj)
{
	return (const struct gg_name *)((const char *)obj + m->key_off);
}

/* The slot holding key, or the empty slot where it would go. */
static void **idx_find(const struct nameidx *m, const struct gg_name *key)
{
	for (size_t i = name_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		void **s = &m->slots[i];
		if (!*s || gg_name_eq(idx_key(m, *s), key))
			return s;
	}
}

void *nameidx_get(const struct nameidx *m, const struct gg_name *key)
{
	return m->cap ? *idx_find(m, key) : NULL;
}

static void idx_grow(struct nameidx *m)
{
	void **old = m->slots;
	size_t old_cap = m->cap;
	m->cap = old_cap ? old_cap * 2 : 64;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*idx_find(m, idx_key(m, old[i])) = old[i];
	free(old);
}

void nameidx_put(struct nameidx *m, void *obj)
{
	if ((m->len + 1) * 2 > m->cap)
		idx_grow(m);
	void **s = idx_find(m, idx_key(m, obj));
	if (!*s)
		m->len++;
	*s = obj;
}

void *nameidx_del(struct nameidx *m, const struct gg_name *key)
{
	if (!m->cap)
		return NULL;
	void **s = idx_find(m, key);
	void *v = *s;
	if (!v)
		return NULL;
	*s = NULL;
	m->len--;
	/* Re-insert the rest of the probe run so lookups don't stop early. */
	for (size_t i = ((size_t)(s - m->slots) + 1) & (m->cap - 1); m->slots[i];
	     i = (i + 1) & (m->cap - 1)) {
		void *moved = m->slots[i];
		m->slots[i] = NULL;
		*idx_find(m, idx_key(m, moved)) = moved;
	}
	return v;
}

void nameidx_free(struct nameidx *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
