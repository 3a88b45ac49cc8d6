//! The public ledger: the signed head, the journal's entries and seals, a whole journal to verify.

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use futures_util::{Stream, TryStreamExt};
use pictor_core::api::{LedgerEntriesPage, LedgerEntriesQuery, LedgerHead, routes};
use pictor_core::ledger::codec::{decode_entry, decode_seal};
use pictor_core::ledger::{Entry, Journal, Seal};
use std::future::Future;

/// One decoded page of the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerPage {
    /// Entries, in order.
    pub entries: Vec<Entry>,
    /// Seals whose `upto_seq` falls within the page's entries.
    pub seals: Vec<Seal>,
}

/// The public ledger; from [`Client::ledger`]. Needs no key.
#[derive(Clone, Debug)]
pub struct LedgerApi {
    client: Client,
}

impl LedgerApi {
    pub(crate) fn new(client: Client) -> Self {
        LedgerApi { client }
    }

    /// The signed head: last seq, its hash, the network's signature and public key.
    pub fn head(&self) -> impl Future<Output = Result<LedgerHead>> + Send + 'static + use<> {
        let client = self.client.clone();
        async move { client.json(Call::get(routes::LEDGER_HEAD).public()).await }
    }

    /// The journal's entries from genesis, as a stream (see [`LedgerEntries`] for paging options).
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client) -> pictor_sdk::Result<()> {
    /// use futures_util::TryStreamExt;
    /// let entries = client.ledger().entries().page_size(1000).send();
    /// futures_util::pin_mut!(entries);
    /// while let Some(entry) = entries.try_next().await? {
    ///     println!("#{} {:?}", entry.seq, entry.posting.kind);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn entries(&self) -> LedgerEntries {
        LedgerEntries {
            client: self.client.clone(),
            after: None,
            page_size: None,
        }
    }

    /// Fetches the whole journal (every page) so it can be checked with
    /// [`pictor_core::ledger::verify`] against the head's public key.
    ///
    /// ```no_run
    /// # async fn demo(client: pictor_sdk::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let head = client.ledger().head().await?;
    /// let journal = client.ledger().fetch_journal().await?;
    /// let key: [u8; 32] = hex::decode(&head.public_key_hex)?.try_into().map_err(|_| "key length")?;
    /// let key = ed25519_dalek::VerifyingKey::from_bytes(&key)?;
    /// let report = pictor_core::ledger::verify(&journal, &key).map_err(|t| format!("{t:?}"))?;
    /// println!("{report:?}");
    /// # Ok(()) }
    /// ```
    pub fn fetch_journal(&self) -> impl Future<Output = Result<Journal>> + Send + 'static + use<> {
        let pages = self.entries().pages();
        async move {
            let pages: Vec<LedgerPage> = pages.try_collect().await?;
            let mut entries = Vec::new();
            let mut seals = Vec::new();
            for page in pages {
                entries.extend(page.entries);
                seals.extend(page.seals);
            }
            Ok(Journal::from_parts(entries, seals))
        }
    }
}

/// A journal read being configured; from [`LedgerApi::entries`].
#[must_use = "nothing is read until the stream from `send` or `pages` is read"]
#[derive(Clone, Debug)]
pub struct LedgerEntries {
    client: Client,
    after: Option<u64>,
    page_size: Option<u32>,
}

impl LedgerEntries {
    /// Starts after this seq (default: from the genesis entry, seq 0).
    pub fn after(mut self, seq: u64) -> Self {
        self.after = Some(seq);
        self
    }

    /// Entries per request (`limit`; default: the network's).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The entries, one by one (seals are left out; see [`pages`](LedgerEntries::pages)).
    pub fn send(self) -> impl Stream<Item = Result<Entry>> + Send + 'static {
        self.pages()
            .map_ok(|page| futures_util::stream::iter(page.entries.into_iter().map(Ok)))
            .try_flatten()
    }

    /// The decoded pages, following `next_after` to the end.
    pub fn pages(self) -> impl Stream<Item = Result<LedgerPage>> + Send + 'static {
        struct State {
            client: Client,
            /// `None` before the first page when reading from genesis (`after` is exclusive).
            after: Option<u64>,
            page_size: Option<u32>,
            done: bool,
        }
        let state = State {
            client: self.client,
            after: self.after,
            page_size: self.page_size,
            done: false,
        };
        futures_util::stream::unfold(state, |mut state| async move {
            if state.done {
                return None;
            }
            let query = LedgerEntriesQuery {
                after: state.after,
                limit: state.page_size,
            };
            let page = match Call::get(routes::LEDGER_ENTRIES).public().query_of(&query) {
                Ok(call) => state.client.json::<LedgerEntriesPage>(call).await,
                Err(error) => Err(error),
            };
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    state.done = true;
                    return Some((Err(error), state));
                }
            };
            match (page.next_after, state.after) {
                (Some(next), Some(previous)) if next <= previous => {
                    state.done = true;
                    let error = Error::decode(
                        "ledger page",
                        format!("next_after {next} does not advance past {previous}"),
                    );
                    return Some((Err(error), state));
                }
                (Some(next), _) => state.after = Some(next),
                (None, _) => state.done = true,
            }
            let decoded = decode_page(&page);
            if decoded.is_err() {
                state.done = true;
            }
            Some((decoded, state))
        })
    }
}

/// Decodes a page's hex entries and seals.
fn decode_page(page: &LedgerEntriesPage) -> Result<LedgerPage> {
    let bytes = |what: &str, text: &str| {
        hex::decode(text).map_err(|error| Error::decode(what.to_string(), error))
    };
    let entries = page
        .entries
        .iter()
        .map(|text| {
            decode_entry(&bytes("ledger entry", text)?)
                .map_err(|error| Error::decode("ledger entry", error))
        })
        .collect::<Result<Vec<_>>>()?;
    let seals = page
        .seals
        .iter()
        .map(|text| {
            decode_seal(&bytes("ledger seal", text)?)
                .map_err(|error| Error::decode("ledger seal", error))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(LedgerPage { entries, seals })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pictor_core::ledger::codec::{encode_entry, encode_seal};
    use pictor_core::ledger::{SigningKey, TailPolicy, synthetic_journal, verify_with};

    #[test]
    fn pages_of_hex_rebuild_a_verifiable_journal() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let journal = synthetic_journal(25, 10, &key);
        // Split into pages of 10 the way the network would, seals with their entries.
        let mut entries = Vec::new();
        let mut seals = Vec::new();
        for chunk in journal.entries().chunks(10) {
            let (first, last) = (chunk[0].seq, chunk[chunk.len() - 1].seq);
            let page = LedgerEntriesPage {
                entries: chunk.iter().map(|e| hex::encode(encode_entry(e))).collect(),
                seals: journal
                    .seals()
                    .iter()
                    .filter(|s| (first..=last).contains(&s.upto_seq))
                    .map(|s| hex::encode(encode_seal(s)))
                    .collect(),
                next_after: Some(last),
            };
            let decoded = decode_page(&page).unwrap();
            entries.extend(decoded.entries);
            seals.extend(decoded.seals);
        }
        let rebuilt = Journal::from_parts(entries, seals);
        assert_eq!(rebuilt.entries(), journal.entries());
        assert_eq!(rebuilt.seals(), journal.seals());
        assert!(verify_with(&rebuilt, &key.verifying_key(), TailPolicy::AllowUnsealed).is_ok());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let page = LedgerEntriesPage {
            entries: vec!["zz".into()],
            seals: vec![],
            next_after: None,
        };
        assert!(matches!(decode_page(&page), Err(Error::Decode { .. })));
        let page = LedgerEntriesPage {
            entries: vec!["00".into()],
            seals: vec![],
            next_after: None,
        };
        assert!(matches!(decode_page(&page), Err(Error::Decode { .. })));
    }
}
