//! Fixed-size, NUL-terminated string fields, as upstream stores compatibles and names.

use crate::linux::error::NameFault;

/// The length of the string in `field`: the position of its first NUL.
pub(crate) fn terminated(field: &[u8]) -> Result<usize, NameFault> {
    field
        .iter()
        .position(|&b| b == 0)
        .ok_or(NameFault::Unterminated)
}

/// Checks a string: non-empty printable ASCII. Returns it.
pub(crate) fn printable(text: &[u8]) -> Result<&str, NameFault> {
    if text.is_empty() {
        return Err(NameFault::Empty);
    }
    if let Some(at) = text.iter().position(|b| !b.is_ascii_graphic()) {
        return Err(NameFault::NotPrintable { at: clamp_u8(at) });
    }
    // Printable ASCII is UTF-8.
    core::str::from_utf8(text).map_err(|_| NameFault::NotPrintable { at: 0 })
}

/// Checks a whole field: a non-empty printable string, a NUL, zeroes to the end. (The
/// decoders check the padding apart, as the kernel ignores it: see `luo::decode_lenient`.)
#[cfg(test)]
pub(crate) fn strict(field: &[u8]) -> Result<&str, NameFault> {
    let len = terminated(field)?;
    let (text, pad) = field.split_at(len);
    let s = printable(text)?;
    if let Some(at) = pad.iter().position(|&b| b != 0) {
        return Err(NameFault::Padding {
            at: clamp_u8(len.saturating_add(at)),
        });
    }
    Ok(s)
}

/// Copies `s` into `field` and zero-fills the rest; `s` must leave room for the NUL.
pub(crate) fn write(field: &mut [u8], s: &str) -> Result<(), NameFault> {
    printable(s.as_bytes())?;
    let max = field.len().saturating_sub(1);
    if s.len() > max {
        return Err(NameFault::TooLong { max: clamp_u8(max) });
    }
    field.fill(0);
    if let Some(dst) = field.get_mut(..s.len()) {
        dst.copy_from_slice(s.as_bytes());
    }
    Ok(())
}

/// The size of a compatible field holding a string of `len` bytes: `ALIGN(len + 1, 8)`, the
/// `KHO_COMPAT_ALIGN` / `LUO_ABI_COMPAT_LEN` rule.
pub(crate) const fn compat_field_len(len: usize) -> usize {
    (len.saturating_add(1).saturating_add(7)) & !7
}

/// Positions inside fields are below 256 (fields are at most 64 bytes); saturate anyway.
pub(crate) fn clamp_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_rule_matches_the_kernel_sizes() {
        // sizeof("luo-v3") = 7 -> 8; sizeof("luo-v5;block-v1") = 16 -> 16;
        // sizeof("luo-v4-kho-block-v1") = 20 -> 24.
        assert_eq!(compat_field_len("luo-v3".len()), 8);
        assert_eq!(compat_field_len("luo-v5;block-v1".len()), 16);
        assert_eq!(compat_field_len("luo-v4-kho-block-v1".len()), 24);
        assert_eq!(compat_field_len(7), 8);
        assert_eq!(compat_field_len(8), 16);
    }

    #[test]
    fn strict_names_each_fault() {
        assert_eq!(strict(b"ab\0\0"), Ok("ab"));
        assert_eq!(strict(b"abcd"), Err(NameFault::Unterminated));
        assert_eq!(strict(b"\0\0"), Err(NameFault::Empty));
        assert_eq!(strict(b"a b\0"), Err(NameFault::NotPrintable { at: 1 }));
        assert_eq!(strict(b"ab\0x"), Err(NameFault::Padding { at: 3 }));
    }

    #[test]
    fn write_refuses_what_does_not_fit() {
        let mut f = [0xFFu8; 4];
        assert_eq!(write(&mut f, "abc"), Ok(()));
        assert_eq!(f, *b"abc\0");
        assert_eq!(write(&mut f, "abcd"), Err(NameFault::TooLong { max: 3 }));
        assert_eq!(write(&mut f, ""), Err(NameFault::Empty));
    }
}
