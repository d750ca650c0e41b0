//! Properties of the HTTP callback mode's cryptography: any `encrypt` value is either
//! decrypted or refused with a reason, what Feishu encrypts decrypts to the same
//! bytes, and only the right key, body and signature pass.

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use super::{DecryptError, decrypt, signature, signature_matches, token_matches};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// What Feishu sends as `encrypt`: base64 of IV + AES-256-CBC(SHA-256(key), PKCS7).
fn encrypt(encrypt_key: &str, iv: [u8; 16], plain: &[u8]) -> String {
    type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
    let key = Sha256::digest(encrypt_key.as_bytes());
    let cipher = Aes256CbcEnc::new_from_slices(&key, &iv).expect("32-byte key, 16-byte IV");
    let mut raw = iv.to_vec();
    raw.extend(cipher.encrypt_padded_vec_mut::<Pkcs7>(plain));
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_encrypt_value_is_decrypted_or_refused_with_a_reason(
        key in any::<String>(),
        encrypt in prop_oneof![
            any::<String>(),
            prop::collection::vec(any::<u8>(), 0..128).prop_map(|b| b64(&b)),
            // Whole blocks, so the cipher and the padding check are reached.
            (1usize..6).prop_flat_map(|n| prop::collection::vec(any::<u8>(), n * 16)).prop_map(|b| b64(&b)),
        ],
    ) {
        if let Err(e) = decrypt(&key, &encrypt) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn what_feishu_encrypts_decrypts_to_the_same_bytes(
        key in any::<String>(),
        iv in any::<[u8; 16]>(),
        plain in prop::collection::vec(any::<u8>(), 0..300),
        pad in "[ \n]{0,2}",
    ) {
        let encrypt = format!("{pad}{}{pad}", encrypt(&key, iv, &plain));
        prop_assert_eq!(decrypt(&key, &encrypt), Ok(plain));
    }

    #[test]
    fn another_key_never_yields_the_plaintext(
        key in any::<String>(),
        other in any::<String>(),
        iv in any::<[u8; 16]>(),
        plain in prop::collection::vec(any::<u8>(), 1..300),
    ) {
        prop_assume!(key != other);
        // Usually bad padding; rarely the padding checks out, but the bytes differ.
        prop_assert_ne!(decrypt(&other, &encrypt(&key, iv, &plain)), Ok(plain));
    }

    #[test]
    fn a_truncated_body_is_too_short(
        key in any::<String>(),
        iv in any::<[u8; 16]>(),
        plain in prop::collection::vec(any::<u8>(), 0..100),
        cut in 1usize..16,
    ) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encrypt(&key, iv, &plain))
            .expect("base64");
        let shorter = &raw[..raw.len() - cut];
        prop_assert_eq!(decrypt(&key, &b64(shorter)), Err(DecryptError::TooShort));
        prop_assert_eq!(decrypt(&key, &b64(&raw[..16])), Err(DecryptError::TooShort));
    }

    #[test]
    fn only_the_signed_request_matches_its_signature(
        timestamp in "[0-9]{0,12}",
        nonce in any::<String>(),
        key in any::<String>(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        other_body in prop::collection::vec(any::<u8>(), 0..200),
        given in any::<String>(),
    ) {
        let sig = signature(&timestamp, &nonce, &key, &body);
        prop_assert_eq!(sig.len(), 64);
        prop_assert!(signature_matches(&timestamp, &nonce, &key, &body, &sig));
        let shouted = format!(" {} ", sig.to_uppercase());
        prop_assert!(signature_matches(&timestamp, &nonce, &key, &body, &shouted));
        if other_body != body {
            prop_assert!(!signature_matches(&timestamp, &nonce, &key, &other_body, &sig));
        }
        if given.trim().to_ascii_lowercase() != sig {
            prop_assert!(!signature_matches(&timestamp, &nonce, &key, &body, &given));
        }
    }

    #[test]
    fn a_token_matches_only_itself(expected in any::<String>(), given in any::<String>()) {
        prop_assert!(token_matches(&expected, &expected));
        prop_assert_eq!(token_matches(&expected, &given), expected == given);
    }
}
