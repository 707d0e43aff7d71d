/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * liveupdate_abi.h - C declarations of the liveupdate records (crate liveupdate-abi).
 *
 * The Rust crate is the reference; abi/SPEC.md is the byte-level specification. A test
 * (host-tests/tests/c_abi.rs) compiles this header and checks every size, offset and
 * constant below against the Rust definitions, and exchanges records both ways.
 *
 * Byte order: every multi-byte field is LITTLE-ENDIAN, whatever the CPU. The structs
 * below describe the layout; on a little-endian CPU their fields can be read directly,
 * elsewhere use the liveupdate_get_le*() / liveupdate_put_le*() helpers.
 *
 * Alignment: every field is naturally aligned when the record starts on an 8-byte
 * boundary (header_len and entry_size are multiples of 8), as KHO allocations are. A
 * record at any other address must be read with the byte helpers, not through these
 * structs.
 *
 * Versions: names carry the major version (liveupdate_v1_*, LIVEUPDATE_V1_*), and what a
 * minor added its minor too (liveupdate_v1_1_*, LIVEUPDATE_V1_1_*: wire version 1.1), so a later
 * version's declarations can sit beside these. Magics and the CRC do not depend on the
 * version. A v1 reader accepts any minor of major 1: a newer minor may grow header_len
 * and entry_size (read the recorded sizes, skip what you do not know).
 */
#ifndef LIVEUPDATE_ABI_H
#define LIVEUPDATE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Common to every version ------------------------------------------------------- */

/* Record kinds: four ASCII bytes stored as a little-endian u32 ("LUOR" reads 4c 55 4f 52). */
#define LIVEUPDATE_MAGIC_ROOT 0x524f554cu /* "LUOR" */
#define LIVEUPDATE_MAGIC_FLB 0x464f554cu  /* "LUOF" */
#define LIVEUPDATE_MAGIC_PCI 0x504f554cu  /* "LUOP" */

/* The KHO subtree name under which the root record is registered. */
#define LIVEUPDATE_KHO_NAME "liveupdate"

/*
 * CRC-32C (Castagnoli): reflected polynomial 0x82f63b78, initial value and final XOR
 * 0xffffffff; CRC-32C("123456789") = 0xe3069283. A record's CRC covers record_len bytes,
 * header included, with the 4 bytes of the crc field taken as zero.
 */
#define LIVEUPDATE_CRC32C_POLY 0x82f63b78u
#define LIVEUPDATE_CRC32C_CHECK 0xe3069283u

/* Largest header_len or entry_size a newer minor may record (a multiple of 8). */
#define LIVEUPDATE_MAX_SIZE_FIELD 0xfff8u

/* ---- Major version 1 ------------------------------------------------------------------ */

#define LIVEUPDATE_V1_MAJOR 1u
#define LIVEUPDATE_V1_MINOR 0u

/*
 * The header at offset 0 of every record, followed by entry_capacity entries of
 * entry_size bytes, the first entry_count in use and the rest zero.
 */
struct liveupdate_v1_header {
	uint32_t magic;          /* LIVEUPDATE_MAGIC_* */
	uint16_t major;          /* LIVEUPDATE_V1_MAJOR */
	uint16_t minor;          /* any; this version writes LIVEUPDATE_V1_MINOR */
	uint16_t header_len;     /* bytes before the first entry */
	uint16_t entry_size;     /* bytes from one entry to the next */
	uint32_t entry_count;    /* entries in use */
	uint32_t entry_capacity; /* entry slots */
	uint32_t record_len;     /* header_len + entry_capacity * entry_size */
	uint64_t generation;     /* live-update sequence number */
	uint32_t compat;         /* feature bits a reader may ignore */
	uint32_t ro_compat;      /* unknown bits: read, do not rewrite */
	uint32_t incompat;       /* unknown bits: refuse */
	uint32_t crc;            /* CRC-32C of the record, this field as zero */
	uint8_t reserved[16];    /* zero */
};

#define LIVEUPDATE_V1_HEADER_LEN 64u
#define LIVEUPDATE_V1_CRC_OFFSET 44u

/* Root record entry: where one record lives and what it must hash to. */
struct liveupdate_v1_dir_entry {
	uint32_t kind;      /* the referenced record's magic */
	uint32_t crc;       /* its stored CRC-32C */
	uint64_t phys_addr; /* physical address of its first byte */
	uint32_t length;    /* its record_len */
	uint32_t reserved;  /* zero */
};

#define LIVEUPDATE_V1_DIR_ENTRY_SIZE 24u

/* FLB table entry, sorted by name (bytewise), names unique. */
#define LIVEUPDATE_FLB_NAME_LEN 48u
#define LIVEUPDATE_V1_FLB_DATA_IS_PHYS (1u << 0)

struct liveupdate_v1_flb_entry {
	char name[LIVEUPDATE_FLB_NAME_LEN]; /* printable ASCII, NUL-terminated, zero-padded */
	uint64_t data;                      /* the handle preserve() returned */
	uint64_t file_count;                /* dependent files, at least 1 */
	uint32_t flags;                     /* LIVEUPDATE_V1_FLB_* */
	uint32_t reserved;                  /* zero */
};

#define LIVEUPDATE_V1_FLB_ENTRY_SIZE 72u

/* PCI table entry, sorted strictly by (domain << 16 | bdf). */
struct liveupdate_v1_pci_entry {
	uint32_t domain;   /* PCI segment */
	uint16_t bdf;      /* bus << 8 | device << 3 | function */
	uint16_t refcount; /* at least 1 */
};

#define LIVEUPDATE_V1_PCI_ENTRY_SIZE 8u

/* ---- Minor 1 of major 1 (wire version 1.1; abi/SPEC.md section 11.1) --------- */

/*
 * Minor 1 only adds: the same header (its bytes 48..63 get a meaning under CHAINED), the
 * same root and FLB entries, and PCI entries of 24 bytes (the 8 of minor 0, then identity
 * and flags). A v1.0 reader strides over what it does not know; a v1.1 reader checks a
 * record of minor 0 exactly as a v1.0 reader does.
 */
#define LIVEUPDATE_V1_1_MINOR 1u

/* Feature bits, defined only in records of minor 1 or later, of the kinds named. */
#define LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY (1u << 0) /* PCI: set iff an entry has DESCENDANT */
#define LIVEUPDATE_V1_1_INCOMPAT_CHAINED (1u << 0)    /* FLB, PCI: one block of a chained table */

/* A chained table has 2 to this many blocks, at ascending, disjoint addresses. */
#define LIVEUPDATE_V1_1_MAX_BLOCKS 4096u

/* The header at minor 1: liveupdate_v1_header with bytes 48..63 named. */
struct liveupdate_v1_1_header {
	uint32_t magic;
	uint16_t major;
	uint16_t minor;          /* LIVEUPDATE_V1_1_MINOR */
	uint16_t header_len;
	uint16_t entry_size;
	uint32_t entry_count;
	uint32_t entry_capacity;
	uint32_t record_len;
	uint64_t generation;
	uint32_t compat;
	uint32_t ro_compat;      /* LIVEUPDATE_V1_1_RO_COMPAT_* */
	uint32_t incompat;       /* LIVEUPDATE_V1_1_INCOMPAT_* */
	uint32_t crc;
	uint64_t next_block;     /* CHAINED: physical address of the next block, 0 in the last */
	uint32_t block_index;    /* CHAINED: position in the chain, from 0 */
	uint32_t reserved;       /* zero */
};

/* PCI table entry at minor 1, sorted strictly by (domain << 16 | bdf) as at minor 0. */
#define LIVEUPDATE_V1_1_PCI_BRIDGE (1u << 0)     /* the function is a bridge (header type 1) */
#define LIVEUPDATE_V1_1_PCI_DESCENDANT (1u << 1) /* preserved for devices below it; needs BRIDGE */
#define LIVEUPDATE_V1_1_PCI_BUS_MASTER (1u << 2) /* bus mastering was enabled */
#define LIVEUPDATE_V1_1_PCI_CLASS_MASK 0x00ffffffu

struct liveupdate_v1_1_pci_entry {
	uint32_t domain;
	uint16_t bdf;
	uint16_t refcount;   /* at least 1; under DESCENDANT, also one per preserved device below */
	uint16_t vendor_id;  /* 0: identity unknown (device_id and class_code 0 too); never 0xffff */
	uint16_t device_id;
	uint32_t class_code; /* base class << 16 | sub-class << 8 | prog-if; bits 24..31 zero */
	uint32_t flags;      /* LIVEUPDATE_V1_1_PCI_* */
	uint32_t reserved;   /* zero */
};

#define LIVEUPDATE_V1_1_PCI_ENTRY_SIZE 24u

/* ---- Layout checks ------------------------------------------------------------------- */

#if defined(__cplusplus)
#define LIVEUPDATE_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define LIVEUPDATE_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_header) == LIVEUPDATE_V1_HEADER_LEN, "header size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, magic) == 0, "magic");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, major) == 4, "major");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, minor) == 6, "minor");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, header_len) == 8, "header_len");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, entry_size) == 10, "entry_size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, entry_count) == 12, "entry_count");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, entry_capacity) == 16, "entry_capacity");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, record_len) == 20, "record_len");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, generation) == 24, "generation");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, compat) == 32, "compat");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, ro_compat) == 36, "ro_compat");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, incompat) == 40, "incompat");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, crc) == LIVEUPDATE_V1_CRC_OFFSET, "crc");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_header, reserved) == 48, "reserved");

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_dir_entry) == LIVEUPDATE_V1_DIR_ENTRY_SIZE, "dir entry size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_dir_entry, kind) == 0, "kind");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_dir_entry, crc) == 4, "dir crc");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_dir_entry, phys_addr) == 8, "phys_addr");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_dir_entry, length) == 16, "length");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_dir_entry, reserved) == 20, "dir reserved");

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_flb_entry) == LIVEUPDATE_V1_FLB_ENTRY_SIZE, "flb entry size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_flb_entry, name) == 0, "name");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_flb_entry, data) == 48, "data");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_flb_entry, file_count) == 56, "file_count");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_flb_entry, flags) == 64, "flags");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_flb_entry, reserved) == 68, "flb reserved");

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_pci_entry) == LIVEUPDATE_V1_PCI_ENTRY_SIZE, "pci entry size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_pci_entry, domain) == 0, "domain");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_pci_entry, bdf) == 4, "bdf");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_pci_entry, refcount) == 6, "refcount");

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_1_header) == LIVEUPDATE_V1_HEADER_LEN, "v1.1 header size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_header, crc) == LIVEUPDATE_V1_CRC_OFFSET, "v1.1 crc");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_header, next_block) == 48, "next_block");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_header, block_index) == 56, "block_index");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_header, reserved) == 60, "v1.1 reserved");

LIVEUPDATE_STATIC_ASSERT(sizeof(struct liveupdate_v1_1_pci_entry) == LIVEUPDATE_V1_1_PCI_ENTRY_SIZE, "v1.1 pci entry size");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, domain) == 0, "v1.1 domain");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, bdf) == 4, "v1.1 bdf");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, refcount) == 6, "v1.1 refcount");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, vendor_id) == 8, "vendor_id");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, device_id) == 10, "device_id");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, class_code) == 12, "class_code");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, flags) == 16, "pci flags");
LIVEUPDATE_STATIC_ASSERT(offsetof(struct liveupdate_v1_1_pci_entry, reserved) == 20, "pci reserved");

/* ---- Byte-order helpers (any CPU, any alignment) --------------------------------------- */

static inline uint16_t liveupdate_get_le16(const void *p)
{
	const uint8_t *b = (const uint8_t *)p;
	return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t liveupdate_get_le32(const void *p)
{
	const uint8_t *b = (const uint8_t *)p;
	return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static inline uint64_t liveupdate_get_le64(const void *p)
{
	const uint8_t *b = (const uint8_t *)p;
	return (uint64_t)liveupdate_get_le32(b) | ((uint64_t)liveupdate_get_le32(b + 4) << 32);
}

static inline void liveupdate_put_le16(void *p, uint16_t v)
{
	uint8_t *b = (uint8_t *)p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void liveupdate_put_le32(void *p, uint32_t v)
{
	uint8_t *b = (uint8_t *)p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void liveupdate_put_le64(void *p, uint64_t v)
{
	liveupdate_put_le32(p, (uint32_t)v);
	liveupdate_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#ifdef __cplusplus
}
#endif

#endif /* LIVEUPDATE_ABI_H */
