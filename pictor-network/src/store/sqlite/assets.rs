//! `AssetsTx` on SQLite: blobs each account holds (proof of possession) and committed scene manifests, with the read rights they give.

use super::*;
use crate::store::AssetsTx;

impl AssetsTx for SqliteTx {
    async fn holds_blob(&mut self, account: u64, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            exec::query_scalar("SELECT 1 FROM blob_holders WHERE account_id = ? AND hash = ?")
                .bind(to_i64(account, "account_id")?)
                .bind(hash)
                .fetch_optional(&mut self.tx)
                .await?;
        Ok(found.is_some())
    }

    async fn add_blob_holder(&mut self, account: u64, hash: &str, size: u64) -> StoreResult<()> {
        exec::query(
            "INSERT INTO blob_holders (account_id, hash, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(account, "account_id")?)
        .bind(hash)
        .bind(to_i64(size, "size")?)
        .execute(&mut self.tx)
        .await?;
        Ok(())
    }

    async fn held_bytes(&mut self, account: u64) -> StoreResult<u64> {
        let total: i64 = exec::query_scalar(
            "SELECT COALESCE(SUM(size), 0) FROM blob_holders WHERE account_id = ?",
        )
        .bind(to_i64(account, "account_id")?)
        .fetch_one(&mut self.tx)
        .await?;
        u64::try_from(total).map_err(|_| StoreError::OutOfRange { column: "size" })
    }

    async fn insert_asset(&mut self, row: &AssetRow) -> StoreResult<()> {
        exec::query(
            "INSERT INTO assets (owner, id, manifest, total_size, files) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(to_i64(row.owner, "owner")?)
        .bind(&row.id)
        .bind(&row.manifest_json)
        .bind(to_i64(row.total_size, "total_size")?)
        .bind(i64::from(row.files))
        .execute(&mut self.tx)
        .await?;
        for hash in &row.hashes {
            exec::query(
                "INSERT INTO asset_blobs (asset_id, hash) VALUES (?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&row.id)
            .bind(hash)
            .execute(&mut self.tx)
            .await?;
        }
        Ok(())
    }

    async fn asset(&mut self, owner: u64, id: &str) -> StoreResult<Option<AssetRow>> {
        exec::query("SELECT * FROM assets WHERE owner = ? AND id = ?")
            .bind(to_i64(owner, "owner")?)
            .bind(id)
            .fetch_optional(&mut self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_any_owner(&mut self, id: &str) -> StoreResult<Option<AssetRow>> {
        exec::query("SELECT * FROM assets WHERE id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(&mut self.tx)
            .await?
            .as_ref()
            .map(asset_row)
            .transpose()
    }

    async fn asset_contains(&mut self, asset: &str, hash: &str) -> StoreResult<bool> {
        let found: Option<i64> =
            exec::query_scalar("SELECT 1 FROM asset_blobs WHERE asset_id = ? AND hash = ?")
                .bind(asset)
                .bind(hash)
                .fetch_optional(&mut self.tx)
                .await?;
        Ok(found.is_some())
    }

    async fn may_read_asset(&mut self, account: u64, role: &str, asset: &str) -> StoreResult<bool> {
        let sql = match role {
            "worker" | "farm" => {
                "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
                 WHERE t.state_name = 'leased' AND json_extract(t.state, '$.worker') = ?
                   AND json_extract(j.spec, '$.scene') = ? LIMIT 1"
            }
            "checker" => {
                "SELECT 1 FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = ? AND json_extract(j.spec, '$.scene') = ? LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = exec::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(asset)
            .fetch_optional(&mut self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn may_read_blob(&mut self, account: u64, role: &str, hash: &str) -> StoreResult<bool> {
        let sql = match role {
            "creator" => {
                "SELECT 1 FROM frames f JOIN jobs j ON j.id = f.job_id WHERE j.owner = ? AND f.hash = ? LIMIT 1"
            }
            "worker" | "farm" => {
                "SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id
                   JOIN asset_blobs b ON b.asset_id = json_extract(j.spec, '$.scene')
                 WHERE t.state_name = 'leased' AND json_extract(t.state, '$.worker') = ? AND b.hash = ? LIMIT 1"
            }
            "checker" => {
                "SELECT 1 FROM checks c JOIN tasks t ON t.id = c.task_id JOIN jobs j ON j.id = t.job_id
                 WHERE c.state = 'leased' AND c.checker = ?1 AND (
                   EXISTS (SELECT 1 FROM json_each(COALESCE(c.subject, t.outputs)) o WHERE json_extract(o.value, '$.hash') = ?2
                                                                      OR json_extract(o.value, '$.evidence.hash') = ?2)
                   OR EXISTS (SELECT 1 FROM asset_blobs b
                              WHERE b.asset_id = json_extract(j.spec, '$.scene') AND b.hash = ?2))
                 LIMIT 1"
            }
            _ => return Ok(false),
        };
        let found: Option<i64> = exec::query_scalar(sql)
            .bind(to_i64(account, "account")?)
            .bind(hash)
            .fetch_optional(&mut self.tx)
            .await?;
        Ok(found.is_some())
    }
}
