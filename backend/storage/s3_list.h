/**
 * @file s3_list.h
 * Reading one page of S3's ListObjectsV2 answer (remote GC): its objects'
 * keys, sizes and LastModified times, whether more pages follow, and the
 * continuation token that asks for the next. The reply comes from the
 * network and is hostile: every field is bounded and checked (s3_xml_text),
 * and a page that cannot be read whole is an error, never a shorter list.
 */
#ifndef GG_S3_LIST_H
#define GG_S3_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest key and continuation token read. */
#define S3_LIST_KEY_MAX   1024
#define S3_LIST_TOKEN_MAX 1024

struct s3_list_page {
	bool truncated;                    /* <IsTruncated>true: more pages follow */
	char token[S3_LIST_TOKEN_MAX + 1]; /* <NextContinuationToken>, when truncated */
};

/*
 * Calls fn for each <Contents> of body (its <Key> decoded, <Size>, and
 * <LastModified> as seconds since the epoch), then fills *page. -1 with an
 * error saying what is wrong when an element is missing, malformed or too
 * long, or a truncated page has no token; fn's nonzero return stops it (-1).
 */
int s3_list_parse(const char *body, size_t len,
                  int (*fn)(void *arg, const char *key, uint64_t size, int64_t mtime), void *arg,
                  struct s3_list_page *page);

#endif
