//! Checksums of migration files: SHA-256 over the normalised text (LF line endings, no BOM).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 of a migration's normalised text.
///
/// Recorded in the history table when a revision is applied; a later run that finds a different
/// checksum for the same revision refuses to proceed until the change is accepted explicitly.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// Hashes `text` after normalising it (see [`normalize`]).
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(normalize(text).as_bytes()).into())
    }

    /// The lowercase hexadecimal form (64 characters), as stored in the history table.
    pub fn to_hex(&self) -> String {
        crate::sql::hex(&self.0)
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({self})")
    }
}

/// The error returned when a string is not 64 hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a checksum (expected 64 hexadecimal characters)")]
pub struct ChecksumParseError(pub String);

impl FromStr for Checksum {
    type Err = ChecksumParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ChecksumParseError(s.to_owned());
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// Normalises migration text: drops a leading UTF-8 byte-order mark and turns CRLF into LF.
///
/// Line numbers are unchanged, so positions in the normalised text are positions in the file.
pub fn normalize(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains("\r\n") { Cow::Owned(text.replace("\r\n", "\n")) } else { Cow::Borrowed(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_bom_do_not_change_the_checksum() {
        let lf = Checksum::of("a\nb\n");
        assert_eq!(lf, Checksum::of("a\r\nb\r\n"));
        assert_eq!(lf, Checksum::of("\u{feff}a\nb\n"));
        assert_ne!(lf, Checksum::of("a\nb \n"));
    }

    #[test]
    fn hex_round_trips() {
        let sum = Checksum::of("select 1");
        assert_eq!(sum.to_hex().len(), 64);
        assert_eq!(sum.to_hex().parse::<Checksum>(), Ok(sum));
        assert!("xyz".parse::<Checksum>().is_err());
    }

    #[test]
    fn known_vector() {
        assert_eq!(Checksum::of("").to_hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
