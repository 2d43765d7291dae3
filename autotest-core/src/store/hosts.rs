//! Hosts, their attributes and labels, labels themselves, and drones.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::StoreError;
use super::{Store, bit, flag};

text_enum!(
    /// A host's state in the scheduler (FORMATS §12).
    HostStatus, "hosts.status" {
        /// Free for a job.
        Ready => "Ready",
        /// A verify task runs.
        Verifying => "Verifying",
        /// A cleanup task runs.
        Cleaning => "Cleaning",
        /// A repair task runs.
        Repairing => "Repairing",
        /// Repair failed: the host waits for a person.
        RepairFailed => "Repair Failed",
        /// Waiting for the other hosts of a synchronous job.
        Pending => "Pending",
        /// A job runs.
        Running => "Running",
    }
);

text_enum!(
    /// What the scheduler may do to a host to repair it (legacy host protection levels).
    Protection, "hosts.protection" {
        /// Anything.
        NoProtection => "No protection",
        /// Reinstall software only.
        RepairSoftwareOnly => "Repair software only",
        /// Repair the filesystem only.
        RepairFilesystemOnly => "Repair filesystem only",
        /// Never repair.
        DoNotRepair => "Do not repair",
        /// Never verify (nor repair).
        DoNotVerify => "Do not verify",
    }
);

/// A machine of the lab.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Host {
    /// Row id.
    pub id: i64,
    /// Name (or address) the lab reaches it by.
    pub hostname: String,
    /// Scheduler state.
    pub status: HostStatus,
    /// Locked hosts get no new work.
    pub locked: bool,
    /// Who locked it.
    pub locked_by: Option<String>,
    /// When it was locked (UTC epoch seconds).
    pub lock_time: Option<i64>,
    /// A job ran since its last cleanup.
    pub dirty: bool,
    /// Deleted (kept for the history of its jobs).
    pub invalid: bool,
    /// Repair protection.
    pub protection: Protection,
    /// When it was added (UTC epoch seconds).
    pub created_on: i64,
}

/// A label: a platform, or a property jobs can ask for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The label names the hosts' platform (at most one per host).
    pub platform: bool,
    /// Hosts with it are used only by jobs that ask for it.
    pub only_if_needed: bool,
    /// Deleted.
    pub invalid: bool,
}

/// A label to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLabel {
    /// Name.
    pub name: String,
    /// A platform label.
    pub platform: bool,
    /// Only for jobs that ask for it.
    pub only_if_needed: bool,
}

impl NewLabel {
    /// A plain label.
    pub fn new(name: impl Into<String>) -> NewLabel {
        NewLabel {
            name: name.into(),
            ..NewLabel::default()
        }
    }
}

/// A machine that runs autoserv processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drone {
    /// Row id.
    pub id: i64,
    /// Host name (`localhost`: in process).
    pub hostname: String,
    /// Used by the scheduler.
    pub enabled: bool,
}

macro_rules! host_cols {
    () => {
        "id, hostname, status, locked, locked_by, lock_time, dirty, invalid, protection, created_on"
    };
}

pub(crate) fn read_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Query {
        what: format!("reading {what}"),
        source,
    }
}

pub(crate) fn host_from_row(r: &AnyRow) -> Result<Host, StoreError> {
    let e = read_err("a host");
    Ok(Host {
        id: r.try_get("id").map_err(&e)?,
        hostname: r.try_get("hostname").map_err(&e)?,
        status: HostStatus::parse(&r.try_get::<String, _>("status").map_err(&e)?)?,
        locked: flag(r.try_get("locked").map_err(&e)?),
        locked_by: r.try_get("locked_by").map_err(&e)?,
        lock_time: r.try_get("lock_time").map_err(&e)?,
        dirty: flag(r.try_get("dirty").map_err(&e)?),
        invalid: flag(r.try_get("invalid").map_err(&e)?),
        protection: Protection::parse(&r.try_get::<String, _>("protection").map_err(&e)?)?,
        created_on: r.try_get("created_on").map_err(&e)?,
    })
}

pub(crate) fn label_from_row(r: &AnyRow) -> Result<Label, StoreError> {
    let e = read_err("a label");
    Ok(Label {
        id: r.try_get("id").map_err(&e)?,
        name: r.try_get("name").map_err(&e)?,
        platform: flag(r.try_get("platform").map_err(&e)?),
        only_if_needed: flag(r.try_get("only_if_needed").map_err(&e)?),
        invalid: flag(r.try_get("invalid").map_err(&e)?),
    })
}

impl Store {
    /// Adds a host (Ready, unlocked, no labels). A deleted host of that name comes back, reset.
    pub async fn create_host(&self, hostname: &str) -> Result<Host, StoreError> {
        self.add_host(&super::NewHost::new(hostname)).await
    }

    /// A host by name, deleted ones included.
    async fn host_any(&self, hostname: &str) -> Result<Option<Host>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            host_cols!(),
            " FROM hosts WHERE hostname = $1"
        ))
        .bind(hostname)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query(format!("looking up host {hostname}")))?;
        row.as_ref().map(host_from_row).transpose()
    }

    /// A host by name (not deleted), if there is one.
    pub async fn host(&self, hostname: &str) -> Result<Option<Host>, StoreError> {
        Ok(self.host_any(hostname).await?.filter(|h| !h.invalid))
    }

    /// A host by name; [`StoreError::NotFound`] when there is none.
    pub async fn host_named(&self, hostname: &str) -> Result<Host, StoreError> {
        self.host(hostname)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                kind: "host",
                name: hostname.to_owned(),
            })
    }

    /// A host by id (deleted ones included: jobs keep pointing at them).
    pub async fn host_by_id(&self, id: i64) -> Result<Host, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            host_cols!(),
            " FROM hosts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::query(format!("looking up host id {id}")))?;
        match row {
            Some(r) => host_from_row(&r),
            None => Err(StoreError::NotFound {
                kind: "host",
                name: id.to_string(),
            }),
        }
    }

    /// Every host not deleted, by name.
    pub async fn hosts(&self) -> Result<Vec<Host>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            host_cols!(),
            " FROM hosts WHERE invalid = 0 ORDER BY hostname"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query("listing hosts"))?;
        rows.iter().map(host_from_row).collect()
    }

    /// Sets a host's scheduler state.
    pub async fn set_host_status(
        &self,
        hostname: &str,
        status: HostStatus,
    ) -> Result<Host, StoreError> {
        self.update_host(
            hostname,
            "UPDATE hosts SET status = $1 WHERE hostname = $2 AND invalid = 0",
            status.as_str(),
        )
        .await
    }

    /// Sets a host's repair protection.
    pub async fn set_host_protection(
        &self,
        hostname: &str,
        p: Protection,
    ) -> Result<Host, StoreError> {
        self.update_host(
            hostname,
            "UPDATE hosts SET protection = $1 WHERE hostname = $2 AND invalid = 0",
            p.as_str(),
        )
        .await
    }

    /// Marks a host dirty (a job ran) or clean (a cleanup ran).
    pub async fn set_host_dirty(&self, hostname: &str, dirty: bool) -> Result<Host, StoreError> {
        let n = sqlx::query("UPDATE hosts SET dirty = $1 WHERE hostname = $2 AND invalid = 0")
            .bind(bit(dirty))
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("updating host {hostname}")))?;
        self.after_update(hostname, n.rows_affected()).await
    }

    async fn update_host(
        &self,
        hostname: &str,
        sql: &'static str,
        value: &str,
    ) -> Result<Host, StoreError> {
        let n = sqlx::query(sql)
            .bind(value.to_owned())
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("updating host {hostname}")))?;
        self.after_update(hostname, n.rows_affected()).await
    }

    async fn after_update(&self, hostname: &str, rows: u64) -> Result<Host, StoreError> {
        if rows == 0 {
            return Err(StoreError::NotFound {
                kind: "host",
                name: hostname.to_owned(),
            });
        }
        self.host_named(hostname).await
    }

    /// Locks a host for `by` at `at` (UTC epoch seconds); a host locked by someone else is
    /// refused, naming who holds it and since when. Locking one's own locked host again keeps
    /// the first lock time.
    pub async fn lock_host(&self, hostname: &str, by: &str, at: i64) -> Result<Host, StoreError> {
        // One statement, so that two lockers cannot both win.
        let n = sqlx::query("UPDATE hosts SET locked = 1, locked_by = $1, lock_time = $2 WHERE hostname = $3 AND invalid = 0 AND locked = 0")
            .bind(by)
            .bind(at)
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("locking host {hostname}")))?;
        let host = self.host_named(hostname).await?;
        if n.rows_affected() == 0 && host.locked_by.as_deref() != Some(by) {
            return Err(StoreError::Invalid(format!(
                "host {hostname} is locked already by {} since {}: ask them, or unlock it first with `autotest host mod {hostname} --unlock`",
                host.locked_by.as_deref().unwrap_or("?"),
                host.lock_time
                    .map(super::utc_text)
                    .unwrap_or_else(|| "?".into())
            )));
        }
        Ok(host)
    }

    /// Unlocks a host (unlocking an unlocked host is not an error).
    pub async fn unlock_host(&self, hostname: &str) -> Result<Host, StoreError> {
        let n = sqlx::query("UPDATE hosts SET locked = 0, locked_by = NULL, lock_time = NULL WHERE hostname = $1 AND invalid = 0")
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("unlocking host {hostname}")))?;
        self.after_update(hostname, n.rows_affected()).await
    }

    /// Deletes a host: it is marked invalid (its jobs' history keeps pointing at it), loses its
    /// labels, and is no longer listed.
    pub async fn delete_host(&self, hostname: &str) -> Result<(), StoreError> {
        let host = self.host_named(hostname).await?;
        let mut tx = self
            .begin_write()
            .await
            .map_err(StoreError::query("starting a transaction"))?;
        let what = || StoreError::query(format!("deleting host {hostname}"));
        sqlx::query("DELETE FROM host_labels WHERE host_id = $1")
            .bind(host.id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        sqlx::query("UPDATE hosts SET invalid = 1, locked = 0, locked_by = NULL, lock_time = NULL WHERE id = $1")
            .bind(host.id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        tx.commit().await.map_err(what())
    }

    /// Sets (or replaces) an attribute of a host.
    pub async fn set_host_attribute(
        &self,
        hostname: &str,
        attribute: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let host = self.host_named(hostname).await?;
        sqlx::query(
            "INSERT INTO host_attributes (host_id, attribute, value) VALUES ($1, $2, $3) ON CONFLICT (host_id, attribute) DO UPDATE SET value = excluded.value",
        )
        .bind(host.id)
        .bind(attribute)
        .bind(value)
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!("setting attribute {attribute} of host {hostname}")))?;
        Ok(())
    }

    /// A host's attributes, by name.
    pub async fn host_attributes(
        &self,
        hostname: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let host = self.host_named(hostname).await?;
        let rows = sqlx::query(
            "SELECT attribute, value FROM host_attributes WHERE host_id = $1 ORDER BY attribute",
        )
        .bind(host.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "reading attributes of host {hostname}"
        )))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(read_err("a host attribute"))?,
                    r.try_get(1).map_err(read_err("a host attribute"))?,
                ))
            })
            .collect()
    }

    /// Creates a label.
    pub async fn create_label(&self, new: &NewLabel) -> Result<Label, StoreError> {
        let name = new.name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("a label needs a name".into()));
        }
        if self.label(name).await?.is_some() {
            return Err(StoreError::Invalid(format!(
                "label {name} already exists: pick another name, or delete it first with `autotest label delete {name}`"
            )));
        }
        sqlx::query(
            "INSERT INTO labels (name, platform, only_if_needed) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET invalid = 0, platform = excluded.platform, only_if_needed = excluded.only_if_needed",
        )
        .bind(name)
        .bind(bit(new.platform))
        .bind(bit(new.only_if_needed))
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!("creating label {name}")))?;
        self.label_named(name).await
    }

    /// A label by name (not deleted), if there is one.
    pub async fn label(&self, name: &str) -> Result<Option<Label>, StoreError> {
        let row = sqlx::query("SELECT id, name, platform, only_if_needed, invalid FROM labels WHERE name = $1 AND invalid = 0")
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query(format!("looking up label {name}")))?;
        row.as_ref().map(label_from_row).transpose()
    }

    /// A label by name; [`StoreError::NotFound`] when there is none.
    pub async fn label_named(&self, name: &str) -> Result<Label, StoreError> {
        self.label(name).await?.ok_or_else(|| StoreError::NotFound {
            kind: "label",
            name: name.to_owned(),
        })
    }

    /// Every label not deleted, by name.
    pub async fn labels(&self) -> Result<Vec<Label>, StoreError> {
        let rows = sqlx::query("SELECT id, name, platform, only_if_needed, invalid FROM labels WHERE invalid = 0 ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing labels"))?;
        rows.iter().map(label_from_row).collect()
    }

    /// Deletes a label (marked invalid). A label hosts carry, or that unfinished jobs need (as a
    /// dependency or a metahost), is refused, naming them and the fix.
    pub async fn delete_label(&self, name: &str) -> Result<(), StoreError> {
        let label = self.label_named(name).await?;
        self.check_label_unused(&label).await?;
        let mut tx = self
            .begin_write()
            .await
            .map_err(StoreError::query("starting a transaction"))?;
        let what = || StoreError::query(format!("deleting label {name}"));
        sqlx::query("DELETE FROM host_labels WHERE label_id = $1")
            .bind(label.id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        sqlx::query("UPDATE labels SET invalid = 1 WHERE id = $1")
            .bind(label.id)
            .execute(&mut *tx)
            .await
            .map_err(what())?;
        tx.commit().await.map_err(what())
    }

    /// Gives a host a label (giving it twice is not an error). A host has at most one
    /// platform label.
    pub async fn add_host_label(&self, hostname: &str, label: &str) -> Result<(), StoreError> {
        let host = self.host_named(hostname).await?;
        let label = self.label_named(label).await?;
        if label.platform
            && let Some(other) = self
                .host_labels(hostname)
                .await?
                .into_iter()
                .find(|l| l.platform && l.id != label.id)
        {
            return Err(StoreError::Invalid(format!(
                "host {hostname} has platform {} already: remove it before giving platform {}",
                other.name, label.name
            )));
        }
        sqlx::query(
            "INSERT INTO host_labels (host_id, label_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(host.id)
        .bind(label.id)
        .execute(self.pool())
        .await
        .map_err(StoreError::query(format!(
            "labelling host {hostname} {}",
            label.name
        )))?;
        Ok(())
    }

    /// Takes a label off a host; a host without it is refused.
    pub async fn remove_host_label(&self, hostname: &str, label: &str) -> Result<(), StoreError> {
        let host = self.host_named(hostname).await?;
        let label = self.label_named(label).await?;
        let n = sqlx::query("DELETE FROM host_labels WHERE host_id = $1 AND label_id = $2")
            .bind(host.id)
            .bind(label.id)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!(
                "removing label {} from host {hostname}",
                label.name
            )))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!(
                "host {hostname} does not carry label {}: nothing to remove (see `autotest host stat {hostname}`)",
                label.name
            )));
        }
        Ok(())
    }

    /// A host's labels, by name.
    pub async fn host_labels(&self, hostname: &str) -> Result<Vec<Label>, StoreError> {
        let host = self.host_named(hostname).await?;
        let rows = sqlx::query(
            "SELECT l.id, l.name, l.platform, l.only_if_needed, l.invalid FROM labels l JOIN host_labels hl ON hl.label_id = l.id WHERE hl.host_id = $1 ORDER BY l.name",
        )
        .bind(host.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("reading labels of host {hostname}")))?;
        rows.iter().map(label_from_row).collect()
    }

    /// The hosts (not deleted) with a label, by name.
    pub async fn hosts_with_label(&self, label: &str) -> Result<Vec<Host>, StoreError> {
        let label = self.label_named(label).await?;
        let rows = sqlx::query(concat!(
            "SELECT ", host_cols!(), " FROM hosts WHERE invalid = 0 AND id IN (SELECT host_id FROM host_labels WHERE label_id = $1) ORDER BY hostname"
        ))
        .bind(label.id)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query(format!("listing hosts labelled {}", label.name)))?;
        rows.iter().map(host_from_row).collect()
    }

    /// Adds a drone (enabled); adding one that exists enables it.
    pub async fn add_drone(&self, hostname: &str) -> Result<Drone, StoreError> {
        sqlx::query("INSERT INTO drones (hostname) VALUES ($1) ON CONFLICT (hostname) DO UPDATE SET enabled = 1")
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("adding drone {hostname}")))?;
        self.drones()
            .await?
            .into_iter()
            .find(|d| d.hostname == hostname)
            .ok_or_else(|| StoreError::NotFound {
                kind: "drone",
                name: hostname.to_owned(),
            })
    }

    /// Enables or disables a drone.
    pub async fn set_drone_enabled(&self, hostname: &str, enabled: bool) -> Result<(), StoreError> {
        let n = sqlx::query("UPDATE drones SET enabled = $1 WHERE hostname = $2")
            .bind(bit(enabled))
            .bind(hostname)
            .execute(self.pool())
            .await
            .map_err(StoreError::query(format!("updating drone {hostname}")))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                kind: "drone",
                name: hostname.to_owned(),
            });
        }
        Ok(())
    }

    /// Every drone, by name.
    pub async fn drones(&self) -> Result<Vec<Drone>, StoreError> {
        let rows = sqlx::query("SELECT id, hostname, enabled FROM drones ORDER BY hostname")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query("listing drones"))?;
        let e = read_err("a drone");
        rows.iter()
            .map(|r| {
                Ok(Drone {
                    id: r.try_get(0).map_err(&e)?,
                    hostname: r.try_get(1).map_err(&e)?,
                    enabled: flag(r.try_get(2).map_err(&e)?),
                })
            })
            .collect()
    }
}
