//! The cryptography of the HTTP callback mode: AES-256-CBC decryption of
//! `{"encrypt": ...}` bodies and the request signature, per `docs/feishu-protocol.md` §3.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Header: the request timestamp.
pub const HEADER_TIMESTAMP: &str = "x-lark-request-timestamp";
/// Header: the request nonce.
pub const HEADER_NONCE: &str = "x-lark-request-nonce";
/// Header: the signature.
pub const HEADER_SIGNATURE: &str = "x-lark-signature";

/// Why an encrypted body could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecryptError {
    /// `encrypt` is not base64.
    #[error("encrypt is not valid base64")]
    Base64,
    /// Too short to hold an IV and a block.
    #[error("encrypt is too short")]
    TooShort,
    /// Wrong key or corrupted data (bad padding).
    #[error("encrypt cannot be decrypted with the configured Encrypt Key")]
    Cipher,
}

/// Decrypts `encrypt`: base64, IV = first 16 bytes, key = SHA-256(encrypt_key),
/// AES-256-CBC, PKCS7 padding.
pub fn decrypt(encrypt_key: &str, encrypt: &str) -> Result<Vec<u8>, DecryptError> {
    type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encrypt.trim())
        .map_err(|_| DecryptError::Base64)?;
    if raw.len() < 32 || raw.len() % 16 != 0 {
        return Err(DecryptError::TooShort);
    }
    let (iv, data) = raw.split_at(16);
    let key = Sha256::digest(encrypt_key.as_bytes());
    let cipher = Aes256CbcDec::new_from_slices(&key, iv).map_err(|_| DecryptError::Cipher)?;
    cipher
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| DecryptError::Cipher)
}

/// The expected signature: lowercase hex SHA-256 of timestamp + nonce + key + body.
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key.as_bytes());
    h.update(body);
    hex::encode(h.finalize())
}

/// Whether `given` is the signature of the request, compared in constant time.
pub fn signature_matches(
    timestamp: &str,
    nonce: &str,
    encrypt_key: &str,
    body: &[u8],
    given: &str,
) -> bool {
    let expected = signature(timestamp, nonce, encrypt_key, body);
    let given = given.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Whether `given` equals the configured token, in constant time.
pub fn token_matches(expected: &str, given: &str) -> bool {
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(decrypt("k", "***"), Err(DecryptError::Base64));
        assert_eq!(decrypt("k", "AAAA"), Err(DecryptError::TooShort));
        // 32 zero bytes: IV + one block that does not unpad under this key.
        let zeros = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
        assert_eq!(decrypt("k", &zeros), Err(DecryptError::Cipher));
    }

    #[test]
    fn signature_is_hex_sha256_of_the_concatenation() {
        let s = signature("1", "n", "k", b"{}");
        assert_eq!(s, hex::encode(Sha256::digest(b"1nk{}")));
        assert!(signature_matches("1", "n", "k", b"{}", &s.to_uppercase()));
        assert!(!signature_matches("1", "n", "k", b"{ }", &s));
    }
}
