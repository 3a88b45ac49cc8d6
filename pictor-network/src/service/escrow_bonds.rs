//! Bonds, slashes and forfeits: the escrow module's money movements of trust (docs/TRUST.md).
//! A child of `escrow` (it reaches the ledger through [`Escrow`]); every id is tagged `01` in its
//! top two bits, with the kind of movement in the next four, so none collides with a hold, a
//! reservation or a deposit.

use super::{Escrow, ServiceResult};
use pictor_core::ledger::{Account, TransferId};
use pictor_core::{AccountId, Money};

/// Tag of trust transfer ids (top bits `01`).
const TRUST_TAG: u128 = 0b01 << 126;

/// Which trust movement an id belongs to (bits 122–125).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrustMove {
    /// Balance or earnings into a bond.
    Post = 0,
    /// A bond back to its owner's balance.
    Withdraw = 1,
    /// A leg of a proven cheat's slash (`check << 8 | leg`).
    Slash = 2,
    /// A checker's fees of the period taken back (`checker << 32 | strike`).
    Forfeit = 3,
    /// A checker's bond slashed for an offence (`checker << 32 | strike`).
    CheckerSlash = 4,
    /// A checker's fee paid by the network (`check << 8 | leg`).
    NetworkPays = 5,
}

/// The id of trust movement `kind` number `number` (below 2^122).
pub(crate) fn trust_transfer(kind: TrustMove, number: u128) -> TransferId {
    let number = number & ((1u128 << 122) - 1);
    TransferId(TRUST_TAG | ((kind as u128) << 122) | number)
}

/// The id of a bond post or withdrawal by `account`: derived from the idempotency key when there
/// is one (a retry maps to the same transfer), random otherwise.
pub(crate) fn bond_transfer(
    kind: TrustMove,
    account: u64,
    idempotency_key: Option<&str>,
) -> ServiceResult<TransferId> {
    let raw = match idempotency_key {
        Some(key) => {
            let digest = blake3::hash(format!("bond\0{kind:?}\0{account}\0{key}").as_bytes());
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest.as_bytes()[..16]);
            u128::from_le_bytes(bytes)
        }
        None => u128::from_le_bytes(crate::service::auth::random_bytes::<16>()?),
    };
    Ok(trust_transfer(kind, raw))
}

impl Escrow<'_> {
    /// Moves `amount` from `source` (the owner's balance or earnings) into `owner`'s bond.
    pub(crate) fn post_bond(
        &mut self,
        transfer: TransferId,
        source: Account,
        owner: u64,
        amount: Money,
    ) -> ServiceResult<()> {
        self.ledger
            .transfer(transfer, source, Account::Bond(AccountId(owner)), amount)?;
        Ok(())
    }

    /// Returns `amount` of `owner`'s bond to its balance.
    pub(crate) fn withdraw_bond(
        &mut self,
        transfer: TransferId,
        owner: u64,
        amount: Money,
    ) -> ServiceResult<()> {
        self.ledger.transfer(
            transfer,
            Account::Bond(AccountId(owner)),
            Account::Creator(AccountId(owner)),
            amount,
        )?;
        Ok(())
    }

    /// Pays `legs` out of `owner`'s bond, leg `i` with id `(kind, number << 8 | i)`; zero legs are
    /// skipped.
    pub(crate) fn pay_from_bond(
        &mut self,
        owner: u64,
        kind: TrustMove,
        number: u64,
        legs: &[(Account, Money)],
    ) -> ServiceResult<()> {
        self.pay_legs(Account::Bond(AccountId(owner)), kind, number, legs)
    }

    /// Pays `legs` out of the network's fee income, like [`Escrow::pay_from_bond`].
    pub(crate) fn pay_from_network(
        &mut self,
        number: u64,
        legs: &[(Account, Money)],
    ) -> ServiceResult<()> {
        self.pay_legs(Account::NetworkFees, TrustMove::NetworkPays, number, legs)
    }

    /// Takes `amount` of checker `checker`'s earnings back to the network (offence `strike`).
    pub(crate) fn forfeit_fees(
        &mut self,
        checker: u64,
        strike: u32,
        amount: Money,
    ) -> ServiceResult<()> {
        if amount == Money::ZERO {
            return Ok(());
        }
        let number = (u128::from(checker) << 32) | u128::from(strike);
        self.ledger.transfer(
            trust_transfer(TrustMove::Forfeit, number),
            Account::Checker(AccountId(checker)),
            Account::NetworkFees,
            amount,
        )?;
        Ok(())
    }

    fn pay_legs(
        &mut self,
        from: Account,
        kind: TrustMove,
        number: u64,
        legs: &[(Account, Money)],
    ) -> ServiceResult<()> {
        for (leg, (to, amount)) in legs.iter().enumerate() {
            if *amount == Money::ZERO {
                continue;
            }
            let id = trust_transfer(kind, (u128::from(number) << 8) | leg as u128);
            self.ledger.transfer(id, from, *to, *amount)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_ids_keep_to_their_tag_and_kind() {
        let slash = trust_transfer(TrustMove::Slash, u128::MAX).0;
        assert_eq!(slash >> 126, 0b01);
        assert_eq!((slash >> 122) & 0b1111, TrustMove::Slash as u128);
        let post = bond_transfer(TrustMove::Post, 3, Some("k")).expect("id");
        assert_eq!(
            post,
            bond_transfer(TrustMove::Post, 3, Some("k")).expect("id")
        );
        assert_ne!(
            post,
            bond_transfer(TrustMove::Withdraw, 3, Some("k")).expect("id")
        );
    }
}
