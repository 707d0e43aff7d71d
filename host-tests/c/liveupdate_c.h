/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * A portable C implementation of the records of major 1, minors 0 and 1 (ABI 1.0 and 1.1):
 * CRC-32C, encoders for the PCI and FLB tables, a verifier, and a report of the layout. Only <stdint.h>/<stddef.h>/
 * <string.h>: usable in a kernel or a boot stub. Tested against the Rust crate by
 * host-tests/tests/c_abi.rs.
 */
#ifndef LIVEUPDATE_C_H
#define LIVEUPDATE_C_H

#include "liveupdate_abi.h"

/* Return codes: 0 or a length on success, one of these on failure. */
enum lu_status {
	LU_OK = 0,
	LU_E_SHORT = -1,       /* input shorter than the record */
	LU_E_MAGIC = -2,       /* magic is not the expected kind */
	LU_E_MAJOR = -3,       /* major version is not 1 */
	LU_E_HEADER_LEN = -4,  /* header_len invalid for the minor */
	LU_E_ENTRY_SIZE = -5,  /* entry_size invalid for the minor */
	LU_E_COUNT = -6,       /* entry_count > entry_capacity */
	LU_E_RECORD_LEN = -7,  /* record_len != header_len + capacity * entry_size */
	LU_E_LENGTH = -8,      /* input length != record_len */
	LU_E_CRC = -9,         /* CRC-32C mismatch */
	LU_E_RESERVED = -10,   /* reserved byte or unused slot not zero */
	LU_E_ORDER = -11,      /* entries not strictly ascending */
	LU_E_REFCOUNT = -12,   /* PCI refcount 0 */
	LU_E_NAME = -13,       /* FLB name not printable, empty, unterminated or not padded */
	LU_E_FILE_COUNT = -14, /* FLB file_count 0 */
	LU_E_FLAGS = -15,      /* unknown FLB or PCI flags */
	LU_E_CAPACITY = -16,   /* more entries than the capacity */
	LU_E_BUFFER = -17,     /* output buffer too small */
	LU_E_FEATURES = -18,   /* unknown incompatible features */
	LU_E_IDENTITY = -19,   /* PCI identity: incomplete, vendor 0xffff, or class code > 24 bits */
	LU_E_DESCENDANT = -20, /* PCI DESCENDANT without BRIDGE */
	LU_E_RO_COMPAT = -21,  /* HIERARCHY set but no entry has DESCENDANT, or the reverse */
	LU_E_CHAINED = -22,    /* a block of a chained table: not a whole table on its own */
	LU_E_NO_RECORD = -23,  /* empty input or magic 0: nothing was handed over */
};

/* One device or FLB to encode. */
struct lu_pci_dev {
	uint32_t domain;
	uint16_t bdf;
	uint16_t refcount;
};

/* One device to encode at minor 1: vendor_id 0 means identity unknown (all three 0). */
struct lu_pci_dev_v1_1 {
	uint32_t domain;
	uint16_t bdf;
	uint16_t refcount;
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;
	uint32_t flags; /* LIVEUPDATE_V1_1_PCI_* */
};

struct lu_flb {
	const char *name;
	uint64_t data;
	uint64_t file_count;
	uint32_t flags;
};

/* What lu_verify_record() read. */
struct lu_record_info {
	uint32_t magic;
	uint16_t major, minor, header_len, entry_size;
	uint32_t entry_count, entry_capacity, record_len;
	uint64_t generation;
	uint32_t crc;
	uint32_t read_only; /* ro_compat has bits this code does not know: read, do not rewrite */
};

/* CRC-32C of len bytes (bitwise, no table). */
uint32_t lu_crc32c(const void *buf, size_t len);

/* CRC-32C of a record of len bytes, its crc field (offset 44) taken as zero. */
uint32_t lu_record_crc(const uint8_t *rec, size_t len);

/*
 * Encode a PCI / FLB table with room for capacity entries into out: entries must be sorted
 * as the format requires. The plain functions write minor 0 (what a v1.0 kernel writes),
 * the _v1_1 ones minor 1 (one record, never a chain; HIERARCHY set iff an entry has
 * DESCENDANT). Returns the record length or an lu_status.
 */
long lu_encode_pci_table(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			 const struct lu_pci_dev *devs, uint32_t n);
long lu_encode_flb_table(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			 const struct lu_flb *flbs, uint32_t n);
long lu_encode_pci_table_v1_1(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			      const struct lu_pci_dev_v1_1 *devs, uint32_t n);
long lu_encode_flb_table_v1_1(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			      const struct lu_flb *flbs, uint32_t n);

/*
 * Verify a whole record of kind magic (LIVEUPDATE_MAGIC_PCI or _FLB, or _ROOT for the
 * header checks only): header, CRC, entries, in the order of abi/SPEC.md section 6 (so the
 * status is the Rust decoder's error, told coarser), as a reader of minor 1 (a record of minor 0
 * exactly as a v1.0 reader). A block of a chained table is refused (LU_E_CHAINED): the chain
 * is the table. Fills *info (may be NULL). Returns LU_OK or an lu_status.
 */
int lu_verify_record(const uint8_t *rec, size_t len, uint32_t magic, struct lu_record_info *info);

/* The layout this C compiler sees: lu_layout_count() items "kind name [field]" = value. */
size_t lu_layout_count(void);
const char *lu_layout_name(size_t i);
uint64_t lu_layout_value(size_t i);
const char *lu_kho_name(void);

#endif /* LIVEUPDATE_C_H */
