// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * The upstream Linux live-update structures as the kernel headers declare them: fixed-width
 * CPU-native fields, __packed, strings in NUL-padded char arrays. Declared from the layouts
 * in ../shared/reference/linux-liveupdate-abi.md (the patches are cited there and in
 * abi/LINUX-FORMATS.md); no kernel code is copied.
 *
 * Linked into the tests (host-tests/tests/c_linux.rs), it writes blobs the way the kernel's
 * serializers do: slot reuse in pci_ser arrays, KHO block chains grown a page at a time. The
 * structs are native, so the blobs are in this host's byte order (big-endian on s390x, under
 * .ci/cross.sh): the tests decode them with ByteOrder::NATIVE (`luo --byte-order`).
 * Built as a program with -DLX_MAIN, it prints the layout its compiler sees
 * ("layout") and writes sample files for `luo verify/dump --linux` ("samples DIR").
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "linux_upstream.h"

typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define __packed __attribute__((packed))
#define ALIGN(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))
#define PAGE_SIZE 4096u

/* ---- include/linux/kho/abi/luo.h --------------------------------------------------------- */

#define KHO_SUB_COMPAT(s) ";" s
#define LUO_V3_COMPATIBLE "luo-v3"
#define LUO_V4K_COMPATIBLE "luo-v4" "-" "kho-block-v1"
#define LUO_V5B_COMPATIBLE "luo-v5" KHO_SUB_COMPAT("block-v1")

/* luo_ser with the compatible field of each length seen: ALIGN(sizeof(compatible), 8). */
#define LUO_SER(tag, compat)                                   \
	struct luo_ser_##tag {                                 \
		char compatible[ALIGN(sizeof(compat), 8)];     \
		u64 liveupdate_num;                            \
		u64 sessions_pa;                               \
		u64 flbs_pa;                                   \
	} __packed
LUO_SER(v3, LUO_V3_COMPATIBLE);
LUO_SER(v4k, LUO_V4K_COMPATIBLE);
LUO_SER(v5b, LUO_V5B_COMPATIBLE);

#define LIVEUPDATE_FLB_COMPAT_LENGTH 48
#define LUO_FLB_PGCNT 1u

struct luo_flb_header_ser {
	u64 pgcnt;
	u64 count;
} __packed;

struct luo_flb_ser {
	char name[LIVEUPDATE_FLB_COMPAT_LENGTH];
	u64 data;
	u64 count;
} __packed;

#define LUO_FLB_MAX (((LUO_FLB_PGCNT * PAGE_SIZE) - sizeof(struct luo_flb_header_ser)) / sizeof(struct luo_flb_ser))

/* ---- include/linux/kho/abi/pci.h --------------------------------------------------------- */

struct pci_dev_ser {
	u32 domain;
	u16 bdf;
	u16 refcount; /* "reserved"/"padding" under pci-v1 arrays */
} __packed;

/* 23 Mar 2026 ([PATCH v3 02/24]). */
struct pci_ser_u64 {
	u64 max_nr_devices;
	u64 nr_devices;
	struct pci_dev_ser devices[];
} __packed;

/* 23 Apr - 22 May 2026 ([PATCH v4 01/11] .. [PATCH v6 06/12]). */
struct pci_ser_array {
	u32 max_nr_devices;
	u32 nr_devices;
	struct pci_dev_ser devices[];
} __packed;

/* 10 Jul 2026 ([PATCH v7 01/12]): devices is the PA of the first kho_block_header_ser. */
struct pci_ser_chain {
	u32 nr_devices;
	u64 devices;
} __packed;

/* linux-next Sep-Oct 2026, FLB "pci": the version first, never moved; devices as above. */
struct pci_ser_versioned {
	u32 version; /* 1: refcount 1/0; 2: hierarchical refcounts */
	u32 nr_devices;
	u64 devices;
} __packed;

/* The kernel's own asserts on the array forms. */
_Static_assert(offsetof(struct pci_ser_array, devices) % sizeof(unsigned long) == 0, "devices aligned");
_Static_assert(sizeof(struct pci_dev_ser) % sizeof(unsigned long) == 0, "pci_dev_ser aligned");

/* ---- include/linux/kho/abi/block.h ------------------------------------------------------- */

struct kho_block_header_ser {
	u64 next;
	u64 count;
} __packed;

#define KHO_MAX_BLOCKS 10000
#define KHO_BLOCK_SIZE PAGE_SIZE
#define PCI_PER_BLOCK ((KHO_BLOCK_SIZE - sizeof(struct kho_block_header_ser)) / sizeof(struct pci_dev_ser))

/* ---- Layout report ------------------------------------------------------------------------ */

#define SZ(name, s) { "sizeof", name, NULL, sizeof(struct s) }
#define OFF(name, s, f) { "offsetof", name, #f, offsetof(struct s, f) }
#define CONST(name, v) { "const", name, NULL, (v) }

static const struct lx_item items[] = {
	SZ("luo_ser@luo-v3", luo_ser_v3),
	OFF("luo_ser@luo-v3", luo_ser_v3, compatible),
	OFF("luo_ser@luo-v3", luo_ser_v3, liveupdate_num),
	OFF("luo_ser@luo-v3", luo_ser_v3, sessions_pa),
	OFF("luo_ser@luo-v3", luo_ser_v3, flbs_pa),
	SZ("luo_ser@luo-v5;block-v1", luo_ser_v5b),
	OFF("luo_ser@luo-v5;block-v1", luo_ser_v5b, compatible),
	OFF("luo_ser@luo-v5;block-v1", luo_ser_v5b, liveupdate_num),
	OFF("luo_ser@luo-v5;block-v1", luo_ser_v5b, sessions_pa),
	OFF("luo_ser@luo-v5;block-v1", luo_ser_v5b, flbs_pa),
	SZ("luo_ser@luo-v4-kho-block-v1", luo_ser_v4k),
	OFF("luo_ser@luo-v4-kho-block-v1", luo_ser_v4k, flbs_pa),
	SZ("luo_flb_header_ser", luo_flb_header_ser),
	OFF("luo_flb_header_ser", luo_flb_header_ser, pgcnt),
	OFF("luo_flb_header_ser", luo_flb_header_ser, count),
	SZ("luo_flb_ser", luo_flb_ser),
	OFF("luo_flb_ser", luo_flb_ser, name),
	OFF("luo_flb_ser", luo_flb_ser, data),
	OFF("luo_flb_ser", luo_flb_ser, count),
	SZ("pci_dev_ser", pci_dev_ser),
	OFF("pci_dev_ser", pci_dev_ser, domain),
	OFF("pci_dev_ser", pci_dev_ser, bdf),
	OFF("pci_dev_ser", pci_dev_ser, refcount),
	SZ("pci_ser@array-u64", pci_ser_u64),
	OFF("pci_ser@array-u64", pci_ser_u64, max_nr_devices),
	OFF("pci_ser@array-u64", pci_ser_u64, nr_devices),
	OFF("pci_ser@array-u64", pci_ser_u64, devices),
	SZ("pci_ser@array", pci_ser_array),
	OFF("pci_ser@array", pci_ser_array, max_nr_devices),
	OFF("pci_ser@array", pci_ser_array, nr_devices),
	OFF("pci_ser@array", pci_ser_array, devices),
	SZ("pci_ser@chain", pci_ser_chain),
	OFF("pci_ser@chain", pci_ser_chain, nr_devices),
	OFF("pci_ser@chain", pci_ser_chain, devices),
	SZ("pci_ser@versioned", pci_ser_versioned),
	OFF("pci_ser@versioned", pci_ser_versioned, version),
	OFF("pci_ser@versioned", pci_ser_versioned, nr_devices),
	OFF("pci_ser@versioned", pci_ser_versioned, devices),
	SZ("kho_block_header_ser", kho_block_header_ser),
	OFF("kho_block_header_ser", kho_block_header_ser, next),
	OFF("kho_block_header_ser", kho_block_header_ser, count),
	CONST("LIVEUPDATE_FLB_COMPAT_LENGTH", LIVEUPDATE_FLB_COMPAT_LENGTH),
	CONST("KHO_MAX_BLOCKS", KHO_MAX_BLOCKS),
	CONST("LUO_FLB_MAX_4K", LUO_FLB_MAX),
	CONST("PCI_DEV_SER_PER_4K_BLOCK", PCI_PER_BLOCK),
};

size_t lx_layout(const struct lx_item **out)
{
	*out = items;
	return sizeof(items) / sizeof(items[0]);
}

/* ---- Writers, as the kernel's serializers write ------------------------------------------ */

/* strscpy() into a zeroed field, as the kernel's compatibles are written. */
static void copy_name(char *field, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len >= size)
		len = size - 1;
	memcpy(field, s, len);
	field[len] = '\0';
}

#define WRITE_LUO(tag, compat)                                                              \
	do {                                                                                \
		struct luo_ser_##tag *ser = (struct luo_ser_##tag *)out;                   \
		memset(ser, 0, sizeof(*ser));                                               \
		copy_name(ser->compatible, sizeof(ser->compatible), compat);                \
		ser->liveupdate_num = num;                                                  \
		ser->sessions_pa = sessions_pa;                                             \
		ser->flbs_pa = flbs_pa;                                                     \
		return sizeof(*ser);                                                        \
	} while (0)

size_t lx_luo_ser(int which, uint8_t *out, uint64_t num, uint64_t sessions_pa, uint64_t flbs_pa)
{
	switch (which) {
	case LX_LUO_V3:
		WRITE_LUO(v3, LUO_V3_COMPATIBLE);
	case LX_LUO_V4K:
		WRITE_LUO(v4k, LUO_V4K_COMPATIBLE);
	default:
		WRITE_LUO(v5b, LUO_V5B_COMPATIBLE);
	}
}

size_t lx_flb_area(uint8_t *page, const char *const *names, const uint64_t *data,
		   const uint64_t *counts, size_t n)
{
	struct luo_flb_header_ser *header = (struct luo_flb_header_ser *)page;
	struct luo_flb_ser *ser = (struct luo_flb_ser *)(header + 1);

	if (n > LUO_FLB_MAX)
		return 0;
	memset(page, 0, LUO_FLB_PGCNT * PAGE_SIZE); /* kho_alloc_preserve() zeroes */
	header->pgcnt = LUO_FLB_PGCNT;
	header->count = n;
	for (size_t i = 0; i < n; i++) {
		copy_name(ser[i].name, sizeof(ser[i].name), names[i]);
		ser[i].data = data[i];
		ser[i].count = counts[i];
	}
	return sizeof(*header) + n * sizeof(*ser);
}

/* -- pci_ser arrays: pci-v2 slots (refcount 1/0) or pci-v3 hierarchical refcounts -- */

size_t lx_pci_array_init(uint8_t *buf, uint32_t max_nr_devices)
{
	struct pci_ser_array *ser = (struct pci_ser_array *)buf;
	size_t size = sizeof(*ser) + (size_t)max_nr_devices * sizeof(ser->devices[0]);

	memset(buf, 0, size);
	ser->max_nr_devices = max_nr_devices;
	return size;
}

static struct pci_dev_ser *array_find(struct pci_ser_array *ser, u32 domain, u16 bdf)
{
	for (u32 i = 0; i < ser->max_nr_devices; i++) {
		struct pci_dev_ser *d = &ser->devices[i];

		if (d->refcount && d->domain == domain && d->bdf == bdf)
			return d;
	}
	return NULL;
}

int lx_pci_array_get(uint8_t *buf, uint32_t domain, uint16_t bdf, int hierarchical)
{
	struct pci_ser_array *ser = (struct pci_ser_array *)buf;
	struct pci_dev_ser *d = array_find(ser, domain, bdf);

	if (d) {
		if (!hierarchical)
			return LX_EBUSY;
		d->refcount++;
		return (int)(d - ser->devices);
	}
	/* First free slot, starting at nr_devices modulo max_nr_devices. */
	for (u32 k = 0; k < ser->max_nr_devices; k++) {
		u32 i = (ser->nr_devices + k) % ser->max_nr_devices;

		d = &ser->devices[i];
		if (!d->refcount) {
			d->domain = domain;
			d->bdf = bdf;
			d->refcount = 1;
			ser->nr_devices++;
			return (int)i;
		}
	}
	return LX_ENOSPC;
}

int lx_pci_array_put(uint8_t *buf, uint32_t domain, uint16_t bdf)
{
	struct pci_ser_array *ser = (struct pci_ser_array *)buf;
	struct pci_dev_ser *d = array_find(ser, domain, bdf);

	if (!d)
		return LX_ENOENT;
	if (--d->refcount)
		return 0;
	memset(d, 0, sizeof(*d));
	ser->nr_devices--;
	return 0;
}

/* -- the v7 chain form: blocks taken from pages[i] at phys[i] in order, never freed -- */

static struct kho_block_header_ser *block(uint8_t *pages, size_t i)
{
	return (struct kho_block_header_ser *)(pages + i * PAGE_SIZE);
}

static struct pci_dev_ser *block_devs(uint8_t *pages, size_t i)
{
	return (struct pci_dev_ser *)(block(pages, i) + 1);
}

/* Blocks in use: the chain from ser->devices; block i is pages[i]. */
static size_t chain_blocks(const struct pci_ser_chain *ser, uint8_t *pages)
{
	size_t n = 0;

	if (!ser->devices)
		return 0;
	for (n = 1; block(pages, n - 1)->next; n++)
		;
	return n;
}

static struct pci_dev_ser *chain_find(struct pci_ser_chain *ser, uint8_t *pages, u32 domain, u16 bdf,
				      struct pci_dev_ser **free_slot)
{
	size_t n = chain_blocks(ser, pages);

	*free_slot = NULL;
	for (size_t b = 0; b < n; b++) {
		for (u64 i = 0; i < block(pages, b)->count; i++) {
			struct pci_dev_ser *d = &block_devs(pages, b)[i];

			if (d->refcount && d->domain == domain && d->bdf == bdf)
				return d;
			if (!d->refcount && !*free_slot)
				*free_slot = d;
		}
	}
	return NULL;
}

int lx_pci_chain_get(uint8_t *ser_buf, uint8_t *pages, const uint64_t *phys, size_t npages,
		     uint32_t domain, uint16_t bdf, int hierarchical)
{
	struct pci_ser_chain *ser = (struct pci_ser_chain *)ser_buf;
	struct pci_dev_ser *free_slot, *d = chain_find(ser, pages, domain, bdf, &free_slot);
	size_t n;

	if (d) {
		if (!hierarchical)
			return LX_EBUSY;
		d->refcount++;
		return 0;
	}
	d = free_slot;
	if (!d) {
		/* kho_block_set_grow() then reserve: append to the last block, or link a page. */
		n = chain_blocks(ser, pages);
		if (n && block(pages, n - 1)->count < PCI_PER_BLOCK) {
			d = &block_devs(pages, n - 1)[block(pages, n - 1)->count++];
		} else {
			if (n == npages || n == KHO_MAX_BLOCKS)
				return LX_ENOSPC;
			memset(block(pages, n), 0, PAGE_SIZE);
			block(pages, n)->count = 1;
			if (n)
				block(pages, n - 1)->next = phys[n];
			else
				ser->devices = phys[0];
			d = &block_devs(pages, n)[0];
		}
	}
	d->domain = domain;
	d->bdf = bdf;
	d->refcount = 1;
	ser->nr_devices++;
	return 0;
}

int lx_pci_chain_put(uint8_t *ser_buf, uint8_t *pages, uint32_t domain, uint16_t bdf)
{
	struct pci_ser_chain *ser = (struct pci_ser_chain *)ser_buf;
	struct pci_dev_ser *free_slot, *d = chain_find(ser, pages, domain, bdf, &free_slot);

	if (!d)
		return LX_ENOENT;
	if (--d->refcount)
		return 0;
	memset(d, 0, sizeof(*d));
	ser->nr_devices--;
	return 0;
}

size_t lx_pci_chain_blocks(const uint8_t *ser_buf, uint8_t *pages)
{
	return chain_blocks((const struct pci_ser_chain *)ser_buf, pages);
}

/* -- the FLB "pci" form: the same chain bookkeeping under the 16-byte versioned header;
 * version 2 counts a second preserve (a bridge above another preserved device) -- */

size_t lx_pci_ver_init(uint8_t *ser_buf, uint32_t version)
{
	struct pci_ser_versioned *ser = (struct pci_ser_versioned *)ser_buf;

	memset(ser, 0, sizeof(*ser));
	ser->version = version;
	return sizeof(*ser);
}

/* The chain fields of a versioned header, in and out of the v7 header the helpers take. */
static void ver_load(const struct pci_ser_versioned *ver, struct pci_ser_chain *chain)
{
	chain->nr_devices = ver->nr_devices;
	chain->devices = ver->devices;
}

static void ver_store(struct pci_ser_versioned *ver, const struct pci_ser_chain *chain)
{
	ver->nr_devices = chain->nr_devices;
	ver->devices = chain->devices;
}

int lx_pci_ver_get(uint8_t *ser_buf, uint8_t *pages, const uint64_t *phys, size_t npages,
		   uint32_t domain, uint16_t bdf)
{
	struct pci_ser_versioned *ver = (struct pci_ser_versioned *)ser_buf;
	struct pci_ser_chain chain;
	int rc;

	ver_load(ver, &chain);
	rc = lx_pci_chain_get((uint8_t *)&chain, pages, phys, npages, domain, bdf, ver->version == 2);
	ver_store(ver, &chain);
	return rc;
}

int lx_pci_ver_put(uint8_t *ser_buf, uint8_t *pages, uint32_t domain, uint16_t bdf)
{
	struct pci_ser_versioned *ver = (struct pci_ser_versioned *)ser_buf;
	struct pci_ser_chain chain;
	int rc;

	ver_load(ver, &chain);
	rc = lx_pci_chain_put((uint8_t *)&chain, pages, domain, bdf);
	ver_store(ver, &chain);
	return rc;
}

size_t lx_pci_ver_blocks(const uint8_t *ser_buf, uint8_t *pages)
{
	struct pci_ser_chain chain;

	ver_load((const struct pci_ser_versioned *)ser_buf, &chain);
	return chain_blocks(&chain, pages);
}

/* ---- The KHOIMAGE container (host-tests/src/linux/image.rs), little-endian on any host ----- */

static void put64(uint8_t *p, u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

size_t lx_image(uint8_t *out, size_t out_len, uint64_t blob_phys, const char *compatible,
		const struct lx_segment *segs, size_t n)
{
	size_t order[64], len = 80, off;

	if (n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j && segs[order[j - 1]].phys > segs[i].phys) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
		len += 16 + ALIGN(segs[i].len, 8);
	}
	if (len > out_len)
		return 0;
	memset(out, 0, len);
	memcpy(out, "KHOIMAGE", 8);
	out[8] = 1;
	out[12] = (uint8_t)n;
	put64(out + 16, blob_phys);
	put64(out + 24, PAGE_SIZE);
	if (compatible)
		copy_name((char *)out + 32, 48, compatible);
	off = 80;
	for (size_t k = 0; k < n; k++) {
		const struct lx_segment *s = &segs[order[k]];

		put64(out + off, s->phys);
		put64(out + off + 8, s->len);
		memcpy(out + off + 16, s->bytes, s->len);
		off += 16 + ALIGN(s->len, 8);
	}
	return len;
}

/* ---- The program ------------------------------------------------------------------------- */

#ifdef LX_MAIN
#include <stdio.h>
#include <stdlib.h>

static int write_file(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(bytes, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/* The samples; host-tests/tests/c_linux.rs knows the same scenarios. */
static int samples(const char *dir)
{
	static uint8_t buf[1 << 16], pages[3 * PAGE_SIZE], img[4 * PAGE_SIZE];
	static const char *const names[] = { "pci-v2", "iommu-v1", "liveupdate-test-flb-v1" };
	static const uint64_t data[] = { 0x300000, 0x301000, 0x302000 }, counts[] = { 2, 1, 3 };
	static const uint64_t phys[] = { 0x7000000, 0x5000000, 0x6000000 };
	uint8_t ser[sizeof(struct pci_ser_chain)] = { 0 };
	struct lx_segment segs[4];
	size_t len, n;
	int err = 0;

	len = lx_luo_ser(LX_LUO_V3, buf, 7, 0x100000, 0x200000);
	err |= write_file(dir, "luo-v3.bin", buf, len);
	len = lx_luo_ser(LX_LUO_V5B, buf, 8, 0x100000, 0x200000);
	err |= write_file(dir, "luo-v5-block-v1.bin", buf, len);

	lx_flb_area(buf, names, data, counts, 3);
	err |= write_file(dir, "flb.bin", buf, PAGE_SIZE);

	/* pci-v2 array: preserve four, unpreserve one, preserve one more into a hole. */
	len = lx_pci_array_init(buf, 8);
	lx_pci_array_get(buf, 0, 0x0018, 0);
	lx_pci_array_get(buf, 0, 0x3b00, 0);
	lx_pci_array_get(buf, 0x10000, 0x0100, 0);
	lx_pci_array_get(buf, 0, 0x0200, 0);
	lx_pci_array_put(buf, 0, 0x3b00);
	lx_pci_array_get(buf, 0, 0x0008, 0);
	err |= write_file(dir, "pci-v2.bin", buf, len);

	/* 23 Mar 2026 form: sorted, dense, padding zero. */
	{
		struct pci_ser_u64 *old = (struct pci_ser_u64 *)buf;

		memset(buf, 0, sizeof(*old) + 4 * sizeof(old->devices[0]));
		old->max_nr_devices = 4;
		old->nr_devices = 2;
		old->devices[0] = (struct pci_dev_ser){ .domain = 0, .bdf = 0x0018 };
		old->devices[1] = (struct pci_dev_ser){ .domain = 0x10000, .bdf = 0x0100 };
		err |= write_file(dir, "pci-v1-u64.bin", buf, sizeof(*old) + 4 * sizeof(old->devices[0]));
	}

	/* v7 pci-v2 chain: 600 devices over two blocks, every 7th unpreserved, a bridge at 3. */
	for (u32 i = 0; i < 600; i++)
		lx_pci_chain_get(ser, pages, phys, 3, 0, (u16)(i << 3), 1);
	for (u32 i = 3; i < 600; i += 7)
		lx_pci_chain_put(ser, pages, 0, (u16)(i << 3));
	lx_pci_chain_get(ser, pages, phys, 3, 0, 0x0008, 1);
	lx_pci_chain_get(ser, pages, phys, 3, 0, 0x0008, 1);
	n = lx_pci_chain_blocks(ser, pages);
	segs[0] = (struct lx_segment){ .phys = 0x1000, .bytes = ser, .len = sizeof(ser) };
	for (size_t b = 0; b < n; b++)
		segs[1 + b] = (struct lx_segment){ .phys = phys[b], .bytes = pages + b * PAGE_SIZE, .len = PAGE_SIZE };
	len = lx_image(img, sizeof(img), 0x1000, "pci-v2", segs, 1 + n);
	err |= !len || write_file(dir, "pci-chain.img", img, len);

	/* FLB "pci", version 2: 600 devices, every 7th unpreserved, a bridge preserved thrice. */
	{
		uint8_t vser[sizeof(struct pci_ser_versioned)];

		memset(pages, 0, sizeof(pages));
		lx_pci_ver_init(vser, 2);
		for (u32 i = 0; i < 600; i++)
			lx_pci_ver_get(vser, pages, phys, 3, 0, (u16)(i << 3));
		for (u32 i = 3; i < 600; i += 7)
			lx_pci_ver_put(vser, pages, 0, (u16)(i << 3));
		lx_pci_ver_get(vser, pages, phys, 3, 0, 0x0008);
		lx_pci_ver_get(vser, pages, phys, 3, 0, 0x0008);
		n = lx_pci_ver_blocks(vser, pages);
		segs[0] = (struct lx_segment){ .phys = 0x1000, .bytes = vser, .len = sizeof(vser) };
		for (size_t b = 0; b < n; b++)
			segs[1 + b] = (struct lx_segment){ .phys = phys[b], .bytes = pages + b * PAGE_SIZE, .len = PAGE_SIZE };
		len = lx_image(img, sizeof(img), 0x1000, "pci", segs, 1 + n);
		err |= !len || write_file(dir, "pci.img", img, len);
		/* and an empty version-1 blob, raw */
		lx_pci_ver_init(vser, 1);
		err |= write_file(dir, "pci-empty.bin", vser, sizeof(vser));
	}
	return err;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "layout")) {
		const struct lx_item *it;
		size_t n = lx_layout(&it);

		for (size_t i = 0; i < n; i++) {
			if (it[i].field)
				printf("%s %s %s %llu\n", it[i].kind, it[i].name, it[i].field,
				       (unsigned long long)it[i].value);
			else
				printf("%s %s %llu\n", it[i].kind, it[i].name, (unsigned long long)it[i].value);
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "samples"))
		return samples(argv[2]);
	fprintf(stderr, "usage: %s layout | samples DIR\n", argv[0]);
	return 2;
}
#endif
