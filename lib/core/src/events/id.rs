use sha2::{Digest, Sha256};

/// A deterministic event id: the first 128 bits of SHA-256 over the parts, in hex.
///
/// Parts are length-prefixed so `("ab", "c")` and `("a", "bc")` differ. The same cause
/// always yields the same id, so retries and redeliveries can be deduplicated.
pub fn derive_id<S: AsRef<str>>(parts: &[S]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        let part = part.as_ref().as_bytes();
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::derive_id;

    #[test]
    fn stable_and_unambiguous() {
        assert_eq!(derive_id(&["a", "b"]), derive_id(&["a", "b"]));
        assert_ne!(derive_id(&["ab", "c"]), derive_id(&["a", "bc"]));
        assert_eq!(derive_id(&["x"]).len(), 32);
    }
}
