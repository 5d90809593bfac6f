/*
 * platform/segset.c - AVL tree with an in-order thread, serving segset.h.
 *
 * The tree only answers "where is key k"; everything that walks in order
 * uses the prev/next thread.  Node positions are never swapped by copying
 * values, because callers hold segment pointers across operations: removing
 * a node with two children moves its in-order successor node into its place.
 */
#include <stdlib.h>
#include <string.h>

#include "platform/segset.h"

/* --- nodes --- */

static struct segset_seg *node_alloc(struct segset *s)
{
	struct segset_seg *n = s->reserve;

	if (n) {
		s->reserve = n->next;
		s->nreserve--;
	} else {
		n = malloc(sizeof(*n) + s->ops->value_size);
		if (!n)
			return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->height = 1;
	return n;
}

static void node_free(struct segset_seg *n)
{
	free(n);
}

int segset_reserve(struct segset *s, size_t n)
{
	while (s->nreserve < n) {
		struct segset_seg *node = malloc(sizeof(*node) + s->ops->value_size);

		if (!node)
			return -ENOMEM;
		node->next = s->reserve;
		s->reserve = node;
		s->nreserve++;
	}
	return 0;
}

void segset_init(struct segset *s, const struct segset_ops *ops)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
}

void segset_clear(struct segset *s)
{
	struct segset_seg *n = s->first;

	while (n) {
		struct segset_seg *next = n->next;

		node_free(n);
		n = next;
	}
	n = s->reserve;
	while (n) {
		struct segset_seg *next = n->next;

		node_free(n);
		n = next;
	}
	segset_init(s, s->ops);
}

/* --- AVL balancing --- */

static int height(const struct segset_seg *n)
{
	return n ? n->height : 0;
}

static void update_height(struct segset_seg *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = 1 + (l > r ? l : r);
}

/* Put @new where @old hangs below @parent (or at the root). */
static void replace_child(struct segset *s, struct segset_seg *parent, struct segset_seg *old,
			  struct segset_seg *new)
{
	if (!parent)
		s->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct segset_seg *rotate_left(struct segset *s, struct segset_seg *x)
{
	struct segset_seg *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	replace_child(s, x->parent, x, y);
	y->left = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

static struct segset_seg *rotate_right(struct segset *s, struct segset_seg *x)
{
	struct segset_seg *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	replace_child(s, x->parent, x, y);
	y->right = x;
	x->parent = y;
	update_height(x);
	update_height(y);
	return y;
}

/* Restore the AVL property at @n; returns the root of its subtree. */
static struct segset_seg *rebalance_node(struct segset *s, struct segset_seg *n)
{
	int balance;

	update_height(n);
	balance = height(n->left) - height(n->right);
	if (balance > 1) {
		if (height(n->left->left) < height(n->left->right))
			rotate_left(s, n->left);
		return rotate_right(s, n);
	}
	if (balance < -1) {
		if (height(n->right->right) < height(n->right->left))
			rotate_right(s, n->right);
		return rotate_left(s, n);
	}
	return n;
}

static void rebalance_up(struct segset *s, struct segset_seg *n)
{
	while (n) {
		n = rebalance_node(s, n);
		n = n->parent;
	}
}

/* Link the fresh node @n into tree and list between @prev and @next, which
 * must be neighbours (either may be NULL at an end). */
static void link_node(struct segset *s, struct segset_seg *n, struct segset_seg *prev,
		      struct segset_seg *next)
{
	/* In-order position: left child of @next if that is free, else right
	 * child of @prev (then @prev is the rightmost node of next->left). */
	if (next && !next->left) {
		next->left = n;
		n->parent = next;
	} else if (prev) {
		prev->right = n;
		n->parent = prev;
	} else {
		s->root = n;
	}
	n->prev = prev;
	n->next = next;
	if (prev)
		prev->next = n;
	else
		s->first = n;
	if (next)
		next->prev = n;
	else
		s->last = n;
	s->count++;
	rebalance_up(s, n->parent);
}

static void unlink_node(struct segset *s, struct segset_seg *n)
{
	struct segset_seg *fix;

	if (n->left && n->right) {
		struct segset_seg *y = n->next; /* leftmost of n->right: no left child */

		if (y->parent == n) {
			fix = y;
		} else {
			fix = y->parent;
			replace_child(s, y->parent, y, y->right);
			y->right = n->right;
			n->right->parent = y;
		}
		y->left = n->left;
		n->left->parent = y;
		replace_child(s, n->parent, n, y);
		y->height = n->height;
	} else {
		fix = n->parent;
		replace_child(s, n->parent, n, n->left ? n->left : n->right);
	}
	rebalance_up(s, fix);

	if (n->prev)
		n->prev->next = n->next;
	else
		s->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		s->last = n->prev;
	s->count--;
}

/* --- gaps --- */

struct file_range segset_gap_range(struct segset_gap g)
{
	return file_range_make(g.prev ? g.prev->range.end : 0,
			       g.next ? g.next->range.start : UINT64_MAX);
}

struct segset_gap segset_gap_next_gap(struct segset_gap g)
{
	if (!g.set || !g.next)
		return segset_gap_none();
	return segset_seg_next_gap(g.set, g.next);
}

struct segset_gap segset_gap_prev_gap(struct segset_gap g)
{
	if (!g.set || !g.prev)
		return segset_gap_none();
	return segset_seg_prev_gap(g.set, g.prev);
}

struct segset_gap segset_gap_next_large_enough(struct segset_gap g, uint64_t len)
{
	while (segset_gap_ok(g) && file_range_len(segset_gap_range(g)) < len)
		g = segset_gap_next_gap(g);
	return g;
}

struct segset_gap segset_gap_next_non_empty(struct segset_gap g)
{
	return segset_gap_next_large_enough(segset_gap_next_gap(g), 1);
}

void segset_seg_next_non_empty(struct segset *s, struct segset_seg *seg, struct segset_seg **next,
			       struct segset_gap *gap)
{
	struct segset_gap g = segset_seg_next_gap(s, seg);

	*next = NULL;
	*gap = segset_gap_none();
	if (!file_range_empty(segset_gap_range(g)))
		*gap = g;
	else
		*next = seg->next;
}

/* --- lookup --- */

struct segset_seg *segset_find(struct segset *s, uint64_t key, struct segset_gap *gap)
{
	struct segset_seg *n = s->root, *succ = NULL;

	while (n) {
		if (key < n->range.start) {
			succ = n;
			n = n->left;
		} else if (key >= n->range.end) {
			n = n->right;
		} else {
			return n;
		}
	}
	if (gap) {
		gap->set = s;
		gap->next = succ;
		gap->prev = succ ? succ->prev : s->last;
	}
	return NULL;
}

struct segset_gap segset_find_gap(struct segset *s, uint64_t key)
{
	struct segset_gap g;

	if (segset_find(s, key, &g))
		return segset_gap_none();
	return g;
}

struct segset_seg *segset_lower_bound_seg(struct segset *s, uint64_t key)
{
	struct segset_seg *n = s->root, *best = NULL;

	while (n) {
		if (n->range.end > key) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct segset_seg *segset_upper_bound_seg(struct segset *s, uint64_t key)
{
	struct segset_seg *n = s->root, *best = NULL;

	while (n) {
		if (n->range.start <= key) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

struct segset_gap segset_lower_bound_gap(struct segset *s, uint64_t key)
{
	struct segset_gap g;
	struct segset_seg *seg = segset_find(s, key, &g);

	return seg ? segset_seg_next_gap(s, seg) : g;
}

struct segset_gap segset_upper_bound_gap(struct segset *s, uint64_t key)
{
	struct segset_gap g;
	struct segset_seg *seg = segset_find(s, key, &g);

	return seg ? segset_seg_prev_gap(s, seg) : g;
}

/* --- insert and remove --- */


static bool try_merge_values(struct segset *s, struct file_range lr, void *lv, struct file_range rr,
			     const void *rv)
{
	if (!s->ops->merge || lr.end != rr.start)
		return false;
	return s->ops->merge(lr, lv, rr, rv);
}

static bool gap_holds(struct segset *s, struct segset_gap g, struct file_range r)
{
	if (g.set != s || !file_range_well_formed(r) || file_range_empty(r))
		return false;
	return file_range_is_superset(segset_gap_range(g), r);
}

struct segset_seg *segset_insert_without_merging(struct segset *s, struct segset_gap g,
						 struct file_range r, const void *value)
{
	struct segset_seg *n;

	if (!gap_holds(s, g, r))
		return abi_err_ptr(-EINVAL);
	n = node_alloc(s);
	if (!n)
		return abi_err_ptr(-ENOMEM);
	n->range = r;
	memcpy(n->value, value, s->ops->value_size);
	link_node(s, n, g.prev, g.next);
	return n;
}

struct segset_seg *segset_insert(struct segset *s, struct segset_gap g, struct file_range r,
				 const void *value)
{
	size_t size = s->ops->value_size;
	struct segset_seg *prev = g.prev, *next = g.next;

	if (!gap_holds(s, g, r))
		return abi_err_ptr(-EINVAL);

	if (prev && try_merge_values(s, prev->range, prev->value, r, value)) {
		prev->range.end = r.end;
		if (next)
			segset_merge(s, prev, next);
		return prev;
	}
	if (next && size <= SEGSET_VALUE_MAX) {
		_Alignas(16) unsigned char tmp[SEGSET_VALUE_MAX];

		memcpy(tmp, value, size);
		if (try_merge_values(s, r, tmp, next->range, next->value)) {
			memcpy(next->value, tmp, size);
			next->range.start = r.start;
			return next;
		}
	}
	return segset_insert_without_merging(s, g, r, value);
}

struct segset_seg *segset_insert_range(struct segset *s, struct file_range r, const void *value)
{
	struct segset_gap g;

	if (!file_range_well_formed(r) || file_range_empty(r))
		return abi_err_ptr(-EINVAL);
	if (segset_find(s, r.start, &g))
		return abi_err_ptr(-EEXIST);
	if (r.end > segset_gap_range(g).end)
		return abi_err_ptr(-EEXIST);
	return segset_insert(s, g, r, value);
}

struct segset_gap segset_remove(struct segset *s, struct segset_seg *seg)
{
	struct segset_gap g = {.set = s, .prev = seg->prev, .next = seg->next};

	unlink_node(s, seg);
	node_free(seg);
	return g;
}

/* --- split and merge --- */

int segset_split(struct segset *s, struct segset_seg *seg, uint64_t at, struct segset_seg **left,
		 struct segset_seg **right)
{
	struct segset_seg *n;

	if (left)
		*left = seg;
	if (right)
		*right = seg;
	if (at <= seg->range.start || at >= seg->range.end)
		return 0;

	n = node_alloc(s);
	if (!n)
		return -ENOMEM;
	n->range = file_range_make(at, seg->range.end);
	if (s->ops->split)
		s->ops->split(seg->range, seg->value, at, n->value);
	else
		memcpy(n->value, seg->value, s->ops->value_size);
	seg->range.end = at;
	link_node(s, n, seg, seg->next);
	if (right)
		*right = n;
	return 0;
}

int segset_split_at(struct segset *s, uint64_t key)
{
	struct segset_seg *seg = segset_find(s, key, NULL);

	if (!seg)
		return 0;
	return segset_split(s, seg, key, NULL, NULL);
}

struct segset_seg *segset_isolate(struct segset *s, struct segset_seg *seg, struct file_range r)
{
	int err;

	if (!file_range_well_formed(r) || !file_range_overlaps(seg->range, r))
		return abi_err_ptr(-EINVAL);
	/* The splits must all succeed or none happen: reserve exactly what they
	 * take, so that a caller who reserved ahead never allocates here. */
	err = segset_reserve(s, (size_t)(r.start > seg->range.start) + (r.end < seg->range.end));
	if (err)
		return abi_err_ptr(err);
	if (segset_split(s, seg, r.start, NULL, &seg) || segset_split(s, seg, r.end, &seg, NULL))
		return abi_err_ptr(-ENOMEM); /* unreachable: reserved above */
	return seg;
}

struct segset_seg *segset_merge(struct segset *s, struct segset_seg *a, struct segset_seg *b)
{
	if (!a || !b || a->next != b)
		return NULL;
	if (!try_merge_values(s, a->range, a->value, b->range, b->value))
		return NULL;
	a->range.end = b->range.end;
	segset_remove(s, b);
	return a;
}

void segset_merge_range(struct segset *s, struct file_range r)
{
	struct segset_seg *seg;

	if (!file_range_well_formed(r) || file_range_empty(r))
		return;
	seg = segset_lower_bound_seg(s, r.start);
	while (seg && seg->next && seg->next->range.start < r.end) {
		if (!segset_merge(s, seg, seg->next))
			seg = seg->next;
	}
}

void segset_merge_adjacent(struct segset *s, struct file_range r)
{
	struct segset_seg *seg;

	if (!file_range_well_formed(r) || file_range_empty(r))
		return;
	seg = segset_find(s, r.start, NULL);
	if (seg && seg->prev)
		segset_merge(s, seg->prev, seg);
	seg = segset_find(s, r.end - 1, NULL);
	if (seg && seg->next)
		segset_merge(s, seg, seg->next);
}

int segset_remove_range(struct segset *s, struct file_range r, struct segset_gap *gap)
{
	struct segset_seg *seg;
	int err;

	if (!file_range_well_formed(r))
		return -EINVAL;
	if (file_range_empty(r)) {
		if (gap)
			*gap = segset_lower_bound_gap(s, r.start);
		return 0;
	}
	err = segset_reserve(s, 2);
	if (err)
		return err;
	seg = segset_lower_bound_seg(s, r.start);
	while (seg && seg->range.start < r.end) {
		seg = segset_isolate(s, seg, r);
		seg = segset_remove(s, seg).next;
	}
	if (gap)
		*gap = segset_find_gap(s, r.start);
	return 0;
}

/* --- checking --- */

/* Check the subtree at @n and that its in-order walk follows the list from
 * *@cursor.  Returns its height or -1. */
static int check_subtree(const struct segset_seg *n, const struct segset_seg *parent,
			 const struct segset_seg **cursor, size_t *count)
{
	int hl, hr;

	if (!n)
		return 0;
	if (n->parent != parent || file_range_empty(n->range))
		return -1;
	hl = check_subtree(n->left, n, cursor, count);
	if (hl < 0 || *cursor != n)
		return -1;
	*cursor = n->next;
	(*count)++;
	hr = check_subtree(n->right, n, cursor, count);
	if (hr < 0 || hl - hr > 1 || hr - hl > 1)
		return -1;
	if (n->height != 1 + (hl > hr ? hl : hr))
		return -1;
	return n->height;
}

int segset_check(const struct segset *s)
{
	const struct segset_seg *n, *prev = NULL, *cursor = s->first;
	size_t tree_count = 0, list_count = 0;

	if (check_subtree(s->root, NULL, &cursor, &tree_count) < 0 || cursor)
		return -EINVAL;
	for (n = s->first; n; prev = n, n = n->next) {
		if (n->prev != prev)
			return -EINVAL;
		if (prev && prev->range.end > n->range.start)
			return -EINVAL;
		list_count++;
	}
	if (prev != s->last || tree_count != s->count || list_count != s->count)
		return -EINVAL;
	return 0;
}
