//! The append-only, hash-chained journal of postings.

use super::codec::{self, ENTRY_BODY_LEN};
use super::signing::Seal;
use super::transfer::Posting;
use crate::Result;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The BLAKE3 key that domain-separates entry hashes from every other use of BLAKE3 in Pictor.
const ENTRY_HASH_KEY: [u8; 32] = *b"pictor.ledger.entry.v1\0\0\0\0\0\0\0\0\0\0";

/// A 32-byte BLAKE3 digest. Serialized as 64 lowercase hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The all-zero digest: the `prev_hash` of the genesis entry.
    pub const ZERO: Digest = Digest([0; 32]);

    /// The hex text of the digest.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut raw = [0u8; 32];
        hex::decode_to_slice(&text, &mut raw).map_err(serde::de::Error::custom)?;
        Ok(Digest(raw))
    }
}

/// The hash of an entry's canonical body: keyed BLAKE3 (key `pictor.ledger.entry.v1`, zero-padded)
/// of the [`ENTRY_BODY_LEN`] bytes written by [`codec::encode_entry_body`].
pub fn entry_hash(seq: u64, prev_hash: &Digest, posting: &Posting) -> Digest {
    let mut body = [0u8; ENTRY_BODY_LEN];
    codec::encode_entry_body(seq, prev_hash, posting, &mut body);
    hash_body(&body)
}

pub(crate) fn hash_body(body: &[u8; ENTRY_BODY_LEN]) -> Digest {
    Digest(*blake3::keyed_hash(&ENTRY_HASH_KEY, body).as_bytes())
}

/// One journal entry: a posting, its position, and the links of the hash chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the journal, from 0, without gaps.
    pub seq: u64,
    /// The previous entry's `hash` ([`Digest::ZERO`] for the genesis entry).
    pub prev_hash: Digest,
    /// The double-entry posting recorded; replaying all postings in order rebuilds the ledger.
    pub posting: Posting,
    /// [`entry_hash`] of this entry's `seq`, `prev_hash` and `posting`.
    pub hash: Digest,
}

impl Entry {
    /// Recomputes this entry's hash from its fields (ignoring the stored `hash`).
    pub fn compute_hash(&self) -> Digest {
        entry_hash(self.seq, &self.prev_hash, &self.posting)
    }

    /// The canonical encoding of this entry (see [`codec`]).
    pub fn to_bytes(&self) -> [u8; codec::ENTRY_LEN] {
        codec::encode_entry(self)
    }

    /// Decodes an entry from its canonical encoding (the hash is not checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry> {
        codec::decode_entry(bytes)
    }
}

/// The journal: hash-chained entries plus the seals signed over its head.
///
/// The journal itself enforces only the chain (`append` computes `seq`, `prev_hash` and `hash`);
/// whether the postings make sense is the [`Ledger`](super::Ledger)'s business, and whether a journal
/// received from elsewhere is intact is [`verify`](super::verify())'s.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    entries: Vec<Entry>,
    seals: Vec<Seal>,
}

impl Journal {
    /// An empty journal; its first entry will be the genesis (`seq` 0, `prev_hash` all zeros).
    pub fn new() -> Self {
        Journal::default()
    }

    /// Assembles a journal from parts *without checking them* (for decoding, storage back-ends and
    /// tests); check the result with [`verify`](super::verify()).
    pub fn from_parts(entries: Vec<Entry>, seals: Vec<Seal>) -> Self {
        Journal { entries, seals }
    }

    /// Splits the journal into its entries and seals.
    pub fn into_parts(self) -> (Vec<Entry>, Vec<Seal>) {
        (self.entries, self.seals)
    }

    /// All entries, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// All seals, in order.
    pub fn seals(&self) -> &[Seal] {
        &self.seals
    }

    /// The number of entries, which is also the `seq` the next entry gets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hash of the last entry ([`Digest::ZERO`] when empty): the chain head.
    pub fn head_hash(&self) -> Digest {
        self.entries.last().map_or(Digest::ZERO, |entry| entry.hash)
    }

    /// The seq the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The number of entries after the last seal.
    pub fn unsealed_len(&self) -> usize {
        let sealed = self.seals.last().map_or(0, |seal| {
            usize::try_from(seal.upto_seq).map_or(usize::MAX, |s| s + 1)
        });
        self.entries.len().saturating_sub(sealed)
    }

    /// Appends a posting, chaining it to the current head, and returns the new entry.
    pub(crate) fn append(&mut self, posting: Posting) -> Entry {
        let seq = self.next_seq();
        let prev_hash = self.head_hash();
        let hash = entry_hash(seq, &prev_hash, &posting);
        let entry = Entry {
            seq,
            prev_hash,
            posting,
            hash,
        };
        self.entries.push(entry);
        entry
    }

    pub(crate) fn push_seal(&mut self, seal: Seal) {
        self.seals.push(seal);
    }

    pub(crate) fn reserve(&mut self, entries: usize) {
        self.entries.reserve(entries);
    }

    /// The canonical binary encoding of the whole journal (see [`codec`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode_journal(self)
    }

    /// Decodes a journal from its canonical encoding (only the encoding is checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Journal> {
        codec::decode_journal(bytes)
    }
}
