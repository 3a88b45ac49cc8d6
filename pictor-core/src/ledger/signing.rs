//! Seals: ed25519 signatures over the journal head (signed checkpoints, as in Certificate
//! Transparency's signed tree heads).

use super::journal::{Digest, Journal};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Domain-separation prefix of the message a seal signs.
pub const SEAL_DOMAIN: &[u8; 22] = b"pictor.ledger.seal.v1\0";
/// Length of the message a seal signs: domain, `upto_seq` (u64 LE), `head_hash`.
pub const SEAL_MESSAGE_LEN: usize = SEAL_DOMAIN.len() + 8 + 32;

/// A raw 64-byte ed25519 signature. Serialized as 128 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealSignature(pub [u8; 64]);

impl fmt::Debug for SealSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealSignature({})", hex::encode(self.0))
    }
}

impl Serialize for SealSignature {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for SealSignature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut raw = [0u8; 64];
        hex::decode_to_slice(&text, &mut raw).map_err(serde::de::Error::custom)?;
        Ok(SealSignature(raw))
    }
}

/// A signed checkpoint: the network key's signature over "the journal up to and including entry
/// `upto_seq` has head hash `head_hash`". Because every entry hash covers the previous one, one seal
/// authenticates the whole prefix it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Seal {
    /// The seq of the last entry covered.
    pub upto_seq: u64,
    /// That entry's hash.
    pub head_hash: Digest,
    /// ed25519 signature over [`Seal::message`].
    pub signature: SealSignature,
}

impl Seal {
    /// The bytes a seal signs: [`SEAL_DOMAIN`], `upto_seq` little-endian, `head_hash`.
    pub fn message(upto_seq: u64, head_hash: &Digest) -> [u8; SEAL_MESSAGE_LEN] {
        let mut out = [0u8; SEAL_MESSAGE_LEN];
        let domain = SEAL_DOMAIN.len();
        out[..domain].copy_from_slice(SEAL_DOMAIN);
        out[domain..domain + 8].copy_from_slice(&upto_seq.to_le_bytes());
        out[domain + 8..].copy_from_slice(&head_hash.0);
        out
    }

    /// Signs a checkpoint over `upto_seq` / `head_hash`.
    pub fn sign(upto_seq: u64, head_hash: Digest, key: &SigningKey) -> Seal {
        let signature = key.sign(&Seal::message(upto_seq, &head_hash));
        Seal {
            upto_seq,
            head_hash,
            signature: SealSignature(signature.to_bytes()),
        }
    }

    /// Whether the signature is a valid (strict: canonical, no weak keys) ed25519 signature of this
    /// seal's message by `key`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> bool {
        let signature = Signature::from_bytes(&self.signature.0);
        key.verify_strict(&Seal::message(self.upto_seq, &self.head_hash), &signature)
            .is_ok()
    }

    /// The canonical encoding of this seal (see [`codec`](super::codec)).
    pub fn to_bytes(&self) -> [u8; super::codec::SEAL_LEN] {
        super::codec::encode_seal(self)
    }

    /// Decodes a seal from its canonical encoding (the signature is not checked).
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Seal> {
        super::codec::decode_seal(bytes)
    }
}

impl Journal {
    /// Commits the entries appended since the last seal: signs a [`Seal`] over the current head with
    /// the network key, stores it and returns it. Returns `None` (and signs nothing) when there is
    /// nothing new to seal. Call it once per batch of operations, like closing a block.
    pub fn seal(&mut self, key: &SigningKey) -> Option<Seal> {
        if self.unsealed_len() == 0 {
            return None;
        }
        let upto_seq = self.next_seq().checked_sub(1)?;
        let seal = Seal::sign(upto_seq, self.head_hash(), key);
        self.push_seal(seal);
        Some(seal)
    }
}
