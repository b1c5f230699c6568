/* bigalloc.h — allocation of the index's large slot arrays (codes, fp32
 * copies, level-0 links) on transparent huge pages where the kernel offers
 * them. A graph walk touches vectors at random across the whole array: with
 * 4 KiB pages nearly every vector read is also a TLB miss and a page walk
 * (100k x 384 fp32 is 150 MB, far beyond the TLB's reach), with 2 MiB pages
 * the array needs ~75 TLB entries. Linux with THP in "madvise" mode (the
 * common default) gives huge pages only to ranges that ask (MADV_HUGEPAGE). */
#ifndef SS_INDEX_BIGALLOC_H
#define SS_INDEX_BIGALLOC_H

#include <stddef.h>

/* Like malloc (free with free()); arrays of 4 MiB or more are 2 MiB aligned
 * and advised for huge pages (advice only: failure is not an error). */
void *ss__alloc_big(size_t bytes);

#endif
