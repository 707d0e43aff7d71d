// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * A portable C implementation of the records of major 1, minors 0 and 1, written from abi/SPEC.md and
 * abi/include/liveupdate_abi.h only: CRC-32C, table encoders, a verifier. Fields are
 * written and read with the little-endian byte helpers, so this is correct on any CPU.
 */
#include <string.h>

#include "liveupdate_c.h"

/* ---- CRC-32C ------------------------------------------------------------------------------ */

static uint32_t crc_step(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (LIVEUPDATE_CRC32C_POLY & (0u - (crc & 1u)));
	}
	return crc;
}

uint32_t lu_crc32c(const void *buf, size_t len)
{
	return crc_step(0xffffffffu, (const uint8_t *)buf, len) ^ 0xffffffffu;
}

uint32_t lu_record_crc(const uint8_t *rec, size_t len)
{
	static const uint8_t zero[4];
	uint32_t crc = 0xffffffffu;

	if (len < LIVEUPDATE_V1_CRC_OFFSET + 4)
		return crc_step(crc, rec, len) ^ 0xffffffffu;
	crc = crc_step(crc, rec, LIVEUPDATE_V1_CRC_OFFSET);
	crc = crc_step(crc, zero, 4);
	crc = crc_step(crc, rec + LIVEUPDATE_V1_CRC_OFFSET + 4, len - LIVEUPDATE_V1_CRC_OFFSET - 4);
	return crc ^ 0xffffffffu;
}

/* ---- Encoders ---------------------------------------------------------------------------- */

/* Zeroes the record and writes its header (CRC zero); returns its length or an lu_status. */
static long begin(uint8_t *out, size_t out_len, uint32_t magic, uint16_t minor, uint16_t entry_size,
		  uint64_t generation, uint32_t capacity, uint32_t n)
{
	uint64_t len = LIVEUPDATE_V1_HEADER_LEN + (uint64_t)capacity * entry_size;

	if (len > UINT32_MAX || n > capacity)
		return LU_E_CAPACITY;
	if (out_len < len)
		return LU_E_BUFFER;
	memset(out, 0, (size_t)len);
	liveupdate_put_le32(out + offsetof(struct liveupdate_v1_header, magic), magic);
	liveupdate_put_le16(out + offsetof(struct liveupdate_v1_header, major), LIVEUPDATE_V1_MAJOR);
	liveupdate_put_le16(out + offsetof(struct liveupdate_v1_header, minor), minor);
	liveupdate_put_le16(out + offsetof(struct liveupdate_v1_header, header_len), LIVEUPDATE_V1_HEADER_LEN);
	liveupdate_put_le16(out + offsetof(struct liveupdate_v1_header, entry_size), entry_size);
	liveupdate_put_le32(out + offsetof(struct liveupdate_v1_header, entry_count), n);
	liveupdate_put_le32(out + offsetof(struct liveupdate_v1_header, entry_capacity), capacity);
	liveupdate_put_le32(out + offsetof(struct liveupdate_v1_header, record_len), (uint32_t)len);
	liveupdate_put_le64(out + offsetof(struct liveupdate_v1_header, generation), generation);
	return (long)len;
}

static long seal(uint8_t *out, long len)
{
	liveupdate_put_le32(out + LIVEUPDATE_V1_CRC_OFFSET, lu_record_crc(out, (size_t)len));
	return len;
}

static uint64_t pci_key(uint32_t domain, uint16_t bdf)
{
	return ((uint64_t)domain << 16) | bdf;
}

/* Writes the 8 bytes every minor has; checks refcount and order. */
static int put_pci_base(uint8_t *e, const struct lu_pci_dev *dev, const struct lu_pci_dev *prev)
{
	if (dev->refcount == 0)
		return LU_E_REFCOUNT;
	if (prev && pci_key(prev->domain, prev->bdf) >= pci_key(dev->domain, dev->bdf))
		return LU_E_ORDER;
	liveupdate_put_le32(e + offsetof(struct liveupdate_v1_pci_entry, domain), dev->domain);
	liveupdate_put_le16(e + offsetof(struct liveupdate_v1_pci_entry, bdf), dev->bdf);
	liveupdate_put_le16(e + offsetof(struct liveupdate_v1_pci_entry, refcount), dev->refcount);
	return LU_OK;
}

long lu_encode_pci_table(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			 const struct lu_pci_dev *devs, uint32_t n)
{
	long len = begin(out, out_len, LIVEUPDATE_MAGIC_PCI, LIVEUPDATE_V1_MINOR,
			 LIVEUPDATE_V1_PCI_ENTRY_SIZE, generation, capacity, n);

	if (len < 0)
		return len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = out + LIVEUPDATE_V1_HEADER_LEN + (size_t)i * LIVEUPDATE_V1_PCI_ENTRY_SIZE;
		int err = put_pci_base(e, &devs[i], i ? &devs[i - 1] : NULL);

		if (err)
			return err;
	}
	return seal(out, len);
}

/* The identity and flags checks of a minor-1 PCI entry (SPEC 11.1.5), newer: of a newer minor. */
static int pci_ext_check(uint16_t vendor, uint16_t device, uint32_t class_code, uint32_t flags,
			 uint32_t reserved, int newer)
{
	const uint32_t known = LIVEUPDATE_V1_1_PCI_BRIDGE | LIVEUPDATE_V1_1_PCI_DESCENDANT |
			       LIVEUPDATE_V1_1_PCI_BUS_MASTER;

	if (vendor == 0) {
		if (device || (newer ? class_code & LIVEUPDATE_V1_1_PCI_CLASS_MASK : class_code))
			return LU_E_IDENTITY;
	} else if (vendor == 0xffff || (!newer && class_code > LIVEUPDATE_V1_1_PCI_CLASS_MASK)) {
		return LU_E_IDENTITY;
	}
	if (!newer && (flags & ~known))
		return LU_E_FLAGS;
	if (!newer && reserved)
		return LU_E_RESERVED;
	if ((flags & LIVEUPDATE_V1_1_PCI_DESCENDANT) && !(flags & LIVEUPDATE_V1_1_PCI_BRIDGE))
		return LU_E_DESCENDANT;
	return LU_OK;
}

long lu_encode_pci_table_v1_1(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			      const struct lu_pci_dev_v1_1 *devs, uint32_t n)
{
	long len = begin(out, out_len, LIVEUPDATE_MAGIC_PCI, LIVEUPDATE_V1_1_MINOR,
			 LIVEUPDATE_V1_1_PCI_ENTRY_SIZE, generation, capacity, n);
	uint32_t ro_compat = 0;

	if (len < 0)
		return len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = out + LIVEUPDATE_V1_HEADER_LEN + (size_t)i * LIVEUPDATE_V1_1_PCI_ENTRY_SIZE;
		const struct lu_pci_dev_v1_1 *d = &devs[i];
		struct lu_pci_dev base = { d->domain, d->bdf, d->refcount };
		struct lu_pci_dev prev = { 0, 0, 0 };
		int err;

		if (i)
			prev = (struct lu_pci_dev){ devs[i - 1].domain, devs[i - 1].bdf, devs[i - 1].refcount };
		err = put_pci_base(e, &base, i ? &prev : NULL);
		if (!err)
			err = pci_ext_check(d->vendor_id, d->device_id, d->class_code, d->flags, 0, 0);
		if (err)
			return err;
		liveupdate_put_le16(e + offsetof(struct liveupdate_v1_1_pci_entry, vendor_id), d->vendor_id);
		liveupdate_put_le16(e + offsetof(struct liveupdate_v1_1_pci_entry, device_id), d->device_id);
		liveupdate_put_le32(e + offsetof(struct liveupdate_v1_1_pci_entry, class_code), d->class_code);
		liveupdate_put_le32(e + offsetof(struct liveupdate_v1_1_pci_entry, flags), d->flags);
		if (d->flags & LIVEUPDATE_V1_1_PCI_DESCENDANT)
			ro_compat = LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY;
	}
	liveupdate_put_le32(out + offsetof(struct liveupdate_v1_1_header, ro_compat), ro_compat);
	return seal(out, len);
}

/* A name field: 1..47 printable ASCII bytes, NUL, zeroes. */
static int name_ok(const uint8_t *field)
{
	size_t len = 0;

	while (len < LIVEUPDATE_FLB_NAME_LEN && field[len])
		len++;
	if (len == 0 || len == LIVEUPDATE_FLB_NAME_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (field[i] < 0x21 || field[i] > 0x7e)
			return 0;
	for (size_t i = len; i < LIVEUPDATE_FLB_NAME_LEN; i++)
		if (field[i])
			return 0;
	return 1;
}

static long encode_flb(uint8_t *out, size_t out_len, uint16_t minor, uint64_t generation,
		       uint32_t capacity, const struct lu_flb *flbs, uint32_t n)
{
	long len = begin(out, out_len, LIVEUPDATE_MAGIC_FLB, minor, LIVEUPDATE_V1_FLB_ENTRY_SIZE,
			 generation, capacity, n);

	if (len < 0)
		return len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = out + LIVEUPDATE_V1_HEADER_LEN + (size_t)i * LIVEUPDATE_V1_FLB_ENTRY_SIZE;
		size_t name_len = strlen(flbs[i].name);

		if (name_len >= LIVEUPDATE_FLB_NAME_LEN)
			return LU_E_NAME;
		memcpy(e + offsetof(struct liveupdate_v1_flb_entry, name), flbs[i].name, name_len);
		if (!name_ok(e))
			return LU_E_NAME;
		if (i && memcmp(e - LIVEUPDATE_V1_FLB_ENTRY_SIZE, e, LIVEUPDATE_FLB_NAME_LEN) >= 0)
			return LU_E_ORDER;
		if (flbs[i].file_count == 0)
			return LU_E_FILE_COUNT;
		if (flbs[i].flags & ~LIVEUPDATE_V1_FLB_DATA_IS_PHYS)
			return LU_E_FLAGS;
		liveupdate_put_le64(e + offsetof(struct liveupdate_v1_flb_entry, data), flbs[i].data);
		liveupdate_put_le64(e + offsetof(struct liveupdate_v1_flb_entry, file_count), flbs[i].file_count);
		liveupdate_put_le32(e + offsetof(struct liveupdate_v1_flb_entry, flags), flbs[i].flags);
	}
	return seal(out, len);
}

long lu_encode_flb_table(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			 const struct lu_flb *flbs, uint32_t n)
{
	return encode_flb(out, out_len, LIVEUPDATE_V1_MINOR, generation, capacity, flbs, n);
}

/* Minor 1 keeps the FLB entry of minor 0; only the minor field differs. */
long lu_encode_flb_table_v1_1(uint8_t *out, size_t out_len, uint64_t generation, uint32_t capacity,
			      const struct lu_flb *flbs, uint32_t n)
{
	return encode_flb(out, out_len, LIVEUPDATE_V1_1_MINOR, generation, capacity, flbs, n);
}

/* ---- Verifier -------------------------------------------------------------------------------- */

static int all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return 0;
	return 1;
}

/* Exact for a minor this code knows; at least known, a multiple of 8, bounded, for a newer one. */
static int size_ok(uint16_t found, uint16_t known, int newer)
{
	if (!newer)
		return found == known;
	return found >= known && found <= LIVEUPDATE_MAX_SIZE_FIELD && found % 8 == 0;
}

/*
 * The checks of one entry of a record of minor `minor` (newer: above this code's minor 1).
 * Sets *descendant for a PCI entry with DESCENDANT (minor 1 on).
 */
static int check_entry(uint32_t magic, uint16_t minor, const uint8_t *e, const uint8_t *prev,
		       int newer, int *descendant)
{
	if (magic == LIVEUPDATE_MAGIC_PCI) {
		uint32_t domain = liveupdate_get_le32(e + offsetof(struct liveupdate_v1_pci_entry, domain));
		uint16_t bdf = liveupdate_get_le16(e + offsetof(struct liveupdate_v1_pci_entry, bdf));
		uint32_t flags;
		int err;

		if (!liveupdate_get_le16(e + offsetof(struct liveupdate_v1_pci_entry, refcount)))
			return LU_E_REFCOUNT;
		if (prev && pci_key(liveupdate_get_le32(prev), liveupdate_get_le16(prev + 4)) >= pci_key(domain, bdf))
			return LU_E_ORDER;
		if (minor < LIVEUPDATE_V1_1_MINOR)
			return LU_OK;
		flags = liveupdate_get_le32(e + offsetof(struct liveupdate_v1_1_pci_entry, flags));
		err = pci_ext_check(liveupdate_get_le16(e + offsetof(struct liveupdate_v1_1_pci_entry, vendor_id)),
				    liveupdate_get_le16(e + offsetof(struct liveupdate_v1_1_pci_entry, device_id)),
				    liveupdate_get_le32(e + offsetof(struct liveupdate_v1_1_pci_entry, class_code)),
				    flags,
				    liveupdate_get_le32(e + offsetof(struct liveupdate_v1_1_pci_entry, reserved)),
				    newer);
		if (err)
			return err;
		if (flags & LIVEUPDATE_V1_1_PCI_DESCENDANT)
			*descendant = 1;
	} else if (magic == LIVEUPDATE_MAGIC_FLB) {
		if (!name_ok(e))
			return LU_E_NAME;
		if (!liveupdate_get_le64(e + offsetof(struct liveupdate_v1_flb_entry, file_count)))
			return LU_E_FILE_COUNT;
		if (!newer && (liveupdate_get_le32(e + offsetof(struct liveupdate_v1_flb_entry, flags)) &
			       ~LIVEUPDATE_V1_FLB_DATA_IS_PHYS))
			return LU_E_FLAGS;
		if (!newer && liveupdate_get_le32(e + offsetof(struct liveupdate_v1_flb_entry, reserved)))
			return LU_E_RESERVED;
		if (prev && memcmp(prev, e, LIVEUPDATE_FLB_NAME_LEN) >= 0)
			return LU_E_ORDER;
	}
	return LU_OK;
}

int lu_verify_record(const uint8_t *rec, size_t len, uint32_t magic, struct lu_record_info *info)
{
	struct lu_record_info r;
	uint32_t incompat, ro_compat, known_incompat = 0, known_ro_compat = 0;
	uint16_t known, minor;
	int newer, descendant = 0;

	/* SPEC section 6, steps 1 to 7: nothing handed over, another kind, another major. */
	if (len == 0)
		return LU_E_NO_RECORD;
	if (len < 4)
		return LU_E_SHORT;
	r.magic = liveupdate_get_le32(rec);
	if (r.magic == 0)
		return LU_E_NO_RECORD;
	if (r.magic != magic)
		return LU_E_MAGIC;
	if (len < offsetof(struct liveupdate_v1_header, minor))
		return LU_E_SHORT;
	r.major = liveupdate_get_le16(rec + offsetof(struct liveupdate_v1_header, major));
	if (r.major != LIVEUPDATE_V1_MAJOR)
		return LU_E_MAJOR;
	if (len < LIVEUPDATE_V1_HEADER_LEN)
		return LU_E_SHORT;
	r.minor = liveupdate_get_le16(rec + offsetof(struct liveupdate_v1_header, minor));
	r.header_len = liveupdate_get_le16(rec + offsetof(struct liveupdate_v1_header, header_len));
	r.entry_size = liveupdate_get_le16(rec + offsetof(struct liveupdate_v1_header, entry_size));
	r.entry_count = liveupdate_get_le32(rec + offsetof(struct liveupdate_v1_header, entry_count));
	r.entry_capacity = liveupdate_get_le32(rec + offsetof(struct liveupdate_v1_header, entry_capacity));
	r.record_len = liveupdate_get_le32(rec + offsetof(struct liveupdate_v1_header, record_len));
	r.generation = liveupdate_get_le64(rec + offsetof(struct liveupdate_v1_header, generation));
	r.crc = liveupdate_get_le32(rec + LIVEUPDATE_V1_CRC_OFFSET);
	/* Checked against the sizes and bits of its own minor, or of ours (1) when newer. */
	newer = r.minor > LIVEUPDATE_V1_1_MINOR;
	minor = newer ? LIVEUPDATE_V1_1_MINOR : r.minor;
	known = magic == LIVEUPDATE_MAGIC_PCI
			? (minor ? LIVEUPDATE_V1_1_PCI_ENTRY_SIZE : LIVEUPDATE_V1_PCI_ENTRY_SIZE)
		: magic == LIVEUPDATE_MAGIC_FLB ? LIVEUPDATE_V1_FLB_ENTRY_SIZE
						: LIVEUPDATE_V1_DIR_ENTRY_SIZE;
	if (!size_ok(r.header_len, LIVEUPDATE_V1_HEADER_LEN, newer))
		return LU_E_HEADER_LEN;
	if (!size_ok(r.entry_size, known, newer))
		return LU_E_ENTRY_SIZE;
	if (r.entry_count > r.entry_capacity)
		return LU_E_COUNT;
	if ((uint64_t)r.header_len + (uint64_t)r.entry_capacity * r.entry_size != r.record_len)
		return LU_E_RECORD_LEN;
	if (len < r.record_len)
		return LU_E_SHORT;
	if (len != r.record_len)
		return LU_E_LENGTH;
	if (lu_record_crc(rec, len) != r.crc)
		return LU_E_CRC;
	/* The feature bits of minor 1, for the kinds that define them. */
	if (minor >= LIVEUPDATE_V1_1_MINOR && magic != LIVEUPDATE_MAGIC_ROOT)
		known_incompat = LIVEUPDATE_V1_1_INCOMPAT_CHAINED;
	if (minor >= LIVEUPDATE_V1_1_MINOR && magic == LIVEUPDATE_MAGIC_PCI)
		known_ro_compat = LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY;
	incompat = liveupdate_get_le32(rec + offsetof(struct liveupdate_v1_header, incompat));
	ro_compat = liveupdate_get_le32(rec + offsetof(struct liveupdate_v1_header, ro_compat));
	if (incompat & ~known_incompat)
		return LU_E_FEATURES;
	if (!newer) {
		size_t from = incompat & LIVEUPDATE_V1_1_INCOMPAT_CHAINED
				      ? offsetof(struct liveupdate_v1_1_header, reserved)
				      : offsetof(struct liveupdate_v1_header, reserved);

		if (!all_zero(rec + from, LIVEUPDATE_V1_HEADER_LEN - from))
			return LU_E_RESERVED;
	}
	{
		size_t used = r.header_len + (size_t)r.entry_count * r.entry_size;

		if (!all_zero(rec + used, len - used))
			return LU_E_RESERVED;
		for (uint32_t i = 0; i < r.entry_count; i++) {
			const uint8_t *e = rec + r.header_len + (size_t)i * r.entry_size;
			int err = check_entry(magic, minor, e, i ? e - r.entry_size : NULL, newer,
					      &descendant);

			if (err)
				return err;
		}
	}
	/* HIERARCHY exactly when an entry has DESCENDANT. */
	if ((ro_compat & known_ro_compat) != (descendant ? LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY : 0))
		return LU_E_RO_COMPAT;
	if (incompat & LIVEUPDATE_V1_1_INCOMPAT_CHAINED)
		return LU_E_CHAINED;
	r.read_only = (ro_compat & ~known_ro_compat) != 0;
	if (info)
		*info = r;
	return LU_OK;
}

/* ---- Layout report ----------------------------------------------------------------------- */

#define SZ(s) { "sizeof " #s, sizeof(struct s) }
#define OFF(s, f) { "offsetof " #s " " #f, offsetof(struct s, f) }
#define FSZ(s, f) { "fieldsize " #s " " #f, sizeof(((struct s *)0)->f) }
#define CONST(c) { "const " #c, (c) }

static const struct {
	const char *name;
	uint64_t value;
} layout[] = {
	SZ(liveupdate_v1_header),
	OFF(liveupdate_v1_header, magic),
	OFF(liveupdate_v1_header, major),
	OFF(liveupdate_v1_header, minor),
	OFF(liveupdate_v1_header, header_len),
	OFF(liveupdate_v1_header, entry_size),
	OFF(liveupdate_v1_header, entry_count),
	OFF(liveupdate_v1_header, entry_capacity),
	OFF(liveupdate_v1_header, record_len),
	OFF(liveupdate_v1_header, generation),
	OFF(liveupdate_v1_header, compat),
	OFF(liveupdate_v1_header, ro_compat),
	OFF(liveupdate_v1_header, incompat),
	OFF(liveupdate_v1_header, crc),
	OFF(liveupdate_v1_header, reserved),
	FSZ(liveupdate_v1_header, reserved),
	SZ(liveupdate_v1_dir_entry),
	OFF(liveupdate_v1_dir_entry, kind),
	OFF(liveupdate_v1_dir_entry, crc),
	OFF(liveupdate_v1_dir_entry, phys_addr),
	OFF(liveupdate_v1_dir_entry, length),
	OFF(liveupdate_v1_dir_entry, reserved),
	FSZ(liveupdate_v1_dir_entry, reserved),
	SZ(liveupdate_v1_flb_entry),
	OFF(liveupdate_v1_flb_entry, name),
	FSZ(liveupdate_v1_flb_entry, name),
	OFF(liveupdate_v1_flb_entry, data),
	OFF(liveupdate_v1_flb_entry, file_count),
	OFF(liveupdate_v1_flb_entry, flags),
	OFF(liveupdate_v1_flb_entry, reserved),
	FSZ(liveupdate_v1_flb_entry, reserved),
	SZ(liveupdate_v1_pci_entry),
	OFF(liveupdate_v1_pci_entry, domain),
	OFF(liveupdate_v1_pci_entry, bdf),
	OFF(liveupdate_v1_pci_entry, refcount),
	SZ(liveupdate_v1_1_header),
	OFF(liveupdate_v1_1_header, next_block),
	OFF(liveupdate_v1_1_header, block_index),
	OFF(liveupdate_v1_1_header, reserved),
	FSZ(liveupdate_v1_1_header, reserved),
	SZ(liveupdate_v1_1_pci_entry),
	OFF(liveupdate_v1_1_pci_entry, domain),
	OFF(liveupdate_v1_1_pci_entry, bdf),
	OFF(liveupdate_v1_1_pci_entry, refcount),
	OFF(liveupdate_v1_1_pci_entry, vendor_id),
	OFF(liveupdate_v1_1_pci_entry, device_id),
	OFF(liveupdate_v1_1_pci_entry, class_code),
	OFF(liveupdate_v1_1_pci_entry, flags),
	OFF(liveupdate_v1_1_pci_entry, reserved),
	FSZ(liveupdate_v1_1_pci_entry, reserved),
	CONST(LIVEUPDATE_MAGIC_ROOT),
	CONST(LIVEUPDATE_MAGIC_FLB),
	CONST(LIVEUPDATE_MAGIC_PCI),
	CONST(LIVEUPDATE_CRC32C_POLY),
	CONST(LIVEUPDATE_CRC32C_CHECK),
	CONST(LIVEUPDATE_MAX_SIZE_FIELD),
	CONST(LIVEUPDATE_V1_MAJOR),
	CONST(LIVEUPDATE_V1_MINOR),
	CONST(LIVEUPDATE_V1_HEADER_LEN),
	CONST(LIVEUPDATE_V1_CRC_OFFSET),
	CONST(LIVEUPDATE_V1_DIR_ENTRY_SIZE),
	CONST(LIVEUPDATE_V1_FLB_ENTRY_SIZE),
	CONST(LIVEUPDATE_V1_PCI_ENTRY_SIZE),
	CONST(LIVEUPDATE_FLB_NAME_LEN),
	CONST(LIVEUPDATE_V1_FLB_DATA_IS_PHYS),
	CONST(LIVEUPDATE_V1_1_MINOR),
	CONST(LIVEUPDATE_V1_1_RO_COMPAT_HIERARCHY),
	CONST(LIVEUPDATE_V1_1_INCOMPAT_CHAINED),
	CONST(LIVEUPDATE_V1_1_MAX_BLOCKS),
	CONST(LIVEUPDATE_V1_1_PCI_BRIDGE),
	CONST(LIVEUPDATE_V1_1_PCI_DESCENDANT),
	CONST(LIVEUPDATE_V1_1_PCI_BUS_MASTER),
	CONST(LIVEUPDATE_V1_1_PCI_CLASS_MASK),
	CONST(LIVEUPDATE_V1_1_PCI_ENTRY_SIZE),
};

size_t lu_layout_count(void)
{
	return sizeof(layout) / sizeof(layout[0]);
}

const char *lu_layout_name(size_t i)
{
	return i < lu_layout_count() ? layout[i].name : NULL;
}

uint64_t lu_layout_value(size_t i)
{
	return i < lu_layout_count() ? layout[i].value : 0;
}

const char *lu_kho_name(void)
{
	return LIVEUPDATE_KHO_NAME;
}
