/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* Test interface of linux_upstream.c: layout report and kernel-like writers of upstream blobs. */
#ifndef LINUX_UPSTREAM_H
#define LINUX_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

/* One size, offset or constant as this compiler sees it. */
struct lx_item {
	const char *kind; /* "sizeof", "offsetof", "const" */
	const char *name;
	const char *field; /* NULL unless offsetof */
	uint64_t value;
};

/* A run of physical memory for lx_image(). */
struct lx_segment {
	uint64_t phys;
	const uint8_t *bytes;
	size_t len;
};

enum { LX_LUO_V3 = 0, LX_LUO_V4K = 1, LX_LUO_V5B = 2 };
enum { LX_ENOENT = -2, LX_EBUSY = -16, LX_ENOSPC = -28 };

size_t lx_layout(const struct lx_item **out);

/* luo_ser of compatible which (LX_LUO_*); returns its size. */
size_t lx_luo_ser(int which, uint8_t *out, uint64_t num, uint64_t sessions_pa, uint64_t flbs_pa);

/* One FLB page (LUO_FLB_PGCNT = 1, 4 KiB): returns the bytes used, 0 if n > LUO_FLB_MAX. */
size_t lx_flb_area(uint8_t *page, const char *const *names, const uint64_t *data,
		   const uint64_t *counts, size_t n);

/* pci_ser array ({u32 max; u32 nr}) of max_nr_devices slots: returns its size. */
size_t lx_pci_array_init(uint8_t *buf, uint32_t max_nr_devices);
/* Preserve (hierarchical: a second preserve increments the refcount, else -EBUSY). */
int lx_pci_array_get(uint8_t *buf, uint32_t domain, uint16_t bdf, int hierarchical);
/* Unpreserve: decrement; at zero the slot is zeroed and nr_devices decremented. */
int lx_pci_array_put(uint8_t *buf, uint32_t domain, uint16_t bdf);

/* v7 pci_ser (12 bytes, start zeroed) with blocks from pages[i] (4 KiB each) at phys[i]. */
int lx_pci_chain_get(uint8_t *ser, uint8_t *pages, const uint64_t *phys, size_t npages,
		     uint32_t domain, uint16_t bdf, int hierarchical);
int lx_pci_chain_put(uint8_t *ser, uint8_t *pages, uint32_t domain, uint16_t bdf);
size_t lx_pci_chain_blocks(const uint8_t *ser, uint8_t *pages);

/* FLB "pci" pci_ser (16 bytes) of version 1 or 2 with blocks as for the v7 chain; version 2
 * counts a repeated preserve (hierarchical), version 1 refuses it (-EBUSY). */
size_t lx_pci_ver_init(uint8_t *ser, uint32_t version);
int lx_pci_ver_get(uint8_t *ser, uint8_t *pages, const uint64_t *phys, size_t npages,
		   uint32_t domain, uint16_t bdf);
int lx_pci_ver_put(uint8_t *ser, uint8_t *pages, uint32_t domain, uint16_t bdf);
size_t lx_pci_ver_blocks(const uint8_t *ser, uint8_t *pages);

/* A KHOIMAGE file of n (<= 64) segments; returns its length, 0 if out is too small. */
size_t lx_image(uint8_t *out, size_t out_len, uint64_t blob_phys, const char *compatible,
		const struct lx_segment *segs, size_t n);

#endif /* LINUX_UPSTREAM_H */
